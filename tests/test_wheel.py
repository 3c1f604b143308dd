"""The wheel is the product: built from the repository, installed on its own, it works anywhere.

One module-wide fixture builds the wheel offline (`pip wheel --no-build-isolation`,
the dev extra brings setuptools) from a copy of the repository's files, installs
it into a fresh virtual environment (`--no-deps --no-index`; the dependencies
come from this test's environment through a `.pth` file that names its
site-packages, never the repository), and every command then runs from a folder
outside the repository with no PYTHONPATH, so only the installed wheel can answer.
"""

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
TEMPLATES = ["audio-classifier", "driving-multilabel", "face-multitask", "image-classifier"]
# Skipped when copying the repository to build from it (a clean checkout has none of them).
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
    ".ruff_cache", ".ipynb_checkpoints", "outputs", "logs", "tl-quickstart",
)  # fmt: skip


def run(command, cwd, env, timeout=600):
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{command} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`(wheel, venv's python, venv's tl-templates, environment, outside folder, site-packages)`."""
    root = tmp_path_factory.mktemp("wheel")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PIP_NO_INDEX"] = "1"  # offline: nothing may be downloaded
    source = root / "source"
    shutil.copytree(REPOSITORY, source, ignore=NOT_SOURCES)
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(root / "dist"), str(source)],
        root, env,
    )  # fmt: skip
    (wheel,) = (root / "dist").glob("tl_templates-*.whl")

    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root, env)
    python = venv / "bin" / "python"
    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--no-warn-script-location", str(wheel)],
        root, env,
    )  # fmt: skip
    # The venv's own site-packages comes first; this environment's follows, for the
    # dependencies (TensorFlow, Keras, cookiecutter ...). Its .pth files are not
    # processed, so an editable install of the kit there stays invisible.
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                  root, env).strip()  # fmt: skip
    dependencies = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"),
                    *site.getsitepackages()}  # fmt: skip
    assert str(REPOSITORY) not in dependencies
    (Path(purelib) / "_dev_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    outside = root / "elsewhere"
    outside.mkdir()
    return wheel, python, venv / "bin" / "tl-templates", env, outside, Path(purelib)


def test_wheel_holds_what_runs_and_not_the_generators(installed):
    wheel = installed[0]
    names = zipfile.ZipFile(wheel).namelist()
    bundled = "tl_templates/_bundled/"
    for template in TEMPLATES:
        assert f"{bundled}templates/{template}/cookiecutter.json" in names
        assert f"{bundled}templates/{template}/hooks/post_gen_project.py" in names
    for name in ["lab_glyphs/lab_glyphs.weights.h5", "lab_glyphs/CARD.md",
                 "lab_speech/lab_speech.weights.h5", "lab_speech/CARD.md",
                 "targets/mnist_subset.npz", "samples/faces/labels.csv"]:  # fmt: skip
        assert f"{bundled}data/{name}" in names
    generators = [name for name in names if name.startswith(f"{bundled}data/") and ".py" in name]
    assert not generators
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert wheel.stat().st_size < 15_000_000


def test_installed_kit_is_imported_from_the_venv(installed):
    _, python, cli, env, outside, purelib = installed
    where = json.loads(run(
        [str(python), "-c", "import json, tl_templates; from tl_templates import paths; "
         "print(json.dumps([tl_templates.__file__, str(paths.TEMPLATES_DIR), str(paths.DATA_DIR), "
         "tl_templates.__version__]))"],
        outside, env,
    ))  # fmt: skip
    for path in where[:3]:
        assert Path(path).is_relative_to(purelib / "tl_templates"), path
        assert not Path(path).is_relative_to(REPOSITORY), path
    assert run([str(cli), "--version"], outside, env).strip() == f"tl-templates {where[3]}"
    assert run([str(cli), "list"], outside, env).split().count("image-classifier") == 1


def test_every_template_is_generated_from_the_wheel_and_audio_trains(installed):
    _, _, cli, env, outside, _ = installed
    for template in TEMPLATES:
        run([str(cli), "new", template, "--no-input", "-o", "projects"], outside, env)
    projects = sorted((outside / "projects").iterdir())
    assert len(projects) == len(TEMPLATES)
    for project in projects:
        assert (project / "train.py").is_file() and (project / "config.toml").is_file()
        assert len(list((project / "data" / "sample").rglob("*.*"))) > 10  # the copied sample
    # The audio project trains its head on the lab_speech backbone's weights from the wheel.
    (audio,) = [folder for folder in projects if (folder / "data" / "sample" / "marvin").is_dir()]
    python = cli.parent / "python"
    run(
        [str(python), "train.py", "--strategy", "feature_extraction", "--head-epochs", "2",
         "--fine-tune-epochs", "0", "--quiet"],
        audio, env,
    )  # fmt: skip
    metrics = json.loads((audio / "outputs" / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0


def test_quickstart_runs_from_the_wheel_outside_the_repository(installed):
    _, _, cli, env, outside, _ = installed
    output = run([str(cli), "quickstart", "-o", "quick"], outside, env)
    assert "Quickstart done." in output
    metrics = json.loads((outside / "quick" / "outputs" / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
