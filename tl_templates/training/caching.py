"""Compute frozen blocks once: split a model where training starts.

When the low blocks of a backbone are frozen (BatchNormalization in inference
mode) and the images are not augmented, those blocks give the same output for
an image at every epoch. Compute that output once, then train only the part
above it on the cached values: the same training, a fraction of the time.
`tl_templates.train_classifier` does this in every phase: `cacheable_cut`
chooses the block, `upper_model` is the part that trains and `prefix_outputs`
the cached values (above the whole backbone for feature extraction,
`split_at_block` anywhere for fine-tuning the top blocks too).
"""

import math

import keras
import numpy as np

from tl_templates.backbones.blocks import block_names, find_backbone, list_blocks, truncate_backbone

# Cached prefix outputs larger than this (bytes, float32) are not cached: the
# model then runs whole at every step.
PREFIX_CACHE_LIMIT_BYTES = 2 * 1024**3


def _head_layers(model, backbone):
    if model is backbone:
        return []
    layers = model.layers
    return layers[layers.index(backbone) + 1 :]


def head_model(model):
    """A model of the layers after the backbone, sharing their weights.

    Expects `model` to be input -> (backbone) -> head layers in sequence, as
    the templates build it.
    """
    backbone = find_backbone(model)
    features = keras.Input(backbone.output.shape[1:], name="backbone_features")
    outputs = features
    for layer in _head_layers(model, backbone):
        outputs = layer(outputs)
    return keras.Model(features, outputs, name="head")


def split_at_block(model, block):
    """Splits `model` after `block` into a lower and an upper model sharing its layers.

    `upper(lower(images))` equals `model(images)`; training `upper` trains the
    same layers (and weights) as training `model` would, above `block`.

    Args:
        model: keras.Model. A backbone, or a classifier built as input ->
            backbone -> head layers in sequence (as the templates build it).
        block: str or None. The last block of the lower part; None: no lower
            part (`lower` is None, `upper` is `model`).

    Returns:
        `(lower, upper)`: `lower` maps images to the output of `block`;
        `upper` maps that output to `model`'s output.

    Raises:
        ValueError: an unknown block (the message lists the known ones).

    Examples:

    >>> import numpy as np, tl_templates
    >>> from tl_templates.training import caching
    >>> backbone = tl_templates.build_backbone("lab_glyphs", weights=None)
    >>> lower, upper = caching.split_at_block(backbone, "block2")
    >>> lower.output.shape, upper.output.shape
    ((None, 8, 8, 48), (None, 4, 4, 256))
    """
    if block is None:
        return None, model
    backbone = find_backbone(model)
    output = truncate_backbone(backbone, block).output  # checks the name
    lower = keras.Model(backbone.inputs[0], output, name=f"{backbone.name}_to_{block}")
    names = block_names(backbone)
    if names.index(block) == len(names) - 1:  # above the whole backbone: the head
        features = keras.Input(backbone.output.shape[1:], name=f"{block}_output")
        outputs = features
    else:
        features = keras.Input(lower.output.shape[1:], name=f"{block}_output")
        rest = keras.Model(lower.output, backbone.output, name=f"{backbone.name}_above_{block}")
        outputs = rest(features)
    for layer in _head_layers(model, backbone):
        outputs = layer(outputs)
    return lower, keras.Model(features, outputs, name=f"{model.name}_above_{block}")


def last_frozen_block(model):
    """The highest block below which (and including which) nothing trains, or None.

    Training can start above it: `split_at_block(model, last_frozen_block(model))`
    gives the part that has to run at every step.

    Examples:

    >>> import tl_templates
    >>> from tl_templates.training import caching
    >>> backbone = tl_templates.build_backbone("lab_glyphs", weights=None)
    >>> tl_templates.set_trainable(backbone, from_block="block3")
    >>> caching.last_frozen_block(backbone)
    'block2'
    """
    frozen = None
    for block in list_blocks(model):
        if block.trainable_params:
            break
        frozen = block.name
    return frozen


def block_outputs(model, blocks):
    """A model that returns the outputs of several blocks in one pass over the images.

    Args:
        model: keras.Model. A backbone, or a model that contains one.
        blocks: list. Block names.

    Returns:
        A `keras.Model` with one output per block, in the order given.
    """
    backbone = find_backbone(model)
    outputs = [truncate_backbone(backbone, block).output for block in blocks]
    return keras.Model(backbone.inputs[0], outputs, name=f"{backbone.name}_block_outputs")


def cacheable_cut(model, examples, limit_bytes=PREFIX_CACHE_LIMIT_BYTES, top_block=None):
    """The block to cache the outputs of, or None when caching does not apply.

    That is the last block of the frozen prefix (`last_frozen_block`), unless
    its outputs for `examples` inputs would take more than `limit_bytes` of
    memory (as float32). `top_block`, here and in
    `upper_model` and `prefix_outputs`: `block_names(model)[-1]` if known
    (listing the blocks walks every layer: worth doing once per call).
    """
    backbone = find_backbone(model)
    top_block = top_block or block_names(model)[-1]
    # All frozen (feature extraction): the top block, without listing blocks again.
    cut = last_frozen_block(model) if backbone.trainable_weights else top_block
    if cut is None:
        return None
    if cut == top_block:
        shape = backbone.output.shape  # the whole backbone: no model to split off
    else:
        shape = split_at_block(backbone, cut)[0].output.shape
    size = examples * math.prod(shape[1:]) * 4
    return cut if size <= limit_bytes else None


def upper_model(model, cut, top_block=None):
    """The part of `model` above block `cut`, sharing its layers.

    Above the whole backbone that is `head_model(model)`.
    """
    if cut == (top_block or block_names(model)[-1]):
        return head_model(model)
    return split_at_block(model, cut)[1]


def prefix_outputs(model, cut, train_inputs, validation_inputs, batch_size, top_block=None):
    """The outputs of blocks up to `cut` for train and validation inputs, in one pass."""
    if cut == (top_block or block_names(model)[-1]):
        return backbone_features(model, train_inputs, validation_inputs, batch_size)
    lower, _ = split_at_block(model, cut)
    inputs = np.concatenate([train_inputs, validation_inputs]).astype("float32")
    outputs = lower.predict(inputs, batch_size=batch_size, verbose=0)
    return np.split(outputs, [len(train_inputs)])


def backbone_features(model, train_images, validation_images, batch_size):
    """The backbone's outputs for train and validation images, in one pass."""
    images = np.concatenate([train_images, validation_images]).astype("float32")
    features = find_backbone(model).predict(images, batch_size=batch_size, verbose=0)
    return np.split(features, [len(train_images)])
