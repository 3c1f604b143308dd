"""Exports the trained model for phones (TensorFlow Lite) and servers (TF Serving).

    python export.py [--quantize none|float16|dynamic|int8 ...] [--saved-model]
                     [--model outputs/model.keras] [--output outputs/]

The .tflite file takes raw RGB pixels (0-255), like the Keras model, and has
one named output per task: "gender" (the probability of female, 1) and
"age" (years). outputs.json, beside it, says so. Each file then runs in the
TFLite interpreter on the held-out test faces: gender accuracy and age MAE
are printed next to the Keras model's, with its size; a quantized file that
loses more than the tolerances says so. Reports go to export.json.
--saved-model also writes saved_model/1/.
"""

import json

from config import OUTPUT_DIR, load_config

import tl_templates
from tl_templates.project import scripts

OUTPUTS = {
    "gender": "probability that the face is female (label 1); male below 0.5",
    "age": "age in years",
}


def main(argv=None):
    # --model, --output, --quantize and --saved-model, as every template's export.py.
    parser = scripts.export_parser(__doc__, OUTPUT_DIR)
    parser.add_argument("--gender-tolerance", type=float, default=0.02, help="accuracy a quantized file may lose")
    parser.add_argument("--age-tolerance", type=float, default=0.5, help="years of MAE a quantized file may add")
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    output = args.output or args.model.parent

    # The split train.py made, from the settings it saved in metrics.json (data,
    # tasks, fractions, seed): int8 calibrates on training faces, every file is
    # checked on the test faces.
    config = load_config(**scripts.saved_settings(args.model))
    from train import age_mae, gender_accuracy, load_data

    train, _, (test_images, test_labels) = load_data(config)
    measures = []
    if "gender" in config.tasks:
        measures.append(tl_templates.ExportMeasure("gender_accuracy", gender_accuracy, tolerance=args.gender_tolerance))
    if "age" in config.tasks:
        measures.append(tl_templates.ExportMeasure("age_mae", age_mae, higher_is_better=False, tolerance=args.age_tolerance))
    outputs = json.dumps({task: OUTPUTS[task] for task in config.tasks}, indent=2) + "\n"
    # Each setting is converted, then checked in the TFLite interpreter (export.json).
    return tl_templates.export_each(
        model, output, args.quantize, saved_model=args.saved_model,
        examples=test_images, labels=test_labels, measures=measures,
        representative_data=train[0][:200], beside={"outputs.json": outputs},
    )  # fmt: skip


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
