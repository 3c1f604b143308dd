"""What the model gets wrong: per-class precision, recall, F1 and support, the confusion matrix, the worst mistakes.

    python evaluate.py [--data path/to/images] [--model outputs/model.keras] [--output outputs/]

Without --data: the run's own test images (the split train.py made, from the
settings saved in metrics.json), so the accuracy is metrics.json's; train.py
writes the same reports when it finishes. With --data: every image of a
class-per-folder data set whose classes are the model's; a file that cannot
be read is named and skipped. Writes report.json, confusion_matrix.png (counts,
and each true class normalised to 1) and worst_examples.png (the most
confident wrong predictions, with their true and predicted labels).
"""

import sys

import numpy as np
from config import OUTPUT_DIR, load_config

import tl_templates
from tl_templates.evaluation import mistakes
from tl_templates.project import scripts

WORST = 16  # wrong predictions shown in worst_examples.png


def write_reports(images, labels, probabilities, class_names, output, files=None, failures=(), data="test split"):
    """Writes report.json, confusion_matrix.png and worst_examples.png to `output`; prints the table."""
    predicted = np.argmax(probabilities, axis=-1)
    report = tl_templates.classification_report(labels, predicted, class_names)
    report["confusion_matrix"] = tl_templates.confusion_matrix(labels, predicted, len(class_names)).tolist()
    # The most confident mistakes: often a wrong label in the data, or a class that looks like another.
    worst = mistakes.worst_examples(labels, probabilities, count=WORST)
    report["worst_examples"] = [
        {"file": str(files[row["index"]]) if files else None, "true": class_names[row["true"]],
         "predicted": class_names[row["predicted"]], "probability": row["probability"], "index": row["index"]}
        for row in worst
    ]  # fmt: skip
    report["data"] = data
    report["unreadable"] = [{"file": str(path), "error": reason} for path, reason in failures]
    output.mkdir(parents=True, exist_ok=True)
    tl_templates.write_json_atomic(output / "report.json", report)
    tl_templates.plot_confusion_matrix(report["confusion_matrix"], class_names, output / "confusion_matrix.png")
    mistakes.plot_example_grid(
        [images[row["index"]] for row in worst],
        [f"true {row['true']}\npredicted {row['predicted']} ({row['probability']:.2f})" for row in report["worst_examples"]],
        output / "worst_examples.png",
    )  # fmt: skip
    print(tl_templates.describe_report(report))
    print(f"Wrote {output}: report.json, confusion_matrix.png, worst_examples.png ({len(worst)} mistakes)")
    return report


def main(argv=None):
    args = scripts.evaluate_parser(__doc__, OUTPUT_DIR, "a class-per-folder data set (default: the run's test images)").parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    class_names = (args.model.parent / "labels.txt").read_text(encoding="utf-8").split("\n")[:-1]
    size = model.input_shape[1]
    files, failures = None, []
    if args.data is None:
        config = load_config(**scripts.saved_settings(args.model))
        splits = tl_templates.load_image_splits(
            config.data_path, size, config.validation_fraction, config.test_fraction, config.seed
        )
        images, labels = splits.test
        probabilities = model.predict(images.astype("float32"), batch_size=args.batch_size, verbose=0)
    else:
        folder = tl_templates.scan_image_folder(args.data)
        label_of = scripts.labels_in_model_order(folder, class_names)
        images = []  # kept for the grid of worst examples
        def read(path):
            images.append(tl_templates.load_image(path, size).astype("float32"))
            return images[-1]
        files, probabilities, failures = tl_templates.predict_files(
            folder.paths, read, lambda batch: model.predict(batch, verbose=0), batch_size=args.batch_size
        )
        if not files:
            raise ValueError(f"{args.data}: no image could be read.")
        labels = np.array([label_of[path] for path in files])
        for path, reason in failures:
            print(f"{path}: unreadable, skipped ({reason})", file=sys.stderr)
    return write_reports(
        images, labels, probabilities, class_names, args.output or args.model.parent,
        files=files, failures=failures, data=str(args.data) if args.data else "test split",
    )  # fmt: skip


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
