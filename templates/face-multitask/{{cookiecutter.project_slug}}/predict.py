"""Prints the predicted gender (with its probability) and age of each face.

    python predict.py face.jpg [more.png ...] [--model outputs/model.keras]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import tl_templates
from config import OUTPUT_DIR


def describe(predictions, index):
    """One face's predictions in words, for the tasks the model has."""
    words = []
    if "gender" in predictions:
        female = float(predictions["gender"][index, 0])  # probability of 1 (female)
        words.append(f"female ({female:.3f})" if female >= 0.5 else f"male ({1 - female:.3f})")
    if "age" in predictions:
        words.append(f"age {float(predictions['age'][index, 0]):.0f}")
    return ", ".join(words)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model)
    size = model.input_shape[1]
    images = np.stack([tl_templates.load_image(path, size) for path in args.images])
    predictions = model.predict(images.astype("float32"), verbose=0)
    for index, path in enumerate(args.images):
        print(f"{path}: {describe(predictions, index)}")


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
