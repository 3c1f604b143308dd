"""Every benchmark runs at a tiny size and ends with one JSON line of its figures.

Speed is measured by the benchmarks themselves (benchmarks/README.md), not
asserted here: these runs are far too small, on a shared CPU, to time.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

TINY = ["--backbone", "lab_glyphs", "--image-size", "32", "--images", "20", "--batch-size", "8"]
SCRIPTS = {
    "feature_extraction_cache": ["--epochs", "2"],
    "fine_tuning_prefix_cache": ["--epochs", "1"],
    "frozen_blocks_step_time": ["--steps", "1", "--frozen", "0,6"],  # of 6 blocks
    "input_pipeline_throughput": ["--steps", "1"],
    "fine_tuning_memory": ["--steps", "1"],
}
FIGURES = {
    "feature_extraction_cache": ["cached_seconds", "plain_seconds", "cached_over_floor"],
    "fine_tuning_prefix_cache": ["cached_seconds", "whole_model_seconds", "speedup"],
    "frozen_blocks_step_time": ["step_seconds", "all_trainable_over_top_2"],
    "input_pipeline_throughput": ["in_memory_images_per_second", "in_memory_over_training"],
    "fine_tuning_memory": ["most_frozen_peak_mib", "all_trainable_over_most_frozen"],
}


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# Peak memory on a CPU needs an allocator chosen before TensorFlow starts, so
# that benchmark runs as its own process, as a user runs it.
OWN_PROCESS = {"fine_tuning_memory"}


def load(name):
    path = BENCHMARKS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_benchmark_runs_tiny_and_ends_with_a_json_line(name, capsys):
    if name in OWN_PROCESS:
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        environment.pop("TF_CPU_ALLOCATOR_USE_BFC", None)  # the script sets it itself
        run = subprocess.run(
            [sys.executable, str(BENCHMARKS / f"{name}.py"), *TINY, *SCRIPTS[name]],
            capture_output=True, text=True, env=environment, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        output = run.stdout
    else:
        keras.backend.clear_session()
        load(name).main([*TINY, *SCRIPTS[name]])
        output = capsys.readouterr().out
    lines = output.strip().splitlines()
    assert len(lines) >= 2  # the figures for a reader, then the JSON line
    figures = json.loads(lines[-1])
    assert figures["backbone"] == "lab_glyphs" and figures["precision"] == "float32"
    for key in FIGURES[name]:
        assert figures[key] is not None and key.islower()
    assert all(key == key.lower() and " " not in key for key in figures)


def test_template_vs_library_runs_a_generated_project_and_ends_with_a_json_line():
    # 3 digits a class: the project trains on 1, validates on 1 and tests on 1; the
    # suite's TL_TEMPLATES_MIN_STEPS=0 keeps the runs tiny. The figures are not asserted.
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / "template_vs_library.py"), "--shots", "3",
         "--no-library"],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    assert lines[-2].startswith("| 3 | ")  # the table for a reader, then the JSON line
    row = json.loads(lines[-1])["rows"]["3"]
    assert row["template_scratch"]["strategy"] == "train_from_scratch"
    for run_name in ("template_default", "template_scratch"):
        assert 0 <= row[run_name]["held_out_accuracy"] <= 1
        assert row[run_name]["own_test_examples"] == 10


def test_export_size_latency_runs_tiny_and_ends_with_a_json_line(capsys):
    keras.backend.clear_session()
    load("export_size_latency").main(
        ["--repeats", "1", "--examples", "2", "--templates", "image-classifier",
         "--quantize", "none", "int8"]
    )  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("image-classifier (lab_glyphs")  # the table, then the JSON line
    figures = json.loads(lines[-1])
    for quantize in ("none", "int8"):
        key = f"image_classifier_{quantize}"
        assert figures[f"{key}_bytes"] > 0 and figures[f"{key}_latency_ms"] > 0
        assert 0 <= figures[f"{key}_top1_agreement"] <= 1
    assert figures["image_classifier_int8_bytes"] < figures["image_classifier_none_bytes"]
    assert all(key == key.lower() and " " not in key for key in figures)
