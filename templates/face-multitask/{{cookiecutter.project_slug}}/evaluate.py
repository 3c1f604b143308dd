"""What the model gets wrong: gender precision, recall and confusion, and age error and
gender accuracy by age band.

    python evaluate.py [--data path/to/UTKFace | labels.csv] [--model outputs/model.keras] [--output outputs/]

Without --data: the run's own test faces (the split train.py made, from the
settings saved in metrics.json), so the numbers are metrics.json's; train.py
writes the same reports when it finishes. With --data: every face of a
UTKFace folder, a folder with labels.csv and images/, or a CSV
(filename,gender,age); a file that cannot be read is named and skipped.
Only known labels count. Writes report.json, gender_confusion.png (gender)
and age_bands.png (age MAE and gender accuracy by band of the true age).
"""

import sys

import numpy as np
from config import OUTPUT_DIR, load_config

import tl_templates
from tl_templates.evaluation import bands
from tl_templates.project import scripts

GENDERS = ["male", "female"]  # label 0 and 1


def write_reports(labels, predictions, output, failures=(), data="test split"):
    """Writes report.json, gender_confusion.png and age_bands.png to `output`; prints them.

    `labels` and `predictions` are `{task: array}`, labels NaN where unknown.
    """
    report, tables = {}, {}
    if "gender" in labels:
        truth, probability = labels["gender"], predictions["gender"].ravel()
        known = ~np.isnan(truth)
        predicted = (probability >= 0.5).astype("int64")
        gender = tl_templates.classification_report(truth[known].astype("int64"), predicted[known], GENDERS)
        gender["confusion_matrix"] = tl_templates.confusion_matrix(truth[known], predicted[known], 2).tolist()
        auc = tl_templates.roc_auc(truth, probability)  # NaN when the known genders are all one
        gender["auc"] = None if np.isnan(auc) else auc
        report["gender"] = gender
        print(f"Gender ({int(known.sum())} faces with a known gender):\n{tl_templates.describe_report(gender)}")
        tl_templates.plot_confusion_matrix(gender["confusion_matrix"], GENDERS, output / "gender_confusion.png")
    if "age" in labels:
        errors = np.abs(predictions["age"].ravel() - labels["age"])
        report["age_mae"] = float(np.nanmean(errors)) if np.isfinite(errors).any() else None
        tables["age MAE (years)"] = bands.mean_by_band(labels["age"], errors)
        if "gender" in labels:  # right (1) or wrong (0), where the gender is known
            right = np.where(np.isnan(labels["gender"]), np.nan, predicted == labels["gender"])
            tables["gender accuracy"] = bands.mean_by_band(labels["age"], right)
    if tables:
        report["by_age_band"] = tables
        print("By band of the true age (faces in brackets):")
        print(bands.describe_bands(tables, {"age MAE (years)": ".1f", "gender accuracy": ".3f"}))
        bands.plot_bands(tables, output / "age_bands.png")
    report["data"] = data
    report["unreadable"] = [{"file": str(path), "error": reason} for path, reason in failures]
    output.mkdir(parents=True, exist_ok=True)
    tl_templates.write_json_atomic(output / "report.json", report)
    pictures = ["gender_confusion.png"] * ("gender" in labels) + ["age_bands.png"] * bool(tables)
    print(f"Wrote {output}: {', '.join(['report.json', *pictures])}")
    return report


def main(argv=None):
    args = scripts.evaluate_parser(__doc__, OUTPUT_DIR, "UTKFace folder, folder with labels.csv, or a CSV (default: the run's test faces)").parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    config = load_config(**scripts.saved_settings(args.model))
    failures = []
    if args.data is None:
        from train import load_data

        _, _, (images, labels) = load_data(config)
        predictions = model.predict(images.astype("float32"), batch_size=args.batch_size, verbose=0)
    else:
        table = tl_templates.read_face_labels(args.data, config.tasks)
        row_of = {path: row for row, path in enumerate(table.paths)}
        files, predictions, failures = tl_templates.predict_files(
            table.paths, lambda path: tl_templates.load_image(path, config.image_size).astype("float32"),
            lambda batch: model.predict(batch, verbose=0), batch_size=args.batch_size,
        )  # fmt: skip
        if not files:
            raise ValueError(f"{args.data}: no image could be read.")
        for path, reason in failures:
            print(f"{path}: unreadable, skipped ({reason})", file=sys.stderr)
        rows = [row_of[path] for path in files]
        labels = {task: table.labels[task][rows] for task in config.tasks}
    return write_reports(
        labels, predictions, args.output or args.model.parent, failures=failures,
        data=str(args.data) if args.data else "test split",
    )  # fmt: skip


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
