"""Prints the labels found in each scene, then every label's probability and threshold.

    python predict.py scene.jpg [more.png ...] [--model outputs/model.keras]
"""

import argparse
import json
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
    # Label names (in the order of the model's outputs) and their decision thresholds,
    # tuned on validation by train.py.
    thresholds = json.loads((args.model.parent / "thresholds.json").read_text(encoding="utf-8"))
    size = model.input_shape[1]
    images = np.stack([tl_templates.load_image(path, size) for path in args.images])
    probabilities = model.predict(images.astype("float32"), verbose=0)["labels"]
    for path, row in zip(args.images, probabilities, strict=True):
        found = [name for name, p in zip(thresholds, row, strict=True) if p >= thresholds[name]]
        print(f"{path}: {', '.join(found) or 'none'}")
        for name, p in zip(thresholds, row, strict=True):
            print(f"  {name:<16} {p:.3f} (threshold {thresholds[name]:.3f})")


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
