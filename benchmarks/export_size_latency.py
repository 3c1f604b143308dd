"""TFLite file size and single-example latency per quantization, per template default backbone.

    python benchmarks/export_size_latency.py [--repeats 50] [--examples 32]

For each template's default backbone and input (image-classifier: lab_glyphs
32 px; face-multitask and driving-multilabel: lab_glyphs 48 px; audio-
classifier: lab_speech, 0.975 s at 16 kHz) the model is built as the
template builds it (pretrained lab weights, a new head with random weights),
exported at each quantization (`tl_templates.deploy.tflite.QUANTIZATIONS`), and run
in the TFLite interpreter one example at a time: the median latency over
--repeats calls, the file size, and how far the file is from Keras on
--examples random inputs (largest output difference, top-1 agreement).
The accuracy change of a trained model is what each project's `export.py`
reports on its held-out examples; a head with random weights has no accuracy
to change. Ends with one JSON line.
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

import tl_templates
from tl_templates.deploy import tflite

TEMPLATES = {  # template: (backbone, input shape, outputs)
    "image-classifier": ("lab_glyphs", (32, 32, 3), {"classes": 10}),
    "face-multitask": ("lab_glyphs", (48, 48, 3), {"gender": 1, "age": 1}),
    "driving-multilabel": ("lab_glyphs", (48, 48, 3), {"labels": 4}),
    "audio-classifier": ("lab_speech", (15_600,), {"classes": 3}),
}


def build(backbone_name, shape, outputs):
    """The template's model shape: backbone -> pooled features -> new head(s)."""
    keras.utils.set_random_seed(0)
    backbone = tl_templates.build_backbone(backbone_name, input_shape=shape, weights="pretrained")
    inputs = keras.Input(shape)
    features = backbone(inputs)
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D()(features)
    if "classes" in outputs:
        return keras.Model(
            inputs, keras.layers.Dense(outputs["classes"], activation="softmax")(features)
        )
    heads = {
        name: keras.layers.Dense(units, activation=None if name == "age" else "sigmoid", name=name)(
            features
        )
        for name, units in outputs.items()
    }
    return keras.Model(inputs, heads)


def examples(shape, count, seed=0):
    rng = np.random.default_rng(seed)
    if len(shape) == 1:  # a waveform in [-1, 1]
        return rng.uniform(-0.5, 0.5, (count, *shape)).astype("float32")
    return rng.uniform(0, 255, (count, *shape)).astype("float32")  # raw pixels


def latency_ms(path, example, repeats):
    """Median milliseconds of one `invoke` on one example, after a warm-up call."""
    interpreter = tflite._interpreter(path)
    runner = interpreter.get_signature_runner()
    ((name, _),) = runner.get_input_details().items()
    runner(**{name: example[None]})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        runner(**{name: example[None]})
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def top1(outputs):
    if isinstance(outputs, dict):  # several outputs: the first's decision
        first = next(iter(sorted(outputs)))
        values = outputs[first]
        return values.argmax(-1) if values.shape[-1] > 1 else (values[:, 0] >= 0.5)
    return outputs.argmax(-1)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--examples", type=int, default=32)
    parser.add_argument("--templates", nargs="+", default=list(TEMPLATES), choices=list(TEMPLATES))
    parser.add_argument(
        "--quantize",
        nargs="+",
        default=list(tflite.QUANTIZATIONS),
        choices=list(tflite.QUANTIZATIONS),
    )
    args = parser.parse_args(argv)

    figures = {"machine": platform.node(), "repeats": args.repeats, "examples": args.examples}
    with tempfile.TemporaryDirectory() as folder:
        for template in args.templates:
            backbone, shape, outputs = TEMPLATES[template]
            model = build(backbone, shape, outputs)
            inputs = examples(shape, args.examples)
            expected = model.predict(inputs, verbose=0)
            calibration = examples(shape, 64, seed=1)
            print(f"{template} ({backbone}, input {shape}):")
            for quantize in args.quantize:
                path = tflite.export_tflite(
                    model, Path(folder) / f"{template}_{quantize}.tflite",
                    quantize=quantize, representative_data=calibration,
                )  # fmt: skip
                got = tflite.run_tflite(path, inputs)
                if isinstance(expected, dict):
                    difference = max(
                        float(np.max(np.abs(got[name] - expected[name]))) for name in expected
                    )
                else:
                    difference = float(np.max(np.abs(got - expected)))
                row = {
                    "bytes": path.stat().st_size,
                    "latency_ms": round(latency_ms(path, inputs[0], args.repeats), 3),
                    "largest_difference": difference,
                    "top1_agreement": float(np.mean(top1(got) == top1(expected))),
                }
                key = f"{template.replace('-', '_')}_{quantize}"
                figures.update({f"{key}_{name}": value for name, value in row.items()})
                print(
                    f"  {quantize:<8} {row['bytes'] / 1e6:6.2f} MB  {row['latency_ms']:7.2f} ms  "
                    f"largest difference {difference:.2e}  "
                    f"top-1 agreement {row['top1_agreement']:.3f}"
                )
            keras.backend.clear_session()
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
