"""Resumable training: an interrupted run continues exactly where it stopped."""

import json

import keras
import numpy as np
import pytest
from helpers import Disconnected, disconnect_after_commit, random_images

import tl_templates

BACKBONE = "lab_glyphs"
SETTINGS = dict(head_epochs=3, fine_tune_epochs=3, batch_size=8, verbose=0, restore_best=False)


def build_classifier(seed=0):
    keras.utils.set_random_seed(seed)
    backbone = tl_templates.build_backbone(BACKBONE, (32, 32, 3), weights=None)
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    pooled = keras.layers.Dropout(0.3)(pooled)  # its random masks must resume too
    outputs = keras.layers.Dense(3, activation="softmax", name="classifier")(pooled)
    return keras.Model(inputs, outputs)


def tiny_data(count, seed):
    return random_images(count, seed=seed).astype("uint8"), np.arange(count) % 3


def train(output_dir, **overrides):
    model = build_classifier()
    plan = tl_templates.plan_strategy("fine_tune_top", BACKBONE)
    settings = {**SETTINGS, **overrides}
    phases = tl_templates.train_classifier(
        model, plan, tiny_data(24, 1), tiny_data(9, 2), output_dir=output_dir, **settings
    )
    return model, phases


def train_until_disconnected(output_dir, monkeypatch, after_epoch):
    """Trains, and 'dies' right after the commit of `after_epoch`."""
    disconnect_after_commit(monkeypatch, after_epoch)
    with pytest.raises(Disconnected):
        train(output_dir)
    monkeypatch.undo()
    keras.backend.clear_session()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    output = tmp_path_factory.mktemp("uninterrupted")
    model, phases = train(output)
    weights = [weight.numpy() for weight in model.weights]
    keras.backend.clear_session()
    return output, weights, phases


def test_a_run_interrupted_in_each_phase_ends_as_an_uninterrupted_one(
    uninterrupted, tmp_path, monkeypatch
):
    reference, reference_weights, reference_phases = uninterrupted
    # Dies in phase 1 (head on cached features), after epoch 2 of 3 ...
    train_until_disconnected(tmp_path, monkeypatch, after_epoch=2)
    state = json.loads(str(np.load(tmp_path / "checkpoints" / "resume.npz")["state"]))
    assert (state["epochs_done"], state["phase"]) == (2, "feature_extraction")
    # ... and a kill between the history write and the next commit leaves an
    # extra half row and a half-written file behind: both must go.
    with (tmp_path / "history.csv").open("a") as history:
        history.write("3,feature_extraction,1.0")
    (tmp_path / ".partial-999-model.keras").write_bytes(b"half")
    # Resumed, it dies again in phase 2 (fine-tuning), after epoch 5 of 6.
    train_until_disconnected(tmp_path, monkeypatch, after_epoch=5)
    assert not (tmp_path / ".partial-999-model.keras").exists()
    model, phases = train(tmp_path)

    assert (tmp_path / "history.csv").read_text() == (reference / "history.csv").read_text()
    rows = tl_templates.read_history(tmp_path / "history.csv")
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert [row["phase"] for row in rows] == ["feature_extraction"] * 3 + ["fine_tuning"] * 3
    for expected, weight in zip(reference_weights, model.weights, strict=True):
        np.testing.assert_array_equal(expected, weight.numpy())
    assert [(p.name, p.epochs, p.best_val_accuracy, p.final_val_accuracy) for p in phases] == [
        (p.name, p.epochs, p.best_val_accuracy, p.final_val_accuracy) for p in reference_phases
    ]


def test_a_finished_run_trains_nothing_and_keeps_the_best_weights(uninterrupted, monkeypatch):
    reference, _, reference_phases = uninterrupted
    history = (reference / "history.csv").read_text()
    monkeypatch.setattr(keras.Model, "fit", lambda *args, **kwargs: pytest.fail("trained again"))
    model, phases = train(reference, restore_best=True)
    assert (reference / "history.csv").read_text() == history
    assert [p.best_val_accuracy for p in phases] == [p.best_val_accuracy for p in reference_phases]
    best = build_classifier()
    best.load_weights(reference / "checkpoints" / "best.weights.h5")
    for expected, weight in zip(best.weights, model.weights, strict=True):
        np.testing.assert_array_equal(expected.numpy(), weight.numpy())


def test_the_checkpoint_needs_no_pickle(uninterrupted):
    reference, _, _ = uninterrupted
    with np.load(reference / "checkpoints" / "resume.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
        state = json.loads(str(arrays["state"]))
    assert state["epochs_done"] == 6 and len(state["history"]) == 6


def test_other_settings_are_refused_and_resume_false_starts_over(uninterrupted, tmp_path):
    reference, _, _ = uninterrupted
    history = (reference / "history.csv").read_text()
    with pytest.raises(ValueError) as error:
        train(reference, fine_tune_epochs=1, batch_size=4)
    message = str(error.value)
    assert "holds an unfinished run made with other settings:\n" in message
    assert "  batch_size: 8 -> 4\n" in message
    assert "  fine_tune_epochs: 3 -> 1\n" in message
    assert "train.py --restart" in message
    with pytest.raises(ValueError, match=r"config.dropout_rate: \(not set\) -> 0.5"):
        train(reference, extra_settings={"dropout_rate": 0.5})
    assert (reference / "history.csv").read_text() == history

    train(tmp_path, head_epochs=2, fine_tune_epochs=0)
    train(tmp_path, head_epochs=1, fine_tune_epochs=0, resume=False)
    rows = tl_templates.read_history(tmp_path / "history.csv")
    assert [row["epoch"] for row in rows] == [1]


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    inputs = keras.Input((4,))
    small = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    run = tl_templates.TrainingRun(tmp_path, {"epochs": 1})
    small.compile(optimizer="adam", loss="mse")
    run.commit(small, small, "only", 1, {"loss": 1.0}, seconds=0.1)

    inputs = keras.Input((4,))
    other = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    with pytest.raises(ValueError, match=r"does not fit this model: .*shape \(4, 3\) here"):
        tl_templates.TrainingRun(tmp_path, {"epochs": 1}).restore(other)


def test_a_damaged_checkpoint_gets_a_clear_error(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "resume.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="Cannot read the checkpoint .*resume.npz.*--restart"):
        tl_templates.TrainingRun(tmp_path, {"epochs": 1})


def test_set_aside_run_moves_and_deletes_nothing(tmp_path):
    output = tmp_path / "outputs"
    assert tl_templates.set_aside_run(output) is None
    output.mkdir()
    (output / "metrics.json").write_text("{}")
    moved = tl_templates.set_aside_run(output)
    assert not output.exists()
    assert moved.name.startswith("outputs-previous-")
    assert (moved / "metrics.json").read_text() == "{}"


def test_epoch_batches_take_one_array_per_task():
    from tl_templates.training import classifier as training

    images = np.arange(6, dtype="uint8")[:, None]
    labels = {"gender": np.arange(6) % 2, "age": np.arange(6) * 10.0}
    batches = list(training.epoch_batches(images, labels, 4, 7, 0, 2))
    assert [len(x) for x, _ in batches] == [4, 2, 4, 2]  # two epochs of 6
    for x, y in batches:
        assert x.dtype == "float32"
        np.testing.assert_array_equal(y["age"].numpy(), x.numpy()[:, 0] * 10.0)
        np.testing.assert_array_equal(y["gender"].numpy(), x.numpy()[:, 0] % 2)
    first_epoch = np.concatenate([x.numpy()[:, 0] for x, _ in batches[:2]])
    assert sorted(first_epoch) == list(range(6))


def test_a_tie_in_validation_goes_to_the_later_epoch(tmp_path):
    # On a small validation set many epochs tie; the later one has trained longer.
    model = build_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    run = tl_templates.TrainingRun(tmp_path, {"test": 1})
    for epoch, accuracy in enumerate([0.5, 0.9, 0.9, 0.8], start=1):
        run.commit(model, model, "scratch", epoch, {"val_accuracy": accuracy}, seconds=0.0)
    assert run.state["best_epoch"] == 3 and run.state["best"] == 0.9


# Validation scores, scripted: three improving epochs (a tie goes to the later
# one), the best (3) in the head phase, then a fine-tuning phase that is worse.
SCORES = [0.5, 0.7, 0.7, 0.6, 0.6]
EPOCHS = len(SCORES)
PHASES = [("head", 0, 3), ("all", 3, 5)]


class ScriptedScore(keras.callbacks.Callback):
    """Puts `SCORES[epoch]` in the logs as `val_score`, before the commit reads them."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = SCORES[epoch]


class Snapshots(keras.callbacks.Callback):
    """The full model's variables after each epoch's commit, by epoch (1-based)."""

    def __init__(self, model, snapshots):
        super().__init__()
        self.full_model, self.snapshots = model, snapshots

    def on_epoch_end(self, epoch, logs=None):
        self.snapshots[epoch + 1] = [variable.numpy() for variable in self.full_model.variables]


def small_model():
    """A model of two layers, and a model of its top layer alone (what the head phase fits)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2, name="top")(keras.layers.Dense(3, name="lower")(inputs))
    model = keras.Model(inputs, outputs)
    features = keras.Input((3,))
    return model, keras.Model(features, model.get_layer("top")(features))


def run_scripted(folder, snapshots, until=EPOCHS):
    """Trains the head, then everything, committing each epoch; stops after epoch `until`."""
    model, top = small_model()
    run = tl_templates.TrainingRun(folder, {"test": "best"}, monitor="val_score")
    run.restore(model)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    for phase, first, last in PHASES:
        last = min(last, until)
        if run.epochs_done >= last:
            continue
        fitted = top if phase == "head" else model
        inputs = model.get_layer("lower")(x).numpy() if phase == "head" else x
        fitted.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
        start = max(first, run.epochs_done)
        fitted.fit(
            tl_templates.training.classifier.epoch_batches(inputs, y, 4, 0, start, last),
            initial_epoch=start, epochs=last, steps_per_epoch=2, shuffle=False, verbose=0,
            callbacks=[ScriptedScore(), run.callback(model, fitted, phase),
                       Snapshots(model, snapshots)],
        )  # fmt: skip
    return model, run


def assert_weights(model, expected):
    for array, variable in zip(expected, model.variables, strict=True):
        np.testing.assert_array_equal(array, variable.numpy())


def count_saves(monkeypatch):
    saves = []
    save_weights = keras.Model.save_weights
    monkeypatch.setattr(
        keras.Model, "save_weights", lambda *a, **k: saves.append(a[1]) or save_weights(*a, **k)
    )
    return saves


def test_best_weights_are_saved_once_at_the_end_and_are_the_best_epochs(tmp_path, monkeypatch):
    saves = count_saves(monkeypatch)
    snapshots = {}
    model, run = run_scripted(tmp_path, snapshots)
    improving = [
        row["epoch"] for row in run.history if row["val_score"] >= max(SCORES[: row["epoch"]])
    ]
    assert improving == [1, 2, 3] and run.state["best_epoch"] == 3
    assert saves == []  # none while training

    run.finish(model, restore_best=False)
    assert len(saves) == 1  # one save for three improving epochs
    assert_weights(model, snapshots[5])  # restore_best=False: the last epoch's weights
    saved, _ = small_model()
    saved.load_weights(run.best_path)
    assert_weights(saved, snapshots[3])  # the head phase's best, completed by its base

    run.finish(model)  # again, on a finished run: the file is current
    assert len(saves) == 1
    assert_weights(model, snapshots[3])


def test_a_run_killed_after_its_best_epoch_resumes_exactly_and_keeps_it(tmp_path, monkeypatch):
    reference = {}
    run_scripted(tmp_path / "reference", reference)
    saves = count_saves(monkeypatch)
    # Killed after epoch 4 (fine-tuning), when the best epoch (3, head phase)
    # lives only in the commit, then resumed by a new process.
    run_scripted(tmp_path / "killed", {}, until=4)
    keras.backend.clear_session()
    resumed = {}
    model, run = run_scripted(tmp_path / "killed", resumed)
    assert list(resumed) == [5]
    assert_weights(model, reference[5])  # exactly the uninterrupted run's last epoch
    run.finish(model)
    assert len(saves) == 1
    assert_weights(model, reference[3])
    saved, _ = small_model()
    saved.load_weights(run.best_path)
    assert_weights(saved, reference[3])


def test_a_checkpoint_without_best_arrays_keeps_its_best_weights_file(tmp_path):
    reference = {}
    run_scripted(tmp_path / "reference", reference)
    folder = tmp_path / "older"
    run_scripted(folder, {}, until=4)
    # As kits before this one left it: no best arrays in the commit, and
    # best.weights.h5 saved at the best epoch.
    path = folder / "checkpoints" / "resume.npz"
    with np.load(path) as arrays:
        kept = {name: arrays[name] for name in arrays.files if not name.startswith("best_")}
    state = json.loads(str(kept["state"]))
    del state["best_variables"], state["best_base_phase"]
    np.savez(path, **{**kept, "state": np.array(json.dumps(state))})
    older, _ = small_model()
    for variable, array in zip(older.variables, reference[3], strict=True):
        variable.assign(array)
    older.save_weights(folder / "checkpoints" / "best.weights.h5")
    keras.backend.clear_session()

    model, run = run_scripted(folder, {})
    assert_weights(model, reference[5])
    run.finish(model)
    assert_weights(model, reference[3])
