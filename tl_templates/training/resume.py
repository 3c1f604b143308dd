"""Resumable training: a run killed at any moment continues where it stopped.

After every epoch, `TrainingRun` commits one file, `checkpoints/resume.npz`,
written atomically (a temporary file renamed over the old one), holding:

- the run's state: its settings, the epochs done, the phase of the last epoch,
  the best monitored score and its epoch, the history rows, seconds per phase;
- the variables of the model being fitted: weights, BatchNormalization
  statistics and the dropout layers' random seeds (`model.variables`);
- its optimizer's variables: Adam's moments and step count;
- the variables of the best epoch so far, when that is not the last one.

A killed run therefore restarts from the last finished epoch: no epoch is
repeated or skipped, and with the same data order per epoch (see
`tl_templates.training.classifier.epoch_batches`) it computes exactly what an
uninterrupted run would have. A phase that trains only part of the model (the
head on cached backbone features) saves the full model once when it starts
(`checkpoints/base-<phase>.npz`), so that each epoch's commit stays small.

`checkpoints/best.weights.h5` (Keras' format, for `model.load_weights`) is
written once, when a call ends (`TrainingRun.finish`), not at every best
epoch: Keras' saving walks every layer (0.6 s for EfficientNetB0), which made
the cheap runs (a head on cached features) cost several times their one
backbone pass. The commit holds the best epoch's variables, so nothing is lost
if the run is killed before it ends.

Everything is NumPy's `.npz` (a zip of plain arrays) and JSON, read with
`allow_pickle=False`: a checkpoint cannot run code when it is loaded.

Usage, as `tl_templates.train_classifier` does it::

    run = TrainingRun(output_dir, settings={"epochs": 10, ...})
    run.restore(model)  # the last committed epoch, if there is one
    for phase, fitted, first, last in phases:  # fitted: the model fit() trains
        if run.epochs_done >= last:
            continue  # finished before the interruption
        fitted.compile(...)
        fitted.fit(..., initial_epoch=max(first, run.epochs_done), epochs=last,
                   callbacks=[run.callback(model, fitted, phase)])
    run.finish(model)  # the best epoch's weights, in `model` and in run.best_path
"""

import json
import math
import time
import warnings
import zipfile
from datetime import datetime
from pathlib import Path

import keras
import numpy as np

from tl_templates.project.atomic import atomic_path, remove_partial_files, write_csv_atomic
from tl_templates.project.output_folder import describe_changes

STATE_FILE = "resume.npz"
BEST_FILE = "best.weights.h5"
HISTORY_FILE = "history.csv"


def set_aside_run(output_dir):
    """Moves a previous run's folder aside so that a new run can start; deletes nothing.

    Args:
        output_dir: str or Path. The run's output folder.

    Returns:
        The new Path of the previous run (`<output_dir>-previous-<date>-<time>`),
        or None when there was nothing to move.
    """
    output_dir = Path(output_dir)
    if not output_dir.exists() or not any(output_dir.iterdir()):
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = output_dir.with_name(f"{output_dir.name}-previous-{stamp}")
    number = 1
    while target.exists():
        number += 1
        target = output_dir.with_name(f"{output_dir.name}-previous-{stamp}-{number}")
    output_dir.rename(target)
    return target


def _fresh_state(settings):
    return {
        "settings": settings,
        "epochs_done": 0,
        "phase": None,
        "base_phase": None,  # the base snapshot the committed variables complete
        "best": None,
        "best_epoch": 0,
        # The best epoch's variables: indices into `model.variables`, and the
        # base snapshot they complete (their arrays are `best_*` in the file,
        # or `variable_*` while the best epoch is the last committed one).
        "best_variables": [],
        "best_base_phase": None,
        "history": [],
        "seconds": {},
    }


def _normalised(settings):
    """`settings` as JSON would give it back (tuples become lists, and so on)."""
    return json.loads(json.dumps(settings))


def _read_npz(path):
    """`{name: array}` from an `.npz` file, refusing anything that needs pickle."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"Cannot read the checkpoint {path}: {error}. Delete it to start over "
            "(train.py --restart)."
        ) from None


def _write_npz(path, arrays):
    with atomic_path(path) as temporary, temporary.open("wb") as file:
        np.savez(file, **arrays)


def _assign(variables, arrays, what, path):
    """Assigns `arrays` to `variables` in order, after checking that they fit."""
    if len(variables) != len(arrays):
        raise ValueError(
            f"The checkpoint {path} does not fit this model: it holds {len(arrays)} {what} "
            f"variables, the model has {len(variables)}. It was saved by a different model; "
            "start over with resume=False (train.py --restart)."
        )
    for index, (variable, array) in enumerate(zip(variables, arrays, strict=True)):
        if tuple(variable.shape) != array.shape:
            raise ValueError(
                f"The checkpoint {path} does not fit this model: {what} variable {index} "
                f"({variable.path}) has shape {tuple(variable.shape)} here and {array.shape} "
                "in the checkpoint. Start over with resume=False (train.py --restart)."
            )
    for variable, array in zip(variables, arrays, strict=True):
        variable.assign(array)


def _save_weights(model, path):
    """`model.save_weights(path)`, atomically, without Keras' wasted work.

    Keras 3 (3.15 included) caches the attribute names its saver skips under
    `saving_attr_skipset_<type>` but looks them up under `..._skiplist_...`,
    so every layer visited builds and inspects a throwaway `Layer()`: a third
    of the time of a save. Filling the key it reads makes that a lookup.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.saving import saving_lib

        for kind in ("Layer", "Functional", "Sequential", "Operation"):  # visited per layer
            key = f"saving_attr_skiplist_{kind}"
            if global_state.get_global_attribute(key) is None:
                global_state.set_global_attribute(key, saving_lib.get_attr_skipset(kind))
    except (ImportError, AttributeError, ValueError):
        pass  # another Keras: save the slow way
    with atomic_path(path) as temporary:
        model.save_weights(temporary)


class TrainingRun:
    """The resumable state of one training run, committed after every epoch.

    Args:
        output_dir: str or Path. Gets `history.csv` and `checkpoints/`.
        settings: dict. What defines the run (JSON values): epochs, learning
            rates, seed, a fingerprint of the data... A checkpoint made with
            other settings is not continued: that raises a ValueError that
            lists the differences.
        monitor: str. The log entry that picks the best epoch.
        mode: str. `"max"` (accuracy) or `"min"` (a loss).
        history_fields: sequence or None. The columns of `history.csv`, in
            order; None: `epoch`, `phase`, then every logged value.
        resume: bool. Continue a checkpoint of the same settings if there is
            one; False discards any checkpoint and history and starts over.

    Attributes:
        state: dict. The committed state (see the module docstring).
        best_path: Path. Weights of the best epoch (`.weights.h5`), written
            by `finish` when a call ends.
        history_path: Path. One row per finished epoch, rewritten atomically.
    """

    def __init__(
        self,
        output_dir,
        settings,
        monitor="val_accuracy",
        mode="max",
        history_fields=None,
        resume=True,
    ):
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min'. Received: mode={mode!r}.")
        self.output_dir = Path(output_dir)
        self.checkpoint_dir = self.output_dir / "checkpoints"
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.checkpoint_dir / STATE_FILE
        self.best_path = self.checkpoint_dir / BEST_FILE
        self.history_path = self.output_dir / HISTORY_FILE
        self.monitor = monitor
        self.mode = mode
        self.history_fields = list(history_fields) if history_fields else None
        self._arrays = {}
        settings = _normalised(settings)
        if not resume:
            self.discard()
        if self.state_path.exists():
            self._arrays = _read_npz(self.state_path)
            try:
                self.state = json.loads(str(self._arrays.pop("state")))
            except (KeyError, ValueError):
                raise ValueError(
                    f"The checkpoint {self.state_path} has no readable state. Delete it to "
                    "start over (train.py --restart)."
                ) from None
            self._check_settings(settings)
        else:
            self.state = _fresh_state(settings)

    @property
    def epochs_done(self):
        """Epochs finished and committed, all phases together."""
        return self.state["epochs_done"]

    @property
    def history(self):
        """The committed rows of `history.csv`, one dict per epoch."""
        return self.state["history"]

    def discard(self):
        """Deletes the checkpoints and the history of this output folder."""
        for path in [self.state_path, self.best_path, self.history_path]:
            path.unlink(missing_ok=True)
        for path in self.checkpoint_dir.glob("base-*.npz"):
            path.unlink()

    def _check_settings(self, settings):
        saved = self.state["settings"]
        if saved == settings:
            return
        listed = "\n".join(f"  {line}" for line in describe_changes(saved, settings))
        raise ValueError(
            f"{self.output_dir} holds an unfinished run made with other settings:\n{listed}\n"
            "Run with the same settings to continue it. To train with the new settings: "
            "python train.py --restart (moves the old run aside, deletes nothing), or --output "
            "ANOTHER_FOLDER (resume=False here)."
        )

    def restore(self, model):
        """Puts `model` in the state of the last committed epoch.

        Also rewrites `history.csv` from the committed rows (a row written
        after the last commit is dropped) and removes files half-written by a
        killed process.

        Args:
            model: keras.Model. The full model, built as in the original run.

        Returns:
            bool. True when a checkpoint was restored, False for a new run.
        """
        for folder in (self.output_dir, self.checkpoint_dir):
            remove_partial_files(folder)
        if self.epochs_done == 0:
            return False
        if self.state["base_phase"] is not None:
            self._restore_base(model, self.state["base_phase"])
        self._assign_saved(model, self.state["fitted_variables"], "variable")
        self._write_history()
        return True

    def restore_best(self, model):
        """Puts the best epoch's weights in `model`, which holds the last committed epoch.

        As it does after `restore` and after training. Only what differs is
        assigned: nothing when the last epoch is the best.
        """
        state = self.state
        if state["best_epoch"] in (0, self.epochs_done):
            return
        if state.get("best_variables") is None:
            # Committed by a kit that wrote best.weights.h5 at every best epoch.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
                model.load_weights(self.best_path)
            return
        best_base = state["best_base_phase"]
        if best_base is not None and best_base != state["base_phase"]:
            # Later phases changed other variables: back to the best phase's start.
            self._restore_base(model, best_base)
        self._assign_saved(model, state["best_variables"], self._best_prefix())

    def finish(self, model, restore_best=True):
        """Ends a call: writes `best.weights.h5` unless it is current.

        The file is current when it was written after the last commit (a call
        on a finished run trains nothing and rewrites nothing). With no
        monitored score in any epoch, it holds the last epoch's weights.

        Args:
            model: keras.Model. The full model, holding the last committed
                epoch (as after `restore` and training).
            restore_best: bool. Leave the best epoch's weights in `model`;
                False: the last epoch's, as before the call.
        """
        if self.epochs_done == 0:
            return
        best_path, state_path = self.best_path, self.state_path
        current = best_path.exists() and (
            best_path.stat().st_mtime_ns > state_path.stat().st_mtime_ns
        )
        if current and not restore_best:
            return
        last_is_best = self.state["best_epoch"] in (0, self.epochs_done)
        last = None if restore_best or last_is_best else [v.numpy() for v in model.variables]
        self.restore_best(model)
        if not current:
            _save_weights(model, best_path)
        if last is not None:
            _assign(model.variables, last, "model", state_path)

    def callback(self, model, fitted, phase):
        """The Keras callback that commits after every epoch of `fitted.fit()`.

        Args:
            model: keras.Model. The full model (what is checkpointed and saved
                as the best weights).
            fitted: keras.Model. The model `fit()` trains: `model` itself, or
                a model made of some of its layers (a head on cached features).
            phase: str. The phase's name, written in `history.csv`.
        """
        return _CommitAfterEachEpoch(self, model, fitted, phase)

    def phase_summary(self, phase):
        """`{"epochs", "best", "final", "seconds"}` of a phase, from the history."""
        scores = [row.get(self.monitor, math.nan) for row in self.history if row["phase"] == phase]
        pick = max if self.mode == "max" else min
        known = [score for score in scores if not math.isnan(score)]
        return {
            "epochs": len(scores),
            "best": pick(known) if known else math.nan,
            "final": scores[-1] if scores else math.nan,
            "seconds": self.state["seconds"].get(phase, 0.0),
        }

    def _base_path(self, phase):
        return self.checkpoint_dir / f"base-{phase}.npz"

    def _restore_base(self, model, phase):
        """Assigns the full model saved when `phase` started."""
        path = self._base_path(phase)
        base = _read_npz(path)
        _assign(model.variables, [base[f"variable_{i:05d}"] for i in range(len(base))], "model",
                path)  # fmt: skip

    def _assign_saved(self, model, indices, prefix):
        """Assigns the committed arrays `<prefix>_<index>` to those variables of `model`."""
        variables = model.variables
        _assign([variables[i] for i in indices],
                [self._arrays[f"{prefix}_{i:05d}"] for i in indices], "model",
                self.state_path)  # fmt: skip

    def _best_prefix(self):
        """`variable` while the best epoch is the last committed one, else `best`."""
        return "variable" if self.state["best_epoch"] == self.epochs_done else "best"

    def _save_base(self, model, phase):
        """The full model before a phase that trains only part of it."""
        arrays = {f"variable_{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}
        _write_npz(self._base_path(phase), arrays)

    def _restore_optimizer(self, fitted):
        optimizer = fitted.optimizer
        if not optimizer.built:
            optimizer.build(fitted.trainable_variables)
        count = self.state["optimizer_variables"]
        arrays = [self._arrays[f"optimizer_{i:05d}"] for i in range(count)]
        _assign(optimizer.variables, arrays, "optimizer", self.state_path)

    def commit(self, model, fitted, phase, epoch, logs, seconds):
        """Commits finished epoch `epoch` (1-based): state, variables, optimizer.

        Also the best epoch's variables, then rewrites `history.csv`. The
        commit is the single atomic step: a process killed before it redoes
        the epoch, one killed after it does not.
        """
        if epoch != self.epochs_done + 1:
            raise RuntimeError(
                f"Epoch {epoch} finished but the run had {self.epochs_done} epochs done: "
                "epochs must follow each other."
            )
        row = {"epoch": epoch, "phase": phase}
        row.update({name: float(value) for name, value in (logs or {}).items()})
        if fitted.optimizer is not None and "learning_rate" not in row:
            row["learning_rate"] = float(
                keras.ops.convert_to_numpy(fitted.optimizer.learning_rate)
            )
        score = row.get(self.monitor, math.nan)
        best = self.state["best"]
        # A tie goes to the later epoch: on a small validation set many epochs tie,
        # and a later one has trained longer, its learning rate decayed further
        # and its BatchNormalization statistics caught up with its weights.
        improved = not math.isnan(score) and (
            best is None or (score >= best if self.mode == "max" else score <= best)
        )

        identities = {id(variable): index for index, variable in enumerate(model.variables)}
        missing = [v.path for v in fitted.variables if id(v) not in identities]
        if missing:
            raise ValueError(
                f"The fitted model has variables that are not in the full model: {missing[:3]}. "
                "Fit the full model or a model built from its layers."
            )
        indices = [identities[id(variable)] for variable in fitted.variables]
        arrays = {
            f"variable_{i:05d}": np.asarray(variable.numpy())
            for i, variable in zip(indices, fitted.variables, strict=True)
        }
        optimizer_variables = fitted.optimizer.variables if fitted.optimizer else []
        for index, variable in enumerate(optimizer_variables):
            arrays[f"optimizer_{index:05d}"] = np.asarray(variable.numpy())
        state = dict(self.state)
        base_phase = phase if len(indices) < len(identities) else None
        state.update(
            epochs_done=epoch,
            phase=phase,
            base_phase=base_phase,
            fitted_variables=indices,
            optimizer_variables=len(optimizer_variables),
            history=[*self.history, row],
            seconds={**self.state["seconds"], phase: round(seconds, 3)},
        )
        if improved:
            # Its arrays are this commit's `variable_*`: nothing more to store.
            state.update(best=score, best_epoch=epoch, best_variables=indices,
                         best_base_phase=base_phase)  # fmt: skip
        elif self.state.get("best_variables") is not None:
            # An earlier epoch stays the best: carry its arrays over.
            prefix = self._best_prefix()
            for i in self.state["best_variables"]:
                arrays[f"best_{i:05d}"] = self._arrays[f"{prefix}_{i:05d}"]
        _write_npz(self.state_path, {"state": np.array(json.dumps(state)), **arrays})
        self.state, self._arrays = state, arrays
        self._write_history()

    def _write_history(self):
        fields = self.history_fields
        if fields is None:
            fields = ["epoch", "phase"]
            for row in self.history:
                fields.extend(name for name in row if name not in fields)
        write_csv_atomic(self.history_path, self.history, fields)


class _CommitAfterEachEpoch(keras.callbacks.Callback):
    """Commits the run after every epoch; resumes the optimizer mid-phase."""

    def __init__(self, run, model, fitted, phase):
        super().__init__()
        self.run = run
        self.full_model = model
        self.fitted = fitted
        self.phase = phase
        self.started = time.perf_counter()
        self.seconds_before = run.state["seconds"].get(phase, 0.0)

    def on_train_begin(self, logs=None):
        run = self.run
        if run.state["phase"] == self.phase:
            # Killed inside this phase: continue with the optimizer's state too.
            run._restore_optimizer(self.fitted)
        partial = len(self.fitted.variables) < len(self.full_model.variables)
        if partial and run.state["base_phase"] != self.phase:
            # No commit of this phase refers to a base yet: (re)write it now.
            run._save_base(self.full_model, self.phase)

    def on_epoch_end(self, epoch, logs=None):
        seconds = self.seconds_before + time.perf_counter() - self.started
        self.run.commit(self.full_model, self.fitted, self.phase, epoch + 1, logs, seconds)
