"""Wake-word detection: false accepts per hour and false rejects against the threshold.

A detector fires on a clip when a wake word's probability reaches the
detection threshold. Raising the threshold trades false accepts (firing on
audio without the word: counted per hour of that audio, the figure a device
is tuned by) for false rejects (missing the word: a share of its clips).
"""

from pathlib import Path

import numpy as np


def detection_scores(labels, probabilities, target_classes):
    """Per clip, the score that decides a detection, and whether the clip holds a wake word.

    A clip of a wake word is detected when its own class reaches the
    threshold; a clip without one is falsely accepted when any wake word's
    class does.

    Args:
        labels: array of int. The true class of each clip.
        probabilities: array `(clips, classes)`.
        target_classes: list of int. The wake-word classes (the others are
            negative: background, other words).

    Returns:
        `(scores, is_target)`: two arrays, one value per clip.

    Examples:
    >>> from tl_templates.evaluation import detection
    >>> scores, is_target = detection.detection_scores(
    ...     [0, 1, 1], [[0.7, 0.3], [0.6, 0.4], [0.1, 0.9]], target_classes=[1])
    >>> scores.tolist(), is_target.tolist()
    ([0.3, 0.4, 0.9], [False, True, True])
    """
    labels = np.asarray(labels, dtype="int64")
    probabilities = np.asarray(probabilities, dtype="float64")
    targets = np.asarray(target_classes, dtype="int64")
    is_target = np.isin(labels, targets)
    own = probabilities[np.arange(len(labels)), labels]
    best_target = probabilities[:, targets].max(axis=1) if len(targets) else np.zeros(len(labels))
    return np.where(is_target, own, best_target), is_target


def detection_tradeoff(scores, is_target, negative_seconds, thresholds=None):
    """False accepts per hour and the false-reject rate at each threshold.

    Args:
        scores: array. `detection_scores`' first output.
        is_target: array of bool. `detection_scores`' second output.
        negative_seconds: float. Seconds of audio without a wake word that
            the negative clips add up to.
        thresholds: array or None. Default: 0.00, 0.01, ... 1.00.

    Returns:
        dict of lists: `thresholds`, `false_accepts` (count),
        `false_accepts_per_hour`, `false_rejects` (count) and
        `false_reject_rate` (share of the wake-word clips; None without any).

    Examples:
    >>> from tl_templates.evaluation import detection
    >>> curve = detection.detection_tradeoff(
    ...     [0.3, 0.6, 0.4, 0.9], [False, False, True, True], negative_seconds=1800,
    ...     thresholds=[0.5])
    >>> curve["false_accepts_per_hour"], curve["false_reject_rate"]
    ([2.0], [0.5])
    """
    scores = np.asarray(scores, dtype="float64")
    is_target = np.asarray(is_target, dtype=bool)
    if thresholds is None:
        thresholds = np.round(np.linspace(0.0, 1.0, 101), 2)
    thresholds = np.asarray(thresholds, dtype="float64")
    fires = scores[None, :] >= thresholds[:, None]  # (thresholds, clips)
    false_accepts = (fires & ~is_target).sum(axis=1)
    false_rejects = (~fires & is_target).sum(axis=1)
    hours = negative_seconds / 3600
    targets = int(is_target.sum())
    return {
        "thresholds": thresholds.tolist(),
        "false_accepts": false_accepts.tolist(),
        "false_accepts_per_hour": (false_accepts / hours).tolist()
        if hours
        else [None] * len(thresholds),
        "false_rejects": false_rejects.tolist(),
        "false_reject_rate": (false_rejects / targets).tolist()
        if targets
        else [None] * len(thresholds),
    }


def plot_detection_tradeoff(curve, threshold, path):
    """Writes a PNG: false accepts per hour (left axis) and false-reject rate (right axis)
    against the threshold, with `threshold` marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, left = pyplot.subplots(figsize=(6, 4))
    right = left.twinx()
    per_hour = [np.nan if value is None else value for value in curve["false_accepts_per_hour"]]
    rejects = [np.nan if value is None else value for value in curve["false_reject_rate"]]
    left.plot(curve["thresholds"], per_hour, color="tab:red", label="false accepts per hour")
    right.plot(curve["thresholds"], rejects, color="tab:blue", label="false-reject rate")
    left.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
    left.set_xlabel("detection threshold")
    left.set_ylabel("false accepts per hour", color="tab:red")
    right.set_ylabel("false-reject rate", color="tab:blue")
    right.set_ylim(0, 1.05)
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    left.legend(handles=handles, loc="center right", fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
