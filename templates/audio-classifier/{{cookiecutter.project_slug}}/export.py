"""Exports the trained model for phones and microcontrollers (TensorFlow Lite) and servers (TF Serving).

    python export.py [--quantize none|float16|dynamic|int8 ...] [--saved-model]
                     [--model outputs/model.keras] [--output outputs/]

The .tflite file takes the same raw 16 kHz waveform as the Keras model: the
log-mel front end is inside it. labels.txt is written beside it (line i
names output i). Each file then runs in the TFLite interpreter on the
held-out test clips, and its accuracy is printed next to the Keras model's,
with its size and the largest difference between the two models' outputs; a
quantized file that loses more than --tolerance says so. Reports go to
export.json. --saved-model also writes saved_model/1/.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from config import OUTPUT_DIR, load_config

import tl_templates


def accuracy(labels, probabilities):
    return float(np.mean(np.argmax(probabilities, axis=-1) == labels))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    parser.add_argument("--output", type=Path, help="default: the model's folder")
    parser.add_argument("--quantize", nargs="+", default=["none"], choices=["none", "float16", "dynamic", "int8"])
    parser.add_argument("--tolerance", type=float, default=0.02, help="accuracy a quantized file may lose")
    parser.add_argument("--saved-model", action="store_true", help="also write a SavedModel for TF Serving")
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    output = args.output or args.model.parent
    labels = (args.model.parent / "labels.txt").read_text(encoding="utf-8")

    # The split train.py made, from the settings it saved in metrics.json (data,
    # fractions, seed): int8 calibrates on training clips, every file is checked
    # on the test clips.
    config = load_config(**json.loads((args.model.parent / "metrics.json").read_text())["run"]["settings"])
    splits = tl_templates.load_audio_splits(
        config.data_path, model.input_shape[1], config.validation_fraction,
        config.test_fraction, config.seed,
    )  # fmt: skip
    test_clips, test_labels = splits.test
    measure = tl_templates.ExportMeasure("accuracy", accuracy, tolerance=args.tolerance)
    # Each setting is converted, then checked in the TFLite interpreter (export.json).
    return tl_templates.export_each(
        model, output, args.quantize, saved_model=args.saved_model,
        examples=test_clips, labels=test_labels, measures=[measure],
        representative_data=splits.train[0][:200], beside={"labels.txt": labels},
    )  # fmt: skip


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
