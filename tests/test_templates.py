"""The image-classifier template: baking, answers, refusals, and the generated project."""

import hashlib
import json
import shutil
import subprocess
import sys

import pytest
from helpers import write_image_folder

from tl_templates import paths
from tl_templates.planning.advisor import plan_strategy
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
SAMPLE = paths.SAMPLES_DIR / "digits"


def tree(folder):
    return sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
    )


def fingerprint(folder):
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run_python(args, cwd, timeout=600):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def default_project(tmp_path_factory):
    output = tmp_path_factory.mktemp("baked")
    return projects.new_project("image-classifier", output_dir=output)


def test_list_templates():
    assert "image-classifier" in projects.list_templates()


def test_default_bake_has_the_exact_file_tree(default_project):
    assert default_project.name == "my-image-classifier"
    files = tree(default_project)
    sample_files = ["data/sample/" + name for name in tree(SAMPLE)]
    assert files == sorted(PROJECT_FILES + sample_files)
    for name in PROJECT_FILES:
        text = (default_project / name).read_text(encoding="utf-8")
        assert "{{" not in text and "{%" not in text, name


def test_default_config_has_a_flag_for_every_block(default_project):
    config = tomllib.loads((default_project / "config.toml").read_text(encoding="utf-8"))
    from tl_templates.backbones import registry

    spec = registry.get_spec(config["backbone"])
    assert list(config["blocks"]) == spec.block_names
    assert all(isinstance(flag, bool) for flag in config["blocks"].values())
    assert config["strategy"] == "auto"


def test_awkward_answers_bake_cleanly(tmp_path):
    name = 'Café "Vision" l\'œil  {x}'
    project = projects.new_project(
        "image-classifier", output_dir=tmp_path, extra_context={"project_name": name}
    )
    assert project.name == "cafe-vision-l-oeil-x"
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {name}\n")
    config = tomllib.loads((project / "config.toml").read_text(encoding="utf-8"))
    assert config["strategy"] == "auto"
    for file_name in PROJECT_FILES:
        text = (project / file_name).read_text(encoding="utf-8")
        assert "{{" not in text and "{%" not in text, file_name
    compile((project / "model.py").read_text(encoding="utf-8"), "model.py", "exec")


@pytest.mark.parametrize(
    "answers, message",
    [
        ({"backbone": "resnet51"}, "backbone='resnet51'"),
        ({"image_size": "8"}, "image_size must be at least"),
        ({"image_size": "big"}, "image_size must be a whole number"),
        ({"strategy": "guess"}, "guess provided for choice variable strategy"),
        ({"head_epochs": "-1"}, "head_epochs must be at least 0"),
        ({"project_slug": "../escape"}, "project_slug names the project's folder or files"),
    ],
)
def test_bad_answers_stop_before_anything_is_written(tmp_path, answers, message):
    result = subprocess.run(
        [sys.executable, "-m", "tl_templates.cli", "new", "image-classifier", "-o",
         str(tmp_path / "out"), "--no-input", *(f"{k}={v}" for k, v in answers.items())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert message in result.stderr
    assert "nothing was written" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []
    assert not (tmp_path / "escape").exists()


def test_new_refuses_an_existing_folder_and_leaves_it_intact(tmp_path):
    existing = tmp_path / "my-image-classifier"
    existing.mkdir()
    (existing / "train.py").write_text("my own work\n")
    (existing / "notes").mkdir()
    (existing / "notes" / "a.txt").write_bytes(b"\x00\x01 keep me")
    before = fingerprint(existing)
    result = subprocess.run(
        [sys.executable, "-m", "tl_templates.cli", "new", "image-classifier", "-o", str(tmp_path),
         "--no-input"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "already exists" in result.stderr and "nothing was changed" in result.stderr
    assert fingerprint(existing) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["my-image-classifier"]


def test_unknown_template_lists_the_known_ones():
    with pytest.raises(ValueError, match="template='image-clasifier'.*image-classifier"):
        projects.template_folder("image-clasifier")


def test_generated_project_trains_on_its_own_folder_and_passes_its_tests(default_project, tmp_path):
    # Its own tests train end to end on the bundled sample and predict.
    result = run_python(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], default_project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "5 passed" in result.stdout

    # --data takes any class-per-folder directory; --strategy and --weights override.
    data = write_image_folder(tmp_path / "mine", {"circle": 8, "square": 8, "cross": 8}, size=40)
    output = tmp_path / "outputs"
    result = run_python(
        ["train.py", "--data", str(data), "--strategy", "fine_tune_top", "--weights", "none",
         "--head-epochs", "1", "--fine-tune-epochs", "1", "--output", str(output), "--quiet"],
        default_project,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["class_names"] == ["circle", "cross", "square"]
    # Random weights train from scratch with the scratch recipe, whatever the strategy:
    # a fine-tuning learning rate on random weights learns almost nothing.
    assert metrics["strategy"] == "train_from_scratch" and metrics["weights"] == "none"
    assert metrics["plan"]["reasons"][0].startswith('weights = "none"')
    scratch_rate = plan_strategy("train_from_scratch", "lab_glyphs").head_learning_rate
    assert scratch_rate > plan_strategy("fine_tune_all", "lab_glyphs").fine_tune_learning_rate
    assert [(phase["name"], phase["learning_rate"]) for phase in metrics["phases"]] == [
        ("scratch", scratch_rate)
    ]
    history = (output / "history.csv").read_text().splitlines()
    assert [line.split(",")[:2] for line in history[1:]] == [["1", "scratch"], ["2", "scratch"]]


@pytest.mark.parametrize("problem", ["corrupt image", "empty class folder"])
def test_bad_data_folders_get_errors_naming_the_file_or_folder(default_project, tmp_path, problem):
    data = write_image_folder(tmp_path / "data", {"a": 4, "b": 4})
    if problem == "corrupt image":
        culprit = data / "b" / "truncated.jpg"
        culprit.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    else:
        culprit = data / "c"
        culprit.mkdir()
    result = run_python(
        ["train.py", "--data", str(data), "--output", str(tmp_path / "o")], default_project
    )
    assert result.returncode == 1
    assert str(culprit) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o" / "model.keras").exists()


def test_a_broken_config_toml_is_named_with_its_line(default_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(default_project, project, ignore=shutil.ignore_patterns("outputs"))
    config = project / "config.toml"
    lines = config.read_text(encoding="utf-8").splitlines()
    broken = lines.index('strategy = "auto"')
    lines[broken] = "strategy = auto"  # a string without its quotes
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_python(["train.py", "--output", str(tmp_path / "o")], project)
    # One line naming the file and the line, before Keras is even imported.
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {config} is not valid TOML: ")
    assert f"line {broken + 1}" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_quickstart_generates_trains_and_reports(tmp_path):
    target = tmp_path / "qs"
    result = subprocess.run(
        [sys.executable, "-m", "tl_templates.cli", "quickstart", "-o", str(target)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    metrics = json.loads((target / "outputs" / "metrics.json").read_text())
    assert f"plan: {metrics['strategy']}" in out
    assert "feature_extraction: best validation accuracy" in out
    assert f"test accuracy: {metrics['test_accuracy']:.3f}" in out
    # Real digits, 10 classes (chance 0.1): the README's measured run gave 0.967 (95% CI
    # 0.886-0.991) on 60 held-out digits; a broken model (a constant guess) gives about 0.1.
    assert metrics["test_accuracy"] >= 0.8, metrics["test_accuracy_interval"]
    assert metrics["test_accuracy_interval"]["low"] > 0.5
    assert str(target / "outputs") in out
    for name in ("model.keras", "history.csv", "training.png", "metrics.json"):
        assert (target / "outputs" / name).is_file()

    again = subprocess.run(
        [sys.executable, "-m", "tl_templates.cli", "quickstart", "-o", str(target)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 1 and "already exists" in again.stderr


def test_cli_list_shows_each_template_with_one_line(capsys):
    from tl_templates import cli

    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    line = next(line for line in lines if line.startswith("image-classifier "))
    assert line.split(maxsplit=1)[1].startswith("Image classifier")
