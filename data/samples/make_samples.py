"""Writes the bundled sample images: data/samples/digits/<digit>/<n>.png.

Real handwritten digits (the UCI "Optical Recognition of Handwritten Digits"
set, CC BY 4.0, as shipped inside scikit-learn: no download), 40 per class,
upscaled from 8x8 to 32x32 and drawn as dark ink on white paper. They are the
small real target the image-classifier template and the quickstart train on.

    pip install scikit-learn && python data/samples/make_samples.py
"""

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent


def digit_image(pixels, size):
    """An 8x8 array of ink levels 0-16 as a `size` x `size` grayscale image."""
    paper = (255 - pixels * (255 / 16)).astype(np.uint8)
    return Image.fromarray(paper, mode="L").resize((size, size), Image.BILINEAR)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    digits = load_digits()
    output = HERE / "digits"
    shutil.rmtree(output, ignore_errors=True)
    rng = np.random.default_rng(args.seed)
    for label in range(10):
        chosen = rng.choice(np.flatnonzero(digits.target == label), args.per_class, replace=False)
        folder = output / str(label)
        folder.mkdir(parents=True)
        for number, index in enumerate(sorted(chosen)):
            digit_image(digits.images[index], args.size).save(folder / f"{number:03d}.png")
    print(f"wrote {10 * args.per_class} images to {output}")


if __name__ == "__main__":
    main()
