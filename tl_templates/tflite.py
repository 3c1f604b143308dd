"""TensorFlow Lite (LiteRT) export, for on-device use, and running the result."""

import warnings
from pathlib import Path

import numpy as np


def export_tflite(model, path):
    """Converts a Keras model to a `.tflite` file, preprocessing and all.

    The kit's audio front end uses only operations TensorFlow Lite runs
    natively, so the file takes raw 16 kHz waveforms like the Keras model.

    Args:
        model: keras.Model. A trained model.
        path: str or Path. The `.tflite` file to write; an existing file is
            refused, so that nothing is overwritten.

    Returns:
        The `Path` written.

    Raises:
        FileExistsError: `path` exists.
        ValueError: `path` does not end with `.tflite`.
    """
    path = Path(path)
    if path.suffix != ".tflite":
        raise ValueError(f"A TFLite file name ends with .tflite. Received: path={str(path)!r}.")
    if path.exists():
        raise FileExistsError(f"{path} already exists; remove it or choose another file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.tflite")
    model.export(str(partial), format="litert", verbose=False)
    partial.replace(path)  # only a complete file gets the real name
    return path


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


def run_tflite(path, inputs):
    """Runs a `.tflite` file on a batch, one example at a time.

    Args:
        path: str or Path. A file from `export_tflite`.
        inputs: np.ndarray. A batch, shaped like the Keras model's input.

    Returns:
        np.ndarray: the outputs, stacked.
    """
    interpreter = _interpreter(path)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    outputs = []
    for example in np.asarray(inputs, dtype="float32"):
        interpreter.set_tensor(input_index, example[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_index)[0])
    return np.stack(outputs)
