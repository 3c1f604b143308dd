"""Audio backbones: raw 16 kHz waveform in, features out, split into named blocks.

- `yamnet`: YAMNet's network (a MobileNetV1 on 96x64 log-mel patches, trained
  on AudioSet) in native Keras 3, able to load the published `yamnet.h5`.
- `yamnet_hub`: YAMNet as a TensorFlow Hub SavedModel inside a Keras 3 model,
  one frozen block returning a 1,024-number embedding per clip.
- `lab_speech` (`tl_templates.backbones.lab`, with the other lab backbone):
  the kit's small network pretrained offline on synthesized spoken words
  (data/lab_speech/CARD.md).

Every one starts with the `LogMelSpectrogram` front end (in its stem), so the
models take waveforms, like the image backbones take raw pixels.
"""

import h5py
import keras
import numpy as np
from keras import ops
from keras.src.saving import serialization_lib

from tl_templates.backbones.audio_frontend import PATCH_SAMPLES, LogMelSpectrogram
from tl_templates.backbones.lab import build_lab_speech  # noqa: F401  (its old home)
from tl_templates.backbones.registry import YAMNET_HUB_HANDLE, YAMNET_WEIGHTS_URL

# YAMNet's layers, from tensorflow/models research/audioset/yamnet/yamnet.py:
# (kind, stride, filters), every kernel 3x3. Layer N is named `layerN`.
YAMNET_LAYERS = (
    ("conv", 2, 32),
    ("separable", 1, 64),
    ("separable", 2, 128),
    ("separable", 1, 128),
    ("separable", 2, 256),
    ("separable", 1, 256),
    ("separable", 2, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 1, 512),
    ("separable", 2, 1024),
    ("separable", 1, 1024),
)
# YAMNet's BatchNormalization: a learned shift but no scale, epsilon 1e-4.
YAMNET_BATCH_NORM = {"center": True, "scale": False, "epsilon": 1e-4}


def _yamnet_unit(x, index, kind, stride, filters):
    """One YAMNet layer. Names are YAMNet's with `/` (not allowed in Keras 3) as `_`."""
    prefix = f"layer{index}"
    if kind == "conv":
        x = keras.layers.Conv2D(
            filters, 3, strides=stride, padding="same", use_bias=False, name=f"{prefix}_conv"
        )(x)
        x = keras.layers.BatchNormalization(name=f"{prefix}_conv_bn", **YAMNET_BATCH_NORM)(x)
        return keras.layers.ReLU(name=f"{prefix}_relu")(x)
    x = keras.layers.DepthwiseConv2D(
        3, strides=stride, padding="same", use_bias=False, name=f"{prefix}_depthwise_conv"
    )(x)
    x = keras.layers.BatchNormalization(name=f"{prefix}_depthwise_conv_bn", **YAMNET_BATCH_NORM)(x)
    x = keras.layers.ReLU(name=f"{prefix}_depthwise_conv_relu")(x)
    x = keras.layers.Conv2D(
        filters, 1, padding="same", use_bias=False, name=f"{prefix}_pointwise_conv"
    )(x)
    x = keras.layers.BatchNormalization(name=f"{prefix}_pointwise_conv_bn", **YAMNET_BATCH_NORM)(x)
    return keras.layers.ReLU(name=f"{prefix}_pointwise_conv_relu")(x)


def build_yamnet(input_shape=(PATCH_SAMPLES,), weights=None, name="yamnet"):
    """YAMNet's network in native Keras 3: waveform in, last feature map out.

    Args:
        input_shape: tuple. `(samples,)` at 16 kHz; 15,600 samples (0.975 s)
            make one 96x64 log-mel patch, the size YAMNet was trained on.
        weights: str or None. None for random weights; the path (or URL) of
            the published `yamnet.h5`; or a `.weights.h5` saved from this model.
        name: str. The model's name (the registry key).

    Returns:
        A flat `keras.Model` with blocks stem (front end and layer1), block1
        (layer2) ... block5 (layer13-14), without YAMNet's AudioSet classifier.

    Examples:

    >>> from tl_templates.backbones import audio as audio_backbones
    >>> model = audio_backbones.build_yamnet()
    >>> model.output.shape  # 96 frames x 64 bands, 32 times smaller
    (None, 3, 2, 1024)
    """
    waveform = keras.Input(shape=input_shape, name="waveform")
    x = LogMelSpectrogram(name="log_mel")(waveform)
    for index, (kind, stride, filters) in enumerate(YAMNET_LAYERS, start=1):
        x = _yamnet_unit(x, index, kind, stride, filters)
    model = keras.Model(waveform, x, name=name)
    if weights is not None:
        load_yamnet_weights(model, _download(weights, "yamnet.h5"))
    return model


def _download(weights, file_name):
    """A local path for `weights`, downloading (and caching) a URL."""
    if not str(weights).startswith(("https://", "http://")):
        return weights
    from tl_templates.backbones.build import WeightsUnavailableError, _keras_home

    try:
        return keras.utils.get_file(file_name, str(weights), cache_subdir="models")
    except Exception as error:
        raise WeightsUnavailableError(
            f"Could not download {weights} (no network?). To run offline, copy {file_name} into "
            f"{_keras_home()} (Keras looks there before downloading), or pass its local path "
            f"as weights=, or use weights=None for random initialisation. Cause: {error}"
        ) from error


def _legacy_layer_names(file):
    names = file.attrs.get("layer_names")
    return None if names is None else [n.decode() if isinstance(n, bytes) else n for n in names]


# The largest weight of YAMNet has 1024 x 1024 numbers: a cap far above it
# refuses a crafted file whose dataset would fill the memory when read.
MAX_WEIGHT_ELEMENTS = 16 * 1024 * 1024


def check_weights_file(file, path):
    """Refuses an HDF5 file that reads outside itself or is implausibly large.

    External links, soft links (which can lead to an external one), virtual
    datasets and datasets with external storage all make h5py read other
    files; a dataset of a crafted shape can exhaust the memory. Keras' own
    HDF5 loading refuses the same.
    """

    def refuse(name, why):
        raise ValueError(
            f"Refusing to read weights file {path}: dataset or link {name!r} {why}. A weights "
            "file holds arrays only; this one may have been crafted to read other files or "
            "exhaust memory. Use the published yamnet.h5 or a .weights.h5 saved by Keras."
        )

    def walk(group):
        for key in group:
            name = f"{group.name.rstrip('/')}/{key}"
            link = group.get(key, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                refuse(name, f"is an external link to {link.filename}:{link.path}")
            if isinstance(link, h5py.SoftLink):
                refuse(name, f"is a soft link to {link.path}")
            item = group[key]
            if isinstance(item, h5py.Group):
                walk(item)
            elif isinstance(item, h5py.Dataset):
                if item.is_virtual:
                    refuse(name, "is a virtual dataset (its data lives in other files)")
                if item.external:
                    refuse(name, "stores its data in external files")
                if item.size > MAX_WEIGHT_ELEMENTS:
                    refuse(
                        name,
                        f"has shape {item.shape} ({item.size:,} numbers, more than the "
                        f"{MAX_WEIGHT_ELEMENTS:,} any YAMNet weight needs)",
                    )

    walk(file)


def load_yamnet_weights(model, path):
    """Loads the published YAMNet Keras weights file (`yamnet.h5`) into `model`.

    That file is an HDF5 weights file written by Keras 2 from YAMNet's own
    model, whose layers are named `layer1/conv`, `layer2/depthwise_conv/bn`,
    and so on. Keras 3 forbids `/` in names, so `build_yamnet` names them
    `layer1_conv`, ...; this maps one onto the other by name, checks every
    shape, and skips YAMNet's AudioSet classifier, which the backbone does
    not have. A `.weights.h5` file saved by Keras 3 loads as usual.

    Args:
        model: keras.Model. From `build_yamnet`.
        path: str or Path. The weights file.

    Raises:
        ValueError: a layer of the model is missing from the file, or a
            weight has another shape; or the file has links or datasets that
            read other files, or an implausibly large dataset
            (`check_weights_file`); the message names it.
    """
    with h5py.File(path, "r") as file:
        check_weights_file(file, path)
        names = _legacy_layer_names(file)
        if names is None and "model_weights" in file:  # a whole model saved as .h5
            file = file["model_weights"]
            names = _legacy_layer_names(file)
        if names is None:  # Keras 3's own weights format
            model.load_weights(path)
            return
        stored = {name.replace("/", "_"): file[name] for name in names if name in file}
        for layer in model.layers:
            if not layer.weights:
                continue
            if layer.name not in stored:
                raise ValueError(
                    f"{path} has no weights for layer {layer.name!r}; is it the YAMNet weights "
                    f"file ({YAMNET_WEIGHTS_URL})?"
                )
            group = stored[layer.name]
            weight_names = [
                n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]
            ]
            # Keras 2 and Keras 3 list a layer's weights in the same order
            # (kernel; beta, moving mean, moving variance).
            arrays = [np.asarray(group[weight_name]) for weight_name in weight_names]
            if [a.shape for a in arrays] != [tuple(w.shape) for w in layer.weights]:
                raise ValueError(
                    f"{path}: layer {layer.name!r} has weights of shapes "
                    f"{[a.shape for a in arrays]}, the model expects "
                    f"{[tuple(w.shape) for w in layer.weights]}."
                )
            layer.set_weights(arrays)


@keras.saving.register_keras_serializable(package="tl_templates")
class HubAudioEmbedding(keras.layers.Layer):
    """A TensorFlow Hub (or local SavedModel) audio model as a frozen Keras 3 layer.

    TF-Hub's own `hub.KerasLayer` targets Keras 2; this wraps `hub.load`
    instead. YAMNet-style models take one 1-D waveform and return a tuple
    whose `output_index`-th element holds one embedding per patch; this
    layer runs the model on each clip of the batch and averages the patch
    embeddings into one vector per clip. The SavedModel's variables are not
    Keras weights, so the layer never trains: it is one frozen block.

    Build one with `HubAudioEmbedding.from_handle(handle)`: that factory
    loads the SavedModel; the constructor itself reads no file and no URL.
    A `.keras` file stores only the handle, so loading one would load (and
    run) whatever SavedModel the file names: in Keras' safe mode (the
    default, and `tl_templates.load_model`) `from_config` refuses it.

    Args:
        handle: str. A TF-Hub handle (`https://tfhub.dev/google/yamnet/1`)
            or the path of a SavedModel folder.
        output_index: int. Which output holds the per-patch embeddings
            (YAMNet: 0 scores, 1 embeddings, 2 log-mel spectrogram).
        module: the loaded SavedModel (`hub.load(handle)`), as passed by
            `from_handle`.
        **kwargs: forwarded to `keras.layers.Layer`.
    """

    def __init__(self, handle, output_index=1, module=None, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.handle = str(handle)
        self.output_index = output_index
        self._module = module
        self.embedding_size = None

    @classmethod
    def from_handle(cls, handle, output_index=1, **kwargs):
        """Loads the SavedModel at `handle` (a download for a URL) and wraps it."""
        import tensorflow_hub as hub

        return cls(handle, output_index, module=hub.load(str(handle)), **kwargs)

    @classmethod
    def from_config(cls, config):
        # Checked before any I/O: the handle comes from the file being loaded.
        if serialization_lib.in_safe_mode():
            raise ValueError(
                f"Refusing to build HubAudioEmbedding {config.get('name', '?')!r} in safe mode: "
                f"it would load the SavedModel named in the model file ({config.get('handle')!r}) "
                "and run its graph, so a model file from someone else could run code or read "
                "files on your computer. Only if you trust the file and where it came from: "
                "tl_templates.load_model(path, safe_mode=False). Or rebuild the model "
                "(tl_templates.build_backbone('yamnet_hub', weights=<a SavedModel you trust>) "
                "and its head) and load the file's weights with model.load_weights(path)."
            )
        return cls.from_handle(**config)

    def build(self, input_shape):
        import tensorflow as tf

        if self._module is None:
            raise ValueError(
                f"HubAudioEmbedding {self.name!r} has no SavedModel: create it with "
                f"HubAudioEmbedding.from_handle({self.handle!r}), which loads it."
            )

        probe = self._module(tf.zeros([input_shape[-1] or PATCH_SAMPLES], tf.float32))
        self.embedding_size = int(probe[self.output_index].shape[-1])

    def call(self, waveforms):
        import tensorflow as tf

        def embed(waveform):
            return ops.mean(self._module(waveform)[self.output_index], axis=0)

        return tf.map_fn(
            embed,
            ops.cast(waveforms, "float32"),
            fn_output_signature=tf.TensorSpec([self.embedding_size], tf.float32),
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.embedding_size)

    def get_config(self):
        return {**super().get_config(), "handle": self.handle, "output_index": self.output_index}


def build_yamnet_hub(input_shape=(PATCH_SAMPLES,), weights=YAMNET_HUB_HANDLE, name="yamnet_hub"):
    """YAMNet from TensorFlow Hub as a Keras 3 model: waveform in, embedding out.

    Args:
        input_shape: tuple. `(samples,)` at 16 kHz.
        weights: str. The TF-Hub handle, or the path of a SavedModel folder
            (a downloaded copy, for offline use).
        name: str. The model's name (the registry key).

    Returns:
        A `keras.Model` from waveforms `(batch, samples)` to embeddings
        `(batch, 1024)`: one frozen block, `stem`.
    """
    if weights is None:
        raise ValueError(
            f"{name} is a pretrained SavedModel: it has no random initialisation. Received: "
            "weights=None. Use the 'yamnet' backbone for the same network with random weights."
        )
    waveform = keras.Input(shape=input_shape, name="waveform")
    embedding = HubAudioEmbedding.from_handle(weights, name="hub_embedding")(waveform)
    return keras.Model(waveform, embedding, name=name)
