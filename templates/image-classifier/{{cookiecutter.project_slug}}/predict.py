"""Prints the predicted label and its probability for each image.

    python predict.py image.png [more.jpg ...] [--model outputs/model.keras]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import tl_templates
from config import OUTPUT_DIR


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model)
    labels = (args.model.parent / "labels.txt").read_text(encoding="utf-8").split("\n")[:-1]
    size = model.input_shape[1]
    images = np.stack([tl_templates.load_image(path, size) for path in args.images])
    probabilities = model.predict(images.astype("float32"), verbose=0)
    for path, row in zip(args.images, probabilities):
        best = int(np.argmax(row))
        print(f"{path}: {labels[best]} ({row[best]:.3f})")


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
