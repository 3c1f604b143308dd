"""The data layouts `tl-templates doctor` knows, one checker each.

A checker takes the data folder and the report, reads every file
defensively (`tl_templates.data.checks`), adds what it finds to the report
(`report.add(level, code, message, paths)`, `report.summary[...]`), and
returns a `Scan` for the checks every layout shares (`tl_templates.data.doctor`).

To add a layout: write `check_<layout>(data_dir, report) -> Scan` here, in the style of
`check_image_csv`, register it in `tl_templates.data.doctor.FORMATS`, and map its
templates in `tl_templates.data.doctor.TEMPLATE_FORMATS`.
"""

import collections
import dataclasses
import statistics
from pathlib import Path

import numpy as np

from tl_templates.data import checks as data_checks
from tl_templates.data import folders, image_folder
from tl_templates.data import labels as multitask_data

# What training reads: `tl_templates.data.audio_folder.AUDIO_EXTENSIONS`
# (tests/test_folders.py checks they are equal), not imported from there so
# that the doctor does not load SciPy.
AUDIO_EXTENSIONS = (".wav", ".wave")
OTHER_AUDIO_EXTENSIONS = (".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus")
UNKNOWN_LABELS = ("", "?")


@dataclasses.dataclass
class Scan:
    """What a layout's checker found, for the shared checks to use.

    Attributes:
        files: list. The usable example files (Paths), in training order.
        labels: np.ndarray or None. Class index of each file (class layouts).
        class_names: list or None. Label `i` is `class_names[i]`.
        split_files: list or None. The files in the order training splits
            them (with unreadable ones, as training lists them); None when
            the layout's split is not known.
        split_labels: np.ndarray or None. Labels of `split_files`.
    """

    files: list
    labels: np.ndarray = None
    class_names: list = None
    split_files: list = None
    split_labels: np.ndarray = None


def _spread(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def _counts(values):
    return {str(value): count for value, count in collections.Counter(values).most_common()}


def _class_folders(data_dir, report, extensions, inspect, kind):
    """The shared part of class-per-folder layouts.

    Returns:
        `(Scan, details)`: details is what `inspect` returned for each usable file.
    """
    class_dirs = folders.class_dirs(data_dir)  # the listing training uses
    stray = sorted(p for p in data_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    if stray:
        report.add("warning", "file_outside_class_folder",
                   f"{len(stray)} file(s) are not inside a class folder and will be ignored.",
                   stray)  # fmt: skip
    if len(class_dirs) < 2:
        report.add("error", "too_few_classes",
                   f"{data_dir} needs one sub-folder per class (at least two), e.g. "
                   f"{data_dir}/cat/001{extensions[0]}; found {len(class_dirs)}.")  # fmt: skip
        return Scan(files=[]), []
    files, labels, split_files, split_labels = [], [], [], []
    unreadable, ignored, nested, details = [], [], [], []
    for label, class_dir in enumerate(class_dirs):
        found = folders.class_files(class_dir, extensions)
        candidates = found.files
        ignored.extend(found.ignored)
        nested.extend(found.nested)
        if not candidates:
            report.add("error", "empty_class",
                       f"Class folder {class_dir} has no {kind} files ({', '.join(extensions)}): "
                       "add some or remove the folder.", [class_dir])  # fmt: skip
        for path in candidates:
            split_files.append(path)
            split_labels.append(label)
            try:
                details.append(inspect(path))
            except (ValueError, OSError) as error:  # the message names the file
                unreadable.append(str(error))
                continue
            files.append(path)
            labels.append(label)
    if unreadable:
        report.add("error", "unreadable_file",
                   f"{len(unreadable)} {kind} file(s) cannot be read; training stops on them. "
                   "Remove or replace them.", unreadable)  # fmt: skip
    if ignored:
        report.add("warning", "ignored_file",
                   f"{len(ignored)} file(s) are not {kind} files ({', '.join(extensions)}) and "
                   "will be ignored.", ignored)  # fmt: skip
    if nested:
        report.add("warning", "nested_folder",
                   f"{len(nested)} folder(s) inside class folders will be ignored (only files "
                   "directly in a class folder are used).", nested)  # fmt: skip
    scan = Scan(files, np.array(labels, dtype=int), [d.name for d in class_dirs],
                split_files, np.array(split_labels, dtype=int))  # fmt: skip
    return scan, details


def check_image_folder(data_dir, report):
    """`data_dir/<class>/<image>`: what `tl_templates.load_image_splits` reads."""
    scan, details = _class_folders(data_dir, report, image_folder.IMAGE_EXTENSIONS,
                                   data_checks.image_info, "image")  # fmt: skip
    if details:
        report.summary["image_width_px"] = _spread([d["width"] for d in details])
        report.summary["image_height_px"] = _spread([d["height"] for d in details])
        report.summary["colour_modes"] = _counts(d["mode"] for d in details)
    return scan


def check_audio_folder(data_dir, report):
    """`data_dir/<class>/<clip>.wav`: one folder of WAV clips per class."""
    scan, details = _class_folders(data_dir, report, AUDIO_EXTENSIONS, data_checks.wav_info, "WAV")
    for finding in report.findings:
        suffixes = {Path(path).suffix.lower() for path in finding.paths}
        if finding.code == "ignored_file" and suffixes & set(OTHER_AUDIO_EXTENSIONS):
            finding.message += " Convert other audio formats to WAV, e.g. ffmpeg -i in.mp3 out.wav."
    if details:
        rates = _counts(d["rate"] for d in details)
        report.summary["sample_rates_hz"] = rates
        report.summary["clip_seconds"] = _spread([round(d["seconds"], 3) for d in details])
        report.summary["channels"] = _counts(d["channels"] for d in details)
        if len(rates) > 1:
            report.add("warning", "mixed_sample_rates",
                       f"The clips have {len(rates)} different sample rates: make sure they are "
                       "resampled to one rate before training.")  # fmt: skip
        empty = [p for p, d in zip(scan.files, details, strict=True) if d["frames"] == 0]
        if empty:
            report.add("error", "empty_audio", f"{len(empty)} WAV file(s) hold no samples.", empty)
    return scan


def check_image_csv(data_dir, report, label_file="labels.csv", label_kinds=None):
    """`data_dir/labels.csv`: an image file name, then one column per task.

    A label is a number, or empty or `?` when unknown (masked out of the loss).

    Args:
        data_dir: Path. The data folder.
        report: tl_templates.DoctorReport. Gets the findings.
        label_file: str. The CSV file's name in `data_dir`.
        label_kinds: dict or None. None: any first column, file names relative
            to `data_dir`, any numbers. A dict (`{column: "binary", "regression"
            or "age"}`, may be empty): the rules of the multi-task templates'
            reader, `tl_templates.read_label_csv`: a `filename` column, file
            names relative to `images/` beside the CSV, and each column's
            values of its kind (a column not in the dict: 0/1).
    """
    csv_path = data_dir / label_file
    try:
        table = data_checks.read_csv_table(csv_path)
        if label_kinds is not None:
            allowed = label_kinds or None  # empty: any column name
            multitask_data.check_header(csv_path, table.header, allowed, ())
    except ValueError as error:
        report.add("error", "label_file", f"{error}")
        return Scan(files=[])
    image_dir = data_dir if label_kinds is None else multitask_data.default_image_dir(csv_path)
    if table.problems:
        report.add("error", "label_file_rows",
                   f"{len(table.problems)} row(s) of {table.path} are malformed; fix them "
                   "(each row needs as many fields as the header).", table.problems)  # fmt: skip
    file_column, *tasks = table.header
    files, bad_paths, unreadable, bad_values, seen = [], [], [], [], collections.Counter()
    values = {task: [] for task in tasks}
    root = image_dir.resolve()
    for line, row in table.rows:
        name = row[file_column].strip()
        path = (image_dir / name).resolve()
        if not name or Path(name).is_absolute() or root not in path.parents:
            bad_paths.append(f"line {line}: {name!r}")
            continue
        seen[name] += 1
        try:
            data_checks.image_info(path)
        except (ValueError, OSError) as error:
            unreadable.append(f"line {line}: {error}")
            continue
        files.append(path)
        for task in tasks:
            text = row[task].strip()
            try:
                if label_kinds is None:
                    values[task].append(None if text in UNKNOWN_LABELS else float(text))
                else:
                    value = multitask_data.parse_cell(text, label_kinds.get(task, "binary"))
                    values[task].append(None if np.isnan(value) else value)
            except ValueError as error:
                why = str(error)[len(f"{text!r} is ") :]  # "not 0, 1 or unknown (...)"
                reason = "" if label_kinds is None else f" ({why})"
                bad_values.append(f"line {line}, column {task!r}: {text!r}{reason}")
    if bad_paths:
        report.add("error", "label_file_paths",
                   f"{len(bad_paths)} row(s) name a file outside {image_dir} or none; use paths "
                   f"relative to {image_dir}.", bad_paths)  # fmt: skip
    if unreadable:
        report.add("error", "unreadable_file",
                   f"{len(unreadable)} image(s) named in {table.path} cannot be read; remove "
                   "their rows or replace the files.", unreadable)  # fmt: skip
    if bad_values:
        report.add("error", "label_value",
                   f"{len(bad_values)} label(s) are neither a number nor unknown ('?' or "
                   "empty).", bad_values)  # fmt: skip
    repeated = [name for name, count in seen.items() if count > 1]
    if repeated:
        # The templates' reader stops on a repeated file: which row would be right?
        level = "warning" if label_kinds is None else "error"
        report.add(level, "repeated_row", f"{len(repeated)} file(s) are listed twice or more"
                   + ("." if level == "warning" else ": keep one row per file."),
                   repeated)  # fmt: skip
    report.summary["rows"] = len(table.rows)
    report.summary["tasks"] = {}
    for task, column in values.items():
        known = [value for value in column if value is not None]
        kind = "binary" if known and set(known) <= {0.0, 1.0} else "numeric"
        stats = {"kind": kind, "known": len(known), "unknown": len(column) - len(known)}
        if kind == "binary":
            stats["positive_fraction"] = round(sum(known) / len(known), 3)
        report.summary["tasks"][task] = stats
        if len(set(known)) < 2:
            report.add("warning", "constant_task",
                       f"Task {task!r} has fewer than two distinct known values: nothing to "
                       "learn from it.")  # fmt: skip
    return Scan(files)


def check_scene_labels(data_dir, report):
    """The driving-multilabel template's data: `labels.csv` + `images/`.

    `filename`, then one 0/1 column per label (empty, `?`, `-1` or `NaN`:
    unknown); file names relative to `images/` beside the CSV, as
    `tl_templates.read_label_csv` reads them.
    """
    return check_image_csv(data_dir, report, label_kinds={})


def check_face_labels(data_dir, report):
    """The face-multitask template's data, as `tl_templates.read_face_labels` reads it.

    A folder with `labels.csv` (`filename,gender,age`: gender 0/1, age in
    years) and `images/`; else a folder of UTKFace-named images
    (`[age]_[gender]_[race]_[date&time].jpg`).
    """
    if (data_dir / "labels.csv").is_file():
        return check_image_csv(data_dir, report, label_kinds={"gender": "binary", "age": "age"})
    return check_utkface_folder(data_dir, report)


def check_utkface_folder(data_dir, report):
    """`data_dir/<age>_<gender>_<race>_<date&time>.jpg`: the labels are in the file names."""
    files, bad_names, unreadable, ignored, folders = [], [], [], [], []
    genders, ages = [], []
    for path in sorted(data_dir.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            folders.append(path)
            continue
        if path.suffix.lower() not in image_folder.IMAGE_EXTENSIONS:
            ignored.append(path)
            continue
        try:
            fields = multitask_data.parse_utkface_name(path)
        except ValueError as error:
            bad_names.append(f"{path}: {str(error).split(': ', 1)[1]}")
            continue
        try:
            data_checks.image_info(path)
        except (ValueError, OSError) as error:
            unreadable.append(str(error))
            continue
        files.append(path)
        genders.append(fields["gender"])
        ages.append(fields["age"])
    if not files and not bad_names and not unreadable:
        report.add("error", "no_images",
                   f"{data_dir} has no images. Give a folder of UTKFace-named images "
                   f"({multitask_data.UTKFACE_EXAMPLE}), or labels.csv (filename,gender,age) "
                   "beside an images/ folder.", folders[:1])  # fmt: skip
        return Scan(files=[])
    if bad_names:
        report.add("error", "utkface_name",
                   f"{len(bad_names)} image name(s) do not follow the UTKFace convention "
                   "[age]_[gender]_[race]_[date&time].jpg; training stops on them. Rename or "
                   "remove them, or list the labels in labels.csv.", bad_names)  # fmt: skip
    if unreadable:
        report.add("error", "unreadable_file",
                   f"{len(unreadable)} image(s) cannot be read; training stops on them. Remove "
                   "or replace them.", unreadable)  # fmt: skip
    if ignored:
        report.add(
            "warning",
            "ignored_file",
            f"{len(ignored)} file(s) are not images and will be ignored.",
            ignored,
        )
    if folders:
        report.add("warning", "nested_folder",
                   f"{len(folders)} folder(s) will be ignored (the images must be directly in "
                   f"{data_dir}).", folders)  # fmt: skip
    report.summary["images"] = len(files)
    if files:
        female = sum(genders) / len(genders)
        report.summary["tasks"] = {
            "gender": {"kind": "binary", "known": len(genders), "unknown": 0,
                       "positive_fraction": round(female, 3)},
            "age": {"kind": "numeric", "known": len(ages), "unknown": 0},
        }  # fmt: skip
        report.summary["age_years"] = _spread(ages)
    return Scan(files)
