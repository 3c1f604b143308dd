"""TensorFlow Lite (LiteRT) export, for on-device use, and running the result.

Quantization settings (`quantize=`), smallest last:

- "none": float32 weights and arithmetic; the same numbers as Keras.
- "float16": weights stored as float16 (half the size); computed in float32
  on a CPU, in float16 on GPU delegates.
- "dynamic": weights stored as int8 (a quarter of the size), activations
  quantized on the fly; no calibration data needed.
- "int8": full-integer: weights and activations int8, calibrated on a
  representative data set (a few hundred training examples). Float32 in and
  out, so that the file takes the same raw input as the Keras model; the
  operations TFLite has no int8 kernel for (an audio front end's FFT) stay
  in float32.
"""

import warnings
from pathlib import Path

import numpy as np

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")


def converter_options(quantize, representative_data=None):
    """The `tf.lite.TFLiteConverter` settings of a quantization setting.

    Args:
        quantize: str. One of `QUANTIZATIONS`.
        representative_data: np.ndarray or dict of arrays, or None. Examples
            of the model's input, needed for "int8" only.

    Returns:
        dict: converter attribute -> value, as `model.export(..., **options)`
        takes them.
    """
    import tensorflow as tf

    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"Unknown quantization. Received: quantize={quantize!r}. "
            f"Known settings: {', '.join(QUANTIZATIONS)}."
        )
    if quantize == "none":
        return {}
    options = {"optimizations": [tf.lite.Optimize.DEFAULT]}
    if quantize == "float16":
        options["target_spec"] = {"supported_types": [tf.float16]}
    elif quantize == "int8":
        if representative_data is None or len(representative_data) == 0:
            raise ValueError(
                "int8 quantization needs representative examples to calibrate "
                "on (a few hundred training examples). Received: representative_data=None."
            )
        examples = np.asarray(representative_data, dtype="float32")

        def representative_dataset():
            for example in examples:
                yield [example[None]]

        options["representative_dataset"] = representative_dataset
        # Integer kernels wherever TFLite has them, float32 for the rest.
        options["target_spec"] = {
            "supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
        }
    return options


def export_tflite(model, path, quantize="none", representative_data=None, metadata=None):
    """Converts a Keras model to a `.tflite` file, preprocessing and all.

    The kit's image preprocessing and audio front end use only operations
    TensorFlow Lite runs natively, so the file takes raw pixels (0-255) or
    raw 16 kHz waveforms like the Keras model. A model with named outputs
    (a dict) keeps the names in the file's signature; `run_tflite` returns
    them as a dict.

    Args:
        model: keras.Model. A trained model.
        path: str or Path. The `.tflite` file to write; an existing file is
            refused, so that nothing is overwritten.
        quantize: str. "none", "float16", "dynamic" or "int8" (see the
            module's docstring).
        representative_data: np.ndarray or None. Training inputs to calibrate
            "int8" on.
        metadata: dict or None. `{name: text}` stored in the file's metadata
            table (the labels, the thresholds), readable on the device by
            `tflite::FlatBufferModel::ReadAllMetadata()` and here by
            `read_tflite_metadata`.

    Returns:
        The `Path` written.

    Raises:
        FileExistsError: `path` exists.
        ValueError: `path` does not end with `.tflite`, an unknown
            `quantize`, or "int8" without `representative_data`.

    Examples:
    >>> import tempfile, keras, numpy as np, tl_templates
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    >>> folder = Path(tempfile.mkdtemp())
    >>> path = tl_templates.export_tflite(model, folder / "model.tflite", quantize="float16")
    >>> x = np.ones((3, 4), "float32")
    >>> bool(np.allclose(tl_templates.run_tflite(path, x), model.predict(x, verbose=0), atol=1e-2))
    True
    """
    path = Path(path)
    if path.suffix != ".tflite":
        raise ValueError(f"A TFLite file name ends with .tflite. Received: path={str(path)!r}.")
    if path.exists():
        raise FileExistsError(f"{path} already exists; remove it or choose another file name.")
    options = converter_options(quantize, representative_data)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.tflite")
    model.export(str(partial), format="litert", verbose=False, **options)
    if metadata:
        _embed_metadata(partial, metadata)
    partial.replace(path)  # only a complete file gets the real name
    return path


def _embed_metadata(path, metadata):
    """Adds `{name: text}` to the metadata table of the `.tflite` file at `path`."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    model.metadata = list(model.metadata or [])
    for name, text in metadata.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, len(model.buffers) - 1
        model.metadata.append(entry)
    flatbuffer_utils.write_model(model, str(path))


def read_tflite_metadata(path):
    """The metadata table of a `.tflite` file: `{name: bytes}`.

    Besides what `export_tflite(metadata=)` stored, the converter's own
    entries (`min_runtime_version`, `CONVERSION_METADATA`) are there.

    Examples:
    >>> import tempfile, keras, tl_templates
    >>> from tl_templates.deploy.tflite import read_tflite_metadata
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    >>> path = Path(tempfile.mkdtemp()) / "model.tflite"
    >>> path = tl_templates.export_tflite(model, path, metadata={"labels.txt": "cat\\ndog\\n"})
    >>> read_tflite_metadata(path)["labels.txt"].decode()
    'cat\\ndog\\n'
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    entries = {}
    for entry in model.metadata or []:
        name = entry.name.decode() if isinstance(entry.name, bytes) else entry.name
        data = model.buffers[entry.buffer].data
        entries[name] = b"" if data is None else bytes(np.asarray(data, dtype=np.uint8))
    return entries


def _interpreter(path):
    try:  # the maintained package, when installed
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        with warnings.catch_warnings():
            # TensorFlow points to ai_edge_litert; its own interpreter still works.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            return tf.lite.Interpreter(model_path=str(path))
    return Interpreter(model_path=str(path))


def _to_tensor(value, detail):
    """A float example as the input tensor wants it (quantized when it is integer)."""
    if np.issubdtype(detail["dtype"], np.integer):
        scale, zero_point = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        value = np.clip(np.round(value / scale + zero_point), info.min, info.max)
    return value.astype(detail["dtype"])


def _from_tensor(value, detail):
    """An output tensor as float32 (dequantized when it is integer)."""
    if np.issubdtype(detail["dtype"], np.integer):
        scale, zero_point = detail["quantization"]
        return (value.astype("float32") - zero_point) * scale
    return value.astype("float32")


def run_tflite(path, inputs):
    """Runs a `.tflite` file on a batch, one example at a time.

    Args:
        path: str or Path. A file from `export_tflite`.
        inputs: np.ndarray. A batch, shaped like the Keras model's input.

    Returns:
        np.ndarray: the outputs, stacked, for a model with one output; for
        named outputs, a dict name -> stacked array, like `model.predict`.
    """
    interpreter = _interpreter(path)
    runner = interpreter.get_signature_runner()
    ((input_name, input_detail),) = runner.get_input_details().items()
    output_details = runner.get_output_details()
    outputs = {name: [] for name in output_details}
    for example in np.asarray(inputs, dtype="float32"):
        result = runner(**{input_name: _to_tensor(example[None], input_detail)})
        for name, detail in output_details.items():
            outputs[name].append(_from_tensor(result[name], detail)[0])
    stacked = {name: np.stack(values) for name, values in outputs.items()}
    if len(stacked) == 1 and list(stacked) == ["output_0"]:
        return stacked["output_0"]
    return stacked
