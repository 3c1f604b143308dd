"""Helpers for multi-task experiments on cached features: a shared trunk, seeded runs.

Notebook 07 compares one network with a gender head and an age head against
two single-task networks, and several ways to weigh the two losses. Heads on
a frozen backbone alone would not interact (each is its own layer on the same
features), so the network here has a trainable trunk, a Dense layer, between
the frozen backbone's cached features and the heads: shared by both tasks in
the multi-task network, one per task otherwise.

- `build_trunk_model`: features -> trunk -> one head per task (a `MultiTaskModel`);
- `fit_task_steps`: trains it for a number of steps in a seeded order;
- `task_scores`: accuracy of binary heads, mean absolute error of regression heads;
- `load_face_folder`: face images and their gender and age labels (UTKFace
  names, or a labels.csv), for the full-size run.
"""

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from tl_templates.tasks.multitask import MultiTaskModel, TaskUncertainty


def build_trunk_model(feature_shape, heads, trunk_units=64, dropout_rate=0.2,
                      uncertainty_weighting=False, name="trunk_model"):  # fmt: skip
    """Backbone features in, a trainable trunk, then one head per task.

    Args:
        feature_shape: tuple. Shape of one example's features, e.g. `(2, 2, 256)`
            (pooled first) or `(256,)`.
        heads: list. `tl_templates.TaskHead`s; one head gives a single-task network.
        trunk_units: int. Units of the trunk's Dense + ReLU layer.
        dropout_rate: float. Dropout on the trunk's output.
        uncertainty_weighting: bool. Learn the task weights (`TaskUncertainty`).
        name: str. The model's name.

    Returns:
        A `tl_templates.MultiTaskModel`, `{task: prediction}` out.

    Examples:

    >>> import tl_templates
    >>> from tl_templates.experiments import trunk as trunk_experiments
    >>> heads = [tl_templates.TaskHead("gender", "binary"),
    ...          tl_templates.TaskHead("age", "regression", target_mean=30, target_std=15)]
    >>> model = trunk_experiments.build_trunk_model((4, 4, 8), heads, trunk_units=16)
    >>> sorted(model.output), model.get_layer("trunk").units
    (['age', 'gender'], 16)
    """
    features = keras.Input(shape=feature_shape, name="features")
    x = features
    if len(feature_shape) == 3:
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(trunk_units, activation="relu", name="trunk")(x)
    x = keras.layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = {head.name: head.output_layer(x) for head in heads}
    if uncertainty_weighting:
        outputs = TaskUncertainty([head.name for head in heads], name="task_uncertainty")(outputs)
    return MultiTaskModel(features, outputs, name=name)


def task_dataset(features, labels, batch_size, steps, seed=0):
    """`steps` full batches of `(features, {task: labels})`, in an order set by `seed` only.

    As `tl_templates.experiments.runs.training_dataset`, for a dict of labels.
    """
    count = len(features)
    rng = np.random.default_rng(seed)
    passes = -(-steps * batch_size // count)  # ceiling
    order = np.concatenate([rng.permutation(count) for _ in range(passes)])
    features = tf.constant(np.asarray(features, "float32"))
    labels = {name: tf.constant(np.asarray(value, "float32")) for name, value in labels.items()}
    dataset = tf.data.Dataset.from_tensor_slices(order[: steps * batch_size]).batch(batch_size)
    dataset = dataset.map(lambda index: (
        tf.gather(features, index),
        {name: tf.gather(value, index)[:, None] for name, value in labels.items()},
    ))  # fmt: skip
    return dataset.prefetch(tf.data.AUTOTUNE)


def fit_task_steps(model, features, labels, steps, batch_size=32, seed=0):
    """Trains a compiled multi-task (or single-task) model for `steps` steps.

    Args:
        model: keras.Model. Compiled, with one output per key of `labels`
            that its loss uses.
        features: array. Inputs (cached backbone features).
        labels: dict. `{task: values}`, one value per example (NaN: unknown).
        steps: int. Training steps.
        batch_size: int. Examples per step.
        seed: int. Shuffling seed.

    Returns:
        The Keras `History`.
    """
    return model.fit(task_dataset(features, labels, batch_size, steps, seed),
                     steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)  # fmt: skip


def task_scores(model, heads, features, labels, batch_size=256):
    """How well each head does: accuracy (binary) or mean absolute error (regression).

    Args:
        model: keras.Model. `{task: prediction}` out.
        heads: list. The `TaskHead`s to score (binary or regression).
        features: array. Inputs.
        labels: dict. `{task: true values}`.
        batch_size: int. Examples per forward pass.

    Returns:
        `{"<task>_accuracy": float}` or `{"<task>_mae": float}` per head.

    Raises:
        ValueError: a head of another kind.
    """
    features = np.asarray(features, "float32")
    batches = [model(features[start : start + batch_size], training=False)
               for start in range(0, len(features), batch_size)]  # fmt: skip
    scores = {}
    for head in heads:
        predicted = np.concatenate([np.asarray(batch[head.name]) for batch in batches]).reshape(-1)
        true = np.asarray(labels[head.name], "float32")
        if head.kind == "binary":
            scores[f"{head.name}_accuracy"] = float(np.mean((predicted > 0.5) == (true > 0.5)))
        elif head.kind == "regression":
            scores[f"{head.name}_mae"] = float(np.mean(np.abs(predicted - true)))
        else:
            raise ValueError(f"task_scores scores binary and regression heads. Received: "
                             f"{head.name!r} of kind {head.kind!r}.")  # fmt: skip
    return scores


def load_face_folder(folder, image_size, limit=None, seed=0):
    """Face images with gender and age labels, resized, as arrays.

    Args:
        folder: str or Path. UTKFace images (`25_1_3_2017....jpg`), or a
            labels.csv (filename,gender,age) beside an images/ folder.
        image_size: int. Side of the square RGB images.
        limit: int or None. Keep at most this many (drawn at random with `seed`).
        seed: int. Which images are kept under `limit`.

    Returns:
        `(images, genders, ages)`: uint8 `(n, size, size, 3)`, float32, float32;
        only images whose gender and age are both known.
    """
    from tl_templates.data.labels import read_face_labels

    table = read_face_labels(folder)
    genders, ages = table.labels["gender"], table.labels["age"]
    known = np.flatnonzero(np.isfinite(genders) & np.isfinite(ages))
    if limit is not None and len(known) > limit:
        known = np.sort(np.random.default_rng(seed).choice(known, limit, replace=False))
    images = np.stack([
        np.asarray(Image.open(table.paths[index]).convert("RGB").resize(
            (image_size, image_size), Image.BILINEAR))
        for index in known
    ])  # fmt: skip
    return images, genders[known], ages[known]
