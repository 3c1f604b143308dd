"""Prints the predicted label and its probability for each image; --csv writes them all to a CSV.

    python predict.py image.png [more.jpg ...] [--model outputs/model.keras]
    python predict.py folder/ --csv predictions.csv [--top-k 3] [--batch-size 64]

A folder stands for every image under it. Images are read and predicted a
batch at a time, so any number of files fits in memory. A file that cannot
be read is named (on the console and in the CSV's error column) and the
others go on. The CSV has one row per file: file, label, probability, and
top_k ("label:probability" for the k most probable classes).
"""

import argparse
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
    parser.add_argument("--top-k", type=int, default=3, help="classes listed in the CSV's top_k column")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model)
    labels = (args.model.parent / "labels.txt").read_text(encoding="utf-8").split("\n")[:-1]
    size = model.input_shape[1]
    files = tl_templates.find_input_files(args.images)
    done, probabilities, failures = tl_templates.predict_files(
        files, lambda path: tl_templates.load_image(path, size).astype("float32"),
        lambda batch: model.predict(batch, verbose=0), batch_size=args.batch_size,
    )  # fmt: skip
    rows = tl_templates.classification_rows(done, probabilities, labels, top_k=args.top_k) if done else []
    for row in rows:
        print(f"{row['file']}: {row['label']} ({float(row['probability']):.3f})")
    for path, reason in failures:
        print(f"{path}: unreadable, skipped ({reason})", file=sys.stderr)
    if args.csv:
        tl_templates.write_predictions_csv(args.csv, rows, failures)
        print(f"Wrote {args.csv}: {len(rows)} predictions, {len(failures)} unreadable files")
    return rows, failures


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
