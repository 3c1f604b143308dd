"""Atomic file writes: a file is either its old version or its new one, never half.

A run killed while writing (SIGKILL, a Colab disconnect, a full disk) must not
leave a half-written `model.keras` or `metrics.json` behind. Every output is
written to a hidden temporary file beside its destination, flushed to disk,
then renamed over the destination with `os.replace`, which is atomic on POSIX
and Windows when both are on the same file system (they are: same folder).
"""

import contextlib
import csv
import io
import json
import os
from pathlib import Path


def _flush_to_disk(path):
    """Makes sure the bytes of `path` reached the disk, not just the OS cache."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path to write to; it replaces `path` when the block succeeds.

    The temporary file sits in the same folder and keeps the name's suffixes
    (`.partial-<pid>-model.keras`), so writers that check them (Keras wants
    `.keras` or `.weights.h5`, Matplotlib picks the format from `.png`) work.
    If the block raises, the temporary file is removed and `path` is untouched.

    Args:
        path: str or Path. The destination; its folder must exist.

    Yields:
        Path. Where to write.

    Examples:

    >>> import tempfile, pathlib
    >>> from tl_templates.project import atomic
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic.atomic_path(folder / "notes.txt") as temporary:
    ...     _ = temporary.write_text("all or nothing")
    >>> (folder / "notes.txt").read_text()
    'all or nothing'
    """
    path = Path(path)
    temporary = path.with_name(f".partial-{os.getpid()}-{path.name}")
    try:
        yield temporary
        _flush_to_disk(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomic(path, data):
    """Writes `data` (bytes) to `path` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(path, text):
    """Writes `text` to `path` atomically, as UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, value):
    """Writes `value` as indented JSON to `path` atomically."""
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")


def write_csv_atomic(path, rows, fieldnames):
    """Writes dict `rows` as a CSV file with a header, atomically."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def remove_partial_files(folder):
    """Deletes `.partial-*` files left in `folder` by a process killed mid-write.

    Returns:
        The list of removed paths.
    """
    removed = sorted(Path(folder).glob(".partial-*"))
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
