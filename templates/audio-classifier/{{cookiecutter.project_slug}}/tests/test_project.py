"""This project's own tests: python -m pytest tests"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from config import SAMPLE_RATE, load_config  # noqa: E402
from model import build_model, choose_plan  # noqa: E402

import tl_templates  # noqa: E402
from tl_templates.data.audio_files import write_wav  # noqa: E402

# A short training budget, the same wherever these tests run (the kit's test suite asks
# for no minimum): at least 200 optimizer steps a phase that trains blocks, 100 for the head
# (README: "Budgets").
SHORT_BUDGET = {**os.environ, "TL_TEMPLATES_MIN_STEPS": "200"}


def run(args, timeout=600):
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout,
        env=SHORT_BUDGET,
    )  # fmt: skip


def test_config_loads_with_the_generated_answers():
    config = load_config()
    assert config.backbone == "{{ cookiecutter.backbone }}"
    assert config.clip_samples == round({{ cookiecutter.clip_seconds }} * SAMPLE_RATE)
    assert config.data_path.is_dir()


def test_unknown_setting_is_named(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text('backbon = "x"\n')
    with pytest.raises(ValueError, match="unknown setting 'backbon'"):
        load_config(bad)


def test_model_takes_waveforms_and_outputs_one_probability_per_class():
    config = load_config(weights="none")
    plan = choose_plan(config, train_examples=100)
    model = build_model(config, plan, num_classes=4)
    assert model.input_shape == (None, config.clip_samples)
    assert model.output_shape == (None, 4)


def test_front_end_and_softmax_stay_float32_under_mixed_precision():
    import keras

    config = load_config(weights="none")
    plan = choose_plan(config, train_examples=100)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(config, plan, num_classes=4)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    layers = {layer.name: layer for layer in model.get_layer(config.backbone).layers}
    front_end = [layer for layer in layers.values() if "log_mel" in layer.name]
    assert front_end and all(layer.compute_dtype == "float32" for layer in front_end)
    assert any(layer.compute_dtype == "float16" for layer in layers.values())  # the body
    assert model.get_layer("classifier").compute_dtype == "float32"
    assert model.output.dtype == "float32"


def test_train_predict_and_export_end_to_end(tmp_path):
    output = tmp_path / "outputs"
    train = run(["train.py", "--head-epochs", "2", "--fine-tune-epochs", "1",
                 "--output", str(output), "--quiet"])  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    # Above any constant guess (2 of the 6 test clips, one class's): the sample run
    # measured 0.83 (5 of 6). Six clips cannot show a finer margin.
    assert metrics["test_accuracy"] >= 0.5, metrics["test_accuracy_interval"]
    for name in ("model.keras", "history.csv", "training.png", "labels.txt"):
        assert (output / name).is_file(), name

    # A clip: one label. A recording of three clips in a row: detections over time.
    clips = sorted((PROJECT_DIR / "data" / "sample").rglob("*.wav"))
    recording = np.concatenate([tl_templates.read_wav(path) for path in clips[:3]])
    long_recording = tmp_path / "long.wav"
    write_wav(long_recording, recording)
    config = load_config()
    hop = round(config.window_hop_seconds * SAMPLE_RATE)
    windows = 1 + int(np.ceil((len(recording) - config.clip_samples) / hop))
    model = str(output / "model.keras")
    predict = run(["predict.py", str(clips[0]), str(long_recording), "--model", model])
    assert predict.returncode == 0, predict.stderr[-3000:]
    lines = predict.stdout.strip().splitlines()
    label, probability = lines[0].rsplit(": ", 1)[1].split(" (")
    assert label in metrics["class_names"] and 0.0 <= float(probability.rstrip(")")) <= 1.0
    assert lines[1].startswith(f"{long_recording}: {len(recording) / SAMPLE_RATE:.2f} s, "
                               f"{windows} windows of")
    assert sum(line.startswith("  ") and " s  " in line for line in lines) == windows
    assert lines[-1].startswith(f"{long_recording}: detections: ")

    # TFLite: the converted model gives the Keras model's answer on a clip.
    export = run(["export.py", "--model", model])
    assert export.returncode == 0, export.stderr[-3000:]
    assert "largest difference" in export.stdout
    clip = tl_templates.fit_to_length(tl_templates.read_wav(clips[-1]), config.clip_samples)[None]
    tflite = tl_templates.run_tflite(output / "model.tflite", clip)
    keras_model = tl_templates.load_model(model, compile=False)
    np.testing.assert_allclose(tflite, keras_model.predict(clip, verbose=0), atol=1e-4)
