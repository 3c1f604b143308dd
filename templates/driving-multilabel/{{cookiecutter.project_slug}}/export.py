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

from config import OUTPUT_DIR, load_config

import tl_templates
from tl_templates.project import scripts


def main(argv=None):
    # --model, --output, --quantize and --saved-model, as every template's export.py.
    parser = scripts.export_parser(__doc__, OUTPUT_DIR)
    parser.add_argument("--tolerance", type=float, default=0.02, help="mean AUC a quantized file may lose")
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    output = args.output or args.model.parent
    thresholds = (args.model.parent / "thresholds.json").read_text(encoding="utf-8")

    # The split train.py made, from the settings it saved in metrics.json (data,
    # fractions, seed): int8 calibrates on training scenes, every file is checked
    # on the test scenes.
    config = load_config(**scripts.saved_settings(args.model))
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
    scripts.run(main)  # a bad input: one line, not a traceback
