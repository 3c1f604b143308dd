"""Two-phase training of a multi-task model, as `train_classifier` does for one task.

Phase 1 trains the heads on the frozen backbone, on features computed once
(no augmentation) or on the images (augmentation). Phase 2 unfreezes the
blocks the plan chose and fine-tunes with a smaller learning rate. The best
epoch is the one with the lowest validation task loss: the sum of each
task's validation loss times its fixed weight (the learned uncertainty
weights move during training, so their total is not comparable across
epochs).

Every finished epoch is committed (`tl_templates.TrainingRun`), and each
epoch's data order depends only on the seed and the epoch number
(`tl_templates.training.classifier.epoch_batches`), so an interrupted run continues
exactly where it stopped, in either phase.
"""

import dataclasses
import json
from pathlib import Path

import keras
import tensorflow as tf

from tl_templates.planning.budgets import phase_budgets
from tl_templates.project.atomic import atomic_path
from tl_templates.tasks.multitask import compile_multitask
from tl_templates.training.caching import backbone_features
from tl_templates.training.classifier import (
    augmentation_layer,
    data_fingerprint,
    epoch_batches,
    read_history,
    set_phase_trainable,
    steps_per_epoch,
)
from tl_templates.training.distribute import in_model_scope
from tl_templates.training.resume import TrainingRun


@dataclasses.dataclass
class TaskPhaseResult:
    """What one phase of multi-task training did."""

    name: str
    epochs: int
    best_val_task_loss: float
    final_val_task_loss: float
    seconds: float
    cached_features: bool = False
    steps: int = 0  # optimizer steps the phase's budget asked for
    learning_rate: float = 0.0  # the first step's; it decays to zero on a cosine


def task_loss(logs, heads, prefix="val_"):
    """Sum of the tasks' losses in `logs`, each times its fixed weight.

    Keras logs `<task>_loss` per output when there are several; a one-task
    model logs only `loss`.
    """
    if len(heads) == 1:
        return float(logs[f"{prefix}loss"])
    return float(sum(head.loss_weight * logs[f"{prefix}{head.name}_loss"] for head in heads))


class TaskLossLogs(keras.callbacks.Callback):
    """Adds `task_loss`, `val_task_loss` and the learned task weights to each epoch's logs.

    Put it before the callbacks that read them (the commit of `TrainingRun`):
    Keras hands the same logs to every callback, in order.
    """

    def __init__(self, model, heads):
        super().__init__()
        self.full_model = model  # the heads model alone is fitted in the cached phase
        self.heads = heads

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs["task_loss"] = task_loss(logs, self.heads, prefix="")
        logs["val_task_loss"] = task_loss(logs, self.heads)
        weighting = self.full_model.uncertainty_layer()
        if weighting is not None:
            for name, weight in weighting.weights_by_task().items():
                logs[f"weight_{name}"] = weight


def make_task_dataset(images, labels, batch_size):
    """A batched `tf.data.Dataset` of (float32 images or features, `{task: labels}`), in order."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)
    dataset = dataset.map(lambda x, y: (tf.cast(x, tf.float32), y))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _sorted_arrays(labels):
    """The label arrays of `{task: labels}` in task-name order (for a fingerprint)."""
    return [labels[name] for name in sorted(labels)]


def _head_settings(heads):
    """The heads as JSON values: what defines them in a run's settings."""
    return json.loads(json.dumps([dataclasses.asdict(head) for head in heads], default=float))


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
    resume=True,
    extra_settings=None,
    jit_compile=False,
    min_steps=None,
):
    """Trains a multi-task model the way `plan` says, writing history, logs and checkpoints.

    Every finished epoch is committed to `output_dir/checkpoints` (see
    `tl_templates.TrainingRun`): call again with the same arguments after an
    interruption and training continues from the last finished epoch, in
    either phase. A call on a finished run trains nothing and returns the same
    results, with the best weights loaded.

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
        output_dir: str or Path. Gets `history.csv`, `logs/` (TensorBoard)
            and `checkpoints/` (`best.weights.h5` and the resume state).
        augment: bool or `"auto"`. Random shifts, rotations and zooms on the
            training images: in every phase, or (`"auto"`) in the phases that
            train backbone blocks. On small data each epoch makes several
            passes, so that every phase runs at least
            `tl_templates.planning.budgets.MIN_STEPS` steps.
        seed: int. Shuffling and augmentation seed.
        verbose: int. Keras progress output (0 silent, 1 bars, 2 a line per epoch).
        restore_best: bool. End with the weights of the best validation epoch.
        resume: bool. Continue the checkpoint in `output_dir` when it was made
            with the same settings and data (a different one raises a
            ValueError that lists the differences); False discards it.
        extra_settings: dict or None. More values that define the run, such
            as a project's whole config: a checkpoint made with other values
            is not continued either.
        jit_compile: bool. Compile training steps with XLA (see
            `tl_templates.choose_jit_compile`).
        min_steps: int or None. Optimizer steps at least of a phase that
            trains blocks; None: `tl_templates.planning.budgets.MIN_STEPS` (600), or the
            `TL_TEMPLATES_MIN_STEPS` environment variable; 0: epochs alone.

    Returns:
        A list of `tl_templates.training.multitask.TaskPhaseResult`.
    """
    output_dir = Path(output_dir)
    steps = steps_per_epoch(len(train[0]), batch_size)  # in one pass through the data
    budgets = phase_budgets(plan, head_epochs, fine_tune_epochs, steps, augment, min_steps)
    settings = {
        "plan": plan.to_dict(),
        "heads": _head_settings(heads),
        "head_epochs": head_epochs,
        "fine_tune_epochs": fine_tune_epochs,
        "passes_per_epoch": [budget.passes_per_epoch for budget in budgets],
        "batch_size": batch_size,
        "augment": augment,
        "seed": seed,
        "data": data_fingerprint(
            train[0], *_sorted_arrays(train[1]), validation[0], *_sorted_arrays(validation[1])
        ),
        **{f"config.{key}": value for key, value in (extra_settings or {}).items()},
    }
    run = TrainingRun(output_dir, settings, monitor="val_task_loss", mode="min", resume=resume)
    if run.restore(model) and verbose:
        print(f"Resuming after epoch {run.epochs_done} ({run.state['phase']}) from {output_dir}")
    if verbose:
        print("Budget: " + "; ".join(budget.describe(steps) for budget in budgets))
    validation_data = make_task_dataset(*validation, batch_size)
    for budget in budgets:
        phase, first, last = budget.name, budget.first_epoch, budget.last_epoch
        if run.epochs_done >= last:
            continue  # finished before an interruption
        set_phase_trainable(model, plan, phase)
        if phase == "feature_extraction" and not budget.augment:
            # The frozen backbone's outputs never change in this phase: compute
            # them once and train the heads (a model of their own) on them.
            fitted = model.get_layer("heads")
            commit = run.callback(model, fitted, phase)  # its clock counts the backbone pass
            inputs, validation_inputs = backbone_features(
                model, train[0], validation[0], batch_size
            )
            phase_validation = make_task_dataset(validation_inputs, validation[1], batch_size)
            phase_augmentation = None
        else:
            fitted, inputs, phase_validation = model, train[0], validation_data
            commit = run.callback(model, model, phase)
            phase_augmentation = augmentation_layer(budget.augment, None, seed)
        passes = budget.passes_per_epoch
        compile_multitask(
            fitted, heads, budget.learning_rate, jit_compile=jit_compile,
            decay_steps=budget.epochs * passes * steps,
        )  # fmt: skip
        start = max(first, run.epochs_done)  # later than `first` when resuming
        fitted.fit(
            # Epoch e is passes e * passes ... (e + 1) * passes - 1 through the data.
            epoch_batches(inputs, train[1], batch_size, seed, start * passes, last * passes,
                          phase_augmentation),
            validation_data=phase_validation,
            initial_epoch=start,
            epochs=last,
            steps_per_epoch=passes * steps,
            shuffle=False,  # epoch_batches shuffles, the same way when resuming
            callbacks=[
                TaskLossLogs(model, heads),  # first: the commit records what it adds
                commit,
                keras.callbacks.TensorBoard(output_dir / "logs" / phase),
            ],
            verbose=verbose,
        )
    if not model.compiled:  # feature extraction trained only the heads model
        compile_multitask(model, heads, plan.head_learning_rate, jit_compile=jit_compile)
    run.finish(model, restore_best)  # the best epoch's weights, and best.weights.h5 written once
    results = []
    for budget in budgets:
        summary = run.phase_summary(budget.name)
        if summary["epochs"]:
            cached = budget.name == "feature_extraction" and not budget.augment
            results.append(
                TaskPhaseResult(budget.name, summary["epochs"], summary["best"], summary["final"],
                                summary["seconds"], cached, budget.epochs * budget.passes_per_epoch
                                * steps, budget.learning_rate)
            )  # fmt: skip
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
    with atomic_path(png_path) as temporary:
        figure.savefig(temporary, dpi=100)
    pyplot.close(figure)
