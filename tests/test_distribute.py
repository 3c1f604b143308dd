"""Distribution: choosing a strategy, the batch size, and training a generated project
on two replicas (MirroredStrategy) and on two worker processes (MultiWorkerMirroredStrategy)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import write_image_folder

import tl_templates
from tl_templates.project import generate as projects
from tl_templates.training import distribute

PROCESS_TIMEOUT = 300  # seconds; a worker whose peer died would otherwise wait forever


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A generated image-classifier and a tiny three-class data folder for it."""
    root = tmp_path_factory.mktemp("distributed")
    folder = projects.new_project("image-classifier", output_dir=root)
    # These tests compare distribution strategies; an augmented batch draws its random
    # changes per batch, which differs with how the batch is split across replicas.
    config = folder / "config.toml"
    config.write_text(config.read_text().replace("[blocks]", "augment = false\n\n[blocks]", 1))
    data = write_image_folder(root / "data", {"circle": 10, "square": 10, "cross": 10}, size=32)
    return folder, data


def train_arguments(data, output, distribution):
    return [
        "--data", str(data), "--distribution", distribution, "--strategy", "fine_tune_top",
        "--head-epochs", "1", "--fine-tune-epochs", "1", "--batch-size", "4",
        "--output", str(output), "--quiet",
    ]  # fmt: skip


def quiet_environment(**extra):
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


# Choosing a strategy


def test_unknown_distribution_lists_the_valid_ones():
    with pytest.raises(ValueError, match="distribution='mirored'.*auto, default, mirrored, "
                                         "multi_worker, tpu"):  # fmt: skip
        tl_templates.choose_strategy("mirored")


def test_auto_without_accelerators_or_cluster_is_the_default_strategy(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = tl_templates.choose_strategy("auto")
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1


def test_mirrored_uses_every_local_device():
    strategy = tl_templates.choose_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == len(tf.config.list_logical_devices("CPU"))


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs the TF_CONFIG environment variable"):
        tl_templates.choose_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        tl_templates.choose_strategy("multi_worker")


def test_tpu_without_a_tpu_says_so():
    with pytest.raises(ValueError, match="no TPU was found"):
        tl_templates.choose_strategy("tpu")


def test_global_batch_is_the_per_replica_batch_times_the_replicas():
    strategy = tl_templates.choose_strategy("mirrored")
    replicas = strategy.num_replicas_in_sync
    assert tl_templates.global_batch_size(8, strategy) == 8 * replicas
    assert tl_templates.global_batch_size(8, tf.distribute.get_strategy()) == 8
    with pytest.raises(ValueError, match="batch_size=0"):
        tl_templates.global_batch_size(0, strategy)


def test_training_code_runs_in_the_scope_the_model_was_built_in():
    strategy = tl_templates.choose_strategy("mirrored")
    with strategy.scope():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    @distribute.in_model_scope
    def current_strategy(model):
        return tf.distribute.get_strategy()

    assert current_strategy(model) is strategy
    assert tf.distribute.get_strategy() is not strategy  # left the scope again


# Who writes the outputs


def resolver(task_type, task_id, cluster):
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id
    )


def cluster_member(task_type, task_id, cluster):
    """Stands for a strategy in a cluster: `is_chief` reads only its cluster resolver."""
    return types.SimpleNamespace(cluster_resolver=resolver(task_type, task_id, cluster))


def test_the_chief_is_the_chief_task_or_else_worker_zero():
    workers = {"worker": ["localhost:1", "localhost:2"]}
    with_chief = {"chief": ["localhost:0"], **workers}
    assert tl_templates.is_chief(tf.distribute.get_strategy())
    assert tl_templates.is_chief(cluster_member("worker", 0, workers))
    assert not tl_templates.is_chief(cluster_member("worker", 1, workers))
    assert tl_templates.is_chief(cluster_member("chief", 0, with_chief))
    assert not tl_templates.is_chief(cluster_member("worker", 0, with_chief))


def test_other_workers_write_to_a_copy_that_resumes_with_the_chief(tmp_path):
    output = tmp_path / "outputs"
    (output / "checkpoints").mkdir(parents=True)
    (output / "checkpoints" / "resume.npz").write_bytes(b"state")
    (output / "history.csv").write_text("epoch,phase\n1,feature_extraction\n")
    workers = {"worker": ["localhost:1", "localhost:2"]}

    assert tl_templates.worker_output_dir(output, tf.distribute.get_strategy()) == output
    assert tl_templates.worker_output_dir(output, cluster_member("worker", 0, workers)) == output
    copy = tl_templates.worker_output_dir(output, cluster_member("worker", 1, workers))
    assert copy != output and copy.name.startswith("outputs-worker1-")
    assert (copy / "checkpoints" / "resume.npz").read_bytes() == b"state"
    assert (copy / "history.csv").read_text() == (output / "history.csv").read_text()
    fresh = tl_templates.worker_output_dir(
        output, cluster_member("worker", 1, workers), restart=True
    )
    assert list(fresh.iterdir()) == []
    assert sorted(path.name for path in output.iterdir()) == ["checkpoints", "history.csv"]


# Training a generated project on several replicas

MIRRORED_RUNNER = """
import sys
import tl_templates
tl_templates.use_logical_cpus(2)  # before TensorFlow initialises its devices
sys.path.insert(0, ".")
import train
train.main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def mirrored_run(project, tmp_path_factory):
    """The generated project trained by MirroredStrategy over two logical CPU devices."""
    folder, data = project
    output = tmp_path_factory.mktemp("mirrored") / "outputs"
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_RUNNER, *train_arguments(data, output, "mirrored")],
        cwd=folder, capture_output=True, text=True, timeout=PROCESS_TIMEOUT,
        env=quiet_environment(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return output, result.stdout


def test_mirrored_over_two_logical_cpus_trains_a_generated_project(mirrored_run):
    output, stdout = mirrored_run
    assert "Distribution: MirroredStrategy, 2 replica(s), batch size 8" in stdout
    metrics = json.loads((output / "metrics.json").read_text())
    assert [phase["name"] for phase in metrics["phases"]] == ["feature_extraction", "fine_tuning"]
    assert metrics["phases"][0]["cached_features"]  # phase 1 trained the head on cached features
    rows = tl_templates.read_history(output / "history.csv")
    assert [(row["epoch"], row["phase"]) for row in rows] == [
        (1, "feature_extraction"),
        (2, "fine_tuning"),
    ]
    assert all(np.isfinite(row["loss"]) and np.isfinite(row["val_loss"]) for row in rows)
    assert (output / "model.keras").is_file()


def first_examples(sample, count, folder):
    """The first `count` rows of a labels.csv + images/ sample, copied to `folder`."""
    lines = (sample / "labels.csv").read_text(encoding="utf-8").splitlines()
    (folder / "images").mkdir(parents=True)
    for line in lines[1 : count + 1]:
        shutil.copy(sample / "images" / line.split(",")[0], folder / "images")
    (folder / "labels.csv").write_text("\n".join(lines[: count + 1]) + "\n", encoding="utf-8")
    return folder


# template: (its own train.py arguments, a test metric its metrics.json must hold)
OTHER_TEMPLATES = {
    "face-multitask": (["--image-size", "32"], "gender_accuracy"),
    "driving-multilabel": (["--image-size", "32"], "mean_auc"),
    # Augmentation runs in the input pipeline, outside the strategy's scope.
    "audio-classifier": (["--augment"], "test_accuracy"),
}


@pytest.mark.parametrize("template", OTHER_TEMPLATES)
def test_mirrored_over_two_logical_cpus_trains_the_other_templates(template, tmp_path):
    extra_arguments, metric = OTHER_TEMPLATES[template]
    folder = projects.new_project(template, output_dir=tmp_path)
    sample = folder / "data" / "sample"
    # Images: 80 of the 400 bundled examples. Audio: its 54 clips, 9 for validation:
    # the first validation batch splits 5 + 4 over the replicas, which Keras alone
    # cannot build from (distribute._fix_keras_for_replicas). No split here ends with
    # a batch smaller than the replicas: one replica would get no examples, and
    # oneDNN's CPU convolution returns an empty batch unchanged (wrong shape).
    data = sample
    if template != "audio-classifier":
        data = first_examples(sample, 80, tmp_path / "data")
    output = tmp_path / "outputs"
    arguments = [
        "--data", str(data), "--distribution", "mirrored", "--strategy", "fine_tune_top",
        "--head-epochs", "1", "--fine-tune-epochs", "1", "--batch-size", "8",
        "--output", str(output), "--quiet", *extra_arguments,
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_RUNNER, *arguments], cwd=folder, capture_output=True,
        text=True, timeout=PROCESS_TIMEOUT, env=quiet_environment(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Distribution: MirroredStrategy, 2 replica(s), batch size 16" in result.stdout
    metrics = json.loads((output / "metrics.json").read_text())
    assert [phase["name"] for phase in metrics["phases"]] == ["feature_extraction", "fine_tuning"]
    assert 0.0 <= metrics[metric] <= 1.0
    rows = tl_templates.read_history(output / "history.csv")
    assert [row["phase"] for row in rows] == ["feature_extraction", "fine_tuning"]
    assert all(np.isfinite(row["loss"]) and np.isfinite(row["val_loss"]) for row in rows)
    assert (output / "model.keras").is_file()


WORKER_RUNNER = """
import shutil, sys
import tl_templates
from tl_templates.training import distribute

folders = []  # where this process wrote: the chief's --output, or a worker's temporary folder


def recording_worker_output_dir(*args, **kwargs):
    folders.append(distribute.worker_output_dir(*args, **kwargs))
    return folders[-1]


tl_templates.worker_output_dir = recording_worker_output_dir
sys.path.insert(0, ".")
import train
copy_to, arguments = sys.argv[1], sys.argv[2:]
train.main(arguments)
shutil.copy(folders[0] / "model.keras", copy_to)  # before exit removes a worker's folder
"""


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for one in sockets:
        one.bind(("localhost", 0))
    ports = [one.getsockname()[1] for one in sockets]
    for one in sockets:
        one.close()
    return ports


def test_two_workers_on_loopback_train_and_agree_on_the_final_weights(
    project, mirrored_run, tmp_path
):
    folder, data = project
    output = tmp_path / "outputs"
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    processes = []
    for index in range(2):
        temporary = tmp_path / f"tmp{index}"  # the worker's own temporary folders go here
        temporary.mkdir()
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen(
            [sys.executable, "-c", WORKER_RUNNER, str(tmp_path / f"model{index}.keras"),
             *train_arguments(data, output, "multi_worker")],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=quiet_environment(TF_CONFIG=tf_config, TMPDIR=str(temporary)),
        ))  # fmt: skip
    try:
        logs = [process.communicate(timeout=PROCESS_TIMEOUT) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, (stdout, stderr) in zip(processes, logs, strict=True):
        assert process.returncode == 0, stdout[-2000:] + stderr[-3000:]
    assert "this process: worker 0 (chief), batch size 8" in logs[0][0]
    assert "this process: worker 1 (worker), batch size 8" in logs[1][0]

    # Only the chief wrote to --output; the other worker's folder is gone.
    metrics = json.loads((output / "metrics.json").read_text())
    assert [phase["name"] for phase in metrics["phases"]] == ["feature_extraction", "fine_tuning"]
    assert f"Written to {output}:" in logs[0][0]
    assert f"Written to {tmp_path / 'tmp1'}" in logs[1][0]  # outputs-worker1-... there
    assert list((tmp_path / "tmp1").iterdir()) == []  # and removed at exit

    chief, worker = (keras.saving.load_model(tmp_path / f"model{i}.keras") for i in range(2))
    assert len(chief.weights) == len(worker.weights) > 0
    for ours, theirs in zip(chief.weights, worker.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=ours.path)

    # Two workers with one replica each train as one machine with two replicas: each
    # global batch is split the same way, so the history and the weights match.
    mirrored_output, _ = mirrored_run
    workers = tl_templates.read_history(output / "history.csv")
    replicas = tl_templates.read_history(mirrored_output / "history.csv")
    for column in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(
            [row[column] for row in workers], [row[column] for row in replicas], rtol=1e-4,
            err_msg=column,
        )  # fmt: skip
    mirrored = keras.saving.load_model(mirrored_output / "model.keras")
    for weight, mirrored_weight in zip(chief.weights, mirrored.weights, strict=True):
        np.testing.assert_allclose(
            weight.numpy(), mirrored_weight.numpy(), rtol=1e-4, atol=1e-6, err_msg=weight.path
        )


# The library's training functions under a strategy (one replica here: the process has
# one CPU device; a variable made outside the model's scope fails even then)


def test_train_multitask_trains_a_model_built_in_a_strategy(tmp_path):
    # train_classifier: the generated projects above. Here the multi-task trainer.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    heads = [tl_templates.TaskHead("gender", "binary")]
    with strategy.scope():
        model = tl_templates.build_multitask_model(
            "lab_glyphs", heads, input_shape=(32, 32, 3), weights=None
        )
    plan = tl_templates.plan_strategy("fine_tune_top", "lab_glyphs")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 32, 32, 3)).astype("uint8")
    targets = {"gender": rng.integers(0, 2, 12).astype("float32")}
    halves = {"gender": targets["gender"][:6]}
    phases = tl_templates.train_multitask(
        model, heads, plan, (images, targets), (images[:6], halves), head_epochs=1,
        fine_tune_epochs=1, batch_size=4, output_dir=tmp_path, verbose=0,
    )  # fmt: skip
    assert [phase.name for phase in phases] == ["feature_extraction", "fine_tuning"]
    assert all(np.isfinite(phase.best_val_task_loss) for phase in phases)


def test_a_finished_run_restores_into_a_model_built_in_a_strategy(tmp_path):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    plan = tl_templates.plan_strategy("fine_tune_top", "lab_glyphs")
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (12, 32, 32, 3)).astype("uint8")
    labels = rng.integers(0, 3, 12)

    def build_and_train():
        with strategy.scope():
            backbone = tl_templates.build_backbone("lab_glyphs", (32, 32, 3), weights=None)
            inputs = keras.Input((32, 32, 3))
            pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
            model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled))
        phases = tl_templates.train_classifier(
            model, plan, (images, labels), (images[:6], labels[:6]), head_epochs=1,
            fine_tune_epochs=1, batch_size=4, output_dir=tmp_path, verbose=0,
        )  # fmt: skip
        return model, phases

    trained, phases = build_and_train()
    assert [phase.name for phase in phases] == ["feature_extraction", "fine_tuning"]
    restored, again = build_and_train()  # a finished run: restores, trains nothing
    assert again == phases
    for weight, restored_weight in zip(trained.weights, restored.weights, strict=True):
        np.testing.assert_array_equal(weight.numpy(), restored_weight.numpy(), err_msg=weight.path)
