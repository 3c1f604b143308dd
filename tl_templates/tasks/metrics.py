"""Metrics that skip missing labels: Keras metrics for training logs, NumPy ones for reports.

The Keras metrics are the usual ones (accuracy, AUC, precision, recall, MAE)
with every missing label (NaN or -1) given a sample weight of zero. With
`label_index` they follow one column of a multi-label output, so each label
gets its own AUC in the training logs.

The NumPy functions score a finished model on held-out data: `roc_auc`,
`precision_recall` and `best_f1_threshold`, the decision threshold that
a multi-label model should use for each label.
"""

import keras
import numpy as np
from keras import ops

from tl_templates.tasks.losses import known_mask


class _KnownLabelsOnly:
    """Mixin: selects a label column, then weighs missing labels by zero."""

    regression = False

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(y_pred, "float32")
        if self.label_index is not None:
            index = self.label_index
            y_true, y_pred = y_true[..., index : index + 1], y_pred[..., index : index + 1]
        y_true = ops.reshape(ops.cast(y_true, "float32"), ops.shape(y_pred))
        known = known_mask(y_true, negative_is_missing=not self.regression)
        weights = ops.cast(known, "float32")
        if sample_weight is not None:
            weights = weights * ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
        return super().update_state(ops.where(known, y_true, 0.0), y_pred, sample_weight=weights)

    def get_config(self):
        return {**super().get_config(), "label_index": self.label_index}


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedBinaryAccuracy(_KnownLabelsOnly, keras.metrics.BinaryAccuracy):
    """Binary accuracy over the known labels (of column `label_index`, if given)."""

    def __init__(self, label_index=None, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_index = label_index


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedAUC(_KnownLabelsOnly, keras.metrics.AUC):
    """Area under the ROC curve over the known labels (of column `label_index`)."""

    def __init__(self, label_index=None, name="auc", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_index = label_index


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedPrecision(_KnownLabelsOnly, keras.metrics.Precision):
    """Precision at `thresholds` over the known labels (of column `label_index`)."""

    def __init__(self, label_index=None, name="precision", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_index = label_index


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedRecall(_KnownLabelsOnly, keras.metrics.Recall):
    """Recall at `thresholds` over the known labels (of column `label_index`)."""

    def __init__(self, label_index=None, name="recall", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_index = label_index


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedMeanAbsoluteError(_KnownLabelsOnly, keras.metrics.MeanAbsoluteError):
    """Mean absolute error over the known regression targets (NaN where missing)."""

    regression = True

    def __init__(self, label_index=None, name="mae", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_index = label_index


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedSparseCategoricalAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy of class indices over the known labels (NaN or -1 where missing)."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        known = known_mask(y_true)
        weights = ops.cast(known, "float32")
        if sample_weight is not None:
            weights = weights * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        return super().update_state(ops.where(known, y_true, 0.0), y_pred, sample_weight=weights)


def _known(labels, scores):
    labels = np.asarray(labels, dtype="float64").ravel()
    scores = np.asarray(scores, dtype="float64").ravel()
    known = np.isfinite(labels) & (labels >= 0)
    return labels[known], scores[known]


def roc_auc(labels, scores):
    """Area under the ROC curve over the known labels; ties count half.

    The probability that a random positive scores higher than a random
    negative (the Mann-Whitney U statistic, with average ranks for ties).

    Args:
        labels: array. 1, 0, or missing (NaN or -1).
        scores: array. The model's probabilities, same length.

    Returns:
        A float, or NaN when the known labels are all of one class.

    Examples:

    >>> from tl_templates.tasks import metrics as multitask_metrics
    >>> multitask_metrics.roc_auc([1, 0, 1, float("nan")], [0.9, 0.2, 0.4, 0.0])
    1.0
    """
    labels, scores = _known(labels, scores)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):  # average rank of each run of tied scores
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    rank_sum = ranks[labels == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def precision_recall(labels, scores, threshold=0.5):
    """`(precision, recall, f1)` over the known labels, predicting positive at
    `score >= threshold`; precision is NaN when nothing is predicted positive."""
    labels, scores = _known(labels, scores)
    predicted = scores >= threshold
    true_positives = float(np.sum(predicted & (labels == 1)))
    precision = true_positives / predicted.sum() if predicted.any() else float("nan")
    recall = true_positives / labels.sum() if labels.sum() else float("nan")
    f1 = 2 * true_positives / (predicted.sum() + labels.sum()) if labels.sum() else float("nan")
    return precision, recall, f1


def best_f1_threshold(labels, scores, default=0.5):
    """The decision threshold that maximises F1 over the known labels.

    A per-label threshold matters for rare labels: a model trained on few
    positives seldom pushes them above 0.5. Candidates are the midpoints
    between consecutive distinct scores; among equal F1 the one closest to
    `default` wins.

    Returns:
        `(threshold, f1)`; `(default, nan)` when there is no known positive.
    """
    labels, scores = _known(labels, scores)
    if not labels.sum():
        return default, float("nan")
    distinct = np.unique(scores)
    candidates = np.concatenate(
        [[max(distinct[0] - 1e-6, 0.0)], (distinct[:-1] + distinct[1:]) / 2]
    )
    best = (default, -1.0)
    for threshold in candidates:
        f1 = precision_recall(labels, scores, threshold)[2]
        closer = abs(threshold - default) < abs(best[0] - default)
        if f1 > best[1] + 1e-12 or (abs(f1 - best[1]) <= 1e-12 and closer):
            best = (float(threshold), float(f1))
    return best
