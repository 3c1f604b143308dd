"""Splitting a model where training starts: same outputs, same training, less work."""

import keras
import numpy as np
import pytest
from helpers import random_images

import tl_templates
from tl_templates.experiments import runs as experiments
from tl_templates.training import caching


def classifier(name="lab_glyphs", dropout_rate=0.0):
    backbone = tl_templates.build_backbone(name, (32, 32, 3), weights=None)
    return experiments.build_classifier(backbone, 3, dropout_rate=dropout_rate)


@pytest.mark.parametrize(
    "name, block", [("lab_glyphs", "stem"), ("lab_glyphs", "block2"), ("lab_glyphs", "top"),
                    ("efficientnetb0", "block4")],  # fmt: skip
)
def test_upper_of_lower_is_the_model(name, block):
    keras.utils.set_random_seed(0)
    model = classifier(name)
    images = random_images(4)
    lower, upper = caching.split_at_block(model, block)
    np.testing.assert_allclose(
        upper(lower(images)).numpy(), model(images).numpy(), rtol=1e-4, atol=1e-5
    )
    # The parts share the model's layers: no weight is copied.
    model_ids = {id(weight) for weight in model.weights}
    assert {id(weight) for weight in upper.weights} <= model_ids


def test_no_block_means_no_lower_part():
    model = classifier()
    assert caching.split_at_block(model, None) == (None, model)


def test_unknown_block_lists_the_known_ones():
    with pytest.raises(ValueError, match="block='block9'. Known blocks: stem, block1"):
        caching.split_at_block(classifier(), "block9")


def test_training_on_cached_features_trains_exactly_like_the_whole_model():
    keras.utils.set_random_seed(1)
    images, labels = random_images(8, seed=2), np.arange(8) % 3
    whole = classifier()
    tl_templates.set_trainable(whole, from_block="block3")
    start = whole.get_weights()
    cut = caching.last_frozen_block(whole)
    assert cut == "block2"

    lower, upper = caching.split_at_block(whole, cut)
    cached = lower(images).numpy()
    after = []
    for part, inputs in ((whole, images), (upper, cached)):
        whole.set_weights(start)  # `upper` shares the whole model's weights
        part.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        part.fit(inputs, labels, batch_size=8, epochs=3, shuffle=False, verbose=0)
        after.append(whole.get_weights())
    after_whole, after_cached = after

    moved = [not np.allclose(a, b) for a, b in zip(start, after_whole, strict=True)]
    assert any(moved)
    for a, b in zip(after_whole, after_cached, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_last_frozen_block():
    model = classifier()
    tl_templates.set_trainable(model, [])
    assert caching.last_frozen_block(model) == "top"
    tl_templates.set_trainable(model, from_block="stem")
    assert caching.last_frozen_block(model) is None


def test_block_outputs_gives_every_block_in_one_pass():
    keras.utils.set_random_seed(0)
    backbone = tl_templates.build_backbone("lab_glyphs", weights=None)
    both = caching.block_outputs(backbone, ["block1", "top"])
    images = random_images(2)
    block1, top = both(images)
    lower, _ = caching.split_at_block(backbone, "block1")
    np.testing.assert_allclose(block1.numpy(), lower(images).numpy(), rtol=1e-5)
    np.testing.assert_allclose(top.numpy(), backbone(images).numpy(), rtol=1e-5)


@pytest.mark.parametrize("cut", ["block2", "top"])
def test_prefix_outputs_and_upper_model_compute_the_model(cut):
    keras.utils.set_random_seed(0)
    model = classifier()
    images = random_images(5)
    train, validation = caching.prefix_outputs(model, cut, images[:3], images[3:], batch_size=4)
    assert (len(train), len(validation)) == (3, 2)
    upper = caching.upper_model(model, cut)
    np.testing.assert_allclose(
        upper.predict(np.concatenate([train, validation]), verbose=0),
        model.predict(images, verbose=0),
        rtol=1e-4,
        atol=1e-6,
    )


def test_the_training_loops_use_the_one_implementation():
    from tl_templates.training import classifier as training
    from tl_templates.training import multitask

    for name in ("cacheable_cut", "upper_model", "prefix_outputs", "head_model"):
        assert getattr(training, name) is getattr(caching, name)
    assert multitask.backbone_features is caching.backbone_features
    assert training.PREFIX_CACHE_LIMIT_BYTES == caching.PREFIX_CACHE_LIMIT_BYTES == 2 * 1024**3
