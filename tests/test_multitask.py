"""Multi-task models: masked losses and their gradients, heads, uncertainty weighting, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import compile_multitask_eagerly, random_images, weights_by_layer

import tl_templates
from tl_templates.tasks import losses as multitask_losses
from tl_templates.tasks import metrics as multitask_metrics
from tl_templates.tasks import multitask
from tl_templates.training import multitask as multitask_training

NAN = np.nan


def loss_and_gradient(loss_function, y_true, y_pred):
    """The loss and its gradient with respect to the predictions."""
    y_pred = tf.Variable(np.asarray(y_pred, dtype="float32"))
    with tf.GradientTape() as tape:
        loss = loss_function(np.asarray(y_true, dtype="float32"), y_pred)
    return float(loss), tape.gradient(loss, y_pred).numpy()


# (loss, labels with unknowns, the same labels' known part, predictions, known rows/cells)
CASES = {
    "binary": (
        multitask_losses.masked_binary_crossentropy,
        [[1.0], [NAN], [0.0], [-1.0]],
        [[0.8], [0.3], [0.4], [0.9]],
    ),
    "multilabel": (
        lambda y, p: multitask_losses.masked_binary_crossentropy(y, p, positive_weights=[2.0, 1.0]),
        [[1.0, NAN], [NAN, 0.0], [0.0, 1.0]],
        [[0.7, 0.2], [0.6, 0.3], [0.1, 0.9]],
    ),
    "multiclass": (
        multitask_losses.masked_sparse_categorical_crossentropy,
        [2.0, NAN, 0.0, -1.0],
        [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]],
    ),
    "regression": (
        lambda y, p: multitask_losses.masked_huber(y, p, delta=1.0, scale=10.0),
        [[35.0], [NAN], [-4.0], [60.0]],  # negative targets are real values, not "missing"
        [[30.0], [80.0], [0.0], [20.0]],
    ),
}


@pytest.mark.parametrize("kind", CASES)
def test_a_masked_label_adds_exactly_zero_to_loss_and_gradient(kind):
    loss_function, y_true, y_pred = CASES[kind]
    y_true, y_pred = np.array(y_true, "float32"), np.array(y_pred, "float32")
    unknown = np.isnan(y_true) | ((y_true < 0) & (kind != "regression"))
    loss, gradient = loss_and_gradient(loss_function, y_true, y_pred)

    # Whatever the model predicts where the label is unknown changes nothing.
    other = y_pred.copy()
    if kind == "multiclass":
        other[unknown] = other[unknown][:, ::-1]  # other class probabilities in unknown rows
    else:
        other[unknown] = other[unknown] * 0.5 + 0.3
    other_loss, other_gradient = loss_and_gradient(loss_function, y_true, other)
    assert np.isfinite(loss) and other_loss == pytest.approx(loss, abs=1e-6)
    np.testing.assert_array_equal(other_gradient, gradient)
    assert np.all(gradient[unknown] == 0.0)  # exactly zero, not just small
    if kind != "multiclass":  # (a softmax loss reaches only the true class's probability)
        assert np.all(gradient[~unknown] != 0.0)

    # And the loss is the mean over the known labels only.
    if kind in ("binary", "multiclass", "regression"):
        known_loss, _ = loss_and_gradient(loss_function, y_true[~unknown], y_pred[~unknown])
        assert loss == pytest.approx(known_loss, rel=1e-6)


@pytest.mark.parametrize("kind", CASES)
def test_an_all_missing_batch_gives_a_finite_zero_loss(kind):
    loss_function, y_true, y_pred = CASES[kind]
    loss, gradient = loss_and_gradient(loss_function, np.full(np.shape(y_true), NAN), y_pred)
    assert loss == 0.0 and np.all(gradient == 0.0)


def test_positive_weights_multiply_only_the_positive_term():
    y_true, y_pred = np.array([[1.0, 0.0]]), np.array([[0.3, 0.3]])
    plain = float(multitask_losses.masked_binary_crossentropy(y_true, y_pred))
    weighted = float(multitask_losses.masked_binary_crossentropy(y_true, y_pred, [3.0, 3.0]))
    positive, negative = -np.log(0.3), -np.log(0.7)
    assert plain == pytest.approx((positive + negative) / 2, rel=1e-5)
    assert weighted == pytest.approx((3 * positive + negative) / 2, rel=1e-5)
    assert tl_templates.positive_weights([[1, 0], [0, NAN], [0, 1], [NAN, 0], [0, 0]]) == (3.0, 3.0)


def small_model(uncertainty=False, dropout_rate=0.0):
    heads = [
        tl_templates.TaskHead("gender", "binary", hidden_units=8),
        tl_templates.TaskHead("age", "regression", target_mean=40.0, target_std=15.0),
        tl_templates.TaskHead("scene", "multiclass", units=3),
        tl_templates.TaskHead("objects", "multilabel", units=2, label_names=("car", "stop_sign"),
                              positive_weights=(1.0, 4.0)),
    ]  # fmt: skip
    model = tl_templates.build_multitask_model(
        "lab_glyphs", heads, input_shape=(32, 32, 3), weights=None,
        dropout_rate=dropout_rate, uncertainty_weighting=uncertainty,
    )  # fmt: skip
    compile_multitask_eagerly(model, heads, 1e-3)
    return model, heads



def labels(count, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "gender": rng.integers(0, 2, count).astype("float32"),
        "age": rng.uniform(1, 90, count).astype("float32"),
        "scene": rng.integers(0, 3, count).astype("float32"),
        "objects": rng.integers(0, 2, (count, 2)).astype("float32"),
    }


def model_gradients(model, images, y):
    with tf.GradientTape() as tape:
        predictions = model(images, training=False)
        loss = model.compute_loss(images, y, predictions)
    return loss, dict(zip([w.path for w in model.trainable_weights],
                          tape.gradient(loss, model.trainable_weights), strict=True))  # fmt: skip


def test_an_example_whose_labels_are_all_masked_does_not_move_any_weight():
    model, _ = small_model()
    images = random_images(3, seed=1)
    y = labels(3)
    for name in y:  # example 2: every label unknown
        y[name][2] = NAN
    loss, gradients = model_gradients(model, images, y)
    swapped = images.copy()
    swapped[2] = random_images(1, seed=9)[0]  # another image in its place
    other_loss, other_gradients = model_gradients(model, swapped, y)
    assert float(loss) == pytest.approx(float(other_loss), rel=1e-6)
    for path, gradient in gradients.items():
        np.testing.assert_allclose(
            other_gradients[path], gradient, rtol=1e-5, atol=1e-8, err_msg=path
        )


def test_an_all_missing_task_gives_a_finite_loss_and_no_gradient_to_its_head():
    for uncertainty in (False, True):
        model, _ = small_model(uncertainty)
        y = labels(4)
        y["gender"][:] = NAN
        loss, gradients = model_gradients(model, random_images(4), y)
        assert np.isfinite(float(loss))
        gender = [path for path in gradients if "gender" in path]
        assert gender and all(np.all(gradients[path] == 0.0) for path in gender)
        assert np.any(gradients[next(p for p in gradients if "age_standardised" in p)] != 0.0)
        if uncertainty:
            log_variances = gradients[next(p for p in gradients if "log_variances" in p)]
            assert log_variances[0] == 0.0 and np.all(log_variances[1:] != 0.0)  # gender first
        keras.backend.clear_session()


def test_uncertainty_weighting_shrinks_the_weight_of_the_task_with_the_larger_loss():
    layer = tl_templates.TaskUncertainty(["noisy", "clean"])
    layer.build(None)
    with tf.GradientTape() as tape:
        total = layer.combine({"noisy": 2.0, "clean": 0.5}, {"noisy": True, "clean": True})
    gradient = tape.gradient(total, layer.log_variances).numpy()
    assert float(total) == pytest.approx(2.5)  # exp(0) * loss + 0, summed
    # d/ds (exp(-s) L + s) = 1 - L at s = 0: s grows for the noisy task (weight exp(-s) falls).
    np.testing.assert_allclose(gradient, [-1.0, 0.5])


def test_masked_keras_metrics_skip_unknown_labels():
    accuracy = multitask_metrics.MaskedBinaryAccuracy()
    accuracy.update_state(np.array([1.0, NAN, 0.0, -1.0]), np.array([[0.9], [0.9], [0.8], [0.1]]))
    assert float(accuracy.result()) == pytest.approx(0.5)
    mae = multitask_metrics.MaskedMeanAbsoluteError()
    mae.update_state(np.array([30.0, NAN, -2.0]), np.array([[20.0], [99.0], [0.0]]))
    assert float(mae.result()) == pytest.approx(6.0)
    auc = multitask_metrics.MaskedAUC(label_index=1)
    auc.update_state(
        np.array([[0, 1], [1, 0], [0, NAN], [1, 1]], "float32"),
        np.array([[0.1, 0.9], [0.9, 0.2], [0.2, 0.0], [0.3, 0.7]], "float32"),
    )
    assert float(auc.result()) == pytest.approx(1.0, abs=1e-3)


def test_numpy_metrics_match_scikit_learn_on_known_labels():
    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 60).astype(float)
    scores = np.round(np.clip(truth * 0.3 + rng.uniform(0, 0.7, 60), 0, 1), 1)  # with ties
    with_unknowns = truth.copy()
    with_unknowns[::7] = NAN
    known = ~np.isnan(with_unknowns)
    assert tl_templates.roc_auc(with_unknowns, scores) == pytest.approx(
        roc_auc_score(truth[known], scores[known])
    )
    threshold, f1 = tl_templates.best_f1_threshold(with_unknowns, scores)
    assert f1 == pytest.approx(f1_score(truth[known], scores[known] >= threshold))
    for candidate in np.unique(scores):
        assert f1_score(truth[known], scores[known] >= candidate) <= f1 + 1e-9
    assert np.isnan(tl_templates.roc_auc([1, 1, NAN], [0.2, 0.3, 0.4]))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("gender", "binaryy"), "kind='binaryy'"),
        (("my task", "binary"), "letters, digits"),
        (("scene", "multiclass"), "units >= 2"),
        (("objects", "multilabel", 3, ("car",)), "3 units but 1 label_names"),
    ],
)
def test_bad_task_heads_are_refused_with_a_clear_message(arguments, message):
    with pytest.raises(ValueError, match=message):
        tl_templates.TaskHead(*arguments)


def test_a_saved_model_loads_in_safe_mode_and_predicts_the_same(tmp_path):
    model, _ = small_model(uncertainty=True, dropout_rate=0.2)
    images = random_images(16, seed=2)
    y = labels(16)
    y["age"][::3] = NAN
    y["objects"][1::4, 1] = NAN
    model.fit(images, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = tl_templates.load_model(path)  # safe_mode=True
    loaded.run_eagerly = True
    assert isinstance(loaded, tl_templates.MultiTaskModel)
    assert (
        loaded.uncertainty_layer().weights_by_task() == model.uncertainty_layer().weights_by_task()
    )
    before, after = model.predict(images, verbose=0), loaded.predict(images, verbose=0)
    for name in before:
        np.testing.assert_allclose(after[name], before[name], rtol=1e-5, atol=1e-6)
    # The masked losses and metrics came back with it (compile config, same numbers).
    original = model.evaluate(images, y, verbose=0, return_dict=True)
    restored = loaded.evaluate(images, y, verbose=0, return_dict=True)
    for name, value in original.items():
        assert restored[name] == pytest.approx(value, rel=1e-4), name


def test_two_phase_training_keeps_frozen_blocks_and_records_every_task(tmp_path, monkeypatch):
    monkeypatch.setattr(multitask_training, "compile_multitask", compile_multitask_eagerly)
    keras.utils.set_random_seed(0)
    plan = tl_templates.plan_strategy("fine_tune_top", "lab_glyphs")
    model, heads = small_model(uncertainty=True)
    backbone = tl_templates.find_backbone(model)
    before = weights_by_layer(backbone)
    train = (random_images(24, seed=3).astype("uint8"), labels(24, seed=3))
    validation = (random_images(8, seed=4).astype("uint8"), labels(8, seed=4))
    train[1]["gender"][:12] = NAN

    phases = tl_templates.train_multitask(
        model, heads, plan, train, validation, head_epochs=2, fine_tune_epochs=1,
        batch_size=8, output_dir=tmp_path, verbose=0,
    )  # fmt: skip

    assert [phase.name for phase in phases] == ["feature_extraction", "fine_tuning"]
    assert phases[0].cached_features and all(np.isfinite(p.best_val_task_loss) for p in phases)
    after = weights_by_layer(backbone)
    for block in tl_templates.list_blocks(backbone):
        trains = block.name in plan.trainable_blocks
        for layer in block.layers:
            if layer.name in before and (
                not trains or isinstance(layer, keras.layers.BatchNormalization)
            ):
                for old, new in zip(before[layer.name], after[layer.name], strict=True):
                    np.testing.assert_array_equal(old, new, err_msg=layer.name)
    rows = tl_templates.read_history(tmp_path / "history.csv")
    assert [row["phase"] for row in rows] == ["feature_extraction"] * 2 + ["fine_tuning"]
    for name in ("val_gender_auc", "val_age_mae", "val_scene_accuracy", "val_objects_auc_stop_sign",
                 "val_task_loss", "weight_gender"):  # fmt: skip
        assert all(np.isfinite(row[name]) for row in rows), name
    assert (tmp_path / "checkpoints" / "best.weights.h5").is_file()
    tl_templates.plot_task_history(tmp_path / "history.csv", tmp_path / "training.png")
    assert (tmp_path / "training.png").stat().st_size > 10_000


def test_average_and_max_pooling_keeps_a_small_bright_spot_that_the_average_dilutes():
    # A feature map that is zero except for one position: the average over 36
    # positions shrinks it 36 times, the maximum keeps it.
    feature_map = np.zeros((1, 6, 6, 4), "float32")
    feature_map[0, 2, 3] = [36.0, 0.0, 0.0, 0.0]
    heads = [tl_templates.TaskHead("objects", "multilabel", units=2)]
    model = multitask.build_task_heads((6, 6, 4), heads, dropout_rate=0.0,
                                          pooling="average+max")  # fmt: skip
    pooled = keras.Model(model.inputs, model.get_layer("pool").output)(feature_map)
    np.testing.assert_allclose(np.asarray(pooled)[0], [1, 0, 0, 0, 36, 0, 0, 0])
    with pytest.raises(ValueError, match="average, average\\+max. Received: 'max'"):
        multitask.build_task_heads((6, 6, 4), heads, pooling="max")


def test_a_model_with_average_and_max_pooling_saves_and_loads_in_safe_mode(tmp_path):
    heads = [tl_templates.TaskHead("objects", "multilabel", units=2)]
    model = tl_templates.build_multitask_model("lab_glyphs", heads, input_shape=(32, 32, 3),
                                               weights=None, pooling="average+max")  # fmt: skip
    model.save(tmp_path / "model.keras")
    loaded = tl_templates.load_model(tmp_path / "model.keras")
    images = random_images(4, seed=3)
    np.testing.assert_allclose(loaded.predict(images, verbose=0)["objects"],
                               model.predict(images, verbose=0)["objects"], rtol=1e-5, atol=1e-6)  # fmt: skip
