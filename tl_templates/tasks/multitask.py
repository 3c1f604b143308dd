"""Multi-task models: one shared backbone, one named head per task.

A face image in, `gender` (binary) and `age` (regression) out; a street
scene in, one sigmoid per object (multi-label). The backbone is any
registered one, in named blocks, so phase 1 trains the heads on the frozen
backbone and phase 2 fine-tunes the blocks a plan chooses, as for a
single-task classifier (`tl_templates.train_multitask`).

The task losses are masked (`tl_templates.tasks.losses`): a missing label
adds nothing. They are combined with fixed per-task weights, or with weights
the model learns (uncertainty weighting, Kendall, Gal and Cipolla, 2018).
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from tl_templates.backbones.blocks import walk_layers
from tl_templates.backbones.build import build_backbone
from tl_templates.tasks import losses as multitask_losses
from tl_templates.tasks import metrics as multitask_metrics
from tl_templates.tasks.losses import known_mask

TASK_KINDS = ("binary", "multiclass", "regression", "multilabel")


@dataclasses.dataclass
class TaskHead:
    """One task of a multi-task model: its output layer, loss and metrics.

    Attributes:
        name: str. Output name, the key of its labels and predictions
            (`"gender"`); letters, digits and `_`.
        kind: str. `"binary"` (one sigmoid), `"multiclass"` (softmax over
            `units` classes), `"regression"` (one number), or `"multilabel"`
            (`units` independent sigmoids).
        units: int. Classes (multiclass) or labels (multilabel); else 1.
        label_names: tuple. Names of the labels of a multilabel head (used in
            metric names: `auc_car`), or of the classes.
        loss_weight: float. Weight of this task's loss in the total (fixed weighting).
        hidden_units: int. A Dense + ReLU layer of its own before the output; 0: none.
        target_mean: float. Regression: the output layer starts at this value...
        target_std: float. ...and moves in steps of this size; the loss is
            measured in units of it. See `target_statistics`.
        positive_weights: tuple or None. Binary and multilabel: weight of a
            positive label, one per label. See `positive_weights`.
    """

    name: str
    kind: str
    units: int = 1
    label_names: tuple = ()
    loss_weight: float = 1.0
    hidden_units: int = 0
    target_mean: float = 0.0
    target_std: float = 1.0
    positive_weights: tuple | None = None

    def __post_init__(self):
        if self.kind not in TASK_KINDS:
            raise ValueError(
                f"Unknown task kind. Received: kind={self.kind!r} for task {self.name!r}. "
                f"Known kinds: {', '.join(TASK_KINDS)}."
            )
        if not self.name.isidentifier():
            raise ValueError(
                f"A task name is made of letters, digits and '_'. Received: name={self.name!r}."
            )
        if self.kind in ("binary", "regression") and self.units != 1:
            raise ValueError(f"A {self.kind} head has one output. Received: units={self.units}.")
        if self.kind in ("multiclass", "multilabel") and self.units < 2:
            raise ValueError(
                f"A {self.kind} head needs units >= 2 (classes or labels). "
                f"Received: units={self.units} for task {self.name!r}."
            )
        if self.label_names and len(self.label_names) != self.units:
            raise ValueError(
                f"Task {self.name!r} has {self.units} units but {len(self.label_names)} "
                f"label_names: {list(self.label_names)}."
            )
        if self.target_std <= 0:
            raise ValueError(f"target_std must be positive. Received: {self.target_std}.")

    def output_layer(self, features):
        """The head's layers on top of the pooled shared features."""
        if self.hidden_units:
            features = keras.layers.Dense(
                self.hidden_units, activation="relu", name=f"{self.name}_hidden"
            )(features)
        # The output layers compute in float32 even under mixed precision, so
        # that the sigmoid, the softmax, a regression in years and the losses
        # stay accurate.
        if self.kind == "regression":
            # A linear unit around 0, rescaled to the targets' units (years, ...):
            # the untrained head predicts the mean instead of 0.
            standard = keras.layers.Dense(1, dtype="float32", name=f"{self.name}_standardised")(
                features
            )
            return keras.layers.Rescaling(
                self.target_std, offset=self.target_mean, dtype="float32", name=self.name
            )(standard)
        activation = "softmax" if self.kind == "multiclass" else "sigmoid"
        return keras.layers.Dense(
            self.units, activation=activation, dtype="float32", name=self.name
        )(features)

    def loss(self):
        """The masked Keras loss of this kind of task."""
        if self.kind == "regression":
            return multitask_losses.MaskedHuber(scale=self.target_std)
        if self.kind == "multiclass":
            return multitask_losses.MaskedSparseCategoricalCrossentropy()
        return multitask_losses.MaskedBinaryCrossentropy(self.positive_weights)

    def metrics(self):
        """Masked Keras metrics: accuracy and AUC, MAE, or AUC per label."""
        if self.kind == "regression":
            return [multitask_metrics.MaskedMeanAbsoluteError()]
        if self.kind == "multiclass":
            return [multitask_metrics.MaskedSparseCategoricalAccuracy()]
        if self.kind == "binary":
            return [multitask_metrics.MaskedBinaryAccuracy(), multitask_metrics.MaskedAUC()]
        names = self.label_names or [str(index) for index in range(self.units)]
        return [multitask_metrics.MaskedAUC(name="mean_auc", multi_label=True)] + [
            multitask_metrics.MaskedAUC(label_index=index, name=f"auc_{name}")
            for index, name in enumerate(names)
        ]


def target_statistics(values):
    """`(mean, standard deviation)` of the known regression targets (NaN skipped)."""
    values = np.asarray(values, dtype="float64")
    known = values[np.isfinite(values)]
    if known.size == 0:
        raise ValueError("No known target value to compute the mean and spread from.")
    return float(known.mean()), float(max(known.std(), 1e-3))


def positive_weights(labels, max_weight=10.0):
    """Weight of a positive label, per label: negatives / positives, unknowns ignored.

    With it, the positives and the negatives of each label weigh the same in
    the loss, so a rare label (a stop sign in 15% of scenes) is not learned as
    "always absent". Capped at `max_weight` so a label with a handful of
    positives does not dominate.

    Args:
        labels: array. `(examples, labels)`: 1, 0, or missing (NaN or -1).
        max_weight: float. Upper bound of a weight.

    Returns:
        A tuple of floats, one per label (1.0 for a label with no positive).
    """
    labels = np.asarray(labels, dtype="float64")
    labels = labels.reshape(len(labels), -1)
    weights = []
    for column in labels.T:
        known = column[np.isfinite(column) & (column >= 0)]
        positives, negatives = float(np.sum(known == 1)), float(np.sum(known == 0))
        weight = negatives / positives if positives else 1.0
        weights.append(round(float(np.clip(weight, 1.0 / max_weight, max_weight)), 4))
    return tuple(weights)


@keras.saving.register_keras_serializable(package="tl_templates")
class TaskUncertainty(keras.layers.Layer):
    """Learned task weights (uncertainty weighting, Kendall, Gal and Cipolla, 2018).

    Holds one log-variance `s` per task and combines the task losses as
    `sum(exp(-s) * loss + s)`: a task whose loss stays high (noisy, or
    measured on another scale) gets a larger `s`, so a smaller weight
    `exp(-s)`; the `+ s` term stops every weight shrinking to zero. Placed
    after the heads, it passes their outputs through unchanged.

    Args:
        task_names: list. The tasks, in the order of `log_variances`.
    """

    def __init__(self, task_names, **kwargs):
        kwargs.setdefault("dtype", "float32")  # the loss weights stay float32 under mixed precision
        super().__init__(**kwargs)
        self.task_names = list(task_names)

    def build(self, input_shape):
        self.log_variances = self.add_weight(
            shape=(len(self.task_names),), initializer="zeros", name="log_variances"
        )

    def call(self, outputs):
        return {name: outputs[name] for name in self.task_names}

    def combine(self, task_losses, task_known):
        """The total loss from `{task: loss}`; a task with no known label in the
        batch (`task_known[task]` False) is left out, so its weight does not drift."""
        total = 0.0
        for index, name in enumerate(self.task_names):
            log_variance = self.log_variances[index]
            present = ops.cast(task_known[name], "float32")
            total = total + present * (ops.exp(-log_variance) * task_losses[name] + log_variance)
        return total

    def weights_by_task(self):
        """`{task: exp(-s)}`, the current learned weights."""
        values = np.exp(-keras.ops.convert_to_numpy(self.log_variances))
        return {name: float(value) for name, value in zip(self.task_names, values, strict=True)}

    def get_config(self):
        return {**super().get_config(), "task_names": self.task_names}


@keras.saving.register_keras_serializable(package="tl_templates")
class MultiTaskModel(keras.Model):
    """A functional model with one named output per task.

    It trains like any Keras model with one loss per output (`compile` with
    `loss={task: ...}`, `loss_weights={task: ...}`). If it contains a
    `TaskUncertainty` layer, the total loss is that layer's learned
    combination instead; the logs still show each task's own loss.
    """

    def uncertainty_layer(self):
        """The `TaskUncertainty` layer inside this model, or None."""
        found = (layer for layer in walk_layers(self) if isinstance(layer, TaskUncertainty))
        return next(found, None)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # The usual fixed-weight total; it also logs each task's loss.
        total = super().compute_loss(x, y, y_pred, sample_weight, training)
        weighting = self.uncertainty_layer()
        if weighting is None or y is None:
            return total
        if not isinstance(self.loss, dict):
            raise ValueError("Compile a model with uncertainty weighting with loss={task: loss}.")
        task_losses = {name: loss(y[name], y_pred[name], None) for name, loss in self.loss.items()}
        task_known = {
            # Regression targets may be negative; class labels of -1 are missing.
            name: ops.any(known_mask(y[name], not isinstance(loss, multitask_losses.MaskedHuber)))
            for name, loss in self.loss.items()
        }
        regularisation = [ops.sum(loss) for loss in self.losses]
        return weighting.combine(task_losses, task_known) + sum(regularisation, 0.0)


POOLINGS = ("average", "average+max")


def build_task_heads(
    feature_shape, heads, dropout_rate=0.2, uncertainty_weighting=False, pooling="average"
):
    """The heads as one model: backbone features in, `{task: prediction}` out.

    Pooling and dropout are shared; each task has its own output layer (and
    optional hidden layer). With `uncertainty_weighting`, a `TaskUncertainty`
    layer holds the learned task weights.

    `pooling` (for a feature map): `"average"`, or `"average+max"`, both
    concatenated as fastai's heads do: a small object lights up a few
    positions, which an average over the whole image dilutes and a maximum
    keeps (the driving template's labels: traffic lights, stop signs).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}. Received: {pooling!r}.")
    features = keras.Input(shape=feature_shape, name="features")
    pooled = features
    if len(feature_shape) == 3 and pooling == "average":
        pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    elif len(feature_shape) == 3:
        average = keras.layers.GlobalAveragePooling2D(name="average_pool")(features)
        maximum = keras.layers.GlobalMaxPooling2D(name="max_pool")(features)
        pooled = keras.layers.Concatenate(name="pool")([average, maximum])
    pooled = keras.layers.Dropout(dropout_rate, name="dropout")(pooled)
    outputs = {head.name: head.output_layer(pooled) for head in heads}
    if uncertainty_weighting:
        outputs = TaskUncertainty([head.name for head in heads], name="task_uncertainty")(outputs)
    return MultiTaskModel(features, outputs, name="heads")


def build_multitask_model(
    backbone,
    heads,
    input_shape=None,
    weights="pretrained",
    dropout_rate=0.2,
    uncertainty_weighting=False,
    pooling="average",
    name="multitask",
):
    """A shared backbone with one head per task.

    Args:
        backbone: str or keras.Model. A registered backbone name, or a model
            from `tl_templates.build_backbone` (possibly truncated).
        heads: list. `tl_templates.TaskHead`s, names unique.
        input_shape: tuple. `(height, width, 3)`; for a backbone name only.
        weights: str or None. For a backbone name only, as in `build_backbone`.
        dropout_rate: float. Dropout on the pooled shared features.
        uncertainty_weighting: bool. Learn the task weights (`TaskUncertainty`)
            instead of using each head's fixed `loss_weight`.
        pooling: str. `"average"` or `"average+max"` (`build_task_heads`).
        name: str. The model's name.

    Returns:
        A `tl_templates.MultiTaskModel`: raw 0-255 RGB images in, a dict
        `{task name: prediction}` out; its layers are the backbone and `heads`.

    Examples:

    >>> import tl_templates
    >>> heads = [tl_templates.TaskHead("gender", "binary"),
    ...          tl_templates.TaskHead("age", "regression", target_mean=30, target_std=15)]
    >>> model = tl_templates.build_multitask_model(
    ...     "lab_glyphs", heads, input_shape=(32, 32, 3), weights=None)
    >>> {name: tuple(output.shape) for name, output in model.output.items()}
    {'gender': (None, 1), 'age': (None, 1)}
    """
    names = [head.name for head in heads]
    if not heads or len(set(names)) != len(names):
        raise ValueError(f"Give one or more heads with distinct names. Received: {names}.")
    if isinstance(backbone, str):
        backbone = build_backbone(backbone, input_shape=input_shape, weights=weights)
    images = keras.Input(shape=backbone.inputs[0].shape[1:], name="image")
    task_heads = build_task_heads(
        backbone.output.shape[1:], heads, dropout_rate, uncertainty_weighting, pooling
    )
    return MultiTaskModel(images, task_heads(backbone(images)), name=name)


def compile_multitask(model, heads, learning_rate, jit_compile=False, decay_steps=None):
    """Adam, each head's masked loss and metrics, and the fixed loss weights.

    Call again after changing `trainable`: Keras only sees it at compile time.
    `jit_compile=True` compiles the training step with XLA (see
    `tl_templates.choose_jit_compile`). `decay_steps`: the learning rate
    decays to zero along a cosine over that many steps (None: constant).
    """
    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={head.name: head.loss() for head in heads},
        loss_weights={head.name: head.loss_weight for head in heads},
        metrics={head.name: head.metrics() for head in heads},
        jit_compile=jit_compile,
    )
