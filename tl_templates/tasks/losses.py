"""Masked losses: a missing label adds nothing to the loss or its gradient.

In multi-task data some labels are unknown: a face with an age but no gender,
a street scene where nobody checked for stop signs. The kit's readers turn
every missing marker (an empty cell, "?", -1, NaN) into NaN. These losses
average over the known labels of a batch only, so the other tasks of the same
example still train, and a batch with no known label for a task gives 0.

The maths are plain functions of tensors; the Keras `Loss` classes are thin
wrappers over them that save with the model and load with `safe_mode=True`.

How a missing label is kept out of the gradient: the label is first replaced
by a harmless value (`where(known, y_true, 0)`), the loss is computed for every
entry, then multiplied by the 0/1 mask. The masked entries are finite numbers
times zero, so their gradient is exactly zero (a NaN label multiplied by zero
would still be NaN, and would poison the whole batch).
"""

import keras
from keras import ops

# Probabilities are clipped this far from 0 and 1 before taking logarithms.
EPSILON = 1e-7


def known_mask(y_true, negative_is_missing=True):
    """True where a label is known.

    Args:
        y_true: tensor. Labels, NaN where missing.
        negative_is_missing: bool. Also treat negative labels (-1) as missing;
            right for class labels, wrong for regression targets.

    Returns:
        A boolean tensor of the shape of `y_true`.
    """
    y_true = ops.convert_to_tensor(y_true, dtype="float32")
    known = ops.logical_not(ops.isnan(y_true))
    if negative_is_missing:
        known = ops.logical_and(known, ops.greater_equal(ops.nan_to_num(y_true, nan=-1.0), 0.0))
    return known


def _masked_mean(values, known, sample_weight=None):
    """Mean of `values` over the known entries (0 when none is known)."""
    weights = ops.cast(known, values.dtype)
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, values.dtype)
        while len(sample_weight.shape) < len(weights.shape):
            sample_weight = ops.expand_dims(sample_weight, -1)
        weights = weights * sample_weight
    # max(count, 1): an all-missing batch divides 0 by 1, not 0 by 0.
    return ops.sum(values * weights) / ops.maximum(ops.sum(weights), 1.0)


def _like_predictions(y_true, y_pred):
    """Labels as float32, shaped like the predictions ((n,) becomes (n, 1))."""
    return ops.reshape(ops.cast(y_true, "float32"), ops.shape(y_pred))


def masked_binary_crossentropy(y_true, y_pred, positive_weights=None, sample_weight=None):
    """Binary cross-entropy over the known labels; one or many labels per example.

    Args:
        y_true: tensor. 1, 0, or missing (NaN or -1); shape `(n,)`, `(n, 1)`
            or `(n, labels)`.
        y_pred: tensor. Probabilities (after a sigmoid), shape `(n, 1)` or
            `(n, labels)`.
        positive_weights: float, list or None. Weight of the positive term of
            each label: more than 1 makes a rare positive count more.
        sample_weight: tensor or None. Weight of each example.

    Returns:
        A scalar: the mean loss per known label; 0 if none is known.

    Examples:

    >>> import numpy as np, tl_templates
    >>> y_true = np.array([[1.0], [np.nan]])
    >>> y_pred = np.array([[0.5], [0.9]])
    >>> round(float(tl_templates.masked_binary_crossentropy(y_true, y_pred)), 4)
    0.6931
    """
    y_pred = ops.cast(y_pred, "float32")
    y_true = _like_predictions(y_true, y_pred)
    known = known_mask(y_true)
    y_true = ops.where(known, y_true, 0.0)
    probabilities = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    positive = y_true * ops.log(probabilities)
    if positive_weights is not None:
        positive = positive * ops.convert_to_tensor(positive_weights, dtype="float32")
    values = -(positive + (1.0 - y_true) * ops.log(1.0 - probabilities))
    return _masked_mean(values, known, sample_weight)


def masked_sparse_categorical_crossentropy(y_true, y_pred, sample_weight=None):
    """Cross-entropy of class indices over the known labels.

    Args:
        y_true: tensor. Class index, or missing (NaN or -1); shape `(n,)` or `(n, 1)`.
        y_pred: tensor. Class probabilities (after a softmax), `(n, classes)`.
        sample_weight: tensor or None. Weight of each example.

    Returns:
        A scalar: the mean loss per known label; 0 if none is known.
    """
    y_pred = ops.cast(y_pred, "float32")
    y_true = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    known = known_mask(y_true)
    classes = ops.cast(ops.where(known, y_true, 0.0), "int32")
    probabilities = ops.clip(y_pred, EPSILON, 1.0)
    picked = ops.take_along_axis(probabilities, ops.expand_dims(classes, -1), axis=-1)
    values = -ops.log(ops.squeeze(picked, -1))
    return _masked_mean(values, known, sample_weight)


def masked_huber(y_true, y_pred, delta=1.0, scale=1.0, sample_weight=None):
    """Huber loss of a regression over the known targets, in units of `scale`.

    Squared error for errors under `delta` (in units of `scale`), absolute error
    above it: robust to a few wrong labels. Dividing by `scale` (the targets'
    standard deviation) puts the loss on the same footing as a cross-entropy,
    so that neither task drowns the other.

    Args:
        y_true: tensor. Targets, NaN where missing (negative values are valid).
        y_pred: tensor. Predictions in the targets' units.
        delta: float. Where the loss turns from squared to absolute.
        scale: float. Errors are divided by it before the loss.
        sample_weight: tensor or None. Weight of each example.

    Returns:
        A scalar: the mean loss per known target; 0 if none is known.
    """
    y_pred = ops.cast(y_pred, "float32")
    y_true = _like_predictions(y_true, y_pred)
    known = known_mask(y_true, negative_is_missing=False)
    error = ops.abs(y_pred - ops.where(known, y_true, 0.0)) / scale
    values = ops.where(error <= delta, 0.5 * ops.square(error), delta * (error - 0.5 * delta))
    return _masked_mean(values, known, sample_weight)


def masked_mean_absolute_error(y_true, y_pred, sample_weight=None):
    """Mean absolute error over the known targets (NaN where missing), in their units."""
    y_pred = ops.cast(y_pred, "float32")
    y_true = _like_predictions(y_true, y_pred)
    known = known_mask(y_true, negative_is_missing=False)
    return _masked_mean(ops.abs(y_pred - ops.where(known, y_true, 0.0)), known, sample_weight)


class _MaskedLoss(keras.losses.Loss):
    """A Loss whose function already averages over the known labels.

    Keras' reduction would average again over the batch, counting the missing
    labels; so `__call__` hands the sample weights to the function instead.
    """

    def __call__(self, y_true, y_pred, sample_weight=None):
        with keras.name_scope(self.name):
            return self.call(y_true, y_pred, sample_weight)


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedBinaryCrossentropy(_MaskedLoss):
    """Keras loss over `masked_binary_crossentropy`: binary and multi-label heads.

    Args:
        positive_weights: float, list or None. Weight of positive labels, one
            per label (see `tl_templates.positive_weights`).
    """

    def __init__(self, positive_weights=None, name="masked_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        if positive_weights is not None and not isinstance(positive_weights, float | int):
            positive_weights = [float(weight) for weight in positive_weights]
        self.positive_weights = positive_weights

    def call(self, y_true, y_pred, sample_weight=None):
        return masked_binary_crossentropy(y_true, y_pred, self.positive_weights, sample_weight)

    def get_config(self):
        return {**super().get_config(), "positive_weights": self.positive_weights}


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedSparseCategoricalCrossentropy(_MaskedLoss):
    """Keras loss over `masked_sparse_categorical_crossentropy`: multi-class heads."""

    def __init__(self, name="masked_sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred, sample_weight=None):
        return masked_sparse_categorical_crossentropy(y_true, y_pred, sample_weight)


@keras.saving.register_keras_serializable(package="tl_templates")
class MaskedHuber(_MaskedLoss):
    """Keras loss over `masked_huber`: regression heads.

    Args:
        delta: float. Where the loss turns from squared to absolute, in units of `scale`.
        scale: float. The targets' standard deviation, so the loss is unit-free.
    """

    def __init__(self, delta=1.0, scale=1.0, name="masked_huber", **kwargs):
        super().__init__(name=name, **kwargs)
        self.delta = float(delta)
        self.scale = float(scale)

    def call(self, y_true, y_pred, sample_weight=None):
        return masked_huber(y_true, y_pred, self.delta, self.scale, sample_weight)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta, "scale": self.scale}
