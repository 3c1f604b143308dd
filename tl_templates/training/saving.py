"""Loading what the kit saves, safely.

A `.keras` file is a zip archive: `config.json` (the architecture, as data)
and the weights (arrays). Loading it with `safe_mode=True` builds layers by
their registered names and never runs code stored in the file. A Lambda
layer is the exception: it stores Python code (its function's bytecode) and
loading it runs that code. `load_model` refuses such files before Keras reads
them, and says why and what to do. So is a layer whose config names an
outside SavedModel (the kit's `HubAudioEmbedding`, like Keras' own
`TFSMLayer`): building it would load and run that graph.
"""

import json
import zipfile
from pathlib import Path

import keras

# Keras' marker for serialised Python code, and the layer that carries it.
UNSAFE_CLASS_NAMES = ("Lambda", "__lambda__")
# Layers that load a graph from a path or URL stored in their config.
EXTERNAL_GRAPH_CLASS_NAMES = ("HubAudioEmbedding", "TFSMLayer")
# config.json of a real model is a few MB at most: a cap against zip bombs.
MAX_CONFIG_BYTES = 64 * 1024 * 1024


class UnsafeModelError(ValueError):
    """A model file that would run code from the file when loaded."""


def _unsafe_layers(config, class_names=UNSAFE_CLASS_NAMES):
    """Names of the layers of `class_names` anywhere in a config."""
    found = []
    if isinstance(config, dict):
        if config.get("class_name") in class_names:
            inner = config.get("config")
            found.append(inner.get("name", "?") if isinstance(inner, dict) else "?")
        for value in config.values():
            found.extend(_unsafe_layers(value, class_names))
    elif isinstance(config, list):
        for value in config:
            found.extend(_unsafe_layers(value, class_names))
    return found


def read_model_config(path):
    """The architecture of a `.keras` file as a dict, read without building anything.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a `.keras` file (not a zip with a `config.json`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ValueError("its config.json is implausibly large")
            return json.loads(archive.read(info).decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} is not a .keras model file ({error}). The kit saves and loads the "
            "Keras 3 format: model.save('model.keras')."
        ) from None


def load_model(path, compile=True, safe_mode=True):
    """Loads a `.keras` file saved by the kit or a generated project, safely.

    Refuses, before Keras reads it, a file that contains a Lambda layer:
    loading one runs the Python code stored in the file, so a file from
    someone else could run any program on your computer. It refuses, for the
    same reason, a layer that loads a SavedModel named in the file
    (`HubAudioEmbedding`, the `yamnet_hub` backbone; Keras' `TFSMLayer`).
    Everything else is
    loaded with `safe_mode=True`; the kit's own layers are registered first,
    so its models load by name.

    Args:
        path: str or Path. A `.keras` file.
        compile: bool. Restore the optimizer and loss too; `False` for
            prediction only (faster, and no optimizer-state warnings).
        safe_mode: bool. `False` only for a file you trust (yours, or from
            someone you trust): then nothing is refused.

    Returns:
        The `keras.Model`.

    Raises:
        UnsafeModelError: the file contains a Lambda layer or a layer that
            loads an outside SavedModel; the message says what to do.
        FileNotFoundError, ValueError: no such file, or not a `.keras` file.

    Examples:

    >>> import pathlib, tempfile
    >>> import keras
    >>> import tl_templates
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.keras"
    >>> model.save(path)
    >>> tl_templates.load_model(path).output_shape
    (None, 2)
    """
    import tl_templates.backbones.audio  # noqa: F401  (registers HubAudioEmbedding)
    import tl_templates.backbones.audio_frontend  # noqa: F401  (registers the audio layers)
    import tl_templates.backbones.preprocessing  # noqa: F401  (registers ImageNetPreprocessing)
    import tl_templates.tasks.domain  # noqa: F401  (registers GradientReversal, the masked loss)
    import tl_templates.tasks.metric_learning  # noqa: F401  (registers the metric losses)
    import tl_templates.tasks.multitask  # noqa: F401  (registers the multi-task layers, losses, metrics)

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(
            f"tl_templates.load_model reads .keras files (what the kit saves). Received: {path}."
        )
    config = read_model_config(path)
    if not safe_mode:  # the caller trusts the file: Keras loads everything in it
        return keras.saving.load_model(path, compile=compile, safe_mode=safe_mode)
    trusted = "tl_templates.load_model(path, safe_mode=False)"
    unsafe = sorted(set(_unsafe_layers(config)))
    if unsafe:
        raise UnsafeModelError(
            f"Refusing to load {path}: it contains Lambda layer(s) {', '.join(unsafe)}. "
            "A Lambda layer stores Python code in the file, and loading it runs that code, so "
            "a model file from someone else could run any program on your computer (arbitrary "
            "code execution). Ask whoever made it for a version whose custom layers are "
            "classes registered with @keras.saving.register_keras_serializable (the kit's "
            "models have no Lambda layers). Only if you trust the file and where it came from: "
            f"{trusted}."
        )
    external = sorted(set(_unsafe_layers(config, EXTERNAL_GRAPH_CLASS_NAMES)))
    if external:
        raise UnsafeModelError(
            f"Refusing to load {path}: its layer(s) {', '.join(external)} load a SavedModel "
            "(TF-Hub handle or folder) named in the file and run its graph, so a model file "
            "from someone else could run code or read files on your computer. Only if you "
            f"trust the file and where it came from: {trusted}. Otherwise rebuild the model "
            "with a SavedModel you trust (tl_templates.build_backbone('yamnet_hub', "
            "weights=...) and the same head) and load the file's weights: "
            "model.load_weights(path)."
        )
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except ValueError as error:
        if "safe_mode" in str(error) or "safe mode" in str(error) or "arbitrary code" in str(error):
            raise UnsafeModelError(
                f"Refusing to load {path}: Keras' safe mode found something in it that would "
                f"run code from the file ({error}). Only if you trust the file: {trusted}."
            ) from None
        raise
