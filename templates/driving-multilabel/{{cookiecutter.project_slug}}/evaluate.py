"""What the model gets wrong: each label's precision, recall and F1 at its tuned threshold,
and its precision-recall curve with that threshold marked.

    python evaluate.py [--data labels.csv] [--model outputs/model.keras] [--output outputs/]

Without --data: the run's own test scenes (the split train.py made, from the
settings saved in metrics.json), so the numbers are metrics.json's; train.py
writes the same reports when it finishes. With --data: every scene of a
label CSV (filename,<label>,...; or a folder with labels.csv and images/) that
has the model's labels; a file that cannot be read is named and skipped. The
thresholds are those train.py tuned on the validation scenes (thresholds.json
beside the model). Only known labels count. Writes report.json and
precision_recall.png.
"""

import json
import math
import sys

import numpy as np
from config import OUTPUT_DIR, load_config

import tl_templates
from tl_templates.evaluation import curves
from tl_templates.project import scripts


def _number(value):
    return None if value is None or math.isnan(value) else float(value)


def write_reports(label_names, labels, probabilities, thresholds, output, failures=(), data="test split"):
    """Writes report.json and precision_recall.png to `output`; prints the table."""
    report, pr_curves, marks = {"labels": {}}, {}, {}
    for index, name in enumerate(label_names):
        truth, scores = labels[:, index], probabilities[:, index]
        precision, recall, f1 = tl_templates.precision_recall(truth, scores, thresholds[name])
        report["labels"][name] = {
            "threshold": thresholds[name], "precision": _number(precision), "recall": _number(recall),
            "f1": _number(f1), "auc": _number(tl_templates.roc_auc(truth, scores)),
            "positives": int(np.nansum(truth)), "known": int(np.sum(~np.isnan(truth))),
        }  # fmt: skip
        pr_curves[name] = curves.precision_recall_curve(truth, scores)
        marks[name] = (_number(precision), _number(recall), thresholds[name])
    aucs = [row["auc"] for row in report["labels"].values() if row["auc"] is not None]
    report["mean_auc"] = float(np.mean(aucs)) if aucs else None
    report["curves"] = pr_curves
    report["data"] = data
    report["unreadable"] = [{"file": str(path), "error": reason} for path, reason in failures]
    output.mkdir(parents=True, exist_ok=True)
    tl_templates.write_json_atomic(output / "report.json", report)
    curves.plot_precision_recall_curves(pr_curves, marks, output / "precision_recall.png")

    def cell(value):
        return "  n/a" if value is None else f"{value:.3f}"

    print(f"{'label':<16} {'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>6} {'AUC':>6} positives/known")
    for name, row in report["labels"].items():
        print(f"{name:<16} {row['threshold']:>9.3f} {cell(row['precision']):>9} {cell(row['recall']):>7} "
              f"{cell(row['f1']):>6} {cell(row['auc']):>6} {row['positives']}/{row['known']}")
    print(f"mean AUC {cell(report['mean_auc'])}")
    print(f"Wrote {output}: report.json, precision_recall.png")
    return report


def main(argv=None):
    args = scripts.evaluate_parser(__doc__, OUTPUT_DIR, "a label CSV, or a folder with labels.csv (default: the run's test scenes)").parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    # Label names in the order of the model's outputs, and their tuned thresholds.
    thresholds = json.loads((args.model.parent / "thresholds.json").read_text(encoding="utf-8"))
    label_names = list(thresholds)
    failures = []
    if args.data is None:
        config = load_config(**scripts.saved_settings(args.model))
        from train import load_data

        _, (_, _, (images, labels)) = load_data(config)
        probabilities = model.predict(images.astype("float32"), batch_size=args.batch_size, verbose=0)["labels"]
        labels = labels["labels"]
    else:
        csv_path = args.data / "labels.csv" if args.data.is_dir() else args.data
        table = tl_templates.read_label_csv(csv_path, required=tuple(label_names))
        row_of = {path: row for row, path in enumerate(table.paths)}
        files, outputs, failures = tl_templates.predict_files(
            table.paths, lambda path: tl_templates.load_image(path, model.input_shape[1]).astype("float32"),
            lambda batch: model.predict(batch, verbose=0), batch_size=args.batch_size,
        )  # fmt: skip
        if not files:
            raise ValueError(f"{args.data}: no image could be read.")
        for path, reason in failures:
            print(f"{path}: unreadable, skipped ({reason})", file=sys.stderr)
        probabilities = outputs["labels"]
        labels = table.matrix(label_names)[[row_of[path] for path in files]]
    return write_reports(
        label_names, labels, probabilities, thresholds, args.output or args.model.parent,
        failures=failures, data=str(args.data) if args.data else "test split",
    )  # fmt: skip


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
