"""`prepare_output_folder`: what every template's train.py does before training."""

import pytest

import tl_templates


def test_a_new_folder_is_made_and_training_goes_on(tmp_path):
    assert tl_templates.prepare_output_folder(tmp_path / "outputs") is None
    assert (tmp_path / "outputs").is_dir()


def test_a_finished_run_is_reported_and_left_alone(tmp_path, capsys):
    output = tmp_path / "outputs"
    output.mkdir()
    (output / "metrics.json").write_text('{"age_mae": 7.25, "tasks": ["age"]}')
    metrics = tl_templates.prepare_output_folder(output, headline=("gender_accuracy", "age_mae"))
    assert metrics == {"age_mae": 7.25, "tasks": ["age"]}
    printed = capsys.readouterr().out
    assert printed.startswith(f"{output} holds a finished run (age mae 7.250); nothing to do.")
    assert "python train.py --restart" in printed
    assert [path.name for path in output.iterdir()] == ["metrics.json"]


def test_restart_moves_the_old_run_aside_and_deletes_nothing(tmp_path, capsys):
    output = tmp_path / "outputs"
    (output / "checkpoints").mkdir(parents=True)
    (output / "metrics.json").write_text("{}")
    (output / "checkpoints" / "resume.npz").write_bytes(b"old state")
    assert tl_templates.prepare_output_folder(output, restart=True) is None
    (moved,) = tmp_path.glob("outputs-previous-*")
    assert capsys.readouterr().out == f"Moved the previous run to {moved}\n"
    assert (moved / "checkpoints" / "resume.npz").read_bytes() == b"old state"
    assert output.is_dir() and not any(output.iterdir())


def test_a_damaged_metrics_file_gets_a_clear_error(tmp_path):
    output = tmp_path / "outputs"
    output.mkdir()
    (output / "metrics.json").write_bytes(b'{"test_accuracy": 0.9')  # cut short
    with pytest.raises(ValueError, match=r"metrics.json is damaged .*--restart"):
        tl_templates.prepare_output_folder(output)
