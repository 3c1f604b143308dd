"""Lab backbones: small networks the kit pretrains itself, for offline transfer.

`lab_glyphs` is a BatchNorm CNN pretrained on the rendered-character task of
`tl_templates.synthetic.glyphs` (see data/lab_glyphs/CARD.md for how, and how well).
"""

import keras

# (block name, filters of its 3x3 convolutions, downsample at its end?)
GLYPH_BLOCKS = (
    ("block1", (24, 24), True),
    ("block2", (48, 48), True),
    ("block3", (96, 96), True),
    ("block4", (160,), False),
)
STEM_FILTERS = 24
TOP_FILTERS = 256


def _conv_bn_relu(x, filters, kernel_size, name):
    x = keras.layers.Conv2D(
        filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_lab_glyphs(input_shape=(32, 32, 3), weights=None, name="lab_glyphs"):
    """The glyph lab backbone: raw 0-255 RGB in, a feature map out.

    Args:
        input_shape: tuple. `(height, width, 3)`, at least 32x32.
        weights: str or None. None for random weights, or a `.weights.h5` path.
        name: str. The model's name (the registry key).

    Returns:
        A flat `keras.Model`: stem, block1-block4, top.

    Examples:

    >>> from tl_templates import lab_backbones
    >>> model = lab_backbones.build_lab_glyphs((32, 32, 3))
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
    model = keras.Model(images, x, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model
