"""Exports the trained model for phones (TensorFlow Lite) and servers (TF Serving).

    python export.py [--quantize none|float16|dynamic|int8 ...] [--saved-model]
                     [--model outputs/model.keras] [--output outputs/]

The .tflite file takes raw RGB pixels (0-255), like the Keras model, and has
one named output, "labels": one probability per label, in the order of
labels.txt. thresholds.json (each label's decision threshold, tuned by
train.py) is written beside it. Each file then runs in the TFLite interpreter
on the held-out test scenes, and its mean AUC is printed next to the Keras
model's, with its size; a quantized file that loses more than --tolerance
says so. Reports go to export.json. --saved-model also writes saved_model/1/.
"""

import argparse
import json
import sys
from pathlib import Path

from config import OUTPUT_DIR, load_config

import tl_templates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    parser.add_argument("--output", type=Path, help="default: the model's folder")
    parser.add_argument("--quantize", nargs="+", default=["none"], choices=["none", "float16", "dynamic", "int8"])
    parser.add_argument("--tolerance", type=float, default=0.02, help="mean AUC a quantized file may lose")
    parser.add_argument("--saved-model", action="store_true", help="also write a SavedModel for TF Serving")
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    output = args.output or args.model.parent
    thresholds = (args.model.parent / "thresholds.json").read_text(encoding="utf-8")

    # The split train.py made, from the settings it saved in metrics.json (data,
    # fractions, seed): int8 calibrates on training scenes, every file is checked
    # on the test scenes.
    config = load_config(**json.loads((args.model.parent / "metrics.json").read_text())["run"]["settings"])
    from train import load_data, mean_auc

    label_names, (train, _, (test_images, test_labels)) = load_data(config)
    measure = tl_templates.ExportMeasure(
        "mean_auc", lambda labels, outputs: mean_auc(labels["labels"], outputs["labels"]),
        tolerance=args.tolerance,
    )  # fmt: skip
    beside = {"thresholds.json": thresholds, "labels.txt": "\n".join(label_names) + "\n"}
    # Each setting is converted, then checked in the TFLite interpreter (export.json).
    return tl_templates.export_each(
        model, output, args.quantize, saved_model=args.saved_model,
        examples=test_images, labels=test_labels, measures=[measure],
        representative_data=train[0][:200], beside=beside,
    )  # fmt: skip


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
