"""Two-phase transfer training: a new head on a frozen backbone, then fine-tuning.

Phase 1 (feature extraction) trains only the head. When the backbone is frozen
and there is no augmentation, its outputs never change, so they are computed
once and the head trains on that cache: E epochs cost one backbone pass, not E.
Phase 2 unfreezes the blocks the plan chose, recompiles with a smaller learning
rate and goes on from where phase 1 stopped. BatchNormalization stays frozen.
Phase 2 caches too: the outputs of the frozen blocks below the first trainable
one are computed once, and only the blocks above them run at every step. In
each phase the learning rate decays to zero along a cosine.

Every finished epoch is committed (`tl_templates.TrainingRun`), and each
epoch's data order depends only on the seed and the epoch number
(`epoch_batches`), so an interrupted run continues exactly where it stopped.
"""

import csv
import dataclasses
import hashlib
import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tl_templates.backbones.blocks import block_names, set_trainable
from tl_templates.data.pipelines import batch_augment_prefetch
from tl_templates.planning.budgets import phase_budgets
from tl_templates.project.atomic import atomic_path, write_csv_atomic
from tl_templates.training.caching import (  # noqa: F401  (head_model: its old home)
    PREFIX_CACHE_LIMIT_BYTES,
    cacheable_cut,
    head_model,
    prefix_outputs,
    upper_model,
)
from tl_templates.training.distribute import in_model_scope
from tl_templates.training.resume import TrainingRun

HISTORY_FIELDS = ("epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


class HistoryWriter(keras.callbacks.Callback):
    """Writes a row per finished epoch to a CSV file, phase by phase.

    Rows already in the file are kept (a writer per phase continues the
    file); the whole file is rewritten atomically after each epoch, so it is
    never half-written. For simple training loops: `train_classifier` uses
    `tl_templates.TrainingRun`, which also resumes.
    """

    def __init__(self, path, phase):
        super().__init__()
        self.path = Path(path)
        self.phase = phase
        self.rows = []
        if self.path.exists():
            with self.path.open(newline="") as file:
                self.rows = list(csv.DictReader(file))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {name: logs.get(name) for name in HISTORY_FIELDS[2:-1]}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.rows.append({"epoch": epoch + 1, "phase": self.phase, **row})
        write_csv_atomic(self.path, self.rows, HISTORY_FIELDS)


class BestWeights(keras.callbacks.Callback):
    """Saves `model`'s weights (atomically) whenever validation accuracy improves.

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
            with atomic_path(self.path) as temporary:
                self.full_model.save_weights(temporary)


@dataclasses.dataclass
class PhaseResult:
    """What one training phase did."""

    name: str
    epochs: int
    best_val_accuracy: float
    final_val_accuracy: float
    seconds: float
    cached_features: bool = False
    steps: int = 0  # optimizer steps the phase's budget asked for
    learning_rate: float = 0.0  # the first step's; it decays to zero on a cosine


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


def epoch_batches(inputs, labels, batch_size, seed, first_epoch, last_epoch, augmentation=None):
    """Training batches for epochs `first_epoch` .. `last_epoch - 1`, each shuffled.

    The order of epoch `e` depends only on `(seed, e)` (a stateless shuffle),
    not on how many epochs this process has run: a resumed run sees the very
    batches an uninterrupted one would. Pass `steps_per_epoch=steps_per_epoch(
    count, batch_size)` to `fit()`: the dataset holds all the epochs.

    The input pipeline for data in memory (see `tl_templates.data.pipelines`):
    batches are gathered from the arrays, cast and augmented by parallel
    `tf.data` calls on the CPU, and prefetched while the model trains.

    Args:
        inputs: np.ndarray, or a dict or tuple of arrays (several inputs).
            Images (uint8 or float) or cached features; cast to float32.
        labels: np.ndarray, or a dict or tuple of arrays (one per task).
        batch_size: int. Examples per batch.
        seed: int. Shuffling seed.
        first_epoch: int. 0-based index of the first epoch to produce.
        last_epoch: int. One past the last epoch to produce.
        augmentation: keras layer or None. Applied to each batch of a single input.

    Returns:
        A `tf.data.Dataset` of `(inputs, labels)` batches.

    Examples:

    >>> import numpy as np
    >>> from tl_templates.training import classifier as training
    >>> both = training.epoch_batches(np.arange(4), np.arange(4), 4, 0, 0, 2)  # epochs 0, 1
    >>> orders = [labels.numpy().tolist() for _, labels in both]
    >>> resumed = training.epoch_batches(np.arange(4), np.arange(4), 4, 0, 1, 2)  # epoch 1
    >>> [labels.numpy().tolist() for _, labels in resumed] == orders[1:], sorted(orders[0])
    (True, [0, 1, 2, 3])
    """
    inputs = tf.nest.map_structure(tf.convert_to_tensor, inputs)
    labels = tf.nest.map_structure(tf.convert_to_tensor, labels)
    count = int(tf.nest.flatten(labels)[0].shape[0])

    def one_epoch(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
        # Each batch carries (epoch, its number): what its augmentation is drawn from.
        return batches.enumerate().map(lambda number, batch: (epoch, number, batch))

    def take(epoch, number, batch):
        return (
            epoch,
            number,
            tf.nest.map_structure(lambda x: tf.cast(tf.gather(x, batch), tf.float32), inputs),
            tf.nest.map_structure(lambda y: tf.gather(y, batch), labels),
        )

    dataset = tf.data.Dataset.range(first_epoch, last_epoch).flat_map(one_epoch)
    dataset = dataset.map(take, num_parallel_calls=tf.data.AUTOTUNE)
    if augmentation is None:
        dataset = dataset.map(lambda epoch, number, x, y: (x, y))
    else:
        # Keras' random layers draw from seed generators, whose state moves with every
        # call. Setting their state from (seed, epoch, batch) before each batch makes
        # the augmentation of a batch the same whichever process draws it: a resumed
        # run sees the very images an uninterrupted one would. One batch at a time
        # (no parallel calls), so that no other batch moves the state in between.
        generators = [variable for variable in augmentation.variables
                      if variable.path.endswith("seed_generator_state")]  # fmt: skip

        def augment(epoch, number, x, y):
            assignments = [
                generator.assign(tf.stack([
                    tf.constant(seed, tf.int64), (epoch * 1_000_003 + number) * 31 + index
                ]))
                for index, generator in enumerate(generators)
            ]  # fmt: skip
            with tf.control_dependencies([getattr(op, "op", op) for op in assignments]):
                return augmentation(tf.identity(x), training=True), y

        dataset = dataset.map(augment)
    return dataset.prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(count, batch_size):
    """Batches in one epoch of `count` examples."""
    return math.ceil(count / batch_size)


def with_class_weights(batches, class_weight):
    """`(inputs, labels)` batches as `(inputs, labels, sample weights)`, each
    example weighted by its class's weight in `class_weight` (index -> weight)."""
    table = np.ones(max(class_weight) + 1, dtype="float32")
    for index, weight in class_weight.items():
        table[index] = weight
    table = tf.constant(table)
    return batches.map(lambda x, y: (x, y, tf.gather(table, tf.cast(y, tf.int32))))


def make_dataset(images, labels, batch_size, shuffle=False, seed=0, augmentation=None):
    """A batched, prefetched `tf.data.Dataset` of (float32 images, labels)."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return batch_augment_prefetch(dataset, batch_size, augmentation)


def compile_classifier(model, learning_rate, decay_steps=None, jit_compile=False):
    """Adam + sparse categorical cross-entropy + accuracy. Call again after
    changing `trainable`: Keras only sees the change at compile time.

    Args:
        model: keras.Model. The model to compile.
        learning_rate: float. The first step's learning rate.
        decay_steps: int or None. Decay the learning rate to zero along a
            cosine over this many steps (a phase's steps); None: constant.
            A decaying rate lets BatchNormalization's moving averages catch
            up with weights that have stopped moving: with a constant rate, a
            network trained from scratch scores far below its training accuracy.
        jit_compile: bool. Compile the training step with XLA.
    """
    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )


def data_fingerprint(*arrays):
    """A short hash of arrays' shapes and bytes: has the data changed?"""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def set_phase_trainable(model, plan, phase):
    """Which blocks train in `phase`: none in feature extraction, the plan's
    otherwise; BatchNormalization trains only from scratch."""
    if phase == "scratch":
        set_trainable(model, plan.trainable_blocks, bn_trainable=True)
    elif phase == "fine_tuning":
        set_trainable(model, plan.trainable_blocks)
    else:
        set_trainable(model, [])  # phase 1: the whole backbone frozen


def augmentation_layer(augment, augmentation, seed):
    """The layer that augments training batches, or None when nothing is augmented."""
    if not augment:
        return None
    return augmentation if augmentation is not None else default_augmentation(seed)


@in_model_scope  # the optimizers and the head model go where the model's variables are
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
    augmentation=None,
    seed=0,
    verbose=1,
    restore_best=True,
    resume=True,
    extra_settings=None,
    cache_frozen_blocks=True,
    jit_compile=False,
    min_steps=None,
    class_weight=None,
):
    """Trains `model` the way `plan` says, writing history, logs and checkpoints.

    Every finished epoch is committed to `output_dir/checkpoints` (see
    `tl_templates.TrainingRun`): call again with the same arguments after an
    interruption and training continues from the last finished epoch, in
    either phase. A call on a finished run trains nothing and returns the same
    results, with the best weights loaded.

    Args:
        model: keras.Model. A classifier built as input -> backbone -> head.
        plan: tl_templates.Plan. From `tl_templates.advise` or `plan_strategy`.
        train: tuple. `(inputs, integer labels)`: uint8 images, or float32
            waveforms for an audio model.
        validation: tuple. Same, used to pick the best epoch.
        head_epochs: int. Phase 1 epochs (feature extraction).
        fine_tune_epochs: int. Phase 2 epochs; `train_from_scratch` trains
            `head_epochs + fine_tune_epochs` epochs in a single phase. On
            small data each epoch makes several passes, so that every phase
            runs at least `min_steps` steps (the head phase half).
        batch_size: int. Examples per step; under a `tf.distribute` strategy, over all
            replicas together (`tl_templates.global_batch_size`).
        output_dir: str or Path. Gets `history.csv`, `logs/` (TensorBoard) and
            `checkpoints/` (`best.weights.h5` and the resume state).
        augment: bool, `"auto"` or keras.layers.Layer. True: every phase's
            training batches are augmented; `"auto"`: the phases that train
            backbone blocks (the head phase then trains on cached features);
            a layer: True, with that layer.
        augmentation: keras.layers.Layer or None. What augments a batch
            (called with `training=True`), such as
            `tl_templates.AudioAugmentation` for waveforms; None: random
            shifts, rotations and zooms of images.
        seed: int. Shuffling and augmentation seed.
        verbose: int. Keras progress output (0 silent, 1 bars, 2 a line per epoch).
        restore_best: bool. End with the weights of the best validation epoch
            (else those of the last epoch).
        resume: bool. Continue the checkpoint in `output_dir` when it was made
            with the same settings and data (a different one raises a
            ValueError); False discards it and starts over.
        extra_settings: dict or None. More values that define the run, such
            as a project's whole config (the dropout rate, the backbone...): a
            checkpoint made with other values is not continued either.
        cache_frozen_blocks: bool. When nothing is augmented, compute the
            outputs of the frozen blocks below the first trainable one once
            per phase and train the rest of the model on them (the same
            training up to float round-off, much cheaper). In either phase;
            skipped when they would not fit in `PREFIX_CACHE_LIMIT_BYTES`.
            False: every step runs the whole model.
        jit_compile: bool. Compile training steps with XLA (see
            `tl_templates.choose_jit_compile`).
        min_steps: int or None. Optimizer steps at least of a phase that
            trains blocks; None: `tl_templates.planning.budgets.MIN_STEPS` (600), or the
            `TL_TEMPLATES_MIN_STEPS` environment variable; 0: epochs alone.
        class_weight: dict or None. Class index -> weight of its training
            examples in the loss (`tl_templates.choose_class_weights`),
            applied as sample weights in every phase, cached or not.

    Returns:
        A list of `tl_templates.training.classifier.PhaseResult`.
    """
    output_dir = Path(output_dir)
    if isinstance(augment, keras.layers.Layer):
        augment, augmentation = True, augment
    steps = steps_per_epoch(len(train[1]), batch_size)  # in one pass through the data
    budgets = phase_budgets(plan, head_epochs, fine_tune_epochs, steps, augment, min_steps)
    settings = {
        "plan": plan.to_dict(),
        "head_epochs": head_epochs,
        "fine_tune_epochs": fine_tune_epochs,
        "passes_per_epoch": [budget.passes_per_epoch for budget in budgets],
        "batch_size": batch_size,
        "augment": augment,
        "augmentation": None if augmentation is None else type(augmentation).__name__,
        "seed": seed,
        "cache_frozen_blocks": cache_frozen_blocks,
        "data": data_fingerprint(*train, *validation),
        **{f"config.{key}": value for key, value in (extra_settings or {}).items()},
    }
    if class_weight is not None:  # a run without weights keeps the identity it always had
        settings["class_weight"] = {str(index): weight for index, weight in class_weight.items()}
    run = TrainingRun(output_dir, settings, history_fields=HISTORY_FIELDS, resume=resume)
    if run.restore(model) and verbose:
        print(f"Resuming after epoch {run.epochs_done} ({run.state['phase']}) from {output_dir}")
    if verbose:
        print("Budget: " + "; ".join(budget.describe(steps) for budget in budgets))
    cached_phases = set()
    top_block = block_names(model)[-1] if cache_frozen_blocks else None
    for budget in budgets:
        phase, first, last = budget.name, budget.first_epoch, budget.last_epoch
        set_phase_trainable(model, plan, phase)
        # Frozen blocks below the first trainable one give the same outputs at
        # every epoch (no augmentation, BatchNormalization in inference mode):
        # compute them once and train the rest of the model on them.
        cut = None
        if cache_frozen_blocks and not budget.augment and phase != "scratch":
            cut = cacheable_cut(model, len(train[1]) + len(validation[1]), top_block=top_block)
        if cut is not None:
            cached_phases.add(phase)
        if run.epochs_done >= last:
            continue  # finished before an interruption
        if cut is not None:
            fitted = upper_model(model, cut, top_block)  # shares the model's layers above `cut`
            commit = run.callback(model, fitted, phase)  # its clock counts the prefix pass
            inputs, validation_inputs = prefix_outputs(
                model, cut, train[0], validation[0], batch_size, top_block
            )
            phase_validation = make_dataset(validation_inputs, validation[1], batch_size)
            phase_augmentation = None
        else:
            fitted, inputs = model, train[0]
            phase_validation = make_dataset(*validation, batch_size)
            commit = run.callback(model, model, phase)
            phase_augmentation = augmentation_layer(budget.augment, augmentation, seed)
        passes = budget.passes_per_epoch
        compile_classifier(
            fitted, budget.learning_rate,
            decay_steps=budget.epochs * passes * steps, jit_compile=jit_compile,
        )  # fmt: skip
        start = max(first, run.epochs_done)  # later than `first` when resuming
        # Epoch e is passes e * passes ... (e + 1) * passes - 1 through the data.
        batches = epoch_batches(inputs, train[1], batch_size, seed, start * passes, last * passes,
                                phase_augmentation)  # fmt: skip
        if class_weight is not None:
            batches = with_class_weights(batches, class_weight)
        fitted.fit(
            batches,
            validation_data=phase_validation,
            initial_epoch=start,
            epochs=last,
            steps_per_epoch=passes * steps,
            shuffle=False,  # epoch_batches shuffles, the same way when resuming
            callbacks=[commit, keras.callbacks.TensorBoard(output_dir / "logs" / phase)],
            verbose=verbose,
        )
    if not model.compiled:  # only parts of the model were fitted
        compile_classifier(model, plan.head_learning_rate, jit_compile=jit_compile)
    # The best epoch's variables come from the run's commit (in memory); the
    # one save of best.weights.h5 happens here, not at every best epoch.
    run.finish(model, restore_best)
    results = []
    for budget in budgets:
        summary = run.phase_summary(budget.name)
        if summary["epochs"]:
            results.append(
                PhaseResult(budget.name, summary["epochs"], summary["best"], summary["final"],
                            summary["seconds"], budget.name in cached_phases,
                            budget.epochs * budget.passes_per_epoch * steps, budget.learning_rate)
            )  # fmt: skip
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
    with atomic_path(png_path) as temporary:
        figure.savefig(temporary, dpi=100)
    pyplot.close(figure)
