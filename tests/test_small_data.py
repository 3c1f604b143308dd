"""The product path on small real data: a generated image classifier on 10 MNIST digits a class.

Real handwritten digits the kit did not generate (data/targets/mnist_subset.npz),
written as PNG files in class folders, trained with `python train.py --data`,
and scored on 300 other digits the run never saw. The budgets are halved (300
steps a phase) to keep the test short; benchmarks/template_vs_library.py
measures the full defaults at 5, 10 and 20 a class.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tl_templates
from tl_templates.data import image_folder
from tl_templates.planning import budgets
from tl_templates.project import generate as projects

PER_CLASS = 10
HELD_OUT_PER_CLASS = 30
MIN_STEPS = 300


def write_digits(folder, images, labels):
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / str(label) / f"{index:05d}.png")
    return folder


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A user's folder of 10 digits a class, and 300 held-out digits read the same way."""
    subset = np.load(Path(__file__).resolve().parents[1] / "data" / "targets" / "mnist_subset.npz")
    rng = np.random.default_rng(7)
    train, held_out = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(subset["labels"] == digit))
        train.extend(members[:PER_CLASS])
        held_out.extend(members[PER_CLASS : PER_CLASS + HELD_OUT_PER_CLASS])
    root = tmp_path_factory.mktemp("digits")
    folder = write_digits(root / "mine", subset["images"][train], subset["labels"][train])
    held_out_folder = write_digits(root / "held_out", subset["images"][held_out],
                                   subset["labels"][held_out])  # fmt: skip
    files = sorted(held_out_folder.glob("*/*.png"))
    images = image_folder.load_images(files, 32).astype("float32")
    labels = np.array([int(path.parent.name) for path in files])
    return folder, (images, labels)


@pytest.fixture(scope="module")
def runs(digits, tmp_path_factory):
    """The project's default run and its from-scratch run, side by side (two cores)."""
    project = projects.new_project("image-classifier", output_dir=tmp_path_factory.mktemp("baked"))
    environment = {**os.environ, budgets.MIN_STEPS_VARIABLE: str(MIN_STEPS)}
    commands = {"default": [], "scratch": ["--weights", "none"]}
    outputs = {name: project / f"outputs-{name}" for name in commands}
    processes = {
        name: subprocess.Popen(
            [
                sys.executable,
                "train.py",
                "--data",
                str(digits[0]),
                "--output",
                str(outputs[name]),
                "--quiet",
                *flags,
            ],
            cwd=project,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name, flags in commands.items()
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=900)
        assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
        model = tl_templates.load_model(outputs[name] / "model.keras")
        images, labels = digits[1]
        held_out = float(np.mean(np.argmax(model.predict(images, verbose=0), axis=1) == labels))
        metrics = json.loads((outputs[name] / "metrics.json").read_text())
        results[name] = {"stdout": stdout, "metrics": metrics, "held_out": held_out,
                         "output": outputs[name]}  # fmt: skip
    return results


def test_defaults_beat_their_own_scratch_run_which_beats_chance_widely(runs):
    default, scratch = runs["default"]["held_out"], runs["scratch"]["held_out"]
    assert scratch > 0.6, f"scratch {scratch:.3f} on 300 held-out digits (chance: 0.1)"
    assert default > scratch, f"defaults {default:.3f}, scratch {scratch:.3f}"


def test_the_split_leaves_most_digits_for_training(runs):
    assert runs["default"]["metrics"]["examples"] == {"train": 80, "validation": 10, "test": 10}


def test_auto_records_what_it_compared(runs):
    metrics = runs["default"]["metrics"]
    auto = metrics["auto"]
    assert auto["prior"] == "feature_extraction"  # the advisor: small and similar
    assert set(auto["scores"]) == {"feature_extraction", "fine_tune_top"}
    assert all(0 <= score <= 1 for score in auto["scores"].values())
    assert metrics["strategy"] == auto["strategy"] and auto["validation_examples"] == 10
    assert auto["reason"] in runs["default"]["stdout"]
    for strategy in auto["scores"]:
        assert (runs["default"]["output"] / "candidates" / strategy / "history.csv").is_file()


def test_every_phase_runs_its_minimum_of_steps(runs):
    for run in runs.values():
        for phase in run["metrics"]["phases"]:
            wanted = MIN_STEPS // 2 if phase["name"] == "feature_extraction" else MIN_STEPS
            assert phase["steps"] >= wanted, phase


def test_random_weights_never_train_with_a_fine_tuning_learning_rate(runs):
    metrics = runs["scratch"]["metrics"]
    scratch_rate = tl_templates.plan_strategy("train_from_scratch", "lab_glyphs").head_learning_rate
    assert metrics["strategy"] == "train_from_scratch" and metrics["auto"] is None
    assert [(phase["name"], phase["learning_rate"]) for phase in metrics["phases"]] == [
        ("scratch", scratch_rate)
    ]


def test_the_test_accuracy_comes_with_its_interval(runs):
    for run in runs.values():
        interval = run["metrics"]["test_accuracy_interval"]
        accuracy = run["metrics"]["test_accuracy"]
        assert interval["examples"] == 10 and interval["low"] <= accuracy <= interval["high"]
        assert interval["high"] - interval["low"] > 0.2  # ten images say little
        printed = tl_templates.describe_accuracy(accuracy, 10, "images")
        assert printed in run["stdout"] and "95% CI" in printed


def test_the_final_model_is_refit_on_train_and_validation(runs):
    # 80 training + 10 validation digits: the chosen strategy trains again on all
    # 90 with the same budget; the 10 test digits stay out.
    for run in runs.values():
        refit = run["metrics"]["refit"]
        assert refit["examples"] == 90
        assert [phase["name"] for phase in refit["phases"]] == [
            phase["name"] for phase in run["metrics"]["phases"]
        ]
        for phase in refit["phases"]:
            wanted = MIN_STEPS // 2 if phase["name"] == "feature_extraction" else MIN_STEPS
            assert phase["steps"] >= wanted, phase
        assert (run["output"] / "refit" / "history.csv").is_file()
        assert "refit              on train + validation, 90 images" in run["stdout"]
