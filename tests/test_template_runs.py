"""The face-multitask, driving-multilabel and audio-classifier projects keep the run contract.

As the image-classifier does (tests/test_kill_and_resume.py): two runs with
the same `--seed` write identical metrics.json and history.csv; `--restart`
moves an old run aside untouched; a run SIGKILLed mid-training continues and
ends exactly as an uninterrupted one; a finished run is not trained again.
Tiny runs (feature extraction on cached features, a few epochs), one baked
project per template for the whole module.
"""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
from helpers import committed_epochs, finish
from PIL import Image

from tl_templates.project import generate as projects

FACE_EPOCHS = 6
FACE_FACES = 60  # a UTKFace-named subset of the bundled sample
TEMPLATES = {
    "face-multitask": [
        "--image-size", "32", "--strategy", "feature_extraction", "--head-epochs",
        str(FACE_EPOCHS), "--fine-tune-epochs", "0", "--batch-size", "4", "--seed", "5",
    ],
    "driving-multilabel": [
        "--image-size", "32", "--strategy", "feature_extraction", "--head-epochs", "2",
        "--fine-tune-epochs", "0", "--seed", "5",
    ],
    "audio-classifier": [
        "--strategy", "feature_extraction", "--head-epochs", "2", "--fine-tune-epochs", "0",
        "--seed", "5",
    ],
}  # fmt: skip


def write_scenes(folder):
    """24 scenes labelled `bus,bicycle` (not the sample's labels), some unknown (`?`)."""
    (folder / "images").mkdir(parents=True)
    rows = ["filename,bus,bicycle"]
    for index in range(24):
        colour = (200, 40, 40) if index % 2 else (40, 40, 200)
        Image.new("RGB", (40, 40), colour).save(folder / "images" / f"{index}.png")
        rows.append(f"{index}.png,{index % 2},{'?' if index % 3 == 0 else (index // 2) % 2}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    """`{template: (project folder, train.py arguments)}`."""
    root = tmp_path_factory.mktemp("baked")
    baked = {template: projects.new_project(template, output_dir=root) for template in TEMPLATES}
    # The face project trains on UTKFace file names: [age]_[gender]_[race]_[date].jpg.
    faces = root / "utkface"
    faces.mkdir()
    images = sorted((baked["face-multitask"] / "data" / "sample" / "images").glob("*.jpg"))
    for image in images[:FACE_FACES]:
        shutil.copyfile(image, faces / image.name)
    data = {
        "face-multitask": ["--data", str(faces)],
        "driving-multilabel": ["--data", str(write_scenes(root / "scenes"))],
        "audio-classifier": [],  # the bundled sample
    }
    return {template: (baked[template], TEMPLATES[template] + data[template]) for template in baked}


def start(baked, template, output, *extra):
    project, arguments = baked[template]
    return subprocess.Popen(
        [sys.executable, "train.py", *arguments, "--output", str(output), "--quiet", *extra],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def seeded_runs(baked, tmp_path_factory):
    """`{template: (first output, second output, second log)}`: two runs with the same --seed.

    The second starts with --restart over an old finished run. The six runs
    go two at a time (the machine has two cores).
    """
    runs = {}
    for template in TEMPLATES:
        outputs = [tmp_path_factory.mktemp(f"{template}-seeded") for _ in (1, 2)]
        (outputs[1] / "metrics.json").write_text('{"old": true, "kit_version": "0.1.0"}')
        processes = [start(baked, template, outputs[0]),
                     start(baked, template, outputs[1], "--restart")]  # fmt: skip
        logs = [finish(process) for process in processes]
        runs[template] = (*outputs, logs[1])
    return runs


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_same_seed_gives_identical_files_and_restart_moves_the_old_run_aside(
    seeded_runs, template
):
    first, second, log = seeded_runs[template]
    for name in ("metrics.json", "history.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    for name in ("model.keras", "training.png", "timing.json", "checkpoints/best.weights.h5"):
        assert (second / name).is_file(), name
    moved = list(second.parent.glob(f"{second.name}-previous-*"))
    assert len(moved) == 1 and f"Moved the previous run to {moved[0]}" in log
    assert [path.name for path in moved[0].iterdir()] == ["metrics.json"]
    assert (moved[0] / "metrics.json").read_text() == '{"old": true, "kit_version": "0.1.0"}'


def test_a_killed_face_run_continues_and_ends_as_an_uninterrupted_one(baked, seeded_runs, tmp_path):
    output = tmp_path / "outputs"
    process = start(baked, "face-multitask", output)
    while committed_epochs(output) < 2:
        assert process.poll() is None, "train.py ended before it could be killed"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    done = committed_epochs(output)
    assert 2 <= done < FACE_EPOCHS and not (output / "metrics.json").exists()

    log = finish(start(baked, "face-multitask", output))
    assert f"Resuming after epoch {done} (feature_extraction)" in log
    reference = seeded_runs["face-multitask"][0]
    for name in ("metrics.json", "history.csv"):
        assert (output / name).read_bytes() == (reference / name).read_bytes(), name

    # A finished run is not trained again, and nothing in it changes.
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file()}
    log = finish(start(baked, "face-multitask", output))
    assert f"{output} holds a finished run (gender accuracy " in log and "--restart" in log
    assert {path: path.read_bytes() for path in output.rglob("*") if path.is_file()} == before


def test_driving_project_takes_its_label_set_from_the_csv_header(seeded_runs):
    output = seeded_runs["driving-multilabel"][0]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["labels"] == ["bus", "bicycle"]
    assert {"auc_bus", "auc_bicycle", "mean_auc", "precision_bus", "recall_bicycle"} <= set(metrics)
    assert list(json.loads((output / "thresholds.json").read_text())) == ["bus", "bicycle"]


def test_changed_settings_are_refused_with_the_differences(baked, seeded_runs, tmp_path):
    # An unfinished run in the folder: the checkpoint of a seeded run, without its
    # metrics.json (as if killed after its last epoch), continued with another batch size.
    output = tmp_path / "outputs"
    shutil.copytree(seeded_runs["driving-multilabel"][0], output)
    (output / "metrics.json").unlink()
    process = start(baked, "driving-multilabel", output, "--batch-size", "16")
    log, _ = process.communicate(timeout=600)
    assert process.returncode == 1
    assert "holds an unfinished run made with other settings:\n  batch_size: 32 -> 16\n" in log
    assert "--restart" in log and "Traceback" not in log
