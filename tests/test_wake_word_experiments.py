"""Wake-word experiment helpers: index splits, the cached front end, BatchNorm recalibration."""

import keras
import numpy as np
import pytest

import tl_templates
from tl_templates.experiments import runs as experiments
from tl_templates.experiments import wake_word as wake

SAMPLES = 15_600


def test_split_keeps_test_and_pool_apart_and_draws_are_nested():
    labels = np.repeat([0, 1, 2], 10)
    pool, test = wake.split_per_class(labels, 4, seed=3)
    assert len(np.intersect1d(pool, test)) == 0
    assert len(pool) + len(test) == len(labels)
    assert np.bincount(labels[test]).tolist() == [4, 4, 4]
    small = wake.draw_per_class(labels, pool, 2, seed=5)
    large = wake.draw_per_class(labels, pool, 6, seed=5)
    assert np.bincount(labels[large]).tolist() == [6, 6, 6]
    assert set(small) <= set(large) <= set(pool)
    assert not np.array_equal(np.sort(wake.split_per_class(labels, 4, seed=4)[1]), np.sort(test))


def test_too_few_clips_is_a_clear_error():
    with pytest.raises(ValueError, match="Class 1 has 2 example.s.: too few"):
        wake.split_per_class([0, 0, 0, 1, 1], 2)
    with pytest.raises(ValueError, match="per_class=3"):
        wake.draw_per_class([0, 0, 0, 1, 1], np.arange(5), 3)


def test_front_end_split_computes_the_same_as_the_model():
    keras.utils.set_random_seed(0)
    model = experiments.build_classifier(tl_templates.build_backbone("lab_speech", weights=None), 3)
    front_end, rest = wake.split_front_end(model)
    assert not front_end.weights  # the log-mel front end has nothing to train
    assert len(rest.weights) == len(model.weights)
    clips = np.random.default_rng(0).normal(0, 0.1, (2, SAMPLES)).astype("float32")
    np.testing.assert_allclose(rest(front_end(clips)), model(clips), rtol=1e-4, atol=1e-5)


def test_a_backbone_without_front_end_is_refused():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Conv2D(4, 3, name="stem_conv")(inputs)
    # Named like a registered backbone, so that `find_backbone` accepts it.
    backbone = keras.Model(inputs, outputs, name="lab_glyphs")
    assert wake.front_end_layers(backbone) == []
    with pytest.raises(ValueError, match="no weightless front end"):
        wake.split_front_end(backbone)


def test_recalibration_sets_moving_statistics_to_the_batch_and_keeps_weights():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    outputs = keras.layers.BatchNormalization(momentum=0.99)(keras.layers.Dense(3)(inputs))
    model = keras.Model(inputs, outputs)
    data = np.random.default_rng(0).normal(5.0, 2.0, (64, 4)).astype("float32")
    kernel = model.layers[1].get_weights()[0].copy()
    assert wake.recalibrate_batch_norm(model, data) == 1
    batch_norm = model.layers[2]
    hidden = np.asarray(model.layers[1](data))
    np.testing.assert_allclose(batch_norm.moving_mean.numpy(), hidden.mean(0), rtol=1e-4)
    np.testing.assert_allclose(batch_norm.moving_variance.numpy(), hidden.var(0), rtol=1e-3)
    assert batch_norm.momentum == 0.99
    np.testing.assert_array_equal(model.layers[1].get_weights()[0], kernel)


def test_tfds_wake_word_is_the_word_against_the_rest(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=60):
        clips, labels, names, description = wake.load_tfds_wake_word("yes", 3, SAMPLES)
        assert names == ["not yes", "yes"]
        assert clips.shape[1:] == (SAMPLES,) and clips.dtype == np.float32
        assert np.bincount(labels).tolist() == [3, 3]
        assert np.abs(clips).max() <= 1.0
        assert "TFDS speech_commands" in description
        with pytest.raises(ValueError, match="'hello' is not a label"):
            wake.load_tfds_wake_word("hello", 3, SAMPLES)
