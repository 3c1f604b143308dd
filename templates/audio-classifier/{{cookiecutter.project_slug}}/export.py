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

import numpy as np
from config import OUTPUT_DIR, load_config

import tl_templates
from tl_templates.project import scripts


def accuracy(labels, probabilities):
    return float(np.mean(np.argmax(probabilities, axis=-1) == labels))


def main(argv=None):
    # --model, --output, --quantize and --saved-model, as every template's export.py.
    parser = scripts.export_parser(__doc__, OUTPUT_DIR)
    parser.add_argument("--tolerance", type=float, default=0.02, help="accuracy a quantized file may lose")
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    output = args.output or args.model.parent
    labels = (args.model.parent / "labels.txt").read_text(encoding="utf-8")

    # The split train.py made, from the settings it saved in metrics.json (data,
    # fractions, seed): int8 calibrates on training clips, every file is checked
    # on the test clips.
    config = load_config(**scripts.saved_settings(args.model))
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
    scripts.run(main)  # a bad input: one line, not a traceback
