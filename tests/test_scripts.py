"""tl_templates.project.scripts: the flags, settings and exit every template script shares."""

from pathlib import Path

import pytest

from tl_templates.project import scripts

OUTPUTS = Path("outputs")


def test_training_flags_become_settings_only_when_given():
    parser = scripts.training_parser("Trains.", OUTPUTS, data_help="a folder")
    args = parser.parse_args(["--data", "mine", "--head-epochs", "3", "--seed", "0", "--quiet"])
    assert scripts.settings_from_flags(args) == {"data_dir": "mine", "head_epochs": 3, "seed": 0}
    defaults = parser.parse_args([])
    assert scripts.settings_from_flags(defaults) == {}
    assert defaults.output == OUTPUTS and not defaults.restart and not defaults.quiet


def test_a_template_names_its_input_size_flag_and_adds_its_own():
    parser = scripts.training_parser(
        "Trains.", OUTPUTS, data_help="WAV files", input_size=("--clip-seconds", float)
    )
    parser.add_argument("--tasks", type=lambda text: text.split(","))
    args = parser.parse_args(["--clip-seconds", "0.5", "--tasks", "gender,age"])
    assert scripts.settings_from_flags(args) == {"clip_seconds": 0.5, "tasks": ["gender", "age"]}
    with pytest.raises(SystemExit):
        parser.parse_args(["--image-size", "32"])


def test_export_flags():
    parser = scripts.export_parser("Exports.", OUTPUTS)
    args = parser.parse_args(["--quantize", "none", "int8", "--saved-model"])
    assert args.model == OUTPUTS / "model.keras" and args.output is None
    assert args.quantize == ["none", "int8"] and args.saved_model


def test_saved_settings_are_read_from_beside_the_model(tmp_path):
    (tmp_path / "metrics.json").write_text('{"run": {"settings": {"seed": 7}}}', encoding="utf-8")
    assert scripts.saved_settings(tmp_path / "model.keras") == {"seed": 7}


@pytest.mark.parametrize(
    "error", [ValueError("bad"), FileNotFoundError("bad"), FileExistsError("bad")]
)
def test_a_known_error_is_one_line_and_exit_1(capsys, error):
    def main():
        raise error

    with pytest.raises(SystemExit) as stop:
        scripts.run(main)
    assert stop.value.code == 1
    assert capsys.readouterr().err == "error: bad\n"


@pytest.mark.parametrize("resumable", [True, False])
def test_ctrl_c_exits_130_and_a_training_run_says_how_to_continue(capsys, resumable):
    def main():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stop:
        scripts.run(main, resumable=resumable)
    assert stop.value.code == 130
    err = capsys.readouterr().err
    assert err.startswith("\nInterrupted.")
    assert ("Run the same command again to continue" in err) == resumable


def test_an_unexpected_error_keeps_its_traceback():
    def main():
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        scripts.run(main)
