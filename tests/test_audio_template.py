"""The audio-classifier template: baking, answers, refusals, and the generated project."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.io.wavfile
from helpers import tone, write_wav_folder

import tl_templates
from tl_templates import paths
from tl_templates.backbones import registry
from tl_templates.planning import budgets
from tl_templates.project import generate as projects

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PROJECT_FILES = [
    ".gitignore",
    "README.md",
    "config.py",
    "config.toml",
    "evaluate.py",
    "export.py",
    "model.py",
    "predict.py",
    "tests/test_project.py",
    "train.py",
]
SAMPLE = paths.SAMPLES_DIR / "wake_word"
# Steps at least of a phase that trains blocks in the `runs` below (the kit's
# default is 600; the suite's 0 would leave the budgets untested).
MIN_STEPS = 100


def tree(folder):
    return sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
    )


def run_python(args, cwd, timeout=600):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return projects.new_project("audio-classifier", output_dir=tmp_path_factory.mktemp("baked"))


def test_bundled_sample_is_small_and_has_three_classes():
    files = list(SAMPLE.rglob("*.wav"))
    assert sorted(path.name for path in SAMPLE.iterdir()) == ["background", "marvin", "other"]
    assert len(files) >= 36 and sum(path.stat().st_size for path in files) < 2_000_000


def test_default_bake_has_the_exact_file_tree_and_a_flag_per_block(project):
    assert project.name == "my-wake-word-detector"
    assert tree(project) == sorted(PROJECT_FILES + ["data/sample/" + f for f in tree(SAMPLE)])
    for name in PROJECT_FILES:
        text = (project / name).read_text(encoding="utf-8")
        assert "{{" not in text and "{%" not in text, name
    config = tomllib.loads((project / "config.toml").read_text(encoding="utf-8"))
    assert list(config["blocks"]) == registry.get_spec(config["backbone"]).block_names
    assert config["backbone"] == "lab_speech" and config["clip_seconds"] == 0.975
    # A few dozen clips, similar to the source task: feature extraction, nothing unfrozen.
    assert not any(config["blocks"].values())


def test_awkward_answers_bake_cleanly(tmp_path):
    name = 'Réveil "Marvin" l\'écoute  {x}'
    project = projects.new_project(
        "audio-classifier", output_dir=tmp_path,
        extra_context={"project_name": name, "backbone": "yamnet", "clip_seconds": "1.5"},
    )  # fmt: skip
    assert project.name == "reveil-marvin-l-ecoute-x"
    assert (project / "README.md").read_text(encoding="utf-8").startswith(f"# {name}\n")
    config = tomllib.loads((project / "config.toml").read_text(encoding="utf-8"))
    assert config["clip_seconds"] == 1.5
    assert list(config["blocks"]) == ["stem", "block1", "block2", "block3", "block4", "block5"]
    for file_name in ("model.py", "train.py", "predict.py", "export.py", "tests/test_project.py"):
        compile((project / file_name).read_text(encoding="utf-8"), file_name, "exec")


@pytest.mark.parametrize(
    "answers, message",
    [
        ({"backbone": "efficientnetb0"}, "takes images, not audio"),
        ({"backbone": "yamnett"}, "backbone='yamnett'"),
        ({"clip_seconds": "0.5"}, "clip_seconds must be a number of seconds, at least 0.975"),
        ({"clip_seconds": "one"}, "clip_seconds must be a number of seconds"),
        ({"head_epochs": "x"}, "head_epochs must be a whole number"),
        ({"project_slug": "../escape"}, "project_slug names the project's folder or files"),
    ],
)
def test_bad_answers_stop_before_anything_is_written(tmp_path, answers, message):
    result = subprocess.run(
        [sys.executable, "-m", "tl_templates.cli", "new", "audio-classifier", "-o",
         str(tmp_path / "out"), "--no-input", *(f"{k}={v}" for k, v in answers.items())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert message in result.stderr
    assert "nothing was written" in result.stderr.lower() and "Traceback" not in result.stderr
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


def test_generated_project_passes_its_own_tests(project):
    # They train end to end on the bundled sample, predict a clip and a long
    # recording (sliding window), and check the TFLite export against Keras.
    result = run_python(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "5 passed" in result.stdout


def test_data_folder_of_mixed_wav_formats_trains(project, tmp_path):
    data = write_wav_folder(tmp_path / "mine", {"low": 7, "high": 7}, samples=12_000)
    # Another sample rate, stereo, 8-bit and float files, longer than the clip.
    scipy.io.wavfile.write(
        data / "low" / "stereo_44k.wav",
        44_100,
        (np.stack([tone(300.0, 66_150)] * 2, axis=1) * 32767).astype("int16"),
    )
    scipy.io.wavfile.write(
        data / "high" / "mono_8k_8bit.wav", 8_000, (tone(600.0, 16_000) * 127 + 128).astype("uint8")
    )
    scipy.io.wavfile.write(data / "high" / "float.wav", 22_050, tone(600.0, 30_000))
    output = tmp_path / "outputs"
    result = run_python(
        ["train.py", "--data", str(data), "--strategy", "fine_tune_top", "--head-epochs", "1",
         "--fine-tune-epochs", "1", "--augment", "--output", str(output), "--quiet"],
        project,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["class_names"] == ["high", "low"]
    assert metrics["examples"] == {"train": 13, "validation": 2, "test": 2}
    assert metrics["strategy"] == "fine_tune_top"
    assert metrics["trainable_blocks"] == ["block3", "block4", "top"]
    assert [phase["name"] for phase in metrics["phases"]] == ["feature_extraction", "fine_tuning"]


@pytest.mark.parametrize("problem", ["truncated wav", "not a wav"])
def test_bad_data_folders_get_errors_naming_the_file(project, tmp_path, problem):
    data = write_wav_folder(tmp_path / "data", {"a": 4, "b": 4}, samples=4000)
    if problem == "truncated wav":
        culprit = data / "b" / "cut.wav"
        scipy.io.wavfile.write(culprit, 16_000, (tone(440.0, 16_000) * 32767).astype("int16"))
        culprit.write_bytes(culprit.read_bytes()[:20_000])
    else:
        culprit = data / "a" / "song.wav"
        culprit.write_bytes(b"ID3\x04 an mp3 with the wrong name")
    result = run_python(["train.py", "--data", str(data), "--output", str(tmp_path / "o")], project)
    assert result.returncode == 1
    assert str(culprit) in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o" / "model.keras").exists()


def test_cli_list_shows_the_audio_template():
    assert projects.list_templates()["audio-classifier"].startswith("Audio classifier")


@pytest.fixture(scope="module")
def runs(project):
    """The default run and a `--weights none` run on the bundled sample (54 clips).

    Short: 3 epochs, and budgets of MIN_STEPS steps. One after the other (two cores).
    """
    environment = {**os.environ, budgets.MIN_STEPS_VARIABLE: str(MIN_STEPS)}
    commands = {"default": [], "scratch": ["--weights", "none", "--strategy", "fine_tune_top"]}
    results = {}
    for name, flags in commands.items():
        output = project / f"outputs-{name}"
        result = subprocess.run(
            [sys.executable, "train.py", "--head-epochs", "2", "--fine-tune-epochs", "1",
             "--output", str(output), "--quiet", *flags],
            cwd=project, env=environment, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        metrics = json.loads((output / "metrics.json").read_text())
        results[name] = {"stdout": result.stdout, "metrics": metrics, "output": output}
    return results


def test_weights_none_trains_one_scratch_phase_at_the_scratch_rate(runs):
    # Whatever the strategy (fine_tune_top here): random weights train from scratch.
    metrics = runs["scratch"]["metrics"]
    rates = budgets.LEARNING_RATES["lab"]  # lab_speech's family
    assert metrics["strategy"] == "train_from_scratch" and metrics["auto"] is None
    assert metrics["trainable_blocks"] == registry.get_spec("lab_speech").block_names
    assert [(phase["name"], phase["learning_rate"]) for phase in metrics["phases"]] == [
        ("scratch", rates.scratch)
    ]
    assert rates.scratch != rates.fine_tune


def test_auto_compares_the_advisor_plan_with_its_neighbour_on_validation(runs):
    run = runs["default"]
    metrics, auto = run["metrics"], run["metrics"]["auto"]
    assert auto["prior"] == "feature_extraction"  # the advisor: a few dozen similar clips
    assert list(auto["scores"]) == ["feature_extraction", "fine_tune_top"]
    assert all(0 <= score <= 1 for score in auto["scores"].values())
    assert metrics["strategy"] == auto["strategy"] and auto["validation_examples"] == 6
    assert "auto compared on 6 validation examples" in run["stdout"]
    assert auto["reason"] in run["stdout"]
    for strategy in auto["scores"]:
        assert (run["output"] / "candidates" / strategy / "history.csv").is_file()


def test_phases_run_their_budget_at_the_family_learning_rates(runs):
    rates = budgets.LEARNING_RATES["lab"]
    wanted = {
        "feature_extraction": (MIN_STEPS // 2, rates.head),
        "fine_tuning": (MIN_STEPS, rates.fine_tune),
        "scratch": (MIN_STEPS, rates.scratch),
    }
    for run in runs.values():
        for phase in run["metrics"]["phases"]:
            steps, learning_rate = wanted[phase["name"]]
            assert phase["steps"] >= steps and phase["learning_rate"] == learning_rate, phase


def test_the_test_accuracy_comes_with_its_interval(runs):
    for run in runs.values():
        accuracy = run["metrics"]["test_accuracy"]
        interval = run["metrics"]["test_accuracy_interval"]
        assert interval == tl_templates.accuracy_with_interval(accuracy, 6)  # 2 clips a class
        assert interval["low"] <= accuracy <= interval["high"]
        printed = tl_templates.describe_accuracy(accuracy, 6, "clips")
        assert f"test accuracy      {printed}" in run["stdout"] and "95% CI" in printed


def test_the_final_model_is_refit_on_train_and_validation(runs):
    # 54 clips: 42 train + 6 validation, under refit = "auto"'s 1,000. The chosen
    # strategy trains again on all 48, with the same budget; the 6 test clips stay out.
    for run in runs.values():
        metrics, refit = run["metrics"], run["metrics"]["refit"]
        assert refit["examples"] == metrics["examples"]["train"] + metrics["examples"]["validation"]
        assert [phase["name"] for phase in refit["phases"]] == [
            phase["name"] for phase in metrics["phases"]
        ]
        assert (run["output"] / "refit" / "history.csv").is_file()
        assert f"refit              on train + validation, {refit['examples']} clips" in run["stdout"]
