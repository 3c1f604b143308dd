"""The product path against the research path, on real digits the kit did not generate.

For k labelled MNIST digits per class (data/targets/mnist_subset.npz, with the
fixed test set of 1,000 and pool of 500 of data/lab_glyphs/measure_transfer.py):

- template: the k x 10 digits are written as PNG files in class folders (what a
  user has), an image-classifier project is generated
  (`tl-templates new image-classifier --no-input`) and trained as a user
  would: `python train.py --data FOLDER` with its defaults, and with
  `--weights none` (the template's from-scratch recipe). The project splits
  the k per class into train / validation / test itself;
- library: measure_transfer.py's recipe on the same k digits per class, all
  of them for training, with its own extra 300 validation digits to pick
  learning rates (fine-tuning and from scratch);

and each model is scored on the same 1,000 test digits, read from PNG files
by the kit's loader for the template's models. Prints a table and one JSON line.

    python benchmarks/template_vs_library.py                  # 5, 10, 20 per class; ~30 min
    python benchmarks/template_vs_library.py --shots 10 --no-library
"""

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import tl_templates
from tl_templates.data import image_folder

REPOSITORY = Path(__file__).resolve().parents[1]
MEASURE_TRANSFER = REPOSITORY / "data" / "lab_glyphs" / "measure_transfer.py"


def load_measure_transfer():
    spec = importlib.util.spec_from_file_location("measure_transfer", MEASURE_TRANSFER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_digits(folder, images, labels):
    """28x28 grey MNIST digits as PNG files, one folder per class: a user's data set."""
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / str(label) / f"{index:05d}.png")
    return folder


def template_accuracy(project, data, output, test_images, test_labels, *flags):
    """Trains the generated project on `data` and scores its model on the test digits."""
    command = [sys.executable, "train.py", "--data", str(data), "--output", str(output),
               "--quiet", *flags]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, cwd=project, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    model = tl_templates.load_model(output / "model.keras")
    predictions = np.argmax(model.predict(test_images, verbose=0), axis=1)
    metrics = json.loads((output / "metrics.json").read_text())
    return {
        "held_out_accuracy": float(np.mean(predictions == test_labels)),
        "own_test_accuracy": metrics["test_accuracy"],
        "own_test_examples": metrics["test_accuracy_interval"]["examples"],
        "strategy": metrics["strategy"],
        "auto": metrics.get("auto"),
        "seconds": round(seconds, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--seed", type=int, default=0, help="which k digits are drawn")
    parser.add_argument("--no-library", action="store_true", help="template rows only")
    args = parser.parse_args(argv)
    measure = load_measure_transfer()
    subset = np.load(REPOSITORY / "data" / "targets" / "mnist_subset.npz")
    images, labels = subset["images"], subset["labels"].astype("int64")
    padded, _, (test, validation, pool) = measure.mnist_digits()

    rows = {}
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        new = [sys.executable, "-m", "tl_templates.cli", "new", "image-classifier", "--no-input"]
        subprocess.run([*new, "-o", str(work)], check=True, stdout=subprocess.DEVNULL)
        project = next(path for path in work.iterdir() if (path / "train.py").exists())
        # The test digits go through the same PNG files and loader as a user's.
        test_folder = write_digits(work / "test", images[test], labels[test])
        test_paths = sorted(test_folder.glob("*/*.png"))
        test_images = image_folder.load_images(test_paths, 32).astype("float32")
        test_labels = np.array([int(path.parent.name) for path in test_paths])
        for shots in args.shots:
            rng = np.random.default_rng(args.seed)
            chosen = np.concatenate(
                [
                    rng.choice(pool[labels[pool] == digit], shots, replace=False)
                    for digit in range(10)
                ]
            )
            data = write_digits(work / f"digits_{shots}", images[chosen], labels[chosen])
            row = {
                "template_default": template_accuracy(
                    project, data, work / f"out_{shots}_default", test_images, test_labels),
                "template_scratch": template_accuracy(
                    project, data, work / f"out_{shots}_scratch", test_images, test_labels,
                    "--weights", "none"),
            }  # fmt: skip
            if not args.no_library:
                started = time.perf_counter()
                library = measure.run(
                    shots, args.seed, padded, labels, (padded[test], labels[test]),
                    (padded[validation], labels[validation]), pool,
                )  # fmt: skip
                row["library"] = {**library, "seconds": round(time.perf_counter() - started, 1)}
            rows[shots] = row
            print(json.dumps({shots: row}), flush=True)

    print(
        "\n| per class | template defaults | template scratch | library feature extraction "
        "| library fine-tuning | library scratch |"
    )
    print("|---|---|---|---|---|---|")
    for shots, row in rows.items():
        library = row.get("library", {})
        default = row["template_default"]
        cells = [
            f"{default['held_out_accuracy']:.1%} ({default['strategy']})",
            f"{row['template_scratch']['held_out_accuracy']:.1%}",
            *(f"{library[name]:.1%}" if name in library else "-"
              for name in ("feature_extraction", "fine_tuning", "scratch")),
        ]  # fmt: skip
        print(f"| {shots} | " + " | ".join(cells) + " |")
    print(json.dumps({"seed": args.seed, "test_examples": len(test_labels), "rows": rows}))


if __name__ == "__main__":
    main()
