"""`train_multitask` resumes: a run interrupted in either phase ends as an uninterrupted one.

The generated face project is killed for real in tests/test_template_runs.py
(phase 1, cached features); here the run "dies" in phase 2 (fine-tuning),
in process, with learned task weights and dropout whose state must resume too.
"""

import json

import keras
import numpy as np
import pytest
from helpers import Disconnected, compile_multitask_eagerly, disconnect_after_commit, random_images

import tl_templates
from tl_templates.training import multitask as multitask_training

SETTINGS = dict(head_epochs=2, fine_tune_epochs=2, batch_size=8, verbose=0)



def data(count, seed):
    rng = np.random.default_rng(seed)
    ages = rng.uniform(1, 90, count).astype("float32")
    ages[::4] = np.nan  # unknown labels are part of the data
    labels = {"gender": rng.integers(0, 2, count).astype("float32"), "age": ages}
    return random_images(count, seed=seed).astype("uint8"), labels


def train(output_dir, monkeypatch, die_after_epoch=None, **overrides):
    monkeypatch.setattr(multitask_training, "compile_multitask", compile_multitask_eagerly)
    if die_after_epoch is not None:
        disconnect_after_commit(monkeypatch, die_after_epoch)
    keras.utils.set_random_seed(0)
    heads = [
        tl_templates.TaskHead("gender", "binary", hidden_units=8),
        tl_templates.TaskHead("age", "regression", target_mean=40.0, target_std=15.0),
    ]
    model = tl_templates.build_multitask_model(
        "lab_glyphs", heads, input_shape=(32, 32, 3), weights=None, dropout_rate=0.3,
        uncertainty_weighting=True,
    )  # fmt: skip
    plan = tl_templates.plan_strategy("fine_tune_top", "lab_glyphs")
    try:
        phases = tl_templates.train_multitask(
            model, heads, plan, data(24, 1), data(8, 2), output_dir=output_dir,
            **{**SETTINGS, **overrides},
        )  # fmt: skip
    finally:
        monkeypatch.undo()
    return model, phases


def test_a_run_interrupted_in_fine_tuning_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    reference = tmp_path / "reference"
    model, phases = train(reference, monkeypatch)
    expected = [weight.numpy() for weight in model.weights]
    assert [phase.name for phase in phases] == ["feature_extraction", "fine_tuning"]
    assert phases[0].cached_features and not phases[1].cached_features
    keras.backend.clear_session()

    output = tmp_path / "interrupted"
    with pytest.raises(Disconnected):
        train(output, monkeypatch, die_after_epoch=3)
    state = json.loads(str(np.load(output / "checkpoints" / "resume.npz")["state"]))
    assert (state["epochs_done"], state["phase"]) == (3, "fine_tuning")
    keras.backend.clear_session()
    model, resumed_phases = train(output, monkeypatch)

    assert (output / "history.csv").read_bytes() == (reference / "history.csv").read_bytes()
    for got, want in zip(model.weights, expected, strict=True):
        np.testing.assert_array_equal(got.numpy(), want, err_msg=got.path)
    for got, want in zip(resumed_phases, phases, strict=True):
        assert (got.name, got.epochs, got.best_val_task_loss) == (
            want.name, want.epochs, want.best_val_task_loss,
        )  # fmt: skip
    rows = tl_templates.read_history(output / "history.csv")
    assert all(np.isfinite(row["weight_age"]) for row in rows)  # learned weights recorded

    # Other settings are refused, with the difference named.
    keras.backend.clear_session()
    with pytest.raises(ValueError, match="batch_size: 8 -> 4"):
        train(output, monkeypatch, batch_size=4)
