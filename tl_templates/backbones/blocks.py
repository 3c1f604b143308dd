"""A backbone as an ordered list of named blocks, and per-block `trainable` flags."""

import dataclasses
import re

import keras

from tl_templates.backbones.registry import BACKBONES, backbone_names


@dataclasses.dataclass
class Block:
    """One block of a backbone, as `list_blocks` reports it.

    Attributes:
        name: str. `"stem"`, `"block1"`, ..., `"top"`.
        layers: list. The block's Keras layers, in model order.
        params: int. Number of weights (trainable or not) in the block.
        trainable_params: int. Weights that training will update.
        frozen_layers: int. Layers with weights that training will not update.
    """

    name: str
    layers: list
    params: int
    trainable_params: int
    frozen_layers: int

    @property
    def trainable(self):
        """`"yes"`, `"no"`, or `"partly"` (e.g. a trained block whose
        BatchNormalization layers stay frozen)."""
        if self.trainable_params == 0:
            return "no"
        return "partly" if self.frozen_layers else "yes"

    def to_dict(self):
        return {
            "block": self.name,
            "layers": len(self.layers),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "trainable": self.trainable,
            "first_layer": self.layers[0].name if self.layers else None,
            "last_layer": self.layers[-1].name if self.layers else None,
        }


def find_backbone(model):
    """The registered backbone in `model`: the model itself or a nested model.

    Registered backbones are recognised by their name, which `build_backbone`
    sets to the registry key.
    """
    if model.name in BACKBONES:
        return model
    for layer in getattr(model, "layers", ()):
        if isinstance(layer, keras.Model):
            try:
                return find_backbone(layer)
            except ValueError:
                continue
    raise ValueError(
        f"Model {model.name!r} is not a registered backbone and contains none. Build one "
        f"with tl_templates.build_backbone(); known backbones: {', '.join(backbone_names())}."
    )


def _split(backbone):
    """`{block_name: [operations]}` in block order, every operation in exactly one."""
    spec = BACKBONES[backbone.name]
    patterns = [re.compile(pattern) if pattern else None for _, pattern in spec.blocks]
    groups = {block_name: [] for block_name in spec.block_names}
    current = 0
    for operation in backbone.operations:
        for index, pattern in enumerate(patterns):
            if pattern is not None and pattern.search(operation.name):
                if index < current:
                    raise RuntimeError(
                        f"Layer {operation.name!r} matches block {spec.block_names[index]!r} "
                        f"after block {spec.block_names[current]!r} began: the registry row "
                        f"of {spec.name!r} is wrong."
                    )
                current = index
                break
        groups[spec.block_names[current]].append(operation)
    return groups


def _count(weights):
    return sum(int(weight.numpy().size) for weight in weights)


def list_blocks(model):
    """The ordered blocks of the backbone in `model`, with their sizes and state.

    Args:
        model: keras.Model. A backbone from `tl_templates.build_backbone`, or a
            model that contains one as a nested layer.

    Returns:
        A list of `tl_templates.Block`; blocks cut away by truncation are left out.

    Examples:

    >>> import tl_templates
    >>> backbone = tl_templates.build_backbone(
    ...     "mobilenetv3small", input_shape=(32, 32, 3), weights=None)
    >>> [block.name for block in tl_templates.list_blocks(backbone)]
    ['stem', 'block1', 'block2', 'block3', 'block4', 'block5', 'top']
    """
    backbone = find_backbone(model)
    trainable_ids = {id(weight) for weight in model.trainable_weights}
    blocks = []
    for block_name, operations in _split(backbone).items():
        layers = [op for op in operations if isinstance(op, keras.layers.Layer)]
        if not layers:
            continue
        weights = [weight for layer in layers for weight in layer.weights]
        trainable = [weight for weight in weights if id(weight) in trainable_ids]
        frozen_layers = sum(1 for layer in layers if layer.weights and not layer.trainable)
        blocks.append(Block(block_name, layers, _count(weights), _count(trainable), frozen_layers))
    return blocks


def block_names(model):
    """Names of the blocks of the backbone in `model`, bottom to top."""
    return [block.name for block in list_blocks(model)]


def _check_names(requested, known):
    for name in requested:
        if name not in known:
            raise ValueError(
                f"Unknown block. Received: block={name!r}. Known blocks: {', '.join(known)}."
            )


def walk_layers(model):
    """Every layer inside `model`, nested models' layers included, depth first.

    A nested model comes before its own layers; `model` itself is not
    included. Any layer with a `layers` attribute (a `keras.Model`, a
    `keras.Sequential`) is entered.

    Examples:

    >>> import keras
    >>> from tl_templates.backbones.blocks import walk_layers
    >>> inner = keras.Sequential([keras.layers.Dense(2, name="dense")], name="inner")
    >>> inputs = keras.Input((3,))
    >>> model = keras.Model(inputs, keras.layers.Dense(1, name="out")(inner(inputs)))
    >>> [layer.name for layer in walk_layers(model)][1:]
    ['inner', 'dense', 'out']
    """
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from walk_layers(layer)


def _is_batch_norm(layer):
    return isinstance(layer, keras.layers.BatchNormalization)


def _apply_flag(layer, trainable, bn_trainable):
    layer.trainable = trainable and (bn_trainable or not _is_batch_norm(layer))
    if trainable and not bn_trainable:
        for sublayer in walk_layers(layer):
            if _is_batch_norm(sublayer):
                sublayer.trainable = False


def _make_container_trainable(container):
    """`container.trainable = True` without changing its direct layers' flags.

    Keras reports no trainable weights for anything inside a frozen container.
    """
    if container.trainable:
        return
    flags = [(layer, layer.trainable) for layer in container.layers]
    container.trainable = True
    for layer, flag in flags:
        layer.trainable = flag


def set_trainable(model, blocks=None, *, from_block=None, bn_trainable=False):
    """Sets `trainable` per block of the backbone in `model`.

    BatchNormalization layers stay frozen, and so in inference mode, unless
    `bn_trainable=True`: with small batches their statistics would be ruined.
    Compile the model again after calling this, or the change has no effect
    on training.

    Args:
        model: keras.Model. A backbone, or a model that contains one.
        blocks: dict or list. `{"block6": True, "stem": False}` sets the named
            blocks and leaves the others as they are; a list of names trains
            exactly those blocks and freezes all others.
        from_block: str. Train this block and every block above it, freeze the
            ones below. Use instead of `blocks`.
        bn_trainable: bool. Also train BatchNormalization layers (in training
            mode) inside the blocks that train.

    Raises:
        ValueError: an unknown block name (the message lists the valid ones),
            or both or neither of `blocks` and `from_block`.

    Examples:

    >>> import tl_templates
    >>> backbone = tl_templates.build_backbone(
    ...     "mobilenetv3small", input_shape=(32, 32, 3), weights=None)
    >>> tl_templates.set_trainable(backbone, from_block="block5")
    >>> [block.trainable for block in tl_templates.list_blocks(backbone)]
    ['no', 'no', 'no', 'no', 'no', 'partly', 'partly']
    """
    if (blocks is None) == (from_block is None):
        raise ValueError("Pass exactly one of `blocks` and `from_block`.")
    backbone = find_backbone(model)
    groups = {name: ops for name, ops in _split(backbone).items() if ops}
    known = list(groups)
    if from_block is not None:
        _check_names([from_block], known)
        start = known.index(from_block)
        flags = {name: index >= start for index, name in enumerate(known)}
    elif isinstance(blocks, dict):
        _check_names(blocks, known)
        flags = {name: bool(flag) for name, flag in blocks.items()}
    else:
        blocks = [blocks] if isinstance(blocks, str) else list(blocks)
        _check_names(blocks, known)
        flags = {name: name in blocks for name in known}

    previous = {id(layer): layer.trainable for layer in backbone.layers}
    backbone.trainable = True
    for block_name, operations in groups.items():
        for layer in operations:
            if not isinstance(layer, keras.layers.Layer):
                continue
            if block_name in flags:
                _apply_flag(layer, flags[block_name], bn_trainable)
            else:
                layer.trainable = previous[id(layer)]
    if any(flags.values()) and model is not backbone:
        _make_container_trainable(model)


def truncate_backbone(model, last_block):
    """The backbone cut after `last_block`: same layers and weights, fewer blocks.

    For a small target unlike the source task: the high blocks hold features
    specific to the source task; the low ones (edges, colours, textures)
    still help.

    Args:
        model: keras.Model. A backbone, or a model that contains one.
        last_block: str. The last block to keep.

    Returns:
        A `keras.Model` with the backbone's name and input, whose output is
        the output of `last_block`.

    Examples:

    >>> import tl_templates
    >>> backbone = tl_templates.build_backbone(
    ...     "mobilenetv3small", input_shape=(32, 32, 3), weights=None)
    >>> short = tl_templates.truncate_backbone(backbone, "block2")
    >>> tl_templates.block_names(short)
    ['stem', 'block1', 'block2']
    """
    backbone = find_backbone(model)
    groups = {name: ops for name, ops in _split(backbone).items() if ops}
    _check_names([last_block], list(groups))
    output = groups[last_block][-1].output
    return keras.Model(backbone.inputs, output, name=backbone.name)


def block_table(model):
    """A plain-text table of the blocks: name, layers, params, trainable, span."""
    rows = [block.to_dict() for block in list_blocks(model)]
    header = ("block", "layers", "params", "trainable", "first layer .. last layer")
    lines = [
        (
            row["block"],
            str(row["layers"]),
            f"{row['params']:,}",
            row["trainable"],
            f"{row['first_layer']} .. {row['last_layer']}",
        )
        for row in rows
    ]
    total = sum(row["params"] for row in rows)
    trainable = sum(row["trainable_params"] for row in rows)
    lines.append(
        (
            "total",
            str(sum(row["layers"] for row in rows)),
            f"{total:,}",
            f"{trainable:,} trainable",
            "",
        )
    )
    widths = [max(len(line[column]) for line in [header, *lines]) for column in range(5)]
    render = [
        "  ".join(
            cell.rjust(width) if column in (1, 2) else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in [header, *lines]
    ]
    render.insert(1, "-" * len(render[0]))
    return "\n".join(render)
