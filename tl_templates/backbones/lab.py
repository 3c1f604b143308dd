"""Lab backbones: small networks the kit pretrains itself, for offline transfer.

- `lab_glyphs` is a BatchNorm CNN pretrained on the rendered-character task of
  `tl_templates.synthetic.glyphs` (see data/lab_glyphs/CARD.md for how, and how well).
- `lab_speech` takes a 16 kHz waveform: YAMNet's design (a strided 3x3
  convolution, then depthwise-separable units), narrower and shallower,
  pretrained on synthesized spoken words (data/lab_speech/CARD.md).

Both are built from the same units, whose layer names the bundled weights
files (data/lab_*/lab_*.weights.h5) are matched by.
"""

import keras

from tl_templates.backbones.audio_frontend import PATCH_SAMPLES, LogMelSpectrogram

# (block name, filters of its 3x3 convolutions, downsample at its end?)
GLYPH_BLOCKS = (
    ("block1", (24, 24), True),
    ("block2", (48, 48), True),
    ("block3", (96, 96), True),
    ("block4", (160,), False),
)
STEM_FILTERS = 24
TOP_FILTERS = 256

# (block name, ((filters, stride), ...)): the first unit of a block may halve
# the resolution.
LAB_SPEECH_BLOCKS = (
    ("block1", ((64, 1),)),
    ("block2", ((128, 2), (128, 1))),
    ("block3", ((192, 2), (192, 1))),
    ("block4", ((320, 2),)),
)
LAB_SPEECH_STEM_FILTERS = 32
LAB_SPEECH_TOP_FILTERS = 256
# Batch statistics follow the data within ~50 steps (Keras' default 0.99
# needs ~500): short trainings on small targets still end with usable ones.
LAB_SPEECH_BATCH_NORM_MOMENTUM = 0.9
KERAS_BATCH_NORM_MOMENTUM = 0.99  # lab_glyphs keeps Keras' default


def _conv_bn_relu(x, filters, kernel_size, name, strides=1,
                  momentum=KERAS_BATCH_NORM_MOMENTUM):  # fmt: skip
    """Convolution (no bias) + BatchNorm + ReLU: layers `{name}_conv`, `_bn`, `_relu`."""
    x = keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = keras.layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _separable_unit(x, filters, stride, name, momentum=LAB_SPEECH_BATCH_NORM_MOMENTUM):
    """Depthwise 3x3 + BatchNorm + ReLU, then pointwise 1x1 + BatchNorm + ReLU."""
    x = keras.layers.DepthwiseConv2D(
        3, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise"
    )(x)
    x = keras.layers.BatchNormalization(momentum=momentum, name=f"{name}_depthwise_bn")(x)
    x = keras.layers.ReLU(name=f"{name}_depthwise_relu")(x)
    x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pointwise")(x)
    x = keras.layers.BatchNormalization(momentum=momentum, name=f"{name}_pointwise_bn")(x)
    return keras.layers.ReLU(name=f"{name}_pointwise_relu")(x)


def _finish(inputs, outputs, name, weights):
    model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model


def build_lab_glyphs(input_shape=(32, 32, 3), weights=None, name="lab_glyphs"):
    """The glyph lab backbone: raw 0-255 RGB in, a feature map out.

    Args:
        input_shape: tuple. `(height, width, 3)`, at least 32x32.
        weights: str or None. None for random weights, or a `.weights.h5` path.
        name: str. The model's name (the registry key).

    Returns:
        A flat `keras.Model`: stem, block1-block4, top.

    Examples:

    >>> from tl_templates.backbones import lab
    >>> model = lab.build_lab_glyphs((32, 32, 3))
    >>> model.output.shape
    (None, 4, 4, 256)
    """
    images = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="stem_rescaling")(images)
    x = _conv_bn_relu(x, STEM_FILTERS, 3, "stem")
    for block_name, filters, downsample in GLYPH_BLOCKS:
        for index, block_filters in enumerate(filters, start=1):
            x = _conv_bn_relu(x, block_filters, 3, f"{block_name}_{index}")
        if downsample:
            x = keras.layers.MaxPooling2D(name=f"{block_name}_pool")(x)
    x = _conv_bn_relu(x, TOP_FILTERS, 1, "top")
    return _finish(images, x, name, weights)


def build_lab_speech(input_shape=(PATCH_SAMPLES,), weights=None, name="lab_speech"):
    """The speech lab backbone: waveform in, a feature map out.

    Args:
        input_shape: tuple. `(samples,)` at 16 kHz, at least 15,600.
        weights: str or None. None for random weights, or a `.weights.h5` path.
        name: str. The model's name (the registry key).

    Returns:
        A flat `keras.Model`: stem (front end and a strided conv), block1-4, top.

    Examples:

    >>> from tl_templates.backbones import lab
    >>> lab.build_lab_speech().output.shape  # 96x64 log-mel, 16 times smaller
    (None, 6, 4, 256)
    """
    momentum = LAB_SPEECH_BATCH_NORM_MOMENTUM
    waveform = keras.Input(shape=input_shape, name="waveform")
    x = LogMelSpectrogram(name="stem_log_mel")(waveform)
    # Each clip's spectrogram to zero mean and unit variance: the network
    # hears the same word at any volume, and its first batch statistics are
    # not dominated by the log of silence.
    x = keras.layers.LayerNormalization(
        axis=(1, 2, 3), center=False, scale=False, name="stem_norm"
    )(x)
    x = _conv_bn_relu(x, LAB_SPEECH_STEM_FILTERS, 3, "stem", strides=2, momentum=momentum)
    for block_name, units in LAB_SPEECH_BLOCKS:
        for index, (filters, stride) in enumerate(units, start=1):
            x = _separable_unit(x, filters, stride, f"{block_name}_{index}", momentum)
    x = _conv_bn_relu(x, LAB_SPEECH_TOP_FILTERS, 1, "top", momentum=momentum)
    return _finish(waveform, x, name, weights)
