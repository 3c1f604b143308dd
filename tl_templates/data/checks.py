"""Reading one data file defensively: images, WAV audio, CSV label files.

Each function either returns what it learned about the file or raises a
ValueError whose message names the file (and the line, for a CSV file) and
says what is wrong. `tl-templates doctor` builds its report from them; the
data loaders use them to fail with the same clear messages.
"""

import csv
import dataclasses
import hashlib
import io
import struct
from pathlib import Path

from PIL import Image

from tl_templates.data.image_folder import describe_error

# WAVE format tags (the `fmt ` chunk's first field) and what they mean.
WAV_ENCODINGS = {1: "pcm", 3: "float", 6: "a-law", 7: "mu-law"}
WAV_EXTENSIBLE = 0xFFFE  # the real format tag is then in the sub-format GUID
# Bigger than any label file; a cap so that a wrong file cannot fill memory.
MAX_CSV_BYTES = 200 * 1024 * 1024


def file_digest(path):
    """SHA-256 of a file's bytes: equal digests mean identical files."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def image_info(path):
    """Decodes an image completely and returns `{"width", "height", "mode", "format"}`.

    Raises:
        ValueError: the file is not an image Pillow can decode, or is damaged.
    """
    try:
        with Image.open(path) as image:
            image.load()  # decode every pixel: a truncated file fails here
            return {
                "width": image.width,
                "height": image.height,
                "mode": image.mode,
                "format": image.format,
            }
    except Exception as error:
        # Pillow raises many kinds of error on damaged files (OSError,
        # SyntaxError, struct.error, DecompressionBombError...); they all mean
        # that this file cannot be used.
        raise ValueError(f"Cannot read image {path}: {describe_error(error)}") from None


def wav_info(path):
    """Reads a WAV file's header and checks its data is all there.

    Only the RIFF header and chunk table are read (no samples), so this is
    fast on long recordings. PCM, float, A-law and mu-law WAVs are accepted.

    Returns:
        dict. `rate` (Hz), `channels`, `bits`, `encoding`, `frames`, `seconds`.

    Raises:
        ValueError: not a WAV file, an unsupported or broken header, or a
            truncated file; the message names the file.
    """
    path = Path(path)
    size = path.stat().st_size

    def fail(problem):
        raise ValueError(f"Cannot read WAV file {path}: {problem}. Re-export it as a WAV file.")

    with path.open("rb") as file:
        header = file.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            fail("no RIFF/WAVE header, so it is not a WAV file")
        fmt = None
        while True:
            chunk = file.read(8)
            if len(chunk) < 8:
                fail("no 'data' chunk (the file ends before its samples)")
            name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            start = file.tell()
            if name == b"fmt ":
                if length < 16:
                    fail(f"its 'fmt ' chunk is {length} bytes long, at least 16 are needed")
                fmt = file.read(min(length, 40))
                if len(fmt) < 16:
                    fail("the file ends inside its 'fmt ' chunk (truncated)")
            elif name == b"data":
                if fmt is None:
                    fail("its 'data' chunk comes before the 'fmt ' chunk that describes it")
                if length > size - start:
                    fail(
                        f"truncated: its 'data' chunk declares {length} bytes but the file "
                        f"holds only {size - start}"
                    )
                break
            elif start + length > size:
                fail(f"truncated inside its {name!r} chunk")
            file.seek(start + length + (length % 2))  # chunks are padded to even sizes

    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == WAV_EXTENSIBLE:
        if len(fmt) < 26:
            fail("an extensible 'fmt ' chunk without its sub-format")
        tag = struct.unpack("<H", fmt[24:26])[0]
    if tag not in WAV_ENCODINGS:
        fail(f"unsupported sample format {tag} (expected PCM or float)")
    if channels < 1 or rate < 1 or block_align < 1 or bits < 1:
        fail(f"impossible format values (channels={channels}, rate={rate}, bits={bits})")
    frames = length // block_align
    return {
        "rate": rate,
        "channels": channels,
        "bits": bits,
        "encoding": WAV_ENCODINGS[tag],
        "frames": frames,
        "seconds": frames / rate,
    }


@dataclasses.dataclass
class CsvTable:
    """A CSV file with a header row, read defensively.

    Attributes:
        path: Path. The file.
        header: list. Column names.
        rows: list. `(line number, {column: text})` for each well-formed row.
        problems: list. One sentence per bad row ("line 7: 3 fields, ...").
    """

    path: Path
    header: list
    rows: list
    problems: list


def read_csv_text(path):
    """The text of a UTF-8 CSV file (an Excel byte-order mark is dropped).

    Raises:
        ValueError: the file is missing, too big, or not UTF-8; the message
            names the file and the line, and says how to save it as UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Label file not found: {path}")
    if path.stat().st_size > MAX_CSV_BYTES:
        raise ValueError(f"{path} is over {MAX_CSV_BYTES >> 20} MB: that is not a label file.")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # -sig: ignore the byte-order mark Excel writes
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path} line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}). Save the "
            "file as UTF-8 (in Excel: CSV UTF-8; in LibreOffice: character set Unicode UTF-8)."
        ) from None


def read_csv_table(path):
    """Reads a UTF-8 CSV file with a header, keeping what is good and naming what is not.

    Rows with another number of fields than the header are left out and
    listed in `problems` with their line numbers; blank lines are skipped.

    Returns:
        A `tl_templates.data.checks.CsvTable`.

    Raises:
        ValueError: the file cannot be read at all (missing, too big, not
            UTF-8, empty, or a bad header); the message names the file and line.
    """
    path = Path(path)
    text = read_csv_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ValueError(f"{path} line 1: {error}") from None
    if not header or not any(name.strip() for name in header):
        raise ValueError(f"{path} is empty or has no header row (the column names).")
    header = [name.strip() for name in header]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if "" in header or duplicates:
        raise ValueError(
            f"{path} line 1: every column needs a distinct, non-empty name. Received: {header}."
        )
    rows, problems = [], []
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as error:
            problems.append(f"line {reader.line_num}: {error}; the rest of the file was not read")
            break
        if fields is None:
            break
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            problems.append(
                f"line {reader.line_num}: {len(fields)} fields, the header has {len(header)}"
            )
            continue
        rows.append((reader.line_num, dict(zip(header, fields, strict=True))))
    return CsvTable(path, header, rows, problems)
