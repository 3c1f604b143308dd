"""Labels for multi-task data: UTKFace file names and CSV files, unknowns as NaN.

Two ways to label images with several tasks:

- UTKFace file names, `[age]_[gender]_[race]_[date&time].jpg`
  (`25_1_3_20170116174525125.jpg.chip.jpg`: 25 years old, female, race 3);
- a CSV file, `filename,<label>,<label>...`, where any label may be unknown:
  an empty cell, `?`, `-1` or `NaN`.

Every reader returns a `LabelTable` whose unknown labels are NaN, the value
the masked losses skip. Bad input stops with an error naming the file, the
line and the field.
"""

import csv
import dataclasses
import io
from pathlib import Path

import numpy as np

from tl_templates.data.checks import read_csv_text
from tl_templates.data.image_folder import IMAGE_EXTENSIONS
from tl_templates.data.splits import split_examples  # noqa: F401  (its old home)

# Cell values that mean "unknown" (compared lower-case, without spaces).
MISSING_MARKERS = ("", "?", "-1", "nan")
# How a CSV column is read: 0/1, any number, or an age in years (0-120).
LABEL_KINDS = ("binary", "regression", "age")
# UTKFace: 0 is male, 1 is female; ages are whole years.
UTKFACE_GENDERS = {0: "male", 1: "female"}
UTKFACE_MAX_AGE = 120
UTKFACE_EXAMPLE = "25_1_3_20170116174525125.jpg"
# How many bad files or lines an error message lists before "and N more".
LISTED_PROBLEMS = 5


@dataclasses.dataclass
class LabelTable:
    """Images and their labels, NaN where unknown.

    Attributes:
        paths: list. Image files.
        labels: dict. `{label name: float32 array, one value per image}`.
        source: Path. Where the labels were read from.
    """

    paths: list
    labels: dict
    source: Path

    def __len__(self):
        return len(self.paths)

    def matrix(self, names):
        """The labels `names` side by side: `(images, len(names))`."""
        return np.stack([self.labels[name] for name in names], axis=1)

    def known_counts(self):
        """`{label name: number of known values}`."""
        return {name: int(np.sum(~np.isnan(values))) for name, values in self.labels.items()}

    def subset(self, indices):
        """The rows `indices` as a new table."""
        return LabelTable(
            [self.paths[index] for index in indices],
            {name: values[indices] for name, values in self.labels.items()},
            self.source,
        )


def _too_many(problems, what):
    listed = "\n  ".join(problems[:LISTED_PROBLEMS])
    more = len(problems) - LISTED_PROBLEMS
    return f"{len(problems)} {what}:\n  {listed}" + (f"\n  ... and {more} more" if more > 0 else "")


def parse_utkface_name(path):
    """The labels in a UTKFace file name: `{"age": int, "gender": int, "race": int or None}`.

    Raises:
        ValueError: the name does not follow `[age]_[gender]_[race]_[date&time].jpg`;
            the message names the file and the field.

    Examples:

    >>> import tl_templates
    >>> tl_templates.parse_utkface_name("25_1_3_20170116174525125.jpg.chip.jpg")
    {'age': 25, 'gender': 1, 'race': 3}
    """
    name = Path(path).name
    fields = name.split(".")[0].split("_")
    expected = (
        f"UTKFace names look like [age]_[gender]_[race]_[date&time].jpg, e.g. {UTKFACE_EXAMPLE}"
    )
    if len(fields) < 2:
        raise ValueError(f"{name}: no age and gender fields. {expected}.")
    age, gender = fields[0], fields[1]
    if not (age.isascii() and age.isdigit()) or int(age) > UTKFACE_MAX_AGE:
        raise ValueError(
            f"{name}: age {age!r} is not a whole number of years (0-{UTKFACE_MAX_AGE}). {expected}."
        )
    if gender not in ("0", "1"):
        raise ValueError(f"{name}: gender {gender!r} is not 0 (male) or 1 (female). {expected}.")
    race = fields[2] if len(fields) > 3 else ""
    race = int(race) if race.isascii() and race.isdigit() else None
    return {"age": int(age), "gender": int(gender), "race": race}


def scan_utkface_folder(folder):
    """Reads the labels of a folder of UTKFace-named images.

    Returns:
        A `LabelTable` with labels `gender` (0 male, 1 female) and `age` (years).

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: no image, or images with bad names (all of them listed).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Data folder not found: {folder}")
    paths = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".")
        and path.suffix.lower() in IMAGE_EXTENSIONS
    )  # fmt: skip
    if not paths:
        raise ValueError(
            f"{folder} has no images. Give a folder of UTKFace images ({UTKFACE_EXAMPLE}), "
            "or a labels.csv (filename,gender,age) beside an images/ folder."
        )
    genders, ages, problems = [], [], []
    for path in paths:
        try:
            fields = parse_utkface_name(path)
        except ValueError as error:
            problems.append(f"{folder / path.name}: {str(error).split(': ', 1)[1]}")
            continue
        genders.append(fields["gender"])
        ages.append(fields["age"])
    if problems:
        raise ValueError(
            _too_many(problems, f"image names in {folder} do not follow the UTKFace convention")
            + "\nRename or remove them, or list the labels in a CSV file instead."
        )
    labels = {"gender": np.array(genders, "float32"), "age": np.array(ages, "float32")}
    return LabelTable(paths, labels, folder)


def parse_cell(text, kind):
    """One CSV cell as a float: NaN when unknown; a ValueError says why it is not of `kind`."""
    value = text.strip()
    if value.lower() in MISSING_MARKERS:
        return float("nan")
    try:
        number = float(value)
    except ValueError:
        number = None
    if kind == "binary":
        if number not in (0.0, 1.0):
            raise ValueError(f"{text!r} is not 0, 1 or unknown (empty, ?, -1, NaN)")
    elif number is None or not np.isfinite(number):
        raise ValueError(f"{text!r} is not a number or unknown (empty, ?, -1, NaN)")
    elif kind == "age" and not 0 <= number <= UTKFACE_MAX_AGE:
        raise ValueError(f"{text!r} is not an age in years (0-{UTKFACE_MAX_AGE}) or unknown")
    return number


def check_header(path, header, label_kinds, required):
    """Raises a ValueError naming `path`, line 1, when the header is not what the reader needs."""
    where = f"{path} line 1"
    if not header or header[0] != "filename":
        raise ValueError(
            f"{where}: header mismatch: the first column must be 'filename'. "
            f"Received header: {','.join(header)}."
        )
    names = header[1:]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{where}: column {duplicates[0]!r} appears twice.")
    for name in names:
        if label_kinds is not None and name not in label_kinds:
            raise ValueError(
                f"{where}: unknown column {name!r}. Known columns: filename, "
                f"{', '.join(label_kinds)}. Rename or remove it."
            )
        if not name.isidentifier():
            raise ValueError(
                f"{where}: column name {name!r} must use only letters, digits and '_' "
                f"(it names metrics such as auc_{name.replace(' ', '_')})."
            )
    missing = [name for name in required if name not in names]
    if missing or not names:
        expected = ",".join(["filename", *(required or ["<label>"])])
        raise ValueError(
            f"{where}: header mismatch: no column {(missing or ['<label>'])[0]!r}. "
            f"Received header: {','.join(header)}; expected {expected}."
        )


def default_image_dir(csv_path):
    """Where the file names of a CSV point: `images/` beside it if there is one, else its folder."""
    images = Path(csv_path).parent / "images"
    return images if images.is_dir() else Path(csv_path).parent


def read_label_csv(csv_path, label_kinds=None, required=(), image_dir=None):
    """Reads `filename,<label>,...` rows; unknown cells (empty, ?, -1, NaN) become NaN.

    Args:
        csv_path: str or Path. The CSV file (UTF-8, comma-separated, header row).
        label_kinds: dict or None. `{column: "binary", "regression" or "age"}`:
            the columns allowed. None: every column after `filename` is a 0/1 label.
        required: tuple. Columns that must be in the header.
        image_dir: str, Path or None. Folder the file names are relative to;
            default: `images/` beside the CSV if it exists, else the CSV's folder.

    Returns:
        A `LabelTable`, rows in file order.

    Raises:
        FileNotFoundError: the CSV file does not exist.
        ValueError: an unknown column, a header mismatch, a bad cell, a repeated
            file name, or image files that do not exist; the message names
            the file, the line and the column.
    """
    for name, kind in (label_kinds or {}).items():
        if kind not in LABEL_KINDS:
            raise ValueError(
                f"Unknown label kind. Received: {name}={kind!r}. "
                f"Known kinds: {', '.join(LABEL_KINDS)}."
            )
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"Label file not found: {csv_path}")
    image_dir = Path(image_dir) if image_dir is not None else default_image_dir(csv_path)
    reader = csv.reader(io.StringIO(read_csv_text(csv_path), newline=""))
    try:
        rows = list(reader)
    except csv.Error as error:  # an unclosed quote, a field over the size limit...
        raise ValueError(f"{csv_path} line {reader.line_num}: {error}.") from None
    header = [name.strip() for name in rows[0]] if rows else []
    check_header(csv_path, header, label_kinds, list(required))
    names = header[1:]
    kinds = {name: (label_kinds or {}).get(name, "binary") for name in names}
    paths, values, missing_files, seen = [], {name: [] for name in names}, [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        if len(row) != len(header):
            raise ValueError(
                f"{csv_path} line {line}: {len(row)} fields, but the header has {len(header)} "
                f"({','.join(header)})."
            )
        filename = row[0].strip()
        if filename in seen:
            raise ValueError(
                f"{csv_path} line {line}: {filename!r} is listed twice "
                f"(also line {seen[filename]})."
            )
        seen[filename] = line
        path = image_dir / filename
        if not path.is_file():
            missing_files.append(f"line {line}: {path}")
        for name, cell in zip(names, row[1:], strict=True):
            try:
                values[name].append(parse_cell(cell, kinds[name]))
            except ValueError as error:
                raise ValueError(f"{csv_path} line {line}, column {name!r}: {error}.") from None
        paths.append(path)
    if missing_files:
        raise ValueError(
            _too_many(missing_files, f"image files listed in {csv_path} do not exist")
            + f"\nFile names are relative to {image_dir}."
        )
    if not paths:
        raise ValueError(f"{csv_path} has a header but no rows.")
    labels = {name: np.array(column, dtype="float32") for name, column in values.items()}
    return LabelTable(paths, labels, csv_path)


def read_face_labels(path, tasks=("gender", "age")):
    """Face labels from a UTKFace folder, a folder with `labels.csv`, or a CSV file.

    Args:
        path: str or Path. Where the data is.
        tasks: tuple. The labels the run needs; a CSV must have these columns.

    Returns:
        A `LabelTable` with labels `gender` and `age` (NaN where unknown).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"Data not found: {path}. Give a folder of UTKFace images, a folder with "
            "labels.csv and images/, or a CSV file (filename,gender,age)."
        )
    if path.is_dir() and (path / "labels.csv").is_file():
        path = path / "labels.csv"
    if path.is_dir():
        return scan_utkface_folder(path)
    table = read_label_csv(path, {"gender": "binary", "age": "age"}, tuple(tasks))
    for name in ("gender", "age"):  # a column the CSV lacks is unknown everywhere
        table.labels.setdefault(name, np.full(len(table), np.nan, "float32"))
    return table
