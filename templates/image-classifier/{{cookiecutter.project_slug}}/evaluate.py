"""What the model gets wrong: per-class precision, recall, F1 and support, and the confusion matrix.

    python evaluate.py [--data path/to/images] [--model outputs/model.keras] [--output outputs/]

Without --data: the run's own test images (the split train.py made, from the
settings saved in metrics.json), so the accuracy is metrics.json's. With
--data: every image of a class-per-folder data set whose classes are the
model's; a file that cannot be read is named and skipped. Writes report.json
and confusion_matrix.png (counts, and each true class normalised to 1).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from config import OUTPUT_DIR, load_config

import tl_templates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--data", type=Path, help="a class-per-folder data set (default: the run's test images)")
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    parser.add_argument("--output", type=Path, help="default: the model's folder")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    class_names = (args.model.parent / "labels.txt").read_text(encoding="utf-8").split("\n")[:-1]
    output = args.output or args.model.parent
    size = model.input_shape[1]
    failures = []
    if args.data is None:
        config = load_config(**json.loads((args.model.parent / "metrics.json").read_text())["run"]["settings"])
        splits = tl_templates.load_image_splits(
            config.data_path, size, config.validation_fraction, config.test_fraction, config.seed
        )
        images, labels = splits.test
        probabilities = model.predict(images.astype("float32"), batch_size=args.batch_size, verbose=0)
    else:
        folder = tl_templates.scan_image_folder(args.data)
        unknown = sorted(set(folder.class_names) - set(class_names))
        if unknown:
            raise ValueError(f"{args.data}: classes the model does not know: {', '.join(unknown)}. "
                             f"Known classes: {', '.join(class_names)}.")
        label_of = dict(zip(folder.paths, (class_names.index(folder.class_names[i]) for i in folder.labels)))
        done, probabilities, failures = tl_templates.predict_files(
            folder.paths, lambda path: tl_templates.load_image(path, size).astype("float32"),
            lambda batch: model.predict(batch, verbose=0), batch_size=args.batch_size,
        )  # fmt: skip
        if not done:
            raise ValueError(f"{args.data}: no image could be read.")
        labels = np.array([label_of[path] for path in done])
        for path, reason in failures:
            print(f"{path}: unreadable, skipped ({reason})", file=sys.stderr)

    predicted = np.argmax(probabilities, axis=-1)
    report = tl_templates.classification_report(labels, predicted, class_names)
    report["confusion_matrix"] = tl_templates.confusion_matrix(labels, predicted, len(class_names)).tolist()
    report["data"] = str(args.data) if args.data else "test split"
    report["unreadable"] = [{"file": str(path), "error": reason} for path, reason in failures]
    output.mkdir(parents=True, exist_ok=True)
    tl_templates.write_json_atomic(output / "report.json", report)
    tl_templates.plot_confusion_matrix(report["confusion_matrix"], class_names, output / "confusion_matrix.png")
    print(tl_templates.describe_report(report))
    print(f"Wrote {output / 'report.json'} and {output / 'confusion_matrix.png'}")
    return report


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
