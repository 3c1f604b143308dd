"""A real kill: a generated project's train.py, SIGKILLed twice, finishes as if never stopped.

Also: `--seed` makes two runs give identical metrics.json, and running a
finished project again trains nothing.
"""

import json
import signal
import subprocess
import sys
import time

import pytest
from helpers import committed_epochs, finish, write_image_folder

import tl_templates
from tl_templates.project import generate as projects

HEAD_EPOCHS, FINE_TUNE_EPOCHS = 4, 6
TOTAL_EPOCHS = HEAD_EPOCHS + FINE_TUNE_EPOCHS
# Small batches: several steps per epoch, so that an epoch lasts long enough to be killed in.
TRAIN_ARGS = [
    "--strategy", "fine_tune_top", "--head-epochs", str(HEAD_EPOCHS),
    "--fine-tune-epochs", str(FINE_TUNE_EPOCHS), "--batch-size", "4", "--seed", "3", "--quiet",
]  # fmt: skip
SEED = 3


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    project = projects.new_project("image-classifier", output_dir=root)
    data = write_image_folder(root / "data", {"a": 10, "b": 10, "c": 10}, size=32)
    return project, data


def start_training(project, output, *extra):
    project, data = project
    return subprocess.Popen(
        [sys.executable, "train.py", "--data", str(data), "--output", str(output), *TRAIN_ARGS,
         *extra],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def two_seeded_runs(project, tmp_path_factory):
    """Two uninterrupted runs with the same --seed, side by side.

    The second starts with --restart over an old finished run, which must be
    moved aside untouched.
    """
    outputs = [tmp_path_factory.mktemp(f"seeded{index}") for index in (1, 2)]
    (outputs[1] / "metrics.json").write_text('{"test_accuracy": 0.1, "kit_version": "0.1.0"}')
    processes = [start_training(project, outputs[0]),
                 start_training(project, outputs[1], "--restart")]  # fmt: skip
    logs = [finish(process) for process in processes]
    moved = list(outputs[1].parent.glob(f"{outputs[1].name}-previous-*"))
    assert len(moved) == 1 and f"Moved the previous run to {moved[0]}" in logs[1]
    assert (moved[0] / "metrics.json").read_text() == '{"test_accuracy": 0.1, "kit_version": "0.1.0"}'
    return outputs


def kill_after_commit(process, output, epochs, timeout=600):
    """SIGKILLs `process` as soon as `epochs` epochs are committed; returns the count."""
    deadline = time.monotonic() + timeout
    while committed_epochs(output) < epochs:
        if process.poll() is not None:
            pytest.fail("train.py ended before it could be killed:\n" + process.stdout.read())
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    return committed_epochs(output)


def test_two_runs_with_the_same_seed_write_identical_metrics(two_seeded_runs):
    first, second = two_seeded_runs
    assert (first / "metrics.json").read_bytes() == (second / "metrics.json").read_bytes()
    assert (first / "history.csv").read_bytes() == (second / "history.csv").read_bytes()


def test_killed_twice_train_py_continues_and_ends_as_an_uninterrupted_run(
    project, two_seeded_runs, tmp_path
):
    output = tmp_path / "outputs"
    # Killed after its first checkpoint (in phase 1, the head on cached features) ...
    done = kill_after_commit(start_training(project, output), output, epochs=1)
    assert 1 <= done < TOTAL_EPOCHS and not (output / "metrics.json").exists()
    # ... run again, it continues, and is killed again inside phase 2 (fine-tuning) ...
    done = kill_after_commit(start_training(project, output), output, epochs=HEAD_EPOCHS + 1)
    assert HEAD_EPOCHS < done < TOTAL_EPOCHS and not (output / "metrics.json").exists()
    # ... and run a third time, it finishes.
    log = finish(start_training(project, output))
    assert f"Resuming after epoch {done} (fine_tuning)" in log

    rows = tl_templates.read_history(output / "history.csv")
    assert [row["epoch"] for row in rows] == list(range(1, TOTAL_EPOCHS + 1))
    assert [row["phase"] for row in rows] == (
        ["feature_extraction"] * HEAD_EPOCHS + ["fine_tuning"] * FINE_TUNE_EPOCHS
    )
    # Exactly the numbers of the uninterrupted runs.
    reference = two_seeded_runs[0]
    assert (output / "history.csv").read_bytes() == (reference / "history.csv").read_bytes()
    assert (output / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()

    # On 21 training images the chosen strategy trains once more on train + validation
    # (refit = "auto") and keeps its last epoch: the saved model is that one, and its
    # validation accuracy is the refit history's last.
    _, data = project
    splits = tl_templates.load_image_splits(data, 32, seed=SEED)
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["refit"]["examples"] == len(splits.train[1]) + len(splits.validation[1])
    refit_rows = tl_templates.read_history(output / "refit" / "history.csv")
    model = tl_templates.load_model(output / "model.keras")
    images, labels = splits.validation
    _, accuracy = model.evaluate(images.astype("float32"), labels, batch_size=4, verbose=0)
    assert accuracy == pytest.approx(refit_rows[-1]["val_accuracy"], abs=1e-6)
    assert not list(output.glob(".partial-*")) and not list(output.rglob(".partial-*"))

    # A finished run is not trained again.
    before = {path: path.read_bytes() for path in output.glob("*.*")}
    log = finish(start_training(project, output))
    assert "holds a finished run" in log and "--restart" in log
    assert {path: path.read_bytes() for path in output.glob("*.*")} == before
