"""Precision-recall curves of binary labels, with a chosen threshold marked."""

from pathlib import Path

import numpy as np


def precision_recall_curve(labels, scores):
    """Precision and recall at every distinct score used as the threshold (`score >= t`).

    Unknown labels (NaN or -1) are left out.

    Returns:
        dict of lists `thresholds` (decreasing), `precision`, `recall`;
        empty lists when no known label is positive.

    Examples:
    >>> from tl_templates.evaluation import curves
    >>> curve = curves.precision_recall_curve([1, 0, 1, float("nan")], [0.9, 0.5, 0.3, 0.1])
    >>> curve["thresholds"], curve["precision"], curve["recall"]
    ([0.9, 0.5, 0.3], [1.0, 0.5, 0.6666666666666666], [0.5, 0.5, 1.0])
    """
    labels = np.asarray(labels, dtype="float64").ravel()
    scores = np.asarray(scores, dtype="float64").ravel()
    known = np.isfinite(labels) & (labels >= 0)
    labels, scores = labels[known], scores[known]
    if not labels.sum():
        return {"thresholds": [], "precision": [], "recall": []}
    thresholds = np.unique(scores)[::-1]
    fires = scores[None, :] >= thresholds[:, None]
    true_positives = (fires & (labels == 1)).sum(axis=1)
    return {
        "thresholds": thresholds.tolist(),
        "precision": (true_positives / fires.sum(axis=1)).tolist(),
        "recall": (true_positives / labels.sum()).tolist(),
    }


def plot_precision_recall_curves(curves, marks, path):
    """Writes a PNG with one panel per label: its curve, and `marks[label]` (the
    `(precision, recall, threshold)` at the tuned threshold) as a dot."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    columns = min(4, max(1, len(curves)))
    rows = -(-len(curves) // columns)
    figure, axes = pyplot.subplots(
        rows, columns, figsize=(3.5 * columns, 3.3 * rows), squeeze=False
    )
    for axis in axes.ravel()[len(curves) :]:
        axis.axis("off")
    for axis, (name, curve) in zip(axes.ravel(), curves.items(), strict=False):
        axis.plot(curve["recall"], curve["precision"], drawstyle="steps-post", color="tab:blue")
        precision, recall, threshold = marks[name]
        if precision is not None and recall is not None:
            axis.plot(
                [recall], [precision], "o", color="tab:red", label=f"threshold {threshold:.2f}"
            )
            axis.legend(loc="lower left", fontsize=8)
        axis.set_title(name)
        axis.set_xlabel("recall")
        axis.set_ylabel("precision")
        axis.set_xlim(0, 1.02)
        axis.set_ylim(0, 1.02)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
