"""A generated project's output folder: start over, continue, or leave a finished run alone.

Every template's `train.py` begins the same way, with `prepare_output_folder`:

- A run is identified by its settings (config.py's values, with the
  command-line overrides) and a fingerprint of its data (the path, size and
  modification time of every file under `--data`). They are written to
  `run.json` when the run starts, the folder's marker, and copied into
  `metrics.json`, the last file a run writes, by `write_metrics`.
- The same command on a finished run does nothing and says so; another
  command (other settings, other or changed data) stops with a ValueError
  that names each setting that differs and the two ways on: `--restart`, or
  `--output ANOTHER_FOLDER`. An unfinished run is continued only with its own
  settings (`tl_templates.TrainingRun` checks the rest, with the same words).
- `--restart` moves the old run aside (nothing is deleted), but only a folder
  the kit made: one with `run.json`, or, for a run made before that marker,
  the kit's own `checkpoints/resume.npz` or a `metrics.json` that records the
  kit's version or a run. An existing folder that holds other files (another
  tool's `checkpoints/` or `metrics.json` included) is never trained into and
  never moved.

Nothing here imports Keras or TensorFlow.
"""

import datetime
import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from tl_templates.project.atomic import write_json_atomic

METRICS_FILE = "metrics.json"  # written last: its presence marks a finished run
RUN_FILE = "run.json"  # written first: the marker of a folder the kit made
# What `tl_templates.TrainingRun` commits after every epoch (see tl_templates/training/resume.py).
CHECKPOINT_FILE = "checkpoints/resume.npz"
# The kit's state and metrics are a few MB at most: larger files are not the kit's.
_MAX_READ_BYTES = 64 * 1024 * 1024
_KIT = "tl-templates"
_WAYS_ON = (
    "To train with the new settings: python train.py --restart (moves the old run aside, "
    "deletes nothing), or --output ANOTHER_FOLDER."
)


def files_fingerprint(paths):
    """A cheap, sound fingerprint of data files: path, size and modification time of each.

    A folder counts every file under it (hidden files and folders skipped); a
    file counts itself. Editing, adding, removing or replacing a file changes
    the fingerprint; reading none of their contents keeps it cheap (a stat per
    file).

    Args:
        paths: str, Path, or a sequence of them. Missing paths are recorded as
            missing (the loader reports them properly).

    Returns:
        dict: `{"paths", "files", "bytes", "sha256"}` (JSON values).
    """
    paths = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    digest = hashlib.sha256()
    files = size = 0
    for root in (Path(path).resolve() for path in paths):
        digest.update(f"root\0{root}\n".encode())
        if root.is_file():
            entries = [root]
        elif root.is_dir():
            entries = sorted(
                path
                for path in root.rglob("*")
                if path.is_file()
                and not any(part.startswith(".") for part in path.relative_to(root).parts)
            )
        else:
            digest.update(b"missing\n")
            continue
        for path in entries:
            stat = path.stat()
            name = path.relative_to(root).as_posix() if path != root else ""
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            files += 1
            size += stat.st_size
    return {
        "paths": [str(Path(path).resolve()) for path in paths],
        "files": files,
        "bytes": size,
        "sha256": digest.hexdigest(),
    }


def describe_changes(saved, now):
    """`["key: old -> new", ...]` for every key whose value differs between two dicts."""
    return [
        f"{key}: {_short(saved, key)} -> {_short(now, key)}"
        for key in sorted(set(saved) | set(now))
        if key not in saved or key not in now or saved[key] != now[key]
    ]


def _short(values, key):
    return _describe(values[key]) if key in values else "(not set)"


def _describe(value):
    if isinstance(value, dict) and {"files", "bytes", "paths"} <= set(value):
        where = ", ".join(value["paths"])
        files = f"{value['files']} file{'' if value['files'] == 1 else 's'}"
        return f"{files} ({value['bytes']:,} bytes) in {where}"
    return repr(value)


def _describe_data(saved, now):
    if saved["paths"] == now["paths"] and saved["files"] == now["files"]:
        return f"{_describe(saved)} -> the same files, changed since (sizes or modification times)"
    return f"{_describe(saved)} -> {_describe(now)}"


def _identity(settings, data):
    """The run's settings as JSON gives them back, and its data fingerprint."""
    identity = {"settings": json.loads(json.dumps(settings or {}))}
    if data is not None:
        identity["data"] = files_fingerprint(data)
    return identity


def _changes(saved, now):
    """The lines that name each difference between two identities."""
    lines = describe_changes(saved.get("settings", {}), now["settings"])
    if "data" in now and saved.get("data") != now["data"]:
        old = saved.get("data")
        lines.append(f"data: {_describe_data(old, now['data']) if old else 'not recorded'}")
    return lines


def _read_json(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is damaged ({error}). Start over with python train.py --restart (moves the "
            "folder aside), or --output ANOTHER_FOLDER."
        ) from None


def read_run_marker(output_dir):
    """The identity in `output_dir/run.json` (a dict), or None when it is not the kit's marker."""
    path = Path(output_dir) / RUN_FILE
    if not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return marker if isinstance(marker, dict) and marker.get("kit") == _KIT else None


def is_run_folder(output_dir):
    """True for a folder the kit made, judged by the kit's own files only.

    A run started by this version of the kit has `run.json`. A run made
    before that marker is recognised by what only the kit writes: the
    `checkpoints/resume.npz` of `tl_templates.TrainingRun` (a NumPy archive
    whose `state` entry is the run's JSON state), or a `metrics.json` that
    is a JSON object recording the kit's version or the run (`write_metrics`).
    Another tool's `checkpoints/` folder or `metrics.json` does not count.

    Args:
        output_dir: str or Path. The folder to judge.

    Returns:
        bool.
    """
    output_dir = Path(output_dir)
    return (
        read_run_marker(output_dir) is not None
        or _is_kit_checkpoint(output_dir / CHECKPOINT_FILE)
        or _is_kit_metrics(output_dir / METRICS_FILE)
    )


def _is_kit_checkpoint(path):
    """True when `path` is a `resume.npz` that `TrainingRun` wrote: it holds the run's state."""
    if not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("state.npy")
            if info.file_size > _MAX_READ_BYTES:
                return False
            with archive.open(info) as file:
                state = json.loads(str(np.lib.format.read_array(file, allow_pickle=False)))
    except (OSError, ValueError, KeyError, EOFError, RecursionError, zipfile.BadZipFile):
        return False  # json's and NumPy's format errors are ValueErrors
    return isinstance(state, dict) and {"settings", "epochs_done"} <= set(state)


def _is_kit_metrics(path):
    """True when `path` is a `metrics.json` the kit wrote: it records the kit's version or run."""
    if not path.is_file() or path.stat().st_size > _MAX_READ_BYTES:
        return False
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    if not isinstance(metrics, dict):
        return False
    # `run_versions` adds "kit_version" (a version string); `write_metrics` adds "run",
    # the identity copied from run.json: a dict of "settings" and "data" only.
    run = metrics.get("run")
    return isinstance(metrics.get("kit_version"), str) or (
        isinstance(run, dict) and set(run) <= {"settings", "data"}
    )


def _refuse_foreign_folder(output_dir, doing):
    raise ValueError(
        f"{output_dir} exists and holds files, but no run of this kit (no {RUN_FILE}, and no "
        f"{CHECKPOINT_FILE} or {METRICS_FILE} the kit wrote): {doing} might move or overwrite "
        "them. Choose an empty or new folder with --output ANOTHER_FOLDER."
    )


def prepare_output_folder(
    output_dir, restart=False, headline=("test_accuracy",), settings=None, data=None
):
    """Gets `output_dir` ready for `train.py`, or says that its run is finished.

    Args:
        output_dir: str or Path. The run's output folder.
        restart: bool. Move a previous run aside first (`train.py --restart`).
        headline: str or sequence of str. Metrics to quote about a finished
            run, the first one it has: `"test_accuracy"` is printed as
            "test accuracy 0.912".
        settings: dict or None. What defines the run (JSON values, such as
            `dataclasses.asdict(config)`). None: not checked (a finished run
            is then reported whatever made it).
        data: str, Path, sequence of them, or None. The data the run reads,
            fingerprinted (see `files_fingerprint`).

    Returns:
        The finished run's metrics (a dict) when there is nothing to do;
        None when training should go on (the folder then exists, with its
        `run.json`).

    Raises:
        ValueError: the folder holds a run made with other settings or data,
            or files that are not a run of this kit.
    """
    output_dir = Path(output_dir)
    occupied = output_dir.is_dir() and any(output_dir.iterdir())
    if occupied and not is_run_folder(output_dir):
        _refuse_foreign_folder(output_dir, "--restart" if restart else "training there")
    if restart and occupied:
        # Imported here: resume imports Keras, and a finished run needs none of it.
        from tl_templates.training.resume import set_aside_run

        print(f"Moved the previous run to {set_aside_run(output_dir)}")
    now = _identity(settings, data)
    metrics_path = output_dir / METRICS_FILE
    if metrics_path.is_file():
        metrics = _read_json(metrics_path)
        if settings is not None:
            _check_identity(output_dir, metrics.get("run") or {}, now, "a finished run")
        _report_finished(output_dir, metrics, headline)
        return metrics
    marker = read_run_marker(output_dir)
    if marker is not None and settings is not None:
        _check_identity(output_dir, marker, now, "an unfinished run")
    output_dir.mkdir(parents=True, exist_ok=True)
    if marker is None:
        started = datetime.datetime.now().isoformat(timespec="seconds")
        write_json_atomic(output_dir / RUN_FILE, {"kit": _KIT, "started": started, **now})
    return None


def _check_identity(output_dir, saved, now, what):
    if "settings" not in saved:
        raise ValueError(
            f"{output_dir} holds {what} that records no settings (made by an older version of "
            f"the kit): there is no telling whether it answers this command.\n{_WAYS_ON}"
        )
    changes = _changes(saved, now)
    if not changes:
        return
    listed = "\n".join(f"  {line}" for line in changes)
    raise ValueError(f"{output_dir} holds {what} made with other settings:\n{listed}\n{_WAYS_ON}")


def _report_finished(output_dir, metrics, headline):
    headlines = [headline] if isinstance(headline, str) else list(headline)
    quoted = [
        f"{name.replace('_', ' ')} {metrics[name]:.3f}"
        for name in headlines
        if isinstance(metrics.get(name), int | float)
    ]
    print(f"{output_dir} holds a finished run ({(quoted or ['see metrics.json'])[0]}); "
          "nothing to do.\nTo train again: python train.py --restart (moves it aside), "
          "or --output ANOTHER_FOLDER.")  # fmt: skip


def write_metrics(output_dir, metrics):
    """Writes `metrics.json`, the last file of a run, with the settings and data it came from.

    The run's identity (`"run"`: its settings and data fingerprint) is copied
    from `run.json`, so that the results name what produced them and the
    next command can be checked against them.

    Args:
        output_dir: str or Path. The run's output folder.
        metrics: dict. The results (JSON values).

    Returns:
        dict: what was written (`metrics`, the versions of the kit, Keras
        and TensorFlow, and `"run"`).
    """
    from tl_templates.project.versions import run_versions

    marker = read_run_marker(output_dir) or {}
    written = {
        **metrics,
        **run_versions(),  # the kit, Keras and TensorFlow that produced it
        "run": {key: marker[key] for key in ("settings", "data") if key in marker},
    }
    write_json_atomic(Path(output_dir) / METRICS_FILE, written)
    return written
