"""Helpers for multi-task and multi-label experiments: unknown labels, task data, scores.

The multi-task notebooks train one compiled model many times, as
`tl_templates.experiments.runs` does for classifiers, but with a dict of labels
(one entry per task) in which NaN marks a label nobody gave. With the masked
losses of `tl_templates.tasks.losses`, a NaN label adds nothing, so:

- hiding labels (`hide_labels`) turns a fully labelled set into a partly
  labelled one, at a rate the experiment controls;
- a single-task baseline is the same model trained with every other task's
  labels unknown (`labels_for_tasks`): same layers, same optimizer, same
  steps; only the sharing differs;
- `load_tfds_multilabel` reads a TFDS detection set (VOC, COCO) as "which of
  these objects are in the image", for the notebooks' full mode.
"""

import numpy as np
import tensorflow as tf
from PIL import Image

from tl_templates.tasks.metrics import best_f1_threshold, precision_recall, roc_auc


def hide_labels(labels, fraction, seed=0):
    """A copy of `labels` with each entry unknown (NaN) with probability `fraction`.

    Args:
        labels: array. `(examples, labels)` of 0/1 (or any numbers).
        fraction: float. Chance that an entry is hidden, from 0 to 1.
        seed: int. The same seed hides the same entries.

    Returns:
        A float32 array of the same shape, NaN where hidden.

    Examples:

    >>> import numpy as np
    >>> from tl_templates.experiments import multitask as multitask_experiments
    >>> hidden = multitask_experiments.hide_labels(np.ones((1000, 4)), 0.25, seed=0)
    >>> round(float(np.isnan(hidden).mean()), 2)
    0.25
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1. Received: fraction={fraction}.")
    labels = np.array(labels, dtype="float32")
    rng = np.random.default_rng(seed)
    labels[rng.random(labels.shape) < fraction] = np.nan
    return labels


def complete_rows(labels):
    """True for the examples (rows) whose labels are all known: no NaN, no -1."""
    labels = np.asarray(labels, dtype="float32").reshape(len(labels), -1)
    return np.all(np.isfinite(labels) & (labels >= 0), axis=1)


def assign_examples(counts, total, seed=0):
    """Disjoint sets of example indices, one per task, drawn from `range(total)`.

    In a multi-task experiment each task gets its own examples (as when every
    task has its own data set); how many per task is the setting under study.

    Args:
        counts: dict. `{task: number of examples}`.
        total: int. Examples to draw from.
        seed: int. The same seed gives the same sets.

    Returns:
        `{task: int array of indices}`.

    Raises:
        ValueError: the counts add up to more than `total`.
    """
    if sum(counts.values()) > total:
        raise ValueError(
            f"The tasks ask for {sum(counts.values())} examples in all, but there are "
            f"only {total}. Received: counts={counts}."
        )
    order = np.random.default_rng(seed).permutation(total)
    sets, start = {}, 0
    for task, count in counts.items():
        sets[task] = np.sort(order[start : start + count])
        start += count
    return sets


def labels_for_tasks(sources, tasks):
    """Inputs and labels of the chosen tasks, each example labelled for its task only.

    Args:
        sources: dict. `{task: (inputs, labels)}`: the examples each task has
            (`labels` is `(n,)`, one value per example, NaN where unknown).
        tasks: list. The tasks to train on: one task for a single-task run,
            several for a multi-task run.

    Returns:
        `(inputs, labels)`: the chosen tasks' inputs stacked, and
        `{task: float32 (n,)}` for every task of `sources`, NaN except on that
        task's own examples (so a model with a head per task in `sources`
        trains only the chosen heads).
    """
    unknown = [task for task in tasks if task not in sources]
    if unknown or not tasks:
        raise ValueError(f"Choose tasks among {list(sources)}. Received: tasks={list(tasks)}.")
    inputs = np.concatenate([np.asarray(sources[task][0], "float32") for task in tasks])
    labels = {task: np.full(len(inputs), np.nan, "float32") for task in sources}
    start = 0
    for task in tasks:
        count = len(sources[task][0])
        labels[task][start : start + count] = np.asarray(sources[task][1], "float32")
        start += count
    return inputs, labels


def task_balanced_order(sizes, batch_size, steps, seed=0):
    """Example indices for `steps` batches holding every task in equal shares.

    The examples of the tasks are stacked, task after task (as
    `labels_for_tasks` stacks them); each batch takes `batch_size / tasks`
    examples of each task (one more for the first tasks if it does not
    divide), each task cycling through its own examples in a new random order
    every pass. So over a multi-task run of `tasks x steps` steps every task
    sees as many labelled examples as in a single-task run of `steps` steps,
    whatever its share of the data.

    Args:
        sizes: list. Examples of each task, in the order they are stacked.
        batch_size: int. Examples per batch, at least one per task.
        steps: int. Batches.
        seed: int. The same seed gives the same order.

    Returns:
        An int array of `steps * batch_size` indices into the stacked examples.

    Examples:

    >>> from tl_templates.experiments import multitask as multitask_experiments
    >>> order = multitask_experiments.task_balanced_order([100, 4], batch_size=4, steps=3)
    >>> [int((batch >= 100).sum()) for batch in order.reshape(3, 4)]
    [2, 2, 2]
    """
    if batch_size < len(sizes) or min(sizes) < 1:
        raise ValueError(
            f"A task-balanced batch needs one example or more of each task: batch_size="
            f"{batch_size} for {len(sizes)} tasks of sizes {list(sizes)}."
        )
    rng = np.random.default_rng(seed)
    shares = [batch_size // len(sizes) + (index < batch_size % len(sizes))
              for index in range(len(sizes))]  # fmt: skip
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    streams = []
    for size, share, offset in zip(sizes, shares, offsets, strict=True):
        passes = -(-steps * share // size)  # ceiling
        stream = np.concatenate([rng.permutation(size) for _ in range(passes)])
        streams.append(offset + stream[: steps * share].reshape(steps, share))
    return np.concatenate(streams, axis=1).ravel()


def training_dataset(inputs, labels, batch_size, steps, seed=0, order=None):
    """`steps` full batches of `(inputs, {task: labels})`, in an order set by `seed`.

    As `tl_templates.experiments.runs.training_dataset`, with a dict of float
    labels (NaN where unknown) instead of integer classes; `order` (from
    `task_balanced_order`) replaces the plain shuffled order.
    """
    labels = labels if isinstance(labels, dict) else {"labels": labels}
    if order is None:
        rng = np.random.default_rng(seed)
        passes = -(-steps * batch_size // len(inputs))  # ceiling
        order = np.concatenate([rng.permutation(len(inputs)) for _ in range(passes)])
    inputs = tf.constant(np.asarray(inputs, "float32"))
    labels = {task: tf.constant(np.asarray(values, "float32")) for task, values in labels.items()}
    dataset = tf.data.Dataset.from_tensor_slices(order[: steps * batch_size]).batch(batch_size)
    dataset = dataset.map(
        lambda index: (
            tf.gather(inputs, index),
            {task: tf.gather(values, index) for task, values in labels.items()},
        )
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def fit_steps(model, inputs, labels, steps, batch_size=32, seed=0, order=None):
    """Trains a compiled multi-output model for `steps` steps (see `training_dataset`).

    Args:
        model: keras.Model. Compiled, with one output per key of `labels`.
        inputs: array. Images, or features cached from a frozen backbone.
        labels: dict. `{output name: (n,) or (n, k) labels}`, NaN where unknown.
        steps: int. Training steps.
        batch_size: int. Examples per step.
        seed: int. Shuffling seed.
        order: array or None. Example indices, batch after batch
            (`task_balanced_order`); None: shuffled passes over the examples.

    Returns:
        The Keras `History`.
    """
    if order is None and len(inputs) < batch_size:
        raise ValueError(
            f"{len(inputs)} training examples cannot fill one batch of {batch_size}: "
            "lower the batch size or give more examples."
        )
    dataset = training_dataset(inputs, labels, batch_size, steps, seed, order)
    return model.fit(dataset, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)


def predict(model, inputs, batch_size=256):
    """`{output name: array}` of a multi-output model, in inference mode, batch by batch."""
    inputs = np.asarray(inputs, dtype="float32")
    batches = [model(inputs[start : start + batch_size], training=False)
               for start in range(0, len(inputs), batch_size)]  # fmt: skip
    return {name: np.concatenate([np.asarray(batch[name]) for batch in batches])
            for name in batches[0]}  # fmt: skip


def label_scores(labels, scores, thresholds=0.5):
    """AUC, precision, recall and F1 of each label of a multi-label output.

    Args:
        labels: array. `(n, labels)`: 1, 0, or unknown (NaN or -1, skipped).
        scores: array. `(n, labels)` probabilities.
        thresholds: float or list. The decision threshold, one for all
            labels or one per label.

    Returns:
        A list with one dict per label: `auc`, `precision`, `recall`, `f1`
        (precision is 0 when nothing is predicted positive).
    """
    labels, scores = np.asarray(labels, "float64"), np.asarray(scores, "float64")
    thresholds = np.broadcast_to(np.asarray(thresholds, "float64"), (labels.shape[1],))
    rows = []
    for index, threshold in enumerate(thresholds):
        precision, recall, f1 = precision_recall(labels[:, index], scores[:, index], threshold)
        rows.append({"auc": roc_auc(labels[:, index], scores[:, index]),
                     "precision": 0.0 if np.isnan(precision) else precision,
                     "recall": recall, "f1": f1})  # fmt: skip
    return rows


def tuned_thresholds(labels, scores, default=0.5):
    """Per label, the threshold with the best F1 on these (validation) labels."""
    labels, scores = np.asarray(labels, "float64"), np.asarray(scores, "float64")
    return [best_f1_threshold(labels[:, index], scores[:, index], default)[0]
            for index in range(labels.shape[1])]  # fmt: skip


def standardise(train, *others):
    """Features scaled by the training set's mean and spread (per feature).

    Returns:
        The training features and each of `others`, standardised, as float32.
    """
    train = np.asarray(train, "float32")
    mean, spread = train.mean(axis=0), train.std(axis=0) + 1e-3
    return [((np.asarray(part, "float32") - mean) / spread).astype("float32")
            for part in (train, *others)]  # fmt: skip


def load_tfds_multilabel(name, label_names, image_size, count, split="train", data_dir=None,
                         labels_key="labels"):  # fmt: skip
    """A TFDS detection set as images and "which of these objects are present".

    VOC (`voc/2007`) and COCO (`coco/2017`) list the objects of each image;
    each of `label_names` becomes one 0/1 column, 1 when at least one such
    object is in the image. Examples are read in the set's own order.

    Args:
        name: str. A TFDS name with an `image` feature and a sequence of class
            labels (`labels` for VOC; `objects/label` for COCO).
        label_names: list. Class names of the set (`"car"`, `"person"`, ...).
        image_size: int. Side of the square RGB images.
        count: int. Examples to read (fewer if the split is smaller).
        split: str. TFDS split.
        data_dir: str or None. TFDS data folder.
        labels_key: str. `"labels"`, or `"objects/label"` for COCO-like sets.

    Returns:
        `(images, labels)`: uint8 `(n, size, size, 3)`, int `(n, len(label_names))`.
    """
    import tensorflow_datasets as tfds

    dataset, info = tfds.load(name, split=split, data_dir=data_dir, with_info=True,
                              shuffle_files=False)  # fmt: skip
    feature = info.features
    for part in labels_key.split("/"):
        feature = feature[part]
    class_names = list(getattr(feature, "feature", feature).names)
    missing = [label for label in label_names if label not in class_names]
    if missing:
        raise ValueError(f"TFDS {name!r} has no class {missing}. Its classes: {class_names}.")
    columns = [class_names.index(label) for label in label_names]
    images, labels = [], []
    for example in dataset.take(count).as_numpy_iterator():
        present = example
        for part in labels_key.split("/"):
            present = present[part]
        present = set(np.asarray(present).ravel().tolist())
        image = Image.fromarray(example["image"]).convert("RGB")
        images.append(np.asarray(image.resize((image_size, image_size), Image.BILINEAR)))
        labels.append([int(column in present) for column in columns])
    if not images:
        raise ValueError(f"TFDS {name!r} split {split!r} gave no example.")
    return np.stack(images), np.asarray(labels, dtype="int64")
