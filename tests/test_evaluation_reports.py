"""The reports' computations: worst examples, bands, the wake-word trade-off, PR curves."""

import numpy as np
import pytest

import tl_templates
from tl_templates.evaluation import bands, curves, detection, mistakes

PNG = b"\x89PNG\r\n\x1a\n"


def test_worst_examples_are_the_most_confident_wrong_ones():
    labels = [0, 1, 2, 2, 1]
    probabilities = [[0.9, 0.05, 0.05],  # right
                     [0.6, 0.3, 0.1],    # wrong, 0.6
                     [0.1, 0.85, 0.05],  # wrong, 0.85
                     [0.2, 0.2, 0.6],    # right
                     [0.1, 0.2, 0.7]]  # wrong, 0.7  # fmt: skip
    worst = mistakes.worst_examples(labels, probabilities, count=5)
    assert [row["index"] for row in worst] == [2, 4, 1]
    assert worst[0] == {"index": 2, "true": 2, "predicted": 1, "probability": 0.85,
                        "true_probability": 0.05}  # fmt: skip
    assert mistakes.worst_examples([0], [[1.0, 0.0]]) == []


def test_example_grid_is_a_png_even_when_empty(tmp_path):
    images = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 3))
    path = mistakes.plot_example_grid(images, ["a", "b", "c"], tmp_path / "grid.png", columns=2)
    assert path.read_bytes()[:8] == PNG
    assert mistakes.plot_example_grid([], [], tmp_path / "none.png").read_bytes()[:8] == PNG


def test_mean_by_band_leaves_out_unknowns_and_keeps_empty_bands():
    ages = [3, 15, 25, 25, float("nan"), 80]
    errors = [1.0, 2.0, 3.0, float("nan"), 100.0, 5.0]
    rows = bands.mean_by_band(ages, errors, edges=(0, 13, 20, 30))
    assert rows == [
        {"band": "0-12", "examples": 1, "mean": 1.0},
        {"band": "13-19", "examples": 1, "mean": 2.0},
        {"band": "20-29", "examples": 1, "mean": 3.0},
        {"band": "30+", "examples": 1, "mean": 5.0},
    ]
    rows[1] = {**rows[1], "examples": 0, "mean": None}
    table = bands.describe_bands({"MAE": rows}, {"MAE": ".1f"})
    assert "13-19" in table and "1.0 (1)" in table


def test_bands_png(tmp_path):
    rows = bands.mean_by_band([5, 30, 70], [0.5, 0.7, 0.9])
    path = bands.plot_bands({"a": rows, "b": rows}, tmp_path / "bands.png")
    assert path.read_bytes()[:8] == PNG


def test_false_accepts_per_hour_and_false_rejects_by_hand():
    # Classes: 0 background, 1 "marvin" (wake word), 2 other.
    labels = [0, 0, 2, 1, 1]
    probabilities = [[0.8, 0.2, 0.0], [0.3, 0.6, 0.1], [0.1, 0.45, 0.45],
                     [0.1, 0.9, 0.0], [0.5, 0.4, 0.1]]  # fmt: skip
    scores, is_target = detection.detection_scores(labels, probabilities, [1])
    assert scores.tolist() == [0.2, 0.6, 0.45, 0.9, 0.4]
    # 3 negative clips of 1 s: one false accept is 1,200 per hour.
    curve = detection.detection_tradeoff(scores, is_target, 3.0, thresholds=[0.3, 0.5, 0.95])
    assert curve["false_accepts"] == [2, 1, 0]
    assert curve["false_accepts_per_hour"] == pytest.approx([2400, 1200, 0])
    assert curve["false_rejects"] == [0, 1, 2]
    assert curve["false_reject_rate"] == [0.0, 0.5, 1.0]


def test_the_tradeoff_moves_one_way_and_its_png(tmp_path):
    rng = np.random.default_rng(0)
    scores, is_target = rng.uniform(size=200), rng.uniform(size=200) < 0.3
    curve = detection.detection_tradeoff(scores, is_target, negative_seconds=3600)
    assert len(curve["thresholds"]) == 101 and curve["thresholds"][50] == 0.5
    assert np.all(np.diff(curve["false_accepts_per_hour"]) <= 0)  # a higher threshold fires less
    assert np.all(np.diff(curve["false_reject_rate"]) >= 0)  # and misses more
    assert curve["false_accepts_per_hour"][0] == (~is_target).sum()  # one hour of audio
    path = detection.plot_detection_tradeoff(curve, 0.5, tmp_path / "detection.png")
    assert path.read_bytes()[:8] == PNG
    no_targets = detection.detection_tradeoff([0.1], [False], 1.0, thresholds=[0.5])
    assert no_targets["false_reject_rate"] == [None]


def test_precision_recall_curve_agrees_with_precision_recall_at_every_threshold(tmp_path):
    rng = np.random.default_rng(1)
    labels = (rng.uniform(size=50) < 0.4).astype("float32")
    labels[::7] = np.nan  # unknown
    scores = np.round(rng.uniform(size=50), 2)  # with ties
    curve = curves.precision_recall_curve(labels, scores)
    assert curve["thresholds"] == sorted(curve["thresholds"], reverse=True)
    for threshold, precision, recall in zip(
        curve["thresholds"], curve["precision"], curve["recall"], strict=True
    ):
        expected = tl_templates.precision_recall(labels, scores, threshold)
        assert (precision, recall) == pytest.approx(expected[:2])
    assert curve["recall"][-1] == 1.0
    assert curves.precision_recall_curve([0, float("nan")], [0.2, 0.3])["thresholds"] == []
    path = curves.plot_precision_recall_curves(
        {"car": curve, "bus": {"thresholds": [], "precision": [], "recall": []}},
        {"car": (curve["precision"][3], curve["recall"][3], curve["thresholds"][3]),
         "bus": (None, None, 0.5)},
        tmp_path / "pr.png",
    )  # fmt: skip
    assert path.read_bytes()[:8] == PNG
