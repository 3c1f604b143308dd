"""Helpers shared by the tests (import them: `from helpers import ...`)."""

import numpy as np


def tiny_input_shape(spec):
    """The smallest input a backbone accepts, to keep tests fast."""
    if spec.input_kind == "audio":
        return (spec.min_input_size,)
    size = max(32, spec.min_input_size)
    return (size, size, 3)


def random_images(count, size=32, seed=0):
    """Raw RGB pixels in [0, 255], as a float32 NHWC array."""
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, 3)).astype("float32")


def weights_by_layer(model):
    """`{layer name: [numpy arrays]}` for every layer with weights."""
    return {
        layer.name: [np.array(weight.numpy()) for weight in layer.weights]
        for layer in model.layers
        if layer.weights
    }


def write_image_folder(root, counts, size=16, seed=0):
    """`root/<class>/<n>.png` with `counts[class]` random images per class."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for class_name, count in counts.items():
        folder = root / class_name
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(count):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{number}.png")
    return root


def tone(frequency, samples, sample_rate=16_000, amplitude=0.5):
    """A sine tone as float32 samples."""
    time = np.arange(samples) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * time)).astype("float32")


def write_wav_folder(root, counts, samples=15_600, seed=0):
    """`root/<class>/<n>.wav`: class i is a noisy tone at its own pitch, 16-bit 16 kHz."""
    from tl_templates.data.audio_files import write_wav

    rng = np.random.default_rng(seed)
    for index, (class_name, count) in enumerate(counts.items()):
        folder = root / class_name
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(count):
            clip = tone(300.0 * (index + 1) * rng.uniform(0.95, 1.05), samples)
            write_wav(folder / f"{number}.wav", clip + 0.05 * rng.standard_normal(samples))
    return root


def finish(process, timeout=600):
    """Waits for a `subprocess.Popen` with stdout piped; fails with the end of its log
    unless it exited 0. Returns the whole log."""
    log, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, log[-3000:]
    return log


def committed_epochs(output):
    """Epochs committed to a run's resume checkpoint so far (0 before the first)."""
    import json

    try:
        with np.load(output / "checkpoints" / "resume.npz", allow_pickle=False) as arrays:
            return json.loads(str(arrays["state"]))["epochs_done"]
    except (FileNotFoundError, ValueError, KeyError, OSError):
        return 0  # none yet, or caught in the middle of a rename


def compile_multitask_eagerly(model, heads, learning_rate, **options):
    """`compile_multitask`, run eagerly: on a few tiny batches, tracing costs more than it saves."""
    import tl_templates

    tl_templates.compile_multitask(model, heads, learning_rate, **options)
    model.run_eagerly = True


class Disconnected(Exception):
    """Stands for the process dying (a Colab disconnect) right after a commit."""


def disconnect_after_commit(monkeypatch, epoch):
    """Makes `TrainingRun.commit` raise `Disconnected` right after it commits `epoch`."""
    from tl_templates.training import resume

    commit = resume.TrainingRun.commit

    def commit_then_die(run, *args, **kwargs):
        commit(run, *args, **kwargs)
        if run.epochs_done == epoch:
            raise Disconnected

    monkeypatch.setattr(resume.TrainingRun, "commit", commit_then_die)
