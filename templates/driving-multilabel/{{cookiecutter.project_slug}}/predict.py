"""Prints the labels found in each scene, then every label's probability and threshold.

    python predict.py scene.jpg [more.png ...] [--model outputs/model.keras]
    python predict.py folder/ --csv predictions.csv [--batch-size 64]

A folder stands for every image under it. Images are read and predicted a
batch at a time, so any number of files fits in memory. A file that cannot
be read is named (on the console and in the CSV's error column) and the
others go on. The CSV has one row per file: file, the labels found (at the
thresholds tuned by train.py, separated by spaces), and each label's
probability.
"""

import argparse
import json
import sys
from pathlib import Path

from config import OUTPUT_DIR

import tl_templates
from tl_templates.project import scripts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("images", nargs="+", type=Path, help="image files or folders")
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    parser.add_argument("--csv", type=Path, help="write every prediction to this CSV file")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model)
    # Label names (in the order of the model's outputs) and their decision thresholds,
    # tuned on validation by train.py.
    thresholds = json.loads((args.model.parent / "thresholds.json").read_text(encoding="utf-8"))
    size = model.input_shape[1]
    files = tl_templates.find_input_files(args.images)
    done, predictions, failures = tl_templates.predict_files(
        files, lambda path: tl_templates.load_image(path, size).astype("float32"),
        lambda batch: model.predict(batch, verbose=0), batch_size=args.batch_size,
    )  # fmt: skip
    rows = []
    for path, probabilities in zip(done, predictions["labels"] if done else [], strict=True):
        found = [name for name, p in zip(thresholds, probabilities, strict=True) if p >= thresholds[name]]
        print(f"{path}: {', '.join(found) or 'none'}")
        for name, p in zip(thresholds, probabilities, strict=True):
            print(f"  {name:<16} {p:.3f} (threshold {thresholds[name]:.3f})")
        rows.append({"file": str(path), "labels": " ".join(found),
                     **{name: f"{p:.4f}" for name, p in zip(thresholds, probabilities, strict=True)}})
    for path, reason in failures:
        print(f"{path}: unreadable, skipped ({reason})", file=sys.stderr)
    if args.csv:
        tl_templates.write_predictions_csv(args.csv, rows, failures)
        print(f"Wrote {args.csv}: {len(rows)} predictions, {len(failures)} unreadable files")
    return rows, failures


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
