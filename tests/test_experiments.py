"""Helpers for repeated runs: restart instead of recompiling, step counts, predictions."""

import keras
import numpy as np
import pytest
from helpers import random_images

import tl_templates
from tl_templates.experiments import runs as experiments


def small_model(seed=0, dropout_rate=0.0):
    keras.utils.set_random_seed(seed)
    backbone = tl_templates.build_backbone("lab_glyphs", weights=None)
    model = experiments.build_classifier(backbone, 3, dropout_rate=dropout_rate)
    tl_templates.set_trainable(model, ["top"])
    return model


def data(count=16):
    return random_images(count, seed=3), np.arange(count) % 3


def compiled(model, learning_rate=1e-2):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # fmt: skip
    return model


def test_restart_trains_like_a_freshly_compiled_model():
    images, labels = data()
    fresh = compiled(small_model())
    start = fresh.get_weights()
    experiments.fit_steps(fresh, images, labels, steps=4, batch_size=8, seed=1)
    expected = fresh.get_weights()

    reused = compiled(small_model(seed=7))
    experiments.fit_steps(reused, images, labels, steps=3, batch_size=8, seed=5)  # other run
    experiments.restart(reused, start)
    assert int(reused.optimizer.iterations) == 0
    experiments.fit_steps(reused, images, labels, steps=4, batch_size=8, seed=1)

    for a, b in zip(expected, reused.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_restarted_model_with_dropout_trains_bit_for_bit_like_a_fresh_one():
    images, labels = data()
    fresh = compiled(small_model(dropout_rate=0.5))
    start = fresh.get_weights()
    experiments.fit_steps(fresh, images, labels, steps=4, batch_size=8, seed=1)
    expected = fresh.get_weights()

    reused = compiled(small_model(dropout_rate=0.5))  # built under the same seed
    experiments.fit_steps(reused, images, labels, steps=3, batch_size=8, seed=5)  # other run
    (state,) = [v for v in reused.variables if v.path.endswith("seed_generator_state")]
    assert int(state[1]) == 3  # dropout has drawn 3 masks
    for _ in range(2):  # the same run twice: identical both times
        experiments.restart(reused, start)
        assert int(state[1]) == 0
        experiments.fit_steps(reused, images, labels, steps=4, batch_size=8, seed=1)
        for a, b in zip(expected, reused.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)

    # Without the rewind, dropout draws other masks and the run differs: the test can fail.
    experiments.restart(reused, start)
    state.assign([int(state[0]), 7])
    experiments.fit_steps(reused, images, labels, steps=4, batch_size=8, seed=1)
    assert any(not np.array_equal(a, b) for a, b in zip(expected, reused.get_weights(), strict=True))


def test_restart_can_set_a_new_learning_rate_and_keep_weights():
    model = compiled(small_model())
    weights = model.get_weights()
    experiments.restart(model, learning_rate=3e-4)
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-4)
    for a, b in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_cosine_decay_goes_from_the_peak_towards_zero_and_puts_the_peak_back():
    images, labels = data()
    model = compiled(small_model(), learning_rate=1e-2)
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate))

    model.fit(experiments.training_dataset(images, labels, batch_size=8, steps=4),
              epochs=2, steps_per_epoch=2, shuffle=False, verbose=0,
              callbacks=[experiments.CosineDecay(4), Recorder()])  # fmt: skip
    np.testing.assert_allclose(seen, 1e-2 * (1 + np.cos(np.pi * np.arange(4) / 4)) / 2,
                               rtol=1e-5)  # fmt: skip
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-2)  # for the next run
    experiments.restart(model, learning_rate=3e-3)  # restart can still set the rate
    experiments.fit_steps(model, images, labels, steps=2, batch_size=8, decay="cosine")
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)
    with pytest.raises(ValueError, match="decay='linear'"):
        experiments.fit_steps(model, images, labels, steps=1, batch_size=8, decay="linear")


def test_batches_depend_on_the_seed_only():
    images, labels = np.arange(10)[:, None].astype("float32"), np.arange(10)

    def batches(seed):
        dataset = experiments.training_dataset(images, labels, batch_size=4, steps=5, seed=seed)
        return [batch.numpy().ravel().tolist() for batch, _ in dataset]

    first = batches(3)
    keras.utils.set_random_seed(99)  # TensorFlow's global seed plays no part
    assert batches(3) == first != batches(4)
    assert [len(batch) for batch in first] == [4] * 5
    seen = sum(first, [])
    assert sorted(seen[:10]) == list(range(10))  # each pass sees every example once


def test_fit_steps_counts_steps_not_epochs_of_data():
    images, labels = data(5)  # fewer examples than a batch: batches repeat them
    model = compiled(small_model())
    history = experiments.fit_steps(model, images, labels, steps=3, batch_size=4, epochs=2,
                                    validation=(images, labels))  # fmt: skip
    assert int(model.optimizer.iterations) == 6
    assert len(history.history["val_accuracy"]) == 2


def test_predict_matches_keras_and_handles_several_outputs():
    model = small_model()
    images, labels = data(10)
    np.testing.assert_allclose(experiments.predict(model, images, batch_size=4),
                               model.predict(images, verbose=0), rtol=1e-5)  # fmt: skip
    two = keras.Model(model.input, [model.output, model.output])
    first, second = experiments.predict(two, images, batch_size=3)
    assert first.shape == second.shape == (10, 3)
    best = np.argmax(first, axis=-1)
    assert experiments.accuracy(model, images, best) == 1.0


def test_batch_norm_momentum_reaches_nested_layers():
    model = small_model()
    assert experiments.set_batch_norm_momentum(model, 0.8) == 9
    backbone = tl_templates.find_backbone(model)
    assert {layer.momentum for layer in backbone.layers
            if isinstance(layer, keras.layers.BatchNormalization)} == {0.8}  # fmt: skip


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_classifier_output_stays_float32_under_mixed_precision(mixed_precision):
    model = compiled(small_model(), 1e-3)
    assert model.layers[-1].dtype_policy.compute_dtype == "float32"
    assert tl_templates.find_backbone(model).layers[2].dtype_policy.compute_dtype == "float16"
    images, labels = data(8)
    experiments.fit_steps(model, images, labels, steps=1, batch_size=8)
    assert model(images).dtype == "float32"
    experiments.restart(model)  # the loss scale survives a restart
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(model.optimizer.dynamic_scale) > 0


def test_mixed_precision_stays_off_without_a_gpu():
    assert experiments.use_mixed_precision() is False
    assert keras.mixed_precision.global_policy().name == "float32"


def test_run_timer_reports_wall_and_cpu_time():
    report = experiments.RunTimer().report()
    assert "s of wall-clock time" in report and "s of CPU time" in report
