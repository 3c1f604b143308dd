"""Prints the predicted gender (with its probability) and age of each face; --csv writes them all to a CSV.

    python predict.py face.jpg [more.png ...] [--model outputs/model.keras]
    python predict.py folder/ --csv predictions.csv [--batch-size 64]

A folder stands for every image under it. Images are read and predicted a
batch at a time, so any number of files fits in memory. A file that cannot
be read is named (on the console and in the CSV's error column) and the
others go on. The CSV has one row per file: file, then gender and its
probability, and age, for the tasks the model has.
"""

import argparse
import sys
from pathlib import Path

from config import OUTPUT_DIR

import tl_templates
from tl_templates.project import scripts


def describe(predictions, index):
    """One face's predictions in words, for the tasks the model has."""
    words = []
    if "gender" in predictions:
        female = float(predictions["gender"][index, 0])  # probability of 1 (female)
        words.append(f"female ({female:.3f})" if female >= 0.5 else f"male ({1 - female:.3f})")
    if "age" in predictions:
        words.append(f"age {float(predictions['age'][index, 0]):.0f}")
    return ", ".join(words)


def row(path, predictions, index):
    """One face's predictions as a CSV row."""
    values = {"file": str(path)}
    if "gender" in predictions:
        female = float(predictions["gender"][index, 0])
        values["gender"] = "female" if female >= 0.5 else "male"
        values["gender_probability"] = f"{max(female, 1 - female):.4f}"
    if "age" in predictions:
        values["age"] = f"{float(predictions['age'][index, 0]):.1f}"
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("images", nargs="+", type=Path, help="image files or folders")
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    parser.add_argument("--csv", type=Path, help="write every prediction to this CSV file")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model)
    size = model.input_shape[1]
    files = tl_templates.find_input_files(args.images)
    done, predictions, failures = tl_templates.predict_files(
        files, lambda path: tl_templates.load_image(path, size).astype("float32"),
        lambda batch: model.predict(batch, verbose=0), batch_size=args.batch_size,
    )  # fmt: skip
    for index, path in enumerate(done):
        print(f"{path}: {describe(predictions, index)}")
    for path, reason in failures:
        print(f"{path}: unreadable, skipped ({reason})", file=sys.stderr)
    rows = [row(path, predictions, index) for index, path in enumerate(done)]
    if args.csv:
        tl_templates.write_predictions_csv(args.csv, rows, failures)
        print(f"Wrote {args.csv}: {len(rows)} predictions, {len(failures)} unreadable files")
    return rows, failures


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
