"""Predicting on many files: folders expanded, batches, unreadable files named, a CSV.

A template's `predict.py` says how to read one file and what its columns
are; reading in batches (memory stays flat for any number of files), going
on past a file that cannot be read, and writing the CSV happen here.
"""

import csv
import io
from pathlib import Path

import numpy as np

from tl_templates.data.image_folder import IMAGE_EXTENSIONS
from tl_templates.project import atomic


def find_input_files(paths, suffixes=IMAGE_EXTENSIONS):
    """The files to predict on: each file given, and every file under each folder given.

    Args:
        paths: list of str or Path. Files and folders.
        suffixes: iterable of str. The suffixes looked for in folders (any
            case), by default the image formats the kit reads; files given
            by name are kept whatever their suffix.

    Returns:
        list of Path, folders' files sorted, in the order given.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    suffixes = {suffix.lower() for suffix in suffixes}
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(
                file for file in path.rglob("*")
                if file.is_file() and file.suffix.lower() in suffixes
                and not file.name.startswith(".")
            ))  # fmt: skip
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist.")
    return files


def predict_files(files, read, predict, batch_size=64):
    """Reads and predicts `files` a batch at a time; a file that cannot be read is skipped.

    Args:
        files: list of Path.
        read: callable. `path -> np.ndarray`, one example; raises
            `ValueError` or `OSError` for a file it cannot read.
        predict: callable. `batch -> np.ndarray or dict of arrays`.
        batch_size: int. Files read and predicted together.

    Returns:
        (read_files, outputs, failures): the files predicted, their outputs
        (an array, or a dict of arrays for named outputs, in the order of
        `read_files`), and `(path, reason)` for each file skipped.

    Examples:
    >>> import tl_templates, numpy as np
    >>> def read(path):
    ...     if path == "bad":
    ...         raise ValueError("cannot decode bad")
    ...     return np.ones(2)
    >>> done, outputs, failures = tl_templates.predict_files(
    ...     ["a", "bad", "b"], read, lambda batch: batch.sum(axis=1), batch_size=2)
    >>> done, outputs.tolist(), failures
    (['a', 'b'], [2.0, 2.0], [('bad', 'cannot decode bad')])
    """
    read_files, chunks, failures = [], [], []
    for start in range(0, len(files), batch_size):
        examples, names = [], []
        for path in files[start : start + batch_size]:
            try:
                examples.append(read(path))
                names.append(path)
            except (ValueError, OSError) as error:
                failures.append((path, str(error)))
        if examples:
            chunks.append(predict(np.stack(examples)))
            read_files.extend(names)
    if not chunks:
        return read_files, None, failures
    if isinstance(chunks[0], dict):
        outputs = {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}
    else:
        outputs = np.concatenate(chunks)
    return read_files, outputs, failures


def classification_rows(files, probabilities, class_names, top_k=3):
    """One CSV row per file: `file`, `label`, `probability` and `top_k`.

    `top_k` lists the `top_k` most probable classes as
    "label:probability" separated by spaces, most probable first.
    """
    rows = []
    for path, row in zip(files, np.asarray(probabilities), strict=True):
        order = np.argsort(-row, kind="stable")[:top_k]
        rows.append({
            "file": str(path),
            "label": class_names[order[0]],
            "probability": f"{row[order[0]]:.4f}",
            "top_k": " ".join(f"{class_names[index]}:{row[index]:.4f}" for index in order),
        })  # fmt: skip
    return rows


def write_predictions_csv(path, rows, failures=()):
    """Writes `rows` (dicts) and one row per unreadable file (`error` column) to a CSV.

    The columns are those of the first row, then `error`. An existing file
    is refused, so that nothing is overwritten.

    Raises:
        FileExistsError: `path` exists.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; remove it or choose another file name.")
    columns = list(rows[0]) if rows else ["file"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*columns, "error"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    writer.writerows({"file": str(file), "error": reason} for file, reason in failures)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text_atomic(path, buffer.getvalue())
    return path
