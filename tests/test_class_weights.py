"""Class weights for imbalanced folders: when they switch on, and what they do to the loss."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_images

import tl_templates
from tl_templates.data import class_weights, doctor
from tl_templates.training import classifier as training


def test_auto_uses_the_doctors_imbalance_figure():
    assert class_weights.IMBALANCE_WARNING_RATIO == doctor.IMBALANCE_WARNING_RATIO == 3.0
    just_below = np.array([0] * 29 + [1] * 10 + [2] * 15)  # 2.9x
    at_threshold = np.array([0] * 30 + [1] * 10 + [2] * 15)  # 3.0x
    assert class_weights.imbalance_ratio(just_below, 3) == pytest.approx(2.9)
    assert tl_templates.choose_class_weights("auto", just_below, 3) is None
    weights = tl_templates.choose_class_weights("auto", at_threshold, 3)
    # n / (classes x count): every class adds the same total weight.
    assert weights == pytest.approx({0: 55 / 90, 1: 55 / 30, 2: 55 / 45})
    assert tl_templates.choose_class_weights(False, at_threshold, 3) is None
    assert tl_templates.choose_class_weights(True, just_below, 3) is not None
    with pytest.raises(ValueError, match="Received: class_weights='balanced'"):
        tl_templates.choose_class_weights("balanced", just_below, 3)


def test_weighted_loss_is_the_class_weighted_mean_of_the_example_losses():
    # A fixed model that predicts the majority class: the minority examples' errors are
    # large, so weighting the minority up raises the loss by the expected amount.
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.get_layer(index=1).set_weights([np.zeros((2, 2)), np.log(np.array([0.9, 0.1]))])
    training.compile_classifier(model, 1e-3)
    x = np.zeros((10, 2), "float32")
    y = np.array([0] * 8 + [1] * 2)
    weights = tl_templates.choose_class_weights("auto", y, 2)  # {0: 0.625, 1: 2.5}
    per_example = -np.log(np.where(y == 0, 0.9, 0.1))
    expected = float(np.mean(per_example * np.where(y == 0, weights[0], weights[1])))
    plain = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    weighted = training.with_class_weights(plain, weights)
    unweighted_loss = model.evaluate(plain, verbose=0)[0]
    weighted_loss = model.evaluate(weighted, verbose=0)[0]
    assert unweighted_loss == pytest.approx(float(np.mean(per_example)), rel=1e-5)
    assert weighted_loss == pytest.approx(expected, rel=1e-5)
    assert weighted_loss > 2 * unweighted_loss  # the rare class's errors now count


def imbalanced(count_major, count_minor, seed):
    images = random_images(count_major + count_minor, seed=seed).astype("uint8")
    return images, np.array([0] * count_major + [1] * count_minor)


def test_class_weights_move_predictions_towards_the_rare_class(tmp_path):
    # Labels unrelated to the (random) images: the model can only learn the class
    # prior. Unweighted it learns 5:1 for the common class; weighted the classes count
    # equally, so the rare class's probability rises towards 0.5. fine_tune_top trains
    # its head phase on cached features and its fine-tuning phase on the whole model:
    # both get the weights.
    train, validation = imbalanced(30, 6, seed=1), imbalanced(5, 1, seed=2)
    weights = tl_templates.choose_class_weights("auto", train[1], 2)
    plan = dataclasses.replace(
        tl_templates.plan_strategy("fine_tune_top", "lab_glyphs"), head_learning_rate=0.05
    )  # the prior in few steps
    rare_probability = {}
    for name, class_weight in (("plain", None), ("weighted", weights)):
        keras.utils.set_random_seed(0)
        backbone = tl_templates.build_backbone("lab_glyphs", (32, 32, 3), weights=None)
        inputs = keras.Input((32, 32, 3))
        pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
        model = keras.Model(
            inputs, keras.layers.Dense(2, activation="softmax", name="classifier")(pooled)
        )
        tl_templates.train_classifier(
            model, plan, train, validation, head_epochs=15, fine_tune_epochs=1, batch_size=12,
            output_dir=tmp_path / name, verbose=0, restore_best=False, class_weight=class_weight,
            min_steps=0,
        )  # fmt: skip
        rare_probability[name] = float(
            model.predict(train[0].astype("float32"), verbose=0)[:, 1].mean()
        )
    assert rare_probability["plain"] < 0.3, rare_probability  # about the prior, 1 in 6
    assert rare_probability["weighted"] > rare_probability["plain"] + 0.15, rare_probability


def test_a_run_with_other_class_weights_does_not_resume_the_old_one(tmp_path):
    train, validation = imbalanced(12, 3, seed=1), imbalanced(3, 1, seed=2)
    plan = tl_templates.plan_strategy("feature_extraction", "lab_glyphs")

    def run(class_weight):
        backbone = tl_templates.build_backbone("lab_glyphs", (32, 32, 3), weights=None)
        inputs = keras.Input((32, 32, 3))
        pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
        model = keras.Model(
            inputs, keras.layers.Dense(2, activation="softmax", name="classifier")(pooled)
        )
        return tl_templates.train_classifier(
            model, plan, train, validation, head_epochs=1, fine_tune_epochs=0, batch_size=8,
            output_dir=tmp_path, verbose=0, class_weight=class_weight, min_steps=0,
        )  # fmt: skip

    run(None)
    with pytest.raises(ValueError):
        run(tl_templates.choose_class_weights(True, train[1], 2))


def test_image_project_weights_an_imbalanced_folder_and_reports_it(tmp_path):
    import json
    import subprocess
    import sys

    from helpers import write_image_folder

    from tl_templates.project import generate as projects

    project = projects.new_project("image-classifier", output_dir=tmp_path / "baked")
    data = write_image_folder(tmp_path / "data", {"a": 40, "b": 10}, size=16)
    output = tmp_path / "outputs"
    result = subprocess.run(
        [sys.executable, "train.py", "--data", str(data), "--strategy", "feature_extraction",
         "--head-epochs", "1", "--output", str(output), "--quiet"],
        cwd=project, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    # 28 and 8 training images (70% of each class): 3.5x, past the doctor's 3x.
    assert metrics["imbalance"] == pytest.approx(3.5)
    assert metrics["class_weights"] == pytest.approx({"a": 36 / 56, "b": 36 / 16})
    assert (
        "Class weights: {'a': 0.642857, 'b': 2.25} (largest class 3.5x the smallest)"
        in result.stdout
    )
