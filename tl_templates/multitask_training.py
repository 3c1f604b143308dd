"""Two-phase training of a multi-task model, as `train_classifier` does for one task.

Phase 1 trains the heads on the frozen backbone, on features computed once
(no augmentation) or on the images (augmentation). Phase 2 unfreezes the
blocks the plan chose and fine-tunes with a smaller learning rate. The best
epoch is the one with the lowest validation task loss: the sum of each
task's validation loss times its fixed weight (the learned uncertainty
weights move during training, so their total is not comparable across
epochs).
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
from tl_templates.distribute import in_model_scope
from tl_templates.multitask import compile_multitask
from tl_templates.training import BestWeights, HistoryWriter, default_augmentation, read_history


@dataclasses.dataclass
class TaskPhaseResult:
    """What one phase of multi-task training did."""

    name: str
    epochs: int
    best_val_task_loss: float
    final_val_task_loss: float
    seconds: float
    cached_features: bool = False


def task_loss(logs, heads, prefix="val_"):
    """Sum of the tasks' losses in `logs`, each times its fixed weight.

    Keras logs `<task>_loss` per output when there are several; a one-task
    model logs only `loss`.
    """
    if len(heads) == 1:
        return float(logs[f"{prefix}loss"])
    return float(sum(head.loss_weight * logs[f"{prefix}{head.name}_loss"] for head in heads))


class BestTaskWeights(BestWeights):
    """Saves the full model's weights whenever the validation task loss drops.

    Also adds `task_loss` and `val_task_loss` to the logs, so put it before
    the history writer in the callback list.
    """

    def __init__(self, model, path, heads):
        super().__init__(model, path, best=np.inf)
        self.heads = heads
        self.scores = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["task_loss"] = task_loss(logs, self.heads, prefix="")
        logs["val_task_loss"] = score = task_loss(logs, self.heads)
        self.scores.append(score)
        weighting = getattr(self.model, "uncertainty_layer", lambda: None)()
        if weighting is not None:
            for name, weight in weighting.weights_by_task().items():
                logs[f"weight_{name}"] = weight
        if score < self.best:
            self.best = score
            self.full_model.save_weights(self.path)


class TaskHistoryWriter(HistoryWriter):
    """`HistoryWriter` for multi-task logs: one column per logged value.

    The columns are fixed by the first epoch written (the same metrics are
    logged in every phase).
    """

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        logs["learning_rate"] = float(
            keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        )
        new_file = not self.path.exists()
        if new_file:
            fields = [
                "epoch",
                "phase",
                *sorted(logs, key=lambda name: (name.startswith("val_"), name)),
            ]
        else:
            with self.path.open(newline="") as file:
                fields = next(csv.reader(file))
        with self.path.open("a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=fields, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow({**logs, "epoch": epoch + 1, "phase": self.phase})


def make_task_dataset(images, labels, batch_size, shuffle=False, seed=0, augmentation=None):
    """A batched `tf.data.Dataset` of (float32 images, `{task: labels}`)."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(
        lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    if augmentation is not None:
        dataset = dataset.map(
            lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _fit(model, train, validation, epochs, initial_epoch, callbacks, verbose):
    started = time.perf_counter()
    model.fit(
        train,
        validation_data=validation,
        epochs=initial_epoch + epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # the dataset shuffles itself
        callbacks=callbacks,
        verbose=verbose,
    )
    return time.perf_counter() - started


@in_model_scope  # the optimizers and the heads model go where the model's variables are
def train_multitask(
    model,
    heads,
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
    """Trains a multi-task model the way `plan` says, writing history, logs and checkpoints.

    Args:
        model: tl_templates.MultiTaskModel. From `build_multitask_model`.
        heads: list. Its `tl_templates.TaskHead`s.
        plan: tl_templates.Plan. From `tl_templates.advise` or `plan_strategy`.
        train: tuple. `(uint8 images, {task: labels})`, NaN where unknown.
        validation: tuple. Same, used to pick the best epoch.
        head_epochs: int. Phase 1 epochs (the heads on the frozen backbone).
        fine_tune_epochs: int. Phase 2 epochs; `train_from_scratch` trains
            `head_epochs + fine_tune_epochs` epochs in a single phase.
        batch_size: int. Examples per step.
        output_dir: str or Path. Gets `history.csv` (replaced), `logs/`
            (TensorBoard) and `checkpoints/best.weights.h5`.
        augment: bool. Random shifts, rotations and zooms on the training images.
        seed: int. Shuffling and augmentation seed.
        verbose: int. Keras progress output (0 silent, 1 bars, 2 a line per epoch).
        restore_best: bool. End with the weights of the best validation epoch.

    Returns:
        A list of `tl_templates.multitask_training.TaskPhaseResult`.
    """
    output_dir = Path(output_dir)
    (output_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    best_path = output_dir / "checkpoints" / "best.weights.h5"
    history_path = output_dir / "history.csv"
    history_path.unlink(missing_ok=True)  # a new run starts a new history
    best = BestTaskWeights(model, best_path, heads)
    augmentation = default_augmentation(seed) if augment else None
    train_data = make_task_dataset(*train, batch_size, True, seed, augmentation)
    validation_data = make_task_dataset(*validation, batch_size)

    def run_phase(name, fit_model, train_set, validation_set, epochs, initial_epoch):
        first = len(best.scores)
        callbacks = [
            best,  # first: it adds val_task_loss to the logs the others see
            TaskHistoryWriter(history_path, name),
            keras.callbacks.TensorBoard(output_dir / "logs" / name),
        ]
        seconds = _fit(
            fit_model, train_set, validation_set, epochs, initial_epoch, callbacks, verbose
        )
        scores = best.scores[first:] or [float("nan")]
        return TaskPhaseResult(name, epochs, min(scores), scores[-1], seconds)

    results = []
    if plan.strategy == "train_from_scratch":
        set_trainable(model, plan.trainable_blocks, bn_trainable=True)
        compile_multitask(model, heads, plan.head_learning_rate)
        epochs = head_epochs + fine_tune_epochs
        results.append(run_phase("scratch", model, train_data, validation_data, epochs, 0))
    else:
        set_trainable(model, [])  # phase 1: the whole backbone frozen
        if augment:
            compile_multitask(model, heads, plan.head_learning_rate)
            results.append(
                run_phase("feature_extraction", model, train_data, validation_data, head_epochs, 0)
            )
        else:
            started = time.perf_counter()
            # One backbone pass over train and validation images together.
            images = np.concatenate([train[0], validation[0]]).astype("float32")
            features = find_backbone(model).predict(images, batch_size=batch_size, verbose=0)
            train_features, validation_features = np.split(features, [len(train[0])])
            task_heads = model.get_layer("heads")
            compile_multitask(task_heads, heads, plan.head_learning_rate)
            head_train = tf.data.Dataset.from_tensor_slices((train_features, train[1]))
            head_train = head_train.shuffle(len(train_features), seed=seed).batch(batch_size)
            head_validation = tf.data.Dataset.from_tensor_slices(
                (validation_features, validation[1])
            ).batch(batch_size)
            phase = run_phase(
                "feature_extraction", task_heads, head_train, head_validation, head_epochs, 0
            )
            phase.seconds = time.perf_counter() - started
            phase.cached_features = True
            results.append(phase)
        if plan.fine_tune_learning_rate is not None and fine_tune_epochs > 0:
            set_trainable(model, plan.trainable_blocks)
            compile_multitask(model, heads, plan.fine_tune_learning_rate)
            results.append(
                run_phase(
                    "fine_tuning", model, train_data, validation_data, fine_tune_epochs, head_epochs
                )
            )
    if not model.compiled:  # feature extraction trained only the heads model
        compile_multitask(model, heads, plan.head_learning_rate)
    if restore_best and best_path.exists():
        with warnings.catch_warnings():
            # The checkpoint holds no optimizer state when the best epoch was a
            # cached-features one; the model's weights are all there.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(best_path)
    return results


def plot_task_history(history_path, png_path):
    """The loss and every task metric per epoch, train and validation, phases marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = read_history(history_path)
    skip = {"epoch", "phase", "learning_rate", "task_loss"}
    metrics = [
        name for name in rows[0]
        if name not in skip
        and not name.startswith(("val_", "weight_"))
        and f"val_{name}" in rows[0]
    ]  # fmt: skip
    metrics.sort(key=lambda name: (name != "loss", name))  # the total loss first, then by task
    columns = min(3, len(metrics))
    lines = -(-len(metrics) // columns)
    figure, axes = pyplot.subplots(
        lines, columns, figsize=(4.5 * columns, 3.5 * lines), squeeze=False
    )
    epochs = [row["epoch"] for row in rows]
    for axis, metric in zip(axes.flat, metrics, strict=False):
        axis.plot(epochs, [row[metric] for row in rows], marker="o", label="train")
        axis.plot(epochs, [row[f"val_{metric}"] for row in rows], marker="o", label="validation")
        for previous, row in zip(rows, rows[1:], strict=False):
            if row["phase"] != previous["phase"]:
                axis.axvline(previous["epoch"] + 0.5, color="grey", linestyle="--")
        axis.set_title(metric)
        axis.set_xlabel("epoch")
        axis.legend()
    for axis in list(axes.flat)[len(metrics) :]:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)
    pyplot.close(figure)
