"""Every template's reports: train.py writes them, their numbers are metrics.json's, and
`evaluate.py --data` reproduces them on another folder, naming a corrupt file.

One baked and briefly trained project per template for the whole module
(feature extraction on cached features, 2 head epochs, 32 px images).
"""

import json
import shutil
import subprocess
import sys

import pytest

from tl_templates.project import generate as projects

TRAIN = {
    "image-classifier": ["--strategy", "feature_extraction", "--head-epochs", "2"],
    "audio-classifier": ["--strategy", "feature_extraction", "--head-epochs", "2",
                         "--fine-tune-epochs", "0"],
    "face-multitask": ["--image-size", "32", "--strategy", "feature_extraction",
                       "--head-epochs", "2", "--fine-tune-epochs", "0"],
    "driving-multilabel": ["--image-size", "32", "--strategy", "feature_extraction",
                           "--head-epochs", "2", "--fine-tune-epochs", "0"],
}  # fmt: skip
PICTURES = {
    "image-classifier": ["confusion_matrix.png", "worst_examples.png"],
    "audio-classifier": ["confusion_matrix.png", "detection.png"],
    "face-multitask": ["gender_confusion.png", "age_bands.png"],
    "driving-multilabel": ["precision_recall.png"],
}
CORRUPT = {"image-classifier": "corrupt.png", "audio-classifier": "corrupt.wav",
           "face-multitask": "corrupt.jpg", "driving-multilabel": "corrupt.jpg"}  # fmt: skip


def run(project, *args):
    return subprocess.run(
        [sys.executable, *args], cwd=project, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`trained(template) -> (project folder, train.py's log)`: baked and trained once,
    on first use, into the project's outputs/."""
    root, done = tmp_path_factory.mktemp("baked"), {}

    def get(template):
        if template not in done:
            project = projects.new_project(template, output_dir=root)
            config = project / "config.toml"
            if template in ("image-classifier", "audio-classifier"):  # one run, no refit
                text = config.read_text(encoding="utf-8")
                config.write_text("refit = false\n" + text, encoding="utf-8")
            result = run(project, "train.py", *TRAIN[template], "--quiet")
            assert result.returncode == 0, result.stderr[-3000:]
            done[template] = (project, result.stdout)
        return done[template]

    return get


def read(path):
    return json.loads(path.read_text(encoding="utf-8"))


def assert_agree(template, report, metrics):
    """The report's headline numbers are metrics.json's."""
    if template in ("image-classifier", "audio-classifier"):
        assert report["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
        assert report["examples"] == metrics["examples"]["test"]
        assert sum(row["support"] for row in report["classes"].values()) == report["examples"]
    elif template == "face-multitask":
        assert report["gender"]["accuracy"] == pytest.approx(metrics["gender_accuracy"], abs=1e-6)
        assert report["gender"]["auc"] == pytest.approx(metrics["gender_auc"], abs=1e-6)
        assert report["age_mae"] == pytest.approx(metrics["age_mae"], abs=1e-4)
        bands = report["by_age_band"]["age MAE (years)"]
        assert sum(row["examples"] for row in bands) == metrics["test_known_labels"]["age"]
    else:
        assert report["mean_auc"] == pytest.approx(metrics["mean_auc"], abs=1e-6)
        for name, row in report["labels"].items():
            assert row["threshold"] == metrics["thresholds"][name]
            for measure in ("precision", "recall", "auc"):
                expected = metrics[f"{measure}_{name}"]
                assert row[measure] == (
                    None if expected is None else pytest.approx(expected, abs=1e-6)
                )


@pytest.mark.parametrize("template", TRAIN)
def test_train_writes_the_reports_and_evaluate_reproduces_them(trained, template, tmp_path):
    project, log = trained(template)
    outputs = project / "outputs"
    report, metrics = read(outputs / "report.json"), read(outputs / "metrics.json")
    assert_agree(template, report, metrics)
    for picture in PICTURES[template]:
        assert (outputs / picture).read_bytes()[:4] == b"\x89PNG", picture
    assert "Wrote " in log and "report.json" in log  # summarised on the console

    again = run(project, "evaluate.py", "--output", str(tmp_path))
    assert again.returncode == 0, again.stderr[-3000:]
    assert_agree(template, read(tmp_path / "report.json"), metrics)
    if template == "audio-classifier":  # the sample is a wake word with background and other
        found = report["detection"]
        assert found["wake_words"] == ["marvin"] and found["threshold"] == 0.5
        assert len(found["curve"]["thresholds"]) == 101
        index = found["curve"]["thresholds"].index(0.5)
        assert found["false_accepts_per_hour"] == found["curve"]["false_accepts_per_hour"][index]
        assert found["negative_seconds"] == pytest.approx(4 * 0.975)  # 2 background, 2 other
        assert all(row["file"].endswith(".wav") for row in report["worst_examples"])
    if template == "image-classifier":
        wrong = report["examples"] - round(report["accuracy"] * report["examples"])
        assert len(report["worst_examples"]) == min(wrong, 16)


def copy_with_corrupt_file(template, project, folder):
    """A small labelled data set in the template's format, with one corrupt file; its path."""
    sample = project / "data" / "sample"
    corrupt = CORRUPT[template]
    if template in ("image-classifier", "audio-classifier"):
        for class_dir in sorted(path for path in sample.iterdir() if path.is_dir())[:3]:
            shutil.copytree(class_dir, folder / class_dir.name)
        bad = folder / sorted(path.name for path in folder.iterdir())[-1] / corrupt
        bad.write_bytes(b"not a file of this kind")
        return folder, bad
    lines = (sample / "labels.csv").read_text(encoding="utf-8").splitlines()
    (folder / "images").mkdir(parents=True)
    for line in lines[1:41]:
        name = line.split(",")[0]
        shutil.copyfile(sample / "images" / name, folder / "images" / name)
    # The face CSV's corrupt row has a known gender and age, the driving one every label.
    row = "corrupt.jpg," + ",".join(["1"] * (len(lines[0].split(",")) - 1))
    if template == "face-multitask":
        row = "corrupt.jpg,1,30"
    (folder / "labels.csv").write_text("\n".join([*lines[:41], row]) + "\n", encoding="utf-8")
    (folder / "images" / corrupt).write_bytes(b"not an image")
    return folder / "labels.csv", folder / "images" / corrupt


@pytest.mark.parametrize("template", TRAIN)
def test_evaluate_names_a_corrupt_file_and_still_writes_the_report(trained, template, tmp_path):
    project, _ = trained(template)
    data, bad = copy_with_corrupt_file(template, project, tmp_path / "data")
    result = run(project, "evaluate.py", "--data", str(data), "--output", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{bad}: unreadable, skipped" in result.stderr
    report = read(tmp_path / "report" / "report.json")
    assert [row["file"] for row in report["unreadable"]] == [str(bad)]
    assert report["data"] == str(data)
    for picture in PICTURES[template]:
        assert (tmp_path / "report" / picture).is_file()
