import json
import subprocess
import sys
from pathlib import Path

import pytest

from tl_templates import cli
from tl_templates.backbones import registry


def run_cli(*args):
    """Runs the real console entry point in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "tl_templates.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_backbones_json(capsys):
    assert cli.main(["backbones", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == registry.backbone_names()
    effnet = next(row for row in rows if row["name"] == "efficientnetb0")
    assert effnet["blocks"][0] == "stem" and effnet["blocks"][-1] == "top"
    assert effnet["source"] == "keras.applications"
    assert (effnet["input_kind"], effnet["input_shape"]) == ("image", [224, 224, 3])
    kinds = {row["name"]: (row["input_kind"], row["input_shape"]) for row in rows}
    assert kinds["lab_speech"][0] == "audio" and len(kinds["lab_speech"][1]) == 1
    assert kinds["yamnet"] == ("audio", [15600])
    for name, (kind, shape) in kinds.items():
        assert shape == list(registry.get_spec(name).input_shape()), name
        assert len(shape) == (1 if kind == "audio" else 3), name


def test_blocks_efficientnetb0_shows_stem_seven_stages_and_top(capsys):
    assert cli.main(["blocks", "efficientnetb0", "--input-size", "32", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [row["block"] for row in data["blocks"]]
    assert names == ["stem", *(f"block{index}" for index in range(1, 8)), "top"]
    assert sum(row["params"] for row in data["blocks"]) == 4_049_571
    assert data["blocks"][1]["first_layer"] == "block1a_dwconv"


def test_blocks_table(capsys):
    assert cli.main(["blocks", "resnet50", "--input-size", "32"]) == 0
    out = capsys.readouterr().out
    assert "conv2_block1_1_conv .. conv2_block3_out" in out
    assert out.strip().splitlines()[-1].startswith("total")


def test_advise_json(capsys):
    args = ["advise", "--target-examples", "300", "--source-examples", "1281167"]
    assert cli.main([*args, "--similarity", "different", "--backbone", "resnet50", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["strategy"] == "truncate_and_fine_tune"
    assert plan["trainable_blocks"] == ["block1", "block2"]

    assert cli.main([*args, "--different-input", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["strategy"] == "train_from_scratch"


def test_advise_large_and_similar_fine_tunes_even_from_a_smaller_source(capsys):
    args = ["advise", "--target-examples", "200000", "--source-examples", "1000000"]
    assert cli.main([*args, "--similarity", "similar"]) == 0
    text = capsys.readouterr().out
    assert "fine_tune_top" in text and "Decided by the four cases: large and similar" in text
    assert "train_from_scratch is a fair alternative" in text


@pytest.mark.parametrize(
    "args, expected",
    [
        (["blocks", "efficientnetb9"], "backbone='efficientnetb9'"),
        (["advise", "--target-examples", "10", "--backbone", "nope"], "backbone='nope'"),
    ],
)
def test_errors_are_one_clear_line_without_traceback(args, expected):
    result = run_cli(*args)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"tl-templates {args[0]}: error:")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2():
    result = run_cli("advise", "--target-examples", "-5")
    assert result.returncode == 2
    assert "expected a positive number" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["backbones", "blocks", "advise", "quickstart"])
def test_every_command_has_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "usage: tl-templates" in result.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("tl-templates")
    assert script.exists(), "install the package (pip install -e .) to get the console script"
    result = subprocess.run([str(script), "backbones"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "efficientnetb0" in result.stdout
