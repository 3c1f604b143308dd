"""The face-multitask and driving-multilabel templates: baking, refusals, generated projects."""

import json
import shutil
import subprocess
import sys

import pytest
from PIL import Image

import tl_templates
from tl_templates import paths
from tl_templates.backbones import registry
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
SAMPLES = {"face-multitask": "faces", "driving-multilabel": "street_scenes"}
SLUGS = {"face-multitask": "my-face-model", "driving-multilabel": "my-driving-scenes"}


def tree(folder):
    return sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
    )


def run_python(args, cwd, timeout=600):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    output = tmp_path_factory.mktemp("baked")
    return {template: projects.new_project(template, output_dir=output) for template in SAMPLES}


def test_both_templates_are_listed_with_a_description(capsys):
    templates = projects.list_templates()
    assert "gender" in templates["face-multitask"]
    assert "multi-label" in templates["driving-multilabel"]
    from tl_templates import cli

    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("face-multitask ") for line in lines)
    assert any(line.startswith("driving-multilabel ") for line in lines)


@pytest.mark.parametrize("template", SAMPLES)
def test_default_bake_has_the_exact_file_tree_and_a_flag_per_block(baked, template):
    project = baked[template]
    assert project.name == SLUGS[template]
    sample = ["data/sample/" + name for name in tree(paths.SAMPLES_DIR / SAMPLES[template])]
    assert tree(project) == sorted(PROJECT_FILES + sample)
    for name in PROJECT_FILES:
        text = (project / name).read_text(encoding="utf-8")
        assert "{{" not in text and "{%" not in text, name
    config = tomllib.loads((project / "config.toml").read_text(encoding="utf-8"))
    assert list(config["blocks"]) == registry.get_spec(config["backbone"]).block_names
    assert config["strategy"] == "auto" and config["image_size"] == 48


def test_awkward_answers_bake_cleanly(tmp_path):
    name = 'Visages "âge" l\'œil  {x}'
    project = projects.new_project(
        "face-multitask", output_dir=tmp_path,
        extra_context={"project_name": name, "tasks": " age ", "loss_weighting": "uncertainty"},
    )  # fmt: skip
    assert project.name == "visages-age-l-oeil-x"
    assert (project / "README.md").read_text(encoding="utf-8").startswith(f"# {name}\n")
    config = tomllib.loads((project / "config.toml").read_text(encoding="utf-8"))
    assert config["tasks"] == ["age"] and config["loss_weighting"] == "uncertainty"
    for file_name in ("model.py", "train.py", "tests/test_project.py"):
        compile((project / file_name).read_text(encoding="utf-8"), file_name, "exec")


@pytest.mark.parametrize(
    "template, answers, message",
    [
        ("face-multitask", {"tasks": "gender,height"}, "tasks is a comma-separated subset"),
        ("face-multitask", {"backbone": "resnet51"}, "backbone='resnet51'"),
        ("face-multitask", {"loss_weighting": "magic"}, "magic provided for choice variable"),
        ("driving-multilabel", {"image_size": "8"}, "image_size must be at least"),
        (
            "driving-multilabel",
            {"project_slug": "../escape"},
            "project_slug names the project's folder",
        ),
    ],
)
def test_bad_answers_stop_before_anything_is_written(tmp_path, template, answers, message):
    result = subprocess.run(
        [sys.executable, "-m", "tl_templates.cli", "new", template, "-o", str(tmp_path / "out"),
         "--no-input", *(f"{key}={value}" for key, value in answers.items())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert message in result.stderr
    assert "nothing was written" in result.stderr.lower() and "Traceback" not in result.stderr
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []
    assert not (tmp_path / "escape").exists()


def test_generated_face_project_passes_its_own_tests(baked):
    # Its tests train multi-task (CSV with unknown labels) and single-task (UTKFace
    # names) end to end, and predict.
    result = run_python(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], baked["face-multitask"]
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "7 passed" in result.stdout


# The driving project on a CSV of other labels (its label set is the header):
# tests/test_template_runs.py, with the seeded runs.


def test_generated_driving_project_passes_its_own_tests(baked):
    result = run_python(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], baked["driving-multilabel"]
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "5 passed" in result.stdout


def test_a_bad_label_file_stops_training_with_the_file_and_line(baked, tmp_path):
    # (Both templates read labels with tl_templates.read_label_csv, tested in test_multitask_data.)
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(data / "images" / "a.jpg")
    (data / "labels.csv").write_text(
        "filename,gender,age\na.jpg,1,30\nb.jpg,m,?\n", encoding="utf-8"
    )
    result = run_python(
        ["train.py", "--data", str(data), "--output", str(tmp_path / "o")], baked["face-multitask"]
    )
    assert result.returncode == 1
    assert f"{data / 'labels.csv'} line 3" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o" / "model.keras").exists()


def small_sample(project, template, folder, count=40):
    """The first `count` examples of the project's bundled sample, as a user's folder.

    Faces as UTKFace file names (every face has both labels); scenes as a
    labels.csv of the same rows beside their images.
    """
    sample = project / "data" / "sample"
    if template == "face-multitask":
        folder.mkdir()
        for image in sorted((sample / "images").glob("*.jpg"))[:count]:
            shutil.copyfile(image, folder / image.name)
        return folder
    header, *rows = (sample / "labels.csv").read_text(encoding="utf-8").splitlines()
    (folder / "images").mkdir(parents=True)
    for row in rows[:count]:
        name = row.split(",", 1)[0]
        shutil.copyfile(sample / "images" / name, folder / "images" / name)
    (folder / "labels.csv").write_text("\n".join([header, *rows[:count]]) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("template", SAMPLES)
def test_weights_none_trains_from_scratch_with_the_scratch_learning_rate(baked, template, tmp_path):
    # Any strategy on random weights becomes the scratch recipe: one phase of
    # head_epochs + fine_tune_epochs epochs at the scratch rate, never a
    # fine-tuning rate on random weights (which learns almost nothing).
    data = small_sample(baked[template], template, tmp_path / "data")
    output = tmp_path / "outputs"
    result = run_python(
        ["train.py", "--data", str(data), "--strategy", "fine_tune_top", "--weights", "none",
         "--image-size", "32", "--head-epochs", "1", "--fine-tune-epochs", "1",
         "--output", str(output), "--quiet"],
        baked[template],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["strategy"] == "train_from_scratch" and metrics["weights"] == "none"
    assert metrics["plan"]["reasons"][0].startswith('weights = "none"')
    scratch_rate = plan_strategy("train_from_scratch", "lab_glyphs").head_learning_rate
    assert scratch_rate > plan_strategy("fine_tune_top", "lab_glyphs").fine_tune_learning_rate
    assert [(phase["name"], phase["epochs"], phase["learning_rate"])
            for phase in metrics["phases"]] == [("scratch", 2, scratch_rate)]  # fmt: skip
    history = (output / "history.csv").read_text().splitlines()
    assert [line.split(",")[:2] for line in history[1:]] == [["1", "scratch"], ["2", "scratch"]]


def test_gender_accuracy_is_saved_and_printed_with_its_interval(baked, tmp_path):
    data = small_sample(baked["face-multitask"], "face-multitask", tmp_path / "faces", count=60)
    output = tmp_path / "outputs"
    result = run_python(
        ["train.py", "--data", str(data), "--strategy", "feature_extraction", "--image-size", "32",
         "--head-epochs", "2", "--fine-tune-epochs", "0", "--output", str(output), "--quiet"],
        baked["face-multitask"],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    faces = metrics["test_known_labels"]["gender"]
    assert faces == metrics["examples"]["test"] > 0  # UTKFace names: every gender is known
    # The 95% Wilson interval of the accuracy on so few test faces, next to it.
    assert metrics["gender_accuracy_interval"] == tl_templates.accuracy_with_interval(
        metrics["gender_accuracy"], faces
    )
    interval = metrics["gender_accuracy_interval"]
    assert interval["low"] <= metrics["gender_accuracy"] <= interval["high"]
    assert interval["high"] - interval["low"] > 0.2  # wide: a handful of test faces
    described = tl_templates.describe_accuracy(metrics["gender_accuracy"], faces, "faces")
    assert f"gender accuracy    {described}" in result.stdout and "95% CI" in described


@pytest.mark.parametrize("template", SAMPLES)
def test_auto_compares_the_neighbours_on_each_tasks_validation_measure(baked, template, tmp_path):
    # On small data "auto" trains the advisor's plan and its neighbours, each in
    # outputs/candidates/, and keeps one by the tasks' own validation measures.
    data = small_sample(baked[template], template, tmp_path / "data", count=60)
    output = tmp_path / "outputs"
    result = run_python(
        ["train.py", "--data", str(data), "--strategy", "auto", "--image-size", "32",
         "--head-epochs", "2", "--fine-tune-epochs", "1", "--output", str(output), "--quiet"],
        baked[template],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    auto = metrics["auto"]
    tried = list(auto["scores"])
    assert tried[0] == auto["prior"]  # the advisor's plan first, then its neighbours
    assert len(tried) >= 2 and auto["strategy"] in tried and metrics["strategy"] == auto["strategy"]
    measures = {"face-multitask": {"gender_accuracy", "age_mae"},
                "driving-multilabel": {"mean_auc"}}[template]  # fmt: skip
    assert all(set(scores) == measures for scores in auto["scores"].values())
    assert auto["validation_examples"] == metrics["examples"]["validation"]
    for strategy in tried:
        assert (output / "candidates" / strategy / "history.csv").exists()
    assert auto["reason"] in result.stdout and "auto compared on" in result.stdout
