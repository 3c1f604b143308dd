"""Exports the trained model to TensorFlow Lite, for phones and microcontrollers.

    python export.py [--model outputs/model.keras] [--output outputs/model.tflite]

The .tflite file takes the same raw 16 kHz waveform as the Keras model: the
log-mel front end is inside it. After converting, the TFLite model runs on
one clip and its output is compared with the Keras model's.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import tl_templates
from config import OUTPUT_DIR, load_config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    parser.add_argument("--output", type=Path, help="default: model.tflite beside the model")
    parser.add_argument("--check", type=Path, help="a WAV clip to compare on (default: one sample clip)")
    args = parser.parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    output = args.output or args.model.with_suffix(".tflite")
    tl_templates.export_tflite(model, output)

    # The same clip through both models: the outputs must agree.
    check = args.check or next(iter(sorted(load_config().data_path.rglob("*.wav"))))
    window = model.input_shape[1]
    clip = tl_templates.fit_to_length(tl_templates.read_wav(check), window)[None]
    keras_output = model.predict(clip, verbose=0)
    tflite_output = tl_templates.run_tflite(output, clip)
    difference = float(np.abs(keras_output - tflite_output).max())
    print(f"Wrote {output} ({output.stat().st_size / 1e6:.1f} MB)")
    print(f"On {check}: Keras {np.round(keras_output[0], 4).tolist()}, "
          f"TFLite {np.round(tflite_output[0], 4).tolist()}, largest difference {difference:.2e}")
    if difference > 1e-3:
        raise ValueError(f"the TFLite model disagrees with the Keras model by {difference:.2e}")
    return difference


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
