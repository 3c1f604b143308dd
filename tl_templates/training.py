"""Two-phase transfer training: a new head on a frozen backbone, then fine-tuning.

Phase 1 (feature extraction) trains only the head. When the backbone is frozen
and there is no augmentation, its outputs never change, so they are computed
once and the head trains on that cache: E epochs cost one backbone pass, not E.
Phase 2 unfreezes the blocks the plan chose, recompiles with a smaller learning
rate and goes on from where phase 1 stopped. BatchNormalization stays frozen.
"""

import csv
import dataclasses
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tl_templates.blocks import find_backbone, set_trainable

HISTORY_FIELDS = ("epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


class HistoryWriter(keras.callbacks.Callback):
    """Appends a row per finished epoch to a CSV file, phase by phase.

    Rows are written as epochs end, so an interrupted run keeps its history.
    """

    def __init__(self, path, phase):
        super().__init__()
        self.path = Path(path)
        self.phase = phase

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        new_file = not self.path.exists()
        with self.path.open("a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=HISTORY_FIELDS)
            if new_file:
                writer.writeheader()
            row = {name: logs.get(name) for name in HISTORY_FIELDS[2:-1]}
            row["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )
            writer.writerow({"epoch": epoch + 1, "phase": self.phase, **row})


class BestWeights(keras.callbacks.Callback):
    """Saves `model`'s weights whenever validation accuracy improves.

    `model` is the full classifier, even while a head model that shares its
    layers is the one being fitted on cached features.
    """

    def __init__(self, model, path, best=-np.inf):
        super().__init__()
        self.full_model = model
        self.path = Path(path)
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("val_accuracy")
        if accuracy is not None and accuracy > self.best:
            self.best = float(accuracy)
            self.full_model.save_weights(self.path)


@dataclasses.dataclass
class PhaseResult:
    """What one training phase did."""

    name: str
    epochs: int
    best_val_accuracy: float
    final_val_accuracy: float
    seconds: float
    cached_features: bool = False


def head_model(model):
    """A model of the layers after the backbone, sharing their weights.

    Expects `model` to be input -> (backbone) -> head layers in sequence, as
    the templates build it.
    """
    backbone = find_backbone(model)
    layers = model.layers
    features = keras.Input(backbone.output.shape[1:], name="backbone_features")
    outputs = features
    for layer in layers[layers.index(backbone) + 1 :]:
        outputs = layer(outputs)
    return keras.Model(features, outputs, name="head")


def default_augmentation(seed=0):
    """Mild, label-preserving image augmentation as Keras layers."""
    return keras.Sequential(
        [
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed),
            keras.layers.RandomRotation(0.05, fill_mode="nearest", seed=seed),
            keras.layers.RandomZoom(0.1, fill_mode="nearest", seed=seed),
        ],
        name="augmentation",
    )


def make_dataset(images, labels, batch_size, shuffle=False, seed=0, augmentation=None):
    """A batched, prefetched `tf.data.Dataset` of (float32 images, labels)."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(
        lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    if augmentation is not None:
        dataset = dataset.map(
            lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def compile_classifier(model, learning_rate):
    """Adam + sparse categorical cross-entropy + accuracy. Call again after
    changing `trainable`: Keras only sees the change at compile time."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def _fit(model, train, validation, epochs, initial_epoch, callbacks, verbose):
    started = time.perf_counter()
    history = model.fit(
        train,
        validation_data=validation,
        epochs=initial_epoch + epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # the dataset shuffles itself
        callbacks=callbacks,
        verbose=verbose,
    )
    return history.history.get("val_accuracy", [float("nan")]), time.perf_counter() - started


def train_classifier(
    model,
    plan,
    train,
    validation,
    *,
    head_epochs,
    fine_tune_epochs,
    batch_size,
    output_dir,
    augment=False,
    seed=0,
    verbose=1,
    restore_best=True,
):
    """Trains `model` the way `plan` says, writing history, logs and checkpoints.

    Args:
        model: keras.Model. A classifier built as input -> backbone -> head.
        plan: tl_templates.Plan. From `tl_templates.advise` or `plan_strategy`.
        train: tuple. `(inputs, integer labels)`: uint8 images, or float32
            waveforms for an audio model.
        validation: tuple. Same, used to pick the best epoch.
        head_epochs: int. Phase 1 epochs (feature extraction).
        fine_tune_epochs: int. Phase 2 epochs; `train_from_scratch` trains
            `head_epochs + fine_tune_epochs` epochs in a single phase.
        batch_size: int. Examples per step.
        output_dir: str or Path. Gets `history.csv` (replaced), `logs/`
            (TensorBoard) and `checkpoints/best.weights.h5`.
        augment: bool or keras.layers.Layer. True: random shifts, rotations
            and zooms on the training images; a layer (such as
            `tl_templates.AudioAugmentation` for waveforms): that layer,
            called with `training=True` on each training batch.
        seed: int. Shuffling and augmentation seed.
        verbose: int. Keras progress output (0 silent, 1 bars, 2 a line per epoch).
        restore_best: bool. End with the weights of the best validation epoch
            (else those of the last epoch).

    Returns:
        A list of `tl_templates.training.PhaseResult`.
    """
    output_dir = Path(output_dir)
    (output_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    best_path = output_dir / "checkpoints" / "best.weights.h5"
    history_path = output_dir / "history.csv"
    history_path.unlink(missing_ok=True)  # a new run starts a new history
    best = BestWeights(model, best_path)
    if isinstance(augment, keras.layers.Layer):
        augmentation = augment
    else:
        augmentation = default_augmentation(seed) if augment else None
    train_data = make_dataset(
        *train, batch_size, shuffle=True, seed=seed, augmentation=augmentation
    )
    validation_data = make_dataset(*validation, batch_size)

    def callbacks(phase):
        return [
            HistoryWriter(history_path, phase),
            best,
            keras.callbacks.TensorBoard(output_dir / "logs" / phase),
        ]

    results = []
    if plan.strategy == "train_from_scratch":
        set_trainable(model, plan.trainable_blocks, bn_trainable=True)
        compile_classifier(model, plan.head_learning_rate)
        epochs = head_epochs + fine_tune_epochs
        scores, seconds = _fit(
            model, train_data, validation_data, epochs, 0, callbacks("scratch"), verbose
        )
        results.append(PhaseResult("scratch", epochs, max(scores), scores[-1], seconds))
    else:
        set_trainable(model, [])  # phase 1: the whole backbone frozen
        if augmentation is not None:
            compile_classifier(model, plan.head_learning_rate)
            scores, seconds = _fit(
                model, train_data, validation_data, head_epochs, 0,
                callbacks("feature_extraction"), verbose,
            )  # fmt: skip
            cached = False
        else:
            started = time.perf_counter()
            backbone = find_backbone(model)
            head = head_model(model)
            # One backbone pass over train and validation images together.
            images = np.concatenate([train[0], validation[0]]).astype("float32")
            features = backbone.predict(images, batch_size=batch_size, verbose=0)
            train_features, validation_features = np.split(features, [len(train[0])])
            compile_classifier(head, plan.head_learning_rate)
            head_train = tf.data.Dataset.from_tensor_slices((train_features, train[1]))
            head_train = head_train.shuffle(len(train[1]), seed=seed).batch(batch_size)
            head_validation = tf.data.Dataset.from_tensor_slices(
                (validation_features, validation[1])
            ).batch(batch_size)
            scores, _ = _fit(
                head, head_train, head_validation, head_epochs, 0,
                callbacks("feature_extraction"), verbose,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            cached = True
        results.append(
            PhaseResult("feature_extraction", head_epochs, max(scores), scores[-1], seconds, cached)
        )
        if plan.fine_tune_learning_rate is not None and fine_tune_epochs > 0:
            set_trainable(model, plan.trainable_blocks)
            compile_classifier(model, plan.fine_tune_learning_rate)
            scores, seconds = _fit(
                model, train_data, validation_data, fine_tune_epochs, head_epochs,
                callbacks("fine_tuning"), verbose,
            )  # fmt: skip
            results.append(
                PhaseResult("fine_tuning", fine_tune_epochs, max(scores), scores[-1], seconds)
            )
    if not model.compiled:  # feature extraction trained only the head model
        compile_classifier(model, plan.head_learning_rate)
    if restore_best and best_path.exists():
        with warnings.catch_warnings():
            # The checkpoint holds no optimizer state when the best epoch was a
            # cached-features one; the model's weights are all there.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(best_path)
    return results


def read_history(path):
    """Rows of a `history.csv` as dicts with numbers parsed."""
    with Path(path).open(newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        for name, value in row.items():
            if name != "phase":
                row[name] = float(value) if value not in ("", None) else float("nan")
    return rows


def plot_history(history_path, png_path):
    """Loss and accuracy curves per epoch, with the phase boundaries marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = read_history(history_path)
    epochs = [row["epoch"] for row in rows]
    figure, axes = pyplot.subplots(1, 2, figsize=(10, 4))
    for axis, metric in zip(axes, ("loss", "accuracy"), strict=True):
        axis.plot(epochs, [row[metric] for row in rows], marker="o", label=f"train {metric}")
        axis.plot(epochs, [row[f"val_{metric}"] for row in rows], marker="o", label=f"val {metric}")
        for previous, row in zip(rows, rows[1:], strict=False):
            if row["phase"] != previous["phase"]:
                axis.axvline(previous["epoch"] + 0.5, color="grey", linestyle="--")
                axis.text(row["epoch"], axis.get_ylim()[1], f" {row['phase']}", va="top")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)
    pyplot.close(figure)
