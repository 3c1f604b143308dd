"""Mixed precision and XLA settings: auto is off on a CPU, and training works under a policy."""

import keras
import numpy as np
import pytest
from helpers import random_images

import tl_templates
from tl_templates.experiments import runs as experiments
from tl_templates.training import acceleration


def test_auto_is_plain_float32_without_xla_on_a_cpu():
    assert acceleration.accelerator() == "cpu"  # the test machines have no GPU
    assert tl_templates.choose_precision("auto") == "float32"
    assert tl_templates.choose_precision(True) == "float32"
    assert tl_templates.choose_jit_compile("auto") is False


@pytest.mark.parametrize("setting, expected", [(True, True), ("false", False), ("True", True)])
def test_explicit_jit_compile_settings(setting, expected):
    assert tl_templates.choose_jit_compile(setting) is expected


def test_unknown_settings_are_named():
    with pytest.raises(ValueError, match="mixed_precision='float16'. Known settings: auto"):
        tl_templates.choose_precision("float16")
    with pytest.raises(ValueError, match="jit_compile='yes'"):
        tl_templates.choose_jit_compile("yes")


@pytest.mark.parametrize(
    "policy, compute_dtype, optimizer",
    [
        # A GPU's: Keras adds loss scaling, whose variables the resume
        # checkpoint saves with the optimizer's.
        ("mixed_float16", "float16", "LossScaleOptimizer"),
        # A TPU's: bfloat16 has float32's range, so no loss scaling.
        ("mixed_bfloat16", "bfloat16", "Adam"),
    ],
)
def test_train_classifier_under_mixed_precision_keeps_a_float32_softmax(
    tmp_path, policy, compute_dtype, optimizer
):
    # Slow on a CPU, but it must work.
    assert tl_templates.set_precision(policy) == policy
    try:
        keras.utils.set_random_seed(0)
        backbone = tl_templates.build_backbone("lab_glyphs", (32, 32, 3), weights=None)
        model = experiments.build_classifier(backbone, 3)
        plan = tl_templates.plan_strategy("fine_tune_top", "lab_glyphs")
        data = random_images(12).astype("uint8"), np.arange(12) % 3
        phases = tl_templates.train_classifier(
            model, plan, data, data, head_epochs=1, fine_tune_epochs=1, batch_size=6,
            output_dir=tmp_path, verbose=0,
        )  # fmt: skip
    finally:
        tl_templates.set_precision("float32")
    assert [phase.name for phase in phases] == ["feature_extraction", "fine_tuning"]
    assert backbone.layers[-1].compute_dtype == compute_dtype
    assert model(data[0][:2].astype("float32")).dtype == "float32"
    assert model.optimizer.__class__.__name__ == optimizer


def test_train_multitask_under_mixed_float16_with_xla_keeps_float32_heads(tmp_path):
    # Masked losses, learned task weights and loss scaling together, with the
    # training step compiled by XLA (which works on a CPU too, only slower).
    rng = np.random.default_rng(0)
    ages = rng.uniform(1, 90, 12).astype("float32")
    ages[::3] = np.nan  # unknown ages are masked out of the loss
    data = random_images(12).astype("uint8"), {"gender": np.arange(12.0) % 2, "age": ages}
    heads = [
        tl_templates.TaskHead("gender", "binary", hidden_units=8),
        tl_templates.TaskHead("age", "regression", target_mean=40.0, target_std=15.0),
    ]
    assert tl_templates.set_precision("mixed_float16") == "mixed_float16"
    try:
        keras.utils.set_random_seed(0)
        model = tl_templates.build_multitask_model(
            "lab_glyphs", heads, input_shape=(32, 32, 3), weights=None, uncertainty_weighting=True
        )
        plan = tl_templates.plan_strategy("fine_tune_top", "lab_glyphs")
        phases = tl_templates.train_multitask(
            model, heads, plan, data, data, head_epochs=1, fine_tune_epochs=1, batch_size=6,
            output_dir=tmp_path, verbose=0, jit_compile=True,
        )  # fmt: skip
    finally:
        tl_templates.set_precision("float32")
    assert [phase.name for phase in phases] == ["feature_extraction", "fine_tuning"]
    assert all(np.isfinite(phase.final_val_task_loss) for phase in phases)
    assert model.optimizer.__class__.__name__ == "LossScaleOptimizer"
    assert model.jit_compile is True
    heads_model = model.get_layer("heads")
    assert heads_model.get_layer("gender_hidden").compute_dtype == "float16"
    assert heads_model.get_layer("task_uncertainty").compute_dtype == "float32"
    predictions = model(data[0][:2].astype("float32"))
    assert {name: value.dtype for name, value in predictions.items()} == {
        "gender": "float32", "age": "float32"}  # fmt: skip
    assert all(np.isfinite(value).all() for value in model.get_layer("heads").get_weights())
