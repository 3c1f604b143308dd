import keras
import numpy as np
import pytest
from helpers import random_images, tiny_input_shape, weights_by_layer

import tl_templates
from tl_templates.backbones import registry


# Frozen SavedModels (yamnet_hub) cannot be built with random weights;
# tests/test_audio_backbones.py checks them on a SavedModel it saves itself.
@pytest.mark.parametrize(
    "name", [name for name, spec in registry.BACKBONES.items() if not spec.frozen]
)
def test_blocks_partition_every_backbone_exactly(name):
    spec = tl_templates.get_spec(name)
    backbone = tl_templates.build_backbone(name, tiny_input_shape(spec), weights=None)
    blocks = tl_templates.list_blocks(backbone)

    assert [block.name for block in blocks] == spec.block_names
    layer_ids = [id(layer) for block in blocks for layer in block.layers]
    assert sorted(layer_ids) == sorted(id(layer) for layer in backbone.layers)
    assert len(set(layer_ids)) == len(layer_ids)
    assert sum(block.params for block in blocks) == backbone.count_params()
    # Blocks are contiguous runs of the model's layers, bottom to top.
    assert [layer.name for block in blocks for layer in block.layers] == [
        layer.name for layer in backbone.layers
    ]
    # Every stage of a real backbone has weights to train.
    assert all(block.params > 0 for block in blocks if block.name.startswith("block"))


def small_backbone():
    return tl_templates.build_backbone("mobilenetv3small", (32, 32, 3), weights=None)


def classifier(backbone, classes=3):
    inputs = keras.Input(backbone.input.shape[1:])
    features = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    outputs = keras.layers.Dense(classes, activation="softmax", name="head")(features)
    return keras.Model(inputs, outputs)


def trainable_candidates(block, bn_trainable=False):
    """Weights of a block that should train when the block is unfrozen."""
    total = 0
    for layer in block.layers:
        if isinstance(layer, keras.layers.BatchNormalization) and not bn_trainable:
            continue
        total += sum(int(np.prod(weight.shape)) for weight in layer.trainable_weights)
    return total


@pytest.mark.parametrize(
    "request_kwargs, expected_blocks",
    [
        ({"blocks": ["block5", "top"]}, ["block5", "top"]),
        ({"from_block": "block4"}, ["block4", "block5", "top"]),
        ({"blocks": {"stem": True, "block2": True, "block1": False}}, ["stem", "block2"]),
    ],
)
def test_trainable_weight_count_is_the_sum_over_the_chosen_blocks(request_kwargs, expected_blocks):
    backbone = small_backbone()
    # Everything trainable first, to count what each block could train.
    candidates = {
        block.name: trainable_candidates(block) for block in tl_templates.list_blocks(backbone)
    }
    backbone.trainable = False  # the usual start: frozen for feature extraction

    tl_templates.set_trainable(backbone, **request_kwargs)

    expected = sum(candidates[name] for name in expected_blocks)
    actual = sum(int(np.prod(weight.shape)) for weight in backbone.trainable_weights)
    assert actual == expected > 0
    by_name = {block.name: block for block in tl_templates.list_blocks(backbone)}
    for name, block in by_name.items():
        assert (block.trainable_params > 0) == (name in expected_blocks), name


def test_dict_flags_leave_unnamed_blocks_as_they_were():
    backbone = small_backbone()
    tl_templates.set_trainable(backbone, ["block5"])
    tl_templates.set_trainable(backbone, {"top": True})
    states = {block.name: block.trainable for block in tl_templates.list_blocks(backbone)}
    assert states == {
        "stem": "no", "block1": "no", "block2": "no", "block3": "no", "block4": "no",
        "block5": "partly", "top": "partly",
    }  # fmt: skip


def test_bn_trainable_unfreezes_batch_normalization_too():
    backbone = small_backbone()
    tl_templates.set_trainable(backbone, ["top"], bn_trainable=True)
    top = tl_templates.list_blocks(backbone)[-1]
    assert top.trainable == "yes"
    batch_norms = [
        layer for layer in top.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert batch_norms and all(layer.trainable for layer in batch_norms)
    moving_statistics = sum(
        int(np.prod(layer.moving_mean.shape)) + int(np.prod(layer.moving_variance.shape))
        for layer in batch_norms
    )
    assert top.trainable_params == top.params - moving_statistics


def test_unknown_block_lists_the_valid_ones():
    backbone = small_backbone()
    with pytest.raises(ValueError) as error:
        tl_templates.set_trainable(backbone, {"blok3": True})
    assert str(error.value) == (
        "Unknown block. Received: block='blok3'. "
        "Known blocks: stem, block1, block2, block3, block4, block5, top."
    )
    with pytest.raises(ValueError, match="block='block9'"):
        tl_templates.set_trainable(backbone, from_block="block9")
    with pytest.raises(ValueError, match="exactly one"):
        tl_templates.set_trainable(backbone)


def test_fit_leaves_frozen_weights_and_batchnorm_statistics_unchanged():
    # EfficientNet, because random-init MobileNets at 32x32 have dead units
    # whose weights would not move even when trainable.
    backbone = tl_templates.build_backbone("efficientnetb0", (32, 32, 3), weights=None)
    model = classifier(backbone)
    backbone.trainable = False
    tl_templates.set_trainable(model, from_block="block6")  # found inside the classifier
    before = weights_by_layer(backbone)
    frozen = {
        layer.name
        for block in tl_templates.list_blocks(backbone)
        for layer in block.layers
        if block.name not in ("block6", "block7", "top")
        or isinstance(layer, keras.layers.BatchNormalization)
    }

    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    labels = np.arange(16) % 3
    model.fit(random_images(16), labels, batch_size=8, epochs=2, verbose=0)

    after = weights_by_layer(backbone)
    changed = set()
    for name, arrays in before.items():
        if name in frozen:
            for old, new in zip(arrays, after[name], strict=True):
                np.testing.assert_allclose(new, old, err_msg=f"frozen layer {name} changed")
        elif any(not np.allclose(old, new) for old, new in zip(arrays, after[name], strict=True)):
            changed.add(name)
    trained_layers = {name for name in before if name not in frozen}
    assert trained_layers and changed == trained_layers


def test_batchnorm_statistics_move_only_when_asked():
    backbone = tl_templates.build_backbone("efficientnetb0", (32, 32, 3), weights=None)
    model = classifier(backbone)
    tl_templates.set_trainable(model, ["top"], bn_trainable=True)
    bn = backbone.get_layer("top_bn")
    before = np.array(bn.moving_mean.numpy())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(random_images(16), np.arange(16) % 3, batch_size=8, epochs=1, verbose=0)
    assert not np.allclose(bn.moving_mean.numpy(), before)


def test_set_trainable_reaches_into_a_frozen_outer_model():
    backbone = small_backbone()
    model = classifier(backbone)
    model.trainable = False
    model.get_layer("head").trainable = True  # keep the head training
    tl_templates.set_trainable(model, ["top"])
    assert model.trainable and model.get_layer("head").trainable
    trained = {id(weight) for weight in model.trainable_weights}
    assert all(id(weight) in trained for weight in model.get_layer("head").weights)
    assert {block.name for block in tl_templates.list_blocks(model) if block.trainable != "no"} == {
        "top"
    }


def test_truncate_keeps_the_low_blocks_and_their_weights():
    backbone = small_backbone()
    short = tl_templates.truncate_backbone(backbone, "block3")
    assert tl_templates.block_names(short) == ["stem", "block1", "block2", "block3"]
    assert short.name == backbone.name
    expected_output = backbone.get_layer("expanded_conv_5_add").output
    assert short.output.shape == expected_output.shape
    # Same layer objects, so the pretrained weights come along.
    assert short.get_layer("conv") is backbone.get_layer("conv")
    images = random_images(2)
    inner = keras.Model(backbone.input, expected_output)
    np.testing.assert_allclose(short.predict(images, verbose=0), inner.predict(images, verbose=0))


def test_find_backbone_explains_what_is_missing():
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="plain")
    with pytest.raises(ValueError, match="not a registered backbone"):
        tl_templates.list_blocks(plain)


def test_block_table_shows_every_block_and_the_total():
    backbone = small_backbone()
    tl_templates.set_trainable(backbone, ["top"])
    table = tl_templates.block_table(backbone)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["block", "layers", "params", "trainable"]
    assert [line.split()[0] for line in lines[2:]] == [
        "stem", "block1", "block2", "block3", "block4", "block5", "top", "total",
    ]  # fmt: skip
    assert f"{backbone.count_params():,}" in lines[-1]
    assert lines[-2].split()[3] == "partly"  # top trains, its BatchNormalization does not
