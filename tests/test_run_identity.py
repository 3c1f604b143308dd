"""Every template's train.py: a finished run answers only its own command (issues 15, 16).

Per template, one tiny run (feature extraction, one epoch, a few dozen
examples), then: the same command does nothing (exit 0); the same command on
another data folder stops (exit 1) naming `data` and the two ways on; with
`--restart` it trains on the new folder. Also: `--help` and a bad argument
answer before TensorFlow is imported; a folder that holds no run is never
trained into.
"""

import json
import shutil
import subprocess
import sys

import pytest
from helpers import write_image_folder, write_wav_folder
from PIL import Image

from tl_templates.project import generate as projects

TEMPLATES = ["image-classifier", "audio-classifier", "face-multitask", "driving-multilabel"]
TINY = ["--strategy", "feature_extraction", "--head-epochs", "1", "--fine-tune-epochs", "0",
        "--seed", "5", "--quiet"]  # fmt: skip
SMALL = ["--image-size", "32"]
IMAGE_SIZE = {"face-multitask": SMALL, "driving-multilabel": SMALL}


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    root = tmp_path_factory.mktemp("identity")
    return {template: projects.new_project(template, output_dir=root) for template in TEMPLATES}


def write_data(template, project, folder):
    """A few dozen examples in the template's data layout (the bundled samples are larger)."""
    if template == "image-classifier":
        return write_image_folder(folder, {"a": 8, "b": 8}, size=32)
    if template == "audio-classifier":
        return write_wav_folder(folder, {"low": 8, "high": 8})
    folder.mkdir()
    if template == "face-multitask":  # UTKFace file names: [age]_[gender]_[race]_[date].jpg
        for image in sorted((project / "data" / "sample" / "images").glob("*.jpg"))[:30]:
            shutil.copyfile(image, folder / image.name)
        return folder
    (folder / "images").mkdir()
    rows = ["filename,car,pedestrian"]
    for index in range(24):
        Image.new("RGB", (32, 32), (200, 40, 40) if index % 2 else (40, 40, 200)).save(
            folder / "images" / f"{index}.png"
        )
        rows.append(f"{index}.png,{index % 2},{(index // 2) % 2}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def train(project, template, *extra):
    arguments = [*TINY, *IMAGE_SIZE.get(template, []), *extra]
    return subprocess.run(
        [sys.executable, "train.py", *arguments], cwd=project, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


def log_of(result):
    return result.stdout + result.stderr


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_finished_run_answers_only_its_own_command(baked, template, tmp_path):
    project = baked[template]
    output = tmp_path / "outputs"
    data = write_data(template, project, tmp_path / "data")
    first = train(project, template, "--output", str(output), "--data", str(data))
    assert first.returncode == 0, log_of(first)[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["run"]["data"]["paths"] == [str(data.resolve())]
    assert metrics["run"]["settings"]["head_epochs"] == 1
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file()}

    again = train(project, template, "--output", str(output), "--data", str(data))
    assert again.returncode == 0, log_of(again)[-3000:]
    assert f"{output} holds a finished run (" in again.stdout and "nothing to do" in again.stdout

    mine = shutil.copytree(data, tmp_path / "mine")  # the same files, somewhere else
    other = train(project, template, "--output", str(output), "--data", str(mine))
    log = log_of(other)
    assert other.returncode == 1, log[-3000:]
    assert f"{output} holds a finished run made with other settings:\n" in log
    assert f"  data_dir: '{data}' -> '{mine}'\n" in log
    assert f"  data: {metrics['run']['data']['files']} files (" in log
    assert "python train.py --restart" in log and "--output ANOTHER_FOLDER" in log
    assert "Traceback" not in log
    assert {path: path.read_bytes() for path in output.rglob("*") if path.is_file()} == before

    restarted = train(project, template, "--output", str(output), "--data", str(mine), "--restart")
    assert restarted.returncode == 0, log_of(restarted)[-3000:]
    (moved,) = tmp_path.glob("outputs-previous-*")
    assert json.loads((moved / "metrics.json").read_text()) == metrics
    new = json.loads((output / "metrics.json").read_text())
    assert new["run"]["data"]["paths"] == [str(mine.resolve())]
    assert new["run"]["settings"]["data_dir"] == str(mine)


@pytest.mark.parametrize("template", TEMPLATES)
def test_help_and_bad_arguments_answer_before_tensorflow_is_imported(baked, template):
    for arguments, code in ((["--help"], 0), (["--head-epochs", "many"], 2)):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "train.py", *arguments],
            cwd=baked[template], capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == code, result.stderr[-2000:]
        imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines()
                    if line.startswith("import time:")]  # fmt: skip
        assert "argparse" in imported  # -X importtime did report
        assert not [name for name in imported if name.split(".")[0] in ("tensorflow", "keras")]
    assert "--restart" in subprocess.run(
        [sys.executable, "train.py", "--help"], cwd=baked[template], capture_output=True,
        text=True, timeout=120,
    ).stdout  # fmt: skip


def test_a_folder_that_holds_no_run_is_never_trained_into_or_moved(baked, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"my own file")
    for extra in ([], ["--restart"]):
        result = train(baked["image-classifier"], "image-classifier", "--output", str(folder),
                       *extra)  # fmt: skip
        assert result.returncode == 1, log_of(result)[-3000:]
        assert "holds files, but no run of this kit" in result.stderr
    assert [path.name for path in folder.iterdir()] == ["model.keras"]
    assert (folder / "model.keras").read_bytes() == b"my own file"
    assert not list(tmp_path.glob("photos-previous-*"))
