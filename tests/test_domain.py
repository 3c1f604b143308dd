"""DANN: gradient reversal, schedules, masked loss, training on the offline benchmark."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_templates
from tl_templates.experiments import domain_shift
from tl_templates.tasks import domain


def test_gradient_reversal_is_identity_forward_and_reverses_gradients():
    layer = domain.GradientReversal(strength=0.5)
    inputs = tf.constant([[1.0, -2.0, 3.0]])
    upstream = tf.constant([[0.3, 1.0, -4.0]])
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs)
        objective = tf.reduce_sum(outputs * upstream)
    np.testing.assert_array_equal(outputs.numpy(), inputs.numpy())
    np.testing.assert_allclose(tape.gradient(objective, inputs).numpy(), -0.5 * upstream.numpy())

    layer.strength.assign(2.0)  # what the schedule callback does
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        objective = tf.reduce_sum(layer(inputs) * upstream)
    np.testing.assert_allclose(tape.gradient(objective, inputs).numpy(), -2.0 * upstream.numpy())


def test_gradient_reversal_has_no_trainable_weights_and_serialises():
    layer = domain.GradientReversal(strength=0.25, name="reverse")
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1
    clone = domain.GradientReversal.from_config(layer.get_config())
    assert clone.strength.numpy() == pytest.approx(0.25)


def test_ganin_schedules():
    assert domain.ganin_strength(0.0) == 0.0
    assert domain.ganin_strength(1.0) == pytest.approx(2 / (1 + np.exp(-10)) - 1)
    assert domain.ganin_strength(0.1) < domain.ganin_strength(0.5) < domain.ganin_strength(1.0)
    assert domain.ganin_learning_rate(0.0, 0.01) == pytest.approx(0.01)
    assert domain.ganin_learning_rate(1.0, 0.01) == pytest.approx(0.01 / 11**0.75)


def test_masked_loss_is_the_mean_over_labelled_examples():
    probabilities = np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5], [0.9, 0.1]], "float32")
    labels = np.array([0, 1, -1, -1])
    loss = domain.MaskedSparseCategoricalCrossentropy()(labels, probabilities)
    assert float(loss) == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2, rel=1e-5)
    accuracy = domain.MaskedAccuracy()
    accuracy.update_state(np.array([0, 0, -1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9]]))
    assert float(accuracy.result()) == pytest.approx(0.5)


def test_dann_batches_are_half_source_half_unlabelled_target():
    source = np.zeros((10, 32, 32, 3), "uint8")
    target = np.full((7, 32, 32, 3), 255, "uint8")
    images, targets = next(iter(domain.dann_dataset(source, np.arange(10) % 3, target, 8)))
    np.testing.assert_array_equal(images.numpy().max(axis=(1, 2, 3)), [0] * 4 + [255] * 4)
    assert targets["label"].numpy()[4:].tolist() == [domain.UNLABELLED] * 4
    assert (targets["label"].numpy()[:4] >= 0).all()
    assert targets["domain"].numpy().ravel().tolist() == [0] * 4 + [1] * 4


def test_benchmark_splits_are_disjoint_and_target_is_blended_onto_photos():
    data = domain_shift.load_digits_to_photos(seed=3)
    sizes = len(data.source_labels), len(data.target_labels), len(data.target_test_labels)
    assert sum(sizes) == 1797 and all(size > 300 for size in sizes)
    assert set(data.target_test_labels) == set(range(10))
    # Source: grey ink on black; target: coloured photo textures.
    assert np.all(data.source_images[..., 0] == data.source_images[..., 2])
    assert np.abs(data.target_images[..., 0].astype(int) - data.target_images[..., 2]).mean() > 5
    ink = np.zeros((1, 2, 2))
    ink[0, 0, 0] = 1.0
    patch = np.full((1, 2, 2, 3), 40, "uint8")
    blended = domain_shift.blend_onto_photos(ink, patch)
    assert blended[0, 0, 0].tolist() == [215] * 3 and blended[0, 1, 1].tolist() == [40] * 3


def test_full_mode_loaders_read_tfds(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        ink, labels, class_names = domain_shift.load_tfds_digits("mnist", "train")
        photos = domain_shift.load_tfds_photos("imagenette/160px-v2", limit=3)
    assert ink.shape == (6, 28, 28) and 0.0 <= ink.min() and ink.max() <= 1.0
    assert class_names == [str(digit) for digit in range(10)] and labels.shape == (6,)
    data = domain_shift.make_domain_shift(
        np.concatenate([ink] * 5), np.concatenate([labels] * 5), class_names, photos, 32, 0,
        fractions=(0.4, 0.3, 0.3),
    )  # fmt: skip
    assert data.target_images.shape[1:] == (32, 32, 3)
    with pytest.raises(ValueError, match="fractions"):
        domain_shift.make_domain_shift(ink, labels, class_names, photos, fractions=(0.5, 0.6, 0))


def _train(data, steps, domain_loss_weight, schedule, seed=0, learning_rate=0.02):
    keras.utils.set_random_seed(seed)
    model = domain.build_dann("lab_glyphs", 10, input_shape=(32, 32, 3))
    tl_templates.set_trainable(model, from_block="block3")
    domain.compile_dann(model, learning_rate, domain_loss_weight=domain_loss_weight)
    callbacks = [domain.AnnealedLearningRate(learning_rate, steps)]
    if schedule:
        callbacks.append(domain.GradientReversalSchedule(steps))
    batches = domain.dann_dataset(
        data.source_images, data.source_labels, data.target_images, 32, seed=seed
    )
    model.fit(batches, epochs=1, steps_per_epoch=steps, callbacks=callbacks, verbose=0)
    return model


def _domain_head_accuracy(model, data):
    images = np.concatenate([data.source_images[:300], data.target_test_images[:300]])
    domains = np.concatenate([np.zeros(300), np.ones(300)])
    predicted = model.predict(images, verbose=0)["domain"].ravel() > 0.5
    return float(np.mean(predicted == domains))


def test_dann_training_pushes_domain_accuracy_toward_chance(tmp_path):
    data = domain_shift.load_digits_to_photos(seed=0)
    steps = 80
    # The same domain classifier, trained with the reversal off (strength 0)
    # and on (the Ganin schedule): only the reversal makes the features hide
    # the domain.
    plain = _train(data, steps, domain_loss_weight=1.0, schedule=False)
    plain_accuracy = _domain_head_accuracy(plain, data)
    dann = _train(data, steps, domain_loss_weight=1.0, schedule=True)
    dann_accuracy = _domain_head_accuracy(dann, data)
    assert dann.get_layer("gradient_reversal").strength.numpy() > 0.99
    assert plain_accuracy > 0.65, plain_accuracy
    assert abs(dann_accuracy - 0.5) < abs(plain_accuracy - 0.5) - 0.08, (
        plain_accuracy,
        dann_accuracy,
    )
    # The label classifier still learned the source task.
    source_predictions = domain.classifier(dann).predict(data.source_images, verbose=0)
    assert np.mean(source_predictions.argmax(1) == data.source_labels) > 0.8

    path = tmp_path / "dann.keras"
    dann.save(path)
    loaded = tl_templates.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(data.target_test_images[:8], verbose=0)["label"],
        dann.predict(data.target_test_images[:8], verbose=0)["label"],
        rtol=1e-5,
        atol=1e-6,
    )
    assert loaded.get_layer("gradient_reversal").strength.numpy() > 0.99


def test_domain_probe_separates_separable_features_and_not_identical_ones():
    rng = np.random.default_rng(0)
    source = rng.normal(0, 1, (200, 8))
    assert domain.domain_probe_accuracy(source, source + 3.0) > 0.95
    assert abs(domain.domain_probe_accuracy(source, rng.normal(0, 1, (200, 8))) - 0.5) < 0.12


def test_classifier_branches_share_the_dann_model_weights():
    keras.utils.set_random_seed(0)
    model = domain.build_dann("lab_glyphs", 3, (32, 32, 3), weights=None)
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    outputs = model(images, training=False)
    np.testing.assert_allclose(domain.domain_classifier(model)(images, training=False),
                               outputs["domain"], rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(domain.classifier(model)(images, training=False),
                               outputs["label"], rtol=1e-6)  # fmt: skip
    assert domain.domain_classifier(model).output.shape == (None, 1)
