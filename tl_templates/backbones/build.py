"""Build any registered backbone: raw pixels in, last feature map out."""

import importlib
import os
import re
from pathlib import Path

import keras

from tl_templates.backbones.preprocessing import ImageNetPreprocessing
from tl_templates.backbones.registry import get_spec
from tl_templates.paths import DATA_DIR


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be downloaded (usually: no network)."""


def _keras_home():
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def _is_url(weights):
    return isinstance(weights, str) and weights.startswith(("https://", "http://"))


def _resolve_weights(spec, weights):
    """Returns `None`, `"imagenet"`, a URL or an existing path for `weights`."""
    if weights == "pretrained":
        weights = spec.pretrained
        if weights != "imagenet" and not _is_url(weights):
            weights = str(DATA_DIR / weights)
    if weights is None or weights == "imagenet":
        if weights == "imagenet" and not spec.source.startswith("keras.applications"):
            raise ValueError(
                f"Backbone {spec.name!r} has no ImageNet weights. Received: weights='imagenet'. "
                "Use weights='pretrained', None, or a path to a weights file."
            )
        return weights
    if _is_url(weights):  # downloaded (and cached) by the constructor
        return weights
    path = Path(weights).expanduser()
    # A SavedModel backbone's weights are a folder; the others' a file.
    if not (path.is_dir() if spec.frozen else path.is_file()):
        expected = (
            "a TF-Hub handle or the path of a SavedModel folder"
            if spec.frozen
            else "the path of an existing .h5 / .weights.h5 file"
        )
        raise FileNotFoundError(
            f"Weights {'folder' if spec.frozen else 'file'} not found: {path}. Pass "
            f"weights='pretrained', 'imagenet', None (random initialisation), or {expected}."
        )
    return str(path)


def _offline_error(spec, error):
    url = re.search(r"https?://\S+?(?=:\s|$)", str(error))
    file_name = os.path.basename(url.group(0)) if url else "<the weights file>"
    return WeightsUnavailableError(
        f"Could not download the ImageNet weights of {spec.name!r} (no network?). "
        f"To run offline, either copy {file_name} into {_keras_home()} "
        "(Keras looks in $KERAS_HOME/models before downloading), "
        f"or pass its local path: build_backbone({spec.name!r}, weights='/path/to/{file_name}'), "
        f"or use weights=None for random initialisation. Cause: {error}"
    )


def _check_input_shape(spec, input_shape):
    if spec.input_kind == "audio":
        if len(input_shape) != 1 or input_shape[0] < spec.min_input_size:
            raise ValueError(
                f"{spec.name} takes mono 16 kHz waveforms (samples,) of at least "
                f"{spec.min_input_size} samples. Received: input_shape={input_shape}."
            )
        return
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(
            f"Backbones take RGB images (height, width, 3). Received: input_shape={input_shape}."
        )
    if min(input_shape[:2]) < spec.min_input_size:
        raise ValueError(
            f"{spec.name} needs images of at least {spec.min_input_size}x{spec.min_input_size} "
            f"pixels. Received: input_shape={input_shape}."
        )


def build_backbone(name, input_shape=None, weights="pretrained"):
    """Builds a registered backbone as a flat Keras model named after its registry key.

    The model takes raw RGB pixels in [0, 255] (preprocessing is inside it),
    or for audio backbones mono 16 kHz waveforms in [-1, 1] (the log-mel front
    end is inside it), and returns the last feature map, with no pooling and
    no classifier: add your own head. Its layers split into the named blocks
    of the registry row, see `tl_templates.list_blocks`.

    Args:
        name: str. A registered backbone, see `tl_templates.backbone_names()`.
        input_shape: tuple. `(height, width, 3)`, or `(samples,)` for audio;
            defaults to the size the pretrained weights were made for.
        weights: str or None. `"pretrained"` (ImageNet for keras.applications
            backbones, the bundled file for lab backbones, the published
            files for YAMNet), `"imagenet"` (the real Keras download, cached
            under `$KERAS_HOME/models`), `None` (random initialisation), or the
            path of a weights file: a Keras `.h5` download (such as
            `yamnet.h5`) or a `.weights.h5` saved from a model of this
            builder; for `yamnet_hub`, a TF-Hub handle or SavedModel folder.

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: unknown backbone or bad input shape.
        FileNotFoundError: a weights path that does not exist.
        WeightsUnavailableError: ImageNet weights could not be downloaded; the
            message says how to run offline.

    Examples:

    >>> import tl_templates
    >>> backbone = tl_templates.build_backbone(
    ...     "mobilenetv3small", input_shape=(32, 32, 3), weights=None)
    >>> backbone.name, backbone.output.shape
    ('mobilenetv3small', (None, 1, 1, 576))
    """
    spec = get_spec(name)
    input_shape = tuple(input_shape or spec.input_shape())
    _check_input_shape(spec, input_shape)
    weights = _resolve_weights(spec, weights)
    module_name, function_name = spec.constructor.rsplit(".", 1)
    constructor = getattr(importlib.import_module(module_name), function_name)
    if not spec.source.startswith("keras.applications"):
        return constructor(input_shape=input_shape, weights=weights, name=spec.name)

    inputs = keras.Input(shape=input_shape, name="image")
    features = inputs
    if spec.preprocessing != "included":
        features = ImageNetPreprocessing(spec.preprocessing, name="preprocessing")(inputs)
    try:
        model = constructor(
            include_top=False,
            weights=weights,
            input_tensor=features,
            **dict(spec.constructor_kwargs),
        )
    except Exception as error:
        if weights == "imagenet" and "URL fetch failure" in str(error):
            raise _offline_error(spec, error) from error
        raise
    # One input tensor rather than keras.applications' list of one, and the
    # registry name (some constructors derive their architecture from `name`).
    return keras.Model(inputs, model.output, name=spec.name)
