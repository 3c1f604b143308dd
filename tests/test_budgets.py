"""Phase budgets: steps as well as epochs, learning rates by backbone family, augmentation."""

import keras
import numpy as np
import pytest
from helpers import random_images

import tl_templates
from tl_templates.planning import budgets
from tl_templates.planning.advisor import plan_strategy


def steps_of(budget, steps_per_pass):
    return budget.epochs * budget.passes_per_epoch * steps_per_pass


@pytest.mark.parametrize("strategy", ["feature_extraction", "fine_tune_top", "train_from_scratch"])
@pytest.mark.parametrize("examples", [20, 80, 400])
def test_small_data_gets_the_minimum_steps_in_every_phase(strategy, examples):
    steps_per_pass = -(-examples // 32)
    plan = plan_strategy(strategy, "lab_glyphs")
    phases = budgets.phase_budgets(plan, 30, 10, steps_per_pass, minimum_steps=600)
    for phase in phases:
        wanted = 300 if phase.name == "feature_extraction" else 600
        assert steps_of(phase, steps_per_pass) >= wanted
        # ... and no more than one epoch's worth of passes beyond it.
        assert steps_of(phase, steps_per_pass) < wanted + phase.epochs * steps_per_pass
    assert [phase.epochs for phase in phases] == (
        [40] if strategy == "train_from_scratch" else [30] if strategy == "feature_extraction"
        else [30, 10]
    )  # fmt: skip


def test_large_data_keeps_one_pass_per_epoch():
    plan = plan_strategy("fine_tune_top", "efficientnetb0")
    phases = budgets.phase_budgets(plan, 30, 10, steps_per_pass=300, minimum_steps=600)
    assert [phase.passes_per_epoch for phase in phases] == [1, 1]


def test_the_environment_variable_replaces_the_minimum(monkeypatch):
    plan = plan_strategy("fine_tune_top", "lab_glyphs")
    monkeypatch.setenv(budgets.MIN_STEPS_VARIABLE, "0")
    assert [p.passes_per_epoch for p in budgets.phase_budgets(plan, 3, 2, 1)] == [1, 1]
    monkeypatch.delenv(budgets.MIN_STEPS_VARIABLE)
    assert [p.passes_per_epoch for p in budgets.phase_budgets(plan, 3, 2, 1)] == [100, 300]


def test_learning_rates_come_from_the_backbone_family():
    lab = budgets.LEARNING_RATES["lab"]
    imagenet = budgets.LEARNING_RATES["imagenet"]
    for backbone, rates in (("lab_glyphs", lab), ("lab_speech", lab), ("resnet50", imagenet)):
        assert plan_strategy("fine_tune_top", backbone).head_learning_rate == rates.head
        assert plan_strategy("fine_tune_all", backbone).fine_tune_learning_rate == rates.fine_tune
        truncated = plan_strategy("truncate_and_fine_tune", backbone)
        assert truncated.fine_tune_learning_rate == rates.truncated
        assert plan_strategy("train_from_scratch", backbone).head_learning_rate == rates.scratch
    # Every family's rates say where they come from.
    assert all(rates.evidence for rates in budgets.LEARNING_RATES.values())


def test_auto_augments_only_the_phases_that_train_blocks():
    plan = plan_strategy("fine_tune_top", "lab_glyphs")
    augmented = {augment: [p.augment for p in budgets.phase_budgets(plan, 2, 2, 1, augment, 0)]
                 for augment in (True, False, "auto")}  # fmt: skip
    assert augmented == {True: [True, True], False: [False, False], "auto": [False, True]}
    scratch = budgets.phase_budgets(plan_strategy("train_from_scratch", "lab_glyphs"), 2, 2, 1)
    assert [p.augment for p in scratch] == [True]
    with pytest.raises(ValueError, match="Received: augment='yes'"):
        budgets.phase_budgets(plan, 2, 2, 1, augment="yes")


def test_train_classifier_takes_the_budgeted_steps_with_a_decaying_rate(tmp_path):
    keras.utils.set_random_seed(0)
    backbone = tl_templates.build_backbone("lab_glyphs", (32, 32, 3), weights=None)
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled))
    plan = plan_strategy("fine_tune_top", "lab_glyphs")
    train = (random_images(20, seed=1).astype("uint8"), np.arange(20) % 3)
    validation = (random_images(6, seed=2).astype("uint8"), np.arange(6) % 3)
    phases = tl_templates.train_classifier(
        model, plan, train, validation, head_epochs=2, fine_tune_epochs=2, batch_size=8,
        output_dir=tmp_path, verbose=0, min_steps=24, augment="auto",
    )  # fmt: skip
    # 20 images in batches of 8: 3 steps a pass. The head: 12 steps at least, in 2 epochs
    # of 2 passes; fine-tuning: 24 steps, 2 epochs of 4 passes.
    assert [(phase.name, phase.epochs, phase.steps) for phase in phases] == [
        ("feature_extraction", 2, 12),
        ("fine_tuning", 2, 24),
    ]
    assert int(model.optimizer.iterations.numpy()) == 24  # the last phase's optimizer
    assert phases[1].learning_rate == plan.fine_tune_learning_rate
    rates = [row["learning_rate"] for row in tl_templates.read_history(tmp_path / "history.csv")]
    assert rates[1] < rates[0] and rates[3] < rates[2]  # each phase decays on a cosine
