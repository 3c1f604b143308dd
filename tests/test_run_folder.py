"""`prepare_output_folder`: what every template's train.py does before training."""

import json
import os

import keras
import numpy as np
import pytest

import tl_templates
from tl_templates.project.output_folder import is_run_folder


def test_a_new_folder_is_made_and_training_goes_on(tmp_path):
    assert tl_templates.prepare_output_folder(tmp_path / "outputs") is None
    assert (tmp_path / "outputs").is_dir()


def test_a_finished_run_is_reported_and_left_alone(tmp_path, capsys):
    output = tmp_path / "outputs"
    output.mkdir()
    written = {"age_mae": 7.25, "tasks": ["age"], "kit_version": "0.1.0"}  # an older kit's run
    (output / "metrics.json").write_text(json.dumps(written))
    metrics = tl_templates.prepare_output_folder(output, headline=("gender_accuracy", "age_mae"))
    assert metrics == written
    printed = capsys.readouterr().out
    assert printed.startswith(f"{output} holds a finished run (age mae 7.250); nothing to do.")
    assert "python train.py --restart" in printed
    assert [path.name for path in output.iterdir()] == ["metrics.json"]


def pre_marker_run(output, finished):
    """A folder as the kit left it before run.json: TrainingRun's checkpoint, or metrics.json.

    Args:
        output: Path. The run's folder (made here).
        finished: bool. True: only the metrics.json of a finished run, with
            the kit's versions as the kit then wrote it; False: the
            `checkpoints/resume.npz` and `history.csv` that
            `tl_templates.TrainingRun` commits after an epoch.
    """
    if finished:
        output.mkdir(parents=True)
        metrics = {"test_accuracy": 0.75, **tl_templates.run_versions()}
        (output / "metrics.json").write_text(json.dumps(metrics))
        return
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam", loss="mse")
    run = tl_templates.TrainingRun(output, {"epochs": 1})
    run.commit(model, model, "only", 1, {"loss": 1.0}, seconds=0.1)


@pytest.mark.parametrize("finished", [False, True], ids=["checkpoint", "metrics"])
def test_restart_moves_a_run_made_before_the_marker_aside_and_deletes_nothing(
    tmp_path, capsys, finished
):
    output = tmp_path / "outputs"
    pre_marker_run(output, finished)
    assert not (output / "run.json").exists()
    before = contents(output)
    assert is_run_folder(output)
    assert tl_templates.prepare_output_folder(output, restart=True) is None
    (moved,) = tmp_path.glob("outputs-previous-*")
    assert capsys.readouterr().out == f"Moved the previous run to {moved}\n"
    assert contents(moved) == before  # byte for byte
    assert list(output.iterdir()) == [output / "run.json"]  # the new run's marker only


def test_a_damaged_metrics_file_gets_a_clear_error(tmp_path):
    output = tmp_path / "outputs"
    tl_templates.prepare_output_folder(output)  # the run's marker
    (output / "metrics.json").write_bytes(b'{"test_accuracy": 0.9')  # cut short
    with pytest.raises(ValueError, match=r"metrics.json is damaged .*--restart"):
        tl_templates.prepare_output_folder(output)


# A run is its settings and its data: the same command does nothing, another one stops


def settings(**changes):
    return {"backbone": "lab_glyphs", "epochs": 3, "seed": 42, "data_dir": "data/sample", **changes}


def finished_run(tmp_path, data):
    """A folder as train.py leaves it: run.json at the start, metrics.json at the end."""
    output = tmp_path / "outputs"
    assert tl_templates.prepare_output_folder(output, settings=settings(), data=data) is None
    written = tl_templates.write_metrics(output, {"test_accuracy": 0.75})
    return output, written


def test_metrics_record_the_settings_and_the_data_fingerprint(tmp_path):
    data = write_files(tmp_path / "data", {"a/1.png": b"x" * 10, "b/2.png": b"y" * 5})
    output, written = finished_run(tmp_path, data)
    recorded = json.loads((output / "metrics.json").read_text())
    assert recorded == written and recorded["test_accuracy"] == 0.75
    assert recorded["run"]["settings"] == settings()
    assert recorded["run"]["data"]["files"] == 2 and recorded["run"]["data"]["bytes"] == 15
    assert recorded["run"]["data"]["paths"] == [str(data.resolve())]


def test_the_same_command_on_a_finished_run_does_nothing(tmp_path, capsys):
    data = write_files(tmp_path / "data", {"a/1.png": b"x"})
    output, _ = finished_run(tmp_path, data)
    before = {path: path.read_bytes() for path in output.iterdir()}
    metrics = tl_templates.prepare_output_folder(output, settings=settings(), data=data)
    assert metrics["test_accuracy"] == 0.75
    assert "holds a finished run (test accuracy 0.750); nothing to do" in capsys.readouterr().out
    assert {path: path.read_bytes() for path in output.iterdir()} == before


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"settings": settings(epochs=5)}, ["  epochs: 3 -> 5"]),
        (
            {"settings": settings(seed=1, backbone="mobilenet_v2")},
            ["  backbone: 'lab_glyphs' -> 'mobilenet_v2'", "  seed: 42 -> 1"],
        ),
        ({"data": "other"}, ["  data: 1 file (1 bytes) in "]),
        ({"data": "edited"}, ["the same files, changed since"]),
    ],
)
def test_another_command_on_a_finished_run_names_each_difference(tmp_path, change, expected):
    data = write_files(tmp_path / "data", {"a/1.png": b"x"})
    output, _ = finished_run(tmp_path, data)
    now = change.get("settings", settings())
    new_data = data
    if change.get("data") == "other":
        new_data = write_files(tmp_path / "mine", {"a/1.png": b"xy", "b/2.png": b"z"})
    elif change.get("data") == "edited":
        (data / "a" / "1.png").write_bytes(b"z")  # same name and size, new modification time
        os.utime(data / "a" / "1.png", ns=(1, 1))
    with pytest.raises(ValueError) as error:
        tl_templates.prepare_output_folder(output, settings=now, data=new_data)
    message = str(error.value)
    assert message.startswith(f"{output} holds a finished run made with other settings:\n")
    for line in expected:
        assert line in message
    if change.get("data") == "other":
        assert f"-> 2 files (3 bytes) in {new_data.resolve()}" in message
    assert "python train.py --restart (moves the old run aside" in message
    assert "--output ANOTHER_FOLDER" in message
    # Nothing in the folder changed, and --restart then starts the new run.
    assert json.loads((output / "metrics.json").read_text())["test_accuracy"] == 0.75
    assert tl_templates.prepare_output_folder(output, True, settings=now, data=new_data) is None
    assert list(output.iterdir()) == [output / "run.json"]


def test_an_unfinished_run_with_other_settings_is_refused_in_the_same_words(tmp_path):
    data = write_files(tmp_path / "data", {"a/1.png": b"x"})
    output = tmp_path / "outputs"
    tl_templates.prepare_output_folder(output, settings=settings(), data=data)
    (output / "checkpoints").mkdir()  # killed mid-training: no metrics.json
    assert tl_templates.prepare_output_folder(output, settings=settings(), data=data) is None
    with pytest.raises(ValueError, match=r"holds an unfinished run made with other settings:\n"
                       r"  epochs: 3 -> 4\nTo train with the new settings: python train.py "
                       r"--restart .* or --output ANOTHER_FOLDER"):  # fmt: skip
        tl_templates.prepare_output_folder(output, settings=settings(epochs=4), data=data)


def test_a_finished_run_that_records_no_settings_answers_no_command(tmp_path):
    output = tmp_path / "outputs"
    output.mkdir()
    # An older kit's run: its versions, but not the run's settings.
    (output / "metrics.json").write_text('{"test_accuracy": 0.9, "kit_version": "0.1.0"}')
    with pytest.raises(ValueError, match="(?s)records no settings .*--restart .*--output"):
        tl_templates.prepare_output_folder(output, settings=settings(), data=tmp_path)


# The marker: the kit moves and writes only folders it made


def test_restart_refuses_a_folder_that_holds_no_run(tmp_path):
    folder = write_files(tmp_path / "photos", {"holiday.jpg": b"precious"})
    for restart in (True, False):
        with pytest.raises(ValueError, match=r"photos exists and holds files, but no run"):
            tl_templates.prepare_output_folder(folder, restart=restart, settings=settings())
    assert [path.name for path in folder.iterdir()] == ["holiday.jpg"]
    assert not list(tmp_path.glob("photos-previous-*"))


def test_a_marker_that_is_not_the_kits_does_not_count(tmp_path):
    folder = write_files(tmp_path / "project", {"run.json": b'{"name": "mine"}'})
    with pytest.raises(ValueError, match="no run of this kit"):
        tl_templates.prepare_output_folder(folder, restart=True)


FOREIGN_FOLDERS = {
    "empty checkpoints folder": {"checkpoints/": None},
    "checkpoints of another tool": {
        "checkpoints/epoch_003.ckpt": b"their weights",
        "checkpoints/config.yaml": b"lr: 0.1\n",
    },
    # A NumPy archive, but without the kit's state.
    "another tool's resume.npz": {"checkpoints/resume.npz": {"weights": np.zeros(3)}},
    "a resume.npz that is no archive": {"checkpoints/resume.npz": b"PK\x03\x04 not a zip"},
    "another tool's metrics.json": {"metrics.json": b'{"accuracy": 0.9}'},
    "a metrics.json naming a run": {"metrics.json": b'{"run": "exp-1", "loss": 0.2}'},
    "a metrics.json that is a list": {"metrics.json": b'[{"accuracy": 0.9}]'},
}


@pytest.mark.parametrize("files", FOREIGN_FOLDERS.values(), ids=FOREIGN_FOLDERS.keys())
def test_another_tools_checkpoints_or_metrics_are_never_trained_into_or_moved(tmp_path, files):
    folder = tmp_path / "experiment"
    folder.mkdir()
    for name, content in files.items():
        if content is None:
            (folder / name).mkdir()
        elif isinstance(content, dict):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            np.savez(folder / name, **content)
        else:
            write_files(folder, {name: content})
    before = contents(folder)
    assert not is_run_folder(folder)
    for restart in (True, False):
        with pytest.raises(ValueError) as error:
            tl_templates.prepare_output_folder(folder, restart=restart, settings=settings())
        message = str(error.value)
        assert message.startswith(f"{folder} exists and holds files, but no run of this kit")
        assert "--output ANOTHER_FOLDER" in message
    assert contents(folder) == before  # byte for byte, and no run.json added
    assert not list(tmp_path.glob("experiment-previous-*"))


def test_a_run_is_marked_when_it_starts_and_restart_moves_it(tmp_path):
    output = tmp_path / "outputs"
    tl_templates.prepare_output_folder(output, settings=settings(), data=tmp_path / "none")
    marker = json.loads((output / "run.json").read_text())
    assert marker["kit"] == "tl-templates" and marker["settings"] == settings()
    assert marker["data"]["files"] == 0  # a missing data folder: the loader says so later
    (output / "history.csv").write_text("epoch\n")
    assert tl_templates.prepare_output_folder(output, restart=True, settings=settings()) is None
    (moved,) = tmp_path.glob("outputs-previous-*")
    assert sorted(path.name for path in moved.iterdir()) == ["history.csv", "run.json"]


def contents(root):
    """`{relative path: bytes, or None for a folder}` of everything under `root`."""
    return {
        path.relative_to(root).as_posix(): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


def write_files(root, files):
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root
