"""Per-class reports and the confusion matrix."""

import numpy as np
import pytest

import tl_templates


def test_report_numbers_by_hand():
    labels = [0, 0, 0, 1, 1, 2]
    predicted = [0, 0, 1, 1, 2, 2]
    report = tl_templates.classification_report(labels, predicted, ["a", "b", "c"])
    # a: 2 of 2 predicted right, 2 of 3 found; b: 1 of 2, 1 of 2; c: 1 of 2, 1 of 1.
    assert report["classes"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}
    )
    assert report["classes"]["b"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    assert report["classes"]["c"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert report["accuracy"] == pytest.approx(4 / 6) and report["examples"] == 6
    assert report["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert "accuracy 0.667 on 6 examples" in tl_templates.describe_report(report)


def test_a_class_never_predicted_or_never_present_scores_zero_not_nan():
    report = tl_templates.classification_report([0, 0], [0, 0], ["a", "b"])
    assert report["classes"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_confusion_matrix_png(tmp_path):
    matrix = tl_templates.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], 3)
    assert matrix.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    path = tl_templates.plot_confusion_matrix(matrix, ["a", "b", "c"], tmp_path / "cm.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.asarray(matrix).sum() == 4


def test_macro_f1_averages_the_classes_present():
    report = tl_templates.classification_report([0, 0, 1], [0, 0, 1], ["a", "b", "c", "d"])
    assert report["macro_f1"] == 1.0


# The image-classifier's evaluate.py, with the other templates': tests/test_evaluate_scripts.py.
