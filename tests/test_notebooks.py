"""Every notebook runs with a real kernel; the committed pairs are in sync and carry outputs.

- quick mode: each `notebooks/NN_*.py` runs as it is (`QUICK = True`), offline;
- full mode: the notebooks listed in `FULL_MODE_SMOKE` run with `QUICK = False` on
  TFDS's mock data and a weights file built here, at tiny sizes, so that the
  Colab code path is not dead code;
- the committed `.ipynb` matches its `.py`, holds outputs and a plot, and its
  Colab badge and install cell match the repository URL in pyproject.toml.
"""

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _load_build():
    spec = importlib.util.spec_from_file_location("notebook_build", ROOT / "notebooks" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()

# Full mode at tiny sizes, per notebook: settings put after the parameters cell.
# Every full-mode notebook uses WEIGHTS (set to a local file here) and TFDS data.
TINY = {"IMAGE_SIZE": 32, "TEST_PER_CLASS": 2, "BATCH_SIZE": 4, "SEEDS": [0]}
FULL_MODE_SMOKE = {
    "01_feature_extraction": {**TINY, "PER_CLASS": 2, "EPOCHS": 1},
    "02_fine_tuning": {**TINY, "PER_CLASS": 2, "HEAD_EPOCHS": 1, "FINE_TUNE_EPOCHS": 1,
                       "FINE_TUNE_STEPS_PER_EPOCH": 1},
    # One TFDS set for both targets: models are built per number of classes, and each
    # costs a compile; every set the notebooks name loads in test_datasets.py.
    "03_four_cases": {**TINY, "SIZES": {"small": 10, "large": 20},
                      "STEPS": {"small": 1, "large": 1}, "HEAD_STEPS": 1,
                      "TARGETS": {"similar": "tf_flowers", "different": "tf_flowers"}},
    "04_how_many_blocks_to_freeze": {**TINY, "PER_CLASS": 2, "HEAD_STEPS": 1, "STEPS": 1,
                                     "TARGETS": {"similar": "tf_flowers",
                                                 "different": "tf_flowers"}},
    "05_when_transfer_helps": {**TINY, "PER_CLASS": [1, 2], "STEPS": [1, 1], "HEAD_STEPS": 1,
                               "OTHER_INPUT_PER_CLASS": 2, "SMALL_SOURCE_PER_CLASS": 2,
                               "SMALL_SOURCE_STEPS": 1, "SMALL_SOURCE_EPOCHS": 1},
    "06_audio_wake_word": {"SEEDS": [0], "BACKBONE": "yamnet", "PER_CLASS": [1, 2],
                           "TEST_PER_CLASS": 2, "HEAD_STEPS": 1, "STEPS": 1, "BATCH_SIZE": 2},
    "07_multitask_gender_age": {**TINY, "FACES_DIR": str(ROOT / "data" / "samples" / "faces"),
                                "TRAIN_SIZES": [8, 16], "TEST_SIZE": 8, "STEPS": 1,
                                "TRUNK_UNITS": 8},
    "08_multilabel_driving": {**TINY, "TRAIN_COUNT": 16, "VALIDATION_COUNT": 8, "TEST_COUNT": 8,
                              "UNKNOWN_FRACTION": 0.1, "STEPS": 1, "HIDDEN_UNITS": 4},
    "09_when_multitask_helps": {**TINY, "PER_TASK": 6, "STEPS": 1, "WIDTH": 4},
    "10_end_to_end_vs_pipeline": {**TINY, "PER_CLASS": [1, 2], "STEPS": [1, 1]},
    "11_domain_adaptation": {**TINY, "STEPS": 5, "DIGITS": 300, "PHOTOS": 5},
    "12_metric_learning": {**TINY, "STEPS": 2, "SHOTS": [1]},
}  # fmt: skip
# The weights file each smoke run loads (a fixture below), where it is not `local_weights`.
SMOKE_WEIGHTS = {"06_audio_wake_word": "local_yamnet_weights"}
# What the full-mode data source prints, where it is not TFDS: 07 reads a face folder
# (UTKFace on Colab; here the bundled drawn faces with their labels.csv).
SMOKE_DATA_MARKER = {"07_multitask_gender_age": "face folder "}


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1
    assert all(path.with_suffix(".ipynb").exists() for path in NOTEBOOKS)


def _code_outputs(notebook):
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return [output for cell in code for output in cell.outputs]


def _text(outputs):
    return "".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "") for output in outputs
    )


# The quick-mode runs are the suite's longest work, and pytest-xdist (--dist loadfile)
# gives each test file to one core: notebooks 07-12 run from test_notebooks_07_to_12.py.
FIRST_HALF, SECOND_HALF = NOTEBOOKS[:6], NOTEBOOKS[6:]


@pytest.mark.parametrize("path", FIRST_HALF, ids=lambda path: path.stem)
def test_notebook_runs_in_quick_mode(path):
    check_quick_mode(path)


def check_quick_mode(path):
    """Runs `path` in quick mode with a real kernel and checks what it printed and drew."""
    notebook = build.read_source(path)
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert parameters, f"{path.name} has no cell tagged 'parameters'"
    assert "QUICK = True" in parameters[0].source

    cpu_seconds = build.execute(notebook, path.stem)  # any cell error raises here

    assert not any(output.output_type == "error" for output in _code_outputs(notebook))
    last = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    assert _text(last.outputs).strip(), "the verdict cell printed nothing"
    assert any("image/png" in output.get("data", {}) for output in _code_outputs(notebook))
    print(f"{path.stem}: kernel CPU time {cpu_seconds:.0f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_is_in_sync_and_has_outputs(path):
    assert build.check(path) == []


def test_check_runs_from_the_command_line_on_the_committed_notebooks(capsys):
    problems = [problem for path in NOTEBOOKS for problem in build.check(path)]
    assert build.main(["--check"]) == (1 if problems else 0)
    printed = capsys.readouterr().out
    assert all(problem in printed for problem in problems)


def test_the_readme_lists_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [path.stem for path in NOTEBOOKS if f"| `{path.stem}` |" not in readme]
    assert not missing, f"README's notebook table lacks {missing}"


def _hand_made_pair(folder, printed, stderr=""):
    """A notebook pair in `folder` whose last cell printed `printed` (and `stderr`)."""
    source = folder / "99_hand_made.py"
    source.write_text(
        "# %% [markdown]\n# # A hand-made notebook\n#\n"
        "# [![Open In Colab](x)](y)\n\n# %%\n\n"
        "# %% tags=[\"parameters\"]\nQUICK = True\n\n# %%\nprint('verdict')\n"
    )
    notebook = build.read_source(source)
    jupytext_text = build.jupytext.writes(notebook, fmt="py:percent")
    source.write_text(jupytext_text)
    png = {"image/png": "iVBORw0KGgo="}
    notebook.cells[2].outputs = [nbformat.v4.new_output("display_data", data=png)]
    last = notebook.cells[-1]
    last.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    if stderr:
        last.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=stderr))
    nbformat.write(notebook, source.with_suffix(".ipynb"))
    return source


def test_check_fails_a_stale_or_contradicted_verdict(tmp_path):
    from tl_templates.experiments.results import compare

    honest = compare("fine-tuning", [0.90, 0.92, 0.91], "head only", [0.84, 0.85, 0.86])
    assert build.check(_hand_made_pair(tmp_path, honest.sentence() + "\n")) == []
    # Made by the old rule (2 standard errors): with 3 runs Student's t asks for 4.3.
    stale = "fine-tuning beat head only by 1.6 points (± 0.8, 3 paired runs), as the rule predicts."
    problems = build.check(_hand_made_pair(tmp_path, stale))
    assert len(problems) == 1 and "says higher" in problems[0] and "cell 4" in problems[0]
    # A hand-edited claim: the numbers say A won, the words say the rule failed.
    edited = honest.sentence().replace(
        ", as the rule predicts.",
        ": the rule expects fine-tuning to beat head only; it did not hold in this run.",
    )
    assert "did not hold, but it did" in build.check(_hand_made_pair(tmp_path, edited))[0]


def test_check_fails_local_paths_and_warnings(tmp_path):
    import sys

    warning = (
        f"{sys.prefix}/lib/python3.11/site-packages/keras/src/trainers/epoch_iterator.py:74: "
        "UserWarning: `shuffle=True` was passed, but will be ignored\n"
    )
    problems = build.check(_hand_made_pair(tmp_path, "done\n", stderr=warning))
    assert any("a local path" in problem for problem in problems)
    assert any("a Python warning" in problem for problem in problems)
    # A build takes this machine's paths out of what it writes.
    notebook = nbformat.read(tmp_path / "99_hand_made.ipynb", as_version=4)
    build.remove_local_paths(notebook, folder=str(tmp_path))
    text = notebook.cells[-1].outputs[1]["text"]
    assert sys.prefix not in text and text.startswith("<python>/lib/python3.11/site-packages")


def test_colab_badge_and_install_line_come_from_pyproject():
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as file:
        repository = tomllib.load(file)["project"]["urls"]["Repository"].rstrip("/")
    owner_repo = repository.removeprefix("https://github.com/")
    assert owner_repo.count("/") == 1, repository
    for path in NOTEBOOKS:
        badge = (
            "https://colab.research.google.com/github/"
            f"{owner_repo}/blob/main/notebooks/{path.stem}.ipynb"
        )
        # A plain pip install from the repository (the wheel carries the kit's data).
        kit = f'kit = "tl-templates[notebooks] @ git+{repository}"'
        install = '"pip", "install", "-q", kit]'
        source = path.read_text()
        assert badge in source, f"{path.name}: badge"
        assert kit in source and install in source, f"{path.name}: install cell"
        assert "git clone" not in source and '"-e"' not in source, f"{path.name}: a clone"
        notebook = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
        assert badge in notebook.cells[0].source
        assert kit in notebook.cells[1].source and install in notebook.cells[1].source
        assert 'if "google.colab" in sys.modules:' in notebook.cells[1].source


# The smoke test checks the full-mode code path (TFDS loading, a weights file given by
# path, the full-size branches), not a model: the small lab backbone compiles in seconds
# where EfficientNetB0 takes minutes on a CPU. Loading keras.applications weights from a
# local file is tested in test_backbones.py.
SMOKE_BACKBONE = "lab_glyphs"


@pytest.fixture(scope="module")
def local_weights(tmp_path_factory):
    """A weights file made here: stands in for the ImageNet download."""
    import tl_templates

    path = tmp_path_factory.mktemp("weights") / f"{SMOKE_BACKBONE}.weights.h5"
    tl_templates.build_backbone(SMOKE_BACKBONE, (32, 32, 3), weights=None).save_weights(path)
    return path


@pytest.fixture(scope="module")
def local_yamnet_weights(tmp_path_factory):
    """YAMNet with random weights, saved here: stands in for the AudioSet download."""
    import tl_templates

    path = tmp_path_factory.mktemp("weights") / "yamnet.weights.h5"
    tl_templates.build_backbone("yamnet", weights=None).save_weights(path)
    return path


@pytest.mark.parametrize("name", sorted(FULL_MODE_SMOKE))
def test_full_mode_runs_offline_on_mock_data(name, request):
    local_weights = request.getfixturevalue(SMOKE_WEIGHTS.get(name, "local_weights"))
    path = ROOT / "notebooks" / f"{name}.py"
    notebook = build.read_source(path)
    index = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    settings = {
        "QUICK": False,
        "BACKBONE": SMOKE_BACKBONE,
        "WEIGHTS": str(local_weights),
        **FULL_MODE_SMOKE[name],
    }
    lines = [
        "import tensorflow_datasets as tfds",
        "_mock_data = tfds.testing.mock_data(num_examples=300)  # TFDS's own fake examples",
        "_mock_data.__enter__()",
        *[f"{key} = {json.dumps(value) if not isinstance(value, bool) else value}"
          for key, value in settings.items()],
    ]  # fmt: skip
    cell = notebook.cells[index].copy()
    cell.source = notebook.cells[index].source.replace("QUICK = True", "QUICK = False", 1)
    cell.metadata = {}
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell("\n".join(lines)))
    notebook.cells[index] = cell

    cpu_seconds = build.execute(notebook, name)

    printed = _text(_code_outputs(notebook))
    assert "mixed precision: False" in printed  # asked for, but there is no GPU here
    # The target came from (mock) TensorFlow Datasets, or the notebook's own source.
    assert SMOKE_DATA_MARKER.get(name, "TFDS ") in printed
    print(f"{name} (full mode, tiny): kernel CPU time {cpu_seconds:.0f} s")
