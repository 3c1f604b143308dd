"""This project's own tests: python -m pytest tests"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from config import load_config  # noqa: E402
from model import build_model, choose_plan  # noqa: E402


def test_config_loads_with_the_generated_answers():
    config = load_config()
    assert config.backbone == "{{ cookiecutter.backbone }}"
    assert config.image_size == {{ cookiecutter.image_size }}
    assert config.data_path.is_dir()


def test_unknown_setting_is_named(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text('backbon = "x"\n')
    with pytest.raises(ValueError, match="unknown setting 'backbon'"):
        load_config(bad)


def test_model_outputs_one_probability_per_class():
    config = load_config(weights="none")
    plan = choose_plan(config, train_examples=100)
    model = build_model(config, plan, num_classes=4)
    assert model.output_shape == (None, 4)
    assert model.input_shape == (None, config.image_size, config.image_size, 3)


def test_output_layer_stays_float32_under_mixed_precision():
    import keras

    config = load_config(weights="none")
    plan = choose_plan(config, train_examples=100)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(config, plan, num_classes=4)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("pool").compute_dtype == "float16"  # the body computes in float16 ...
    assert model.get_layer("classifier").compute_dtype == "float32"  # ... the softmax in float32
    assert model.output.dtype == "float32"


# A short training budget, the same wherever these tests run (the kit's test suite asks
# for no minimum): at least 200 optimizer steps a phase that trains blocks, 100 for the head
# (README: "Budgets").
SHORT_BUDGET = {**os.environ, "TL_TEMPLATES_MIN_STEPS": "200"}


def test_train_and_predict_end_to_end(tmp_path):
    output = tmp_path / "outputs"
    train = subprocess.run(
        [sys.executable, "train.py", "--head-epochs", "1", "--fine-tune-epochs", "1",
         "--output", str(output), "--quiet"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600, env=SHORT_BUDGET,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    # Well above chance (1 in 10 digits; a constant guess scores about 0.1): the sample
    # run measured 0.967 (95% CI 0.886-0.991) on its 60 test digits.
    chance = 1 / len(metrics["class_names"])
    assert metrics["test_accuracy"] >= 0.8, metrics["test_accuracy_interval"]
    assert metrics["test_accuracy_interval"]["low"] > chance + 0.3
    for name in ("model.keras", "history.csv", "training.png", "labels.txt"):
        assert (output / name).is_file(), name

    image = next((PROJECT_DIR / "data" / "sample").rglob("*.png"))
    predict = subprocess.run(
        [sys.executable, "predict.py", str(image), "--model", str(output / "model.keras")],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert predict.returncode == 0, predict.stderr[-3000:]
    label, probability = predict.stdout.strip().rsplit(": ", 1)[1].split(" (")
    assert label in metrics["class_names"]
    assert 0.0 <= float(probability.rstrip(")")) <= 1.0
