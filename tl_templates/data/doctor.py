"""`tl-templates doctor`: checks a data set before training, and says what to fix.

Each data layout has a checker (`FORMATS`, written in
`tl_templates.data.layouts`); each template names the layout it trains on
(`TEMPLATE_FORMATS`). A checker reads every file defensively and returns a
`Scan`; the checks every layout shares (class balance, the split, duplicates
across splits, the advisor's recommendation) then run on the scan. Nothing
is modified.

To add a layout: write its checker in `tl_templates.data.layouts`, add it
to `FORMATS`, and map its templates in `TEMPLATE_FORMATS`. A template's
layout checks the data by the rules of the reader that template trains with.
"""

import collections
import dataclasses
from pathlib import Path

import numpy as np

from tl_templates.data import checks as data_checks
from tl_templates.data import layouts as data_layouts
from tl_templates.data import splits as data_splits
from tl_templates.planning import advisor

# The largest class over the smallest: from this ratio on, say so.
IMBALANCE_WARNING_RATIO = 3.0
# Paths listed per finding in the text report (the JSON report lists them all).
PATHS_SHOWN = 5


@dataclasses.dataclass
class Finding:
    """One thing the doctor found.

    Attributes:
        level: str. `"error"` (training cannot proceed), `"warning"` (it can,
            but look first) or `"info"`.
        code: str. A stable short name, e.g. `"unreadable_file"`.
        message: str. What is wrong and what to do, in one or two sentences.
        paths: list. The files concerned (strings), possibly with details.
    """

    level: str
    code: str
    message: str
    paths: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class DoctorReport:
    """The doctor's report: findings, a summary, and the advisor's recommendation."""

    data_dir: str
    data_format: str
    template: str = None
    findings: list = dataclasses.field(default_factory=list)
    summary: dict = dataclasses.field(default_factory=dict)
    recommendation: dict = None

    @property
    def ok(self):
        """True when no finding stops training."""
        return not any(finding.level == "error" for finding in self.findings)

    def add(self, level, code, message, paths=()):
        self.findings.append(Finding(level, code, message, [str(path) for path in paths]))

    def to_dict(self):
        return {"ok": self.ok, **dataclasses.asdict(self)}

    def describe(self):
        """The report as text for people."""
        for_template = f", for the {self.template} template" if self.template else ""
        lines = [f"Data: {self.data_dir} ({self.data_format}{for_template})"]
        for key, value in self.summary.items():
            if key == "classes":
                lines.append("classes (usable files; train/validation/test):")
                width = max(len(name) for name in value)
                for name, c in value.items():
                    split = f"{c['train']}/{c['validation']}/{c['test']}"
                    lines.append(f"  {name:<{width}} {c['usable']:>6}; {split}")
            else:
                lines.append(f"{key.replace('_', ' ')}: {_as_text(value)}")
        lines.append("")
        order = {"error": 0, "warning": 1, "info": 2}
        for finding in sorted(self.findings, key=lambda finding: order[finding.level]):
            lines.append(f"{finding.level.upper():<8}{finding.message}")
            lines.extend(f"          {path}" for path in finding.paths[:PATHS_SHOWN])
            if len(finding.paths) > PATHS_SHOWN:
                lines.append(f"          ... and {len(finding.paths) - PATHS_SHOWN} more (--json)")
        if not self.findings:
            lines.append("No problems found.")
        if self.recommendation:
            plan = advisor.Plan(**self.recommendation)
            lines += ["", "Recommendation (tl-templates advise):", plan.describe()]
        errors = sum(finding.level == "error" for finding in self.findings)
        warnings = sum(finding.level == "warning" for finding in self.findings)
        verdict = (
            f"ready to train ({warnings} warning(s))."
            if self.ok
            else f"training cannot proceed: fix the {errors} error(s) above."
        )
        lines += ["", f"Verdict: {verdict}"]
        return "\n".join(lines)


def _as_text(value):
    """A summary value as text: spreads as "a to b (median c)", counts as "x: n, ..."."""
    if isinstance(value, dict) and set(value) == {"min", "median", "max"}:
        return f"{value['min']:g} to {value['max']:g} (median {value['median']:g})"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_as_text(item)}" for key, item in value.items())
    return f"{value:g}" if isinstance(value, float) else str(value)


# Data layouts the doctor knows, and the function that checks each.
FORMATS = {
    "image-folder": data_layouts.check_image_folder,  # <class>/<image>
    "audio-folder": data_layouts.check_audio_folder,  # <class>/<clip>.wav
    "image-csv": data_layouts.check_image_csv,  # labels.csv: file, task1, task2...
    "scene-labels": data_layouts.check_scene_labels,  # labels.csv: filename, 0/1 labels; images/
    "face-labels": data_layouts.check_face_labels,  # labels.csv + images/, or UTKFace names
    "utkface": data_layouts.check_utkface_folder,  # <age>_<gender>_<race>_<date>.jpg
}
# The layout each template trains on; a new template adds its line here.
TEMPLATE_FORMATS = {
    "image-classifier": "image-folder",
    "audio-classifier": "audio-folder",
    "face-multitask": "face-labels",
    "driving-multilabel": "scene-labels",
}


def check_dataset(
    data_dir,
    template=None,
    data_format=None,
    validation_fraction=0.15,
    test_fraction=0.15,
    seed=42,
    similarity="similar",
    backbone=None,
):
    """Checks a data set before training and returns a report; modifies nothing.

    Args:
        data_dir: str or Path. The data folder.
        template: str or None. The template that will train on it (its data
            layout is `TEMPLATE_FORMATS[template]`); default `image-classifier`.
        data_format: str or None. A layout from `FORMATS`, instead of a template.
        validation_fraction: float. As in the project's config.
        test_fraction: float. As in the project's config.
        seed: int. The project's seed (a generated project's default: 42):
            the doctor splits the data exactly as training will.
        similarity: str. For the advisor: `"similar"` or `"different"`.
        backbone: str or None. For the advisor: the backbone you will use.

    Returns:
        A `tl_templates.data.doctor.DoctorReport`; `report.ok` is False when
        training cannot proceed.

    Examples:

    >>> import tl_templates
    >>> from tl_templates import paths
    >>> report = tl_templates.check_dataset(paths.SAMPLES_DIR / "digits")
    >>> report.ok, report.summary["training_examples"], report.recommendation["strategy"]
    (True, 280, 'feature_extraction')
    """
    if data_format is None:
        template = template or "image-classifier"
        if template not in TEMPLATE_FORMATS:
            raise ValueError(
                f"Unknown template. Received: template={template!r}. Known templates: "
                f"{', '.join(TEMPLATE_FORMATS)}."
            )
        data_format = TEMPLATE_FORMATS[template]
    if data_format not in FORMATS:
        raise ValueError(
            f"Unknown data format. Received: data_format={data_format!r}. Known formats: "
            f"{', '.join(FORMATS)}."
        )
    advisor._check(1, None, similarity)
    data_dir = Path(data_dir)
    report = DoctorReport(str(data_dir), data_format, template)
    if not data_dir.is_dir():
        report.add("error", "no_data_folder", f"Data folder not found: {data_dir}")
        return report
    scan = FORMATS[data_format](data_dir, report)
    if scan.class_names:
        _check_classes(scan, report, validation_fraction, test_fraction)
    _check_duplicates(scan, report, validation_fraction, test_fraction, seed)
    train_examples = report.summary.get("training_examples")
    if train_examples is None:
        train_examples = round(len(scan.files) * (1 - validation_fraction - test_fraction))
    if train_examples >= 1:
        plan = advisor.advise(train_examples, similarity=similarity, backbone=backbone)
        report.recommendation = plan.to_dict()
    return report


def _check_classes(scan, report, validation_fraction, test_fraction):
    """Class counts, imbalance, and whether each class can be split."""
    counts = np.bincount(scan.labels, minlength=len(scan.class_names))
    # The split counts every file training lists, readable or not.
    listed = np.bincount(scan.split_labels, minlength=len(scan.class_names))
    classes, too_small = {}, []
    for name, usable, count in zip(scan.class_names, counts, listed, strict=True):
        train, validation, test = data_splits.split_sizes(
            int(count), validation_fraction, test_fraction
        )
        classes[name] = {"usable": int(usable), "train": max(train, 0),
                         "validation": validation, "test": test}  # fmt: skip
        if train < 1 and count > 0:
            too_small.append(f"{name}: {count} file(s), needs at least {validation + test + 1}")
    report.summary["classes"] = classes
    report.summary["files"] = int(counts.sum())
    if too_small:
        report.add("error", "class_too_small",
                   f"{len(too_small)} class(es) have too few examples for a train/validation/test "
                   f"split ({validation_fraction:.0%} validation, {test_fraction:.0%} test): add "
                   "examples, or merge or remove the class.", too_small)  # fmt: skip
    else:
        report.summary["training_examples"] = sum(c["train"] for c in classes.values())
    present = counts[counts > 0]
    if len(present) >= 2 and present.max() >= IMBALANCE_WARNING_RATIO * present.min():
        largest = int(np.argmax(counts))
        smallest = int(np.argmin(np.where(counts > 0, counts, counts.max() + 1)))
        report.add("warning", "class_imbalance",
                   f"Classes are imbalanced: {scan.class_names[largest]!r} has {counts[largest]} "
                   f"examples, {scan.class_names[smallest]!r} {counts[smallest]} "
                   f"({present.max() / present.min():.1f}x). Accuracy will favour the large "
                   "classes: collect more of the small ones, or judge per class.")  # fmt: skip


def _check_duplicates(scan, report, validation_fraction, test_fraction, seed):
    """Identical files (by content): across splits they inflate the scores."""
    by_digest = collections.defaultdict(list)
    for path in scan.files:
        by_digest[data_checks.file_digest(path)].append(path)
    groups = [paths for paths in by_digest.values() if len(paths) > 1]
    report.summary["duplicate_groups"] = len(groups)
    if not groups:
        return
    split_of = {}
    if scan.split_files is not None:
        try:
            indices = data_splits.split_indices(
                scan.split_labels, scan.class_names, validation_fraction, test_fraction, seed
            )
        except ValueError:  # a class too small to split, reported already
            indices = ()
        for name, members in zip(("train", "validation", "test"), indices, strict=False):
            split_of.update({scan.split_files[i]: name for i in members})
    label_of = dict(zip(scan.files, scan.labels, strict=True)) if scan.class_names else {}
    across, conflicts, within = [], [], []
    for paths in groups:
        described = " = ".join(
            f"{path} ({split_of[path]})" if path in split_of else str(path) for path in paths
        )
        if len({label_of.get(path) for path in paths}) > 1:
            conflicts.append(described)
        if len({split_of.get(path) for path in paths}) > 1 or not split_of:
            across.append(described)
        else:
            within.append(described)
    if conflicts:
        report.add("warning", "duplicate_label_conflict",
                   f"{len(conflicts)} group(s) of identical files carry different labels: keep "
                   "one copy, with the right label.", conflicts)  # fmt: skip
    if across:
        where = (
            "across train/validation/test"
            if split_of
            else "(the split cannot be made yet, so they may cross train/validation/test)"
        )
        report.add("warning", "duplicate_across_splits",
                   f"{len(across)} group(s) of identical files {where}: validation and test "
                   "scores will be too optimistic. Keep one copy of each.", across)  # fmt: skip
    if within:
        report.add("info", "duplicate_within_split",
                   f"{len(within)} group(s) of identical files within one split (harmless, "
                   "but they count twice).", within)  # fmt: skip
