"""What a classifier gets wrong: per-class precision, recall, F1, support; the confusion matrix."""

from pathlib import Path

import numpy as np


def confusion_matrix(labels, predicted, num_classes):
    """Counts: row = true class, column = predicted class.

    Examples:
    >>> import tl_templates
    >>> tl_templates.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3).tolist()
    [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    """
    matrix = np.zeros((num_classes, num_classes), dtype="int64")
    np.add.at(matrix, (np.asarray(labels, dtype="int64"), np.asarray(predicted, dtype="int64")), 1)
    return matrix


def classification_report(labels, predicted, class_names):
    """Per class: precision, recall, F1 and support (true examples); then the accuracy.

    A class never predicted has precision 0 (and one never present, recall 0),
    as scikit-learn reports with `zero_division=0`. The macro F1 averages the
    classes present (support above 0), so that a folder of a few classes is
    not marked down for the classes it does not hold.

    Returns:
        dict: `{"classes": {name: {precision, recall, f1, support}},
        "accuracy": float, "macro_f1": float, "examples": int}`.
    """
    matrix = confusion_matrix(labels, predicted, len(class_names))
    true_positives = np.diag(matrix).astype(float)
    predicted_counts, support = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(true_positives, predicted_counts, out=np.zeros_like(true_positives),
                          where=predicted_counts > 0)  # fmt: skip
    recall = np.divide(
        true_positives, support, out=np.zeros_like(true_positives), where=support > 0
    )
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(both), where=both > 0)
    classes = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }  # fmt: skip
        for i, name in enumerate(class_names)
    }
    return {
        "classes": classes,
        "accuracy": float(true_positives.sum() / max(matrix.sum(), 1)),
        "macro_f1": float(f1[support > 0].mean()) if (support > 0).any() else 0.0,
        "examples": int(matrix.sum()),
    }


def describe_report(report):
    """`classification_report` as a printable table."""
    width = max(12, *(len(name) for name in report["classes"]))
    lines = [f"{'class':<{width}} precision  recall      f1  support"]
    for name, row in report["classes"].items():
        lines.append(f"{name:<{width}} {row['precision']:9.3f} {row['recall']:7.3f} "
                     f"{row['f1']:7.3f} {row['support']:8d}")  # fmt: skip
    lines.append(f"accuracy {report['accuracy']:.3f} on {report['examples']} examples, "
                 f"macro F1 {report['macro_f1']:.3f}")  # fmt: skip
    return "\n".join(lines)


def plot_confusion_matrix(matrix, class_names, path):
    """Writes a PNG with the counts (left) and each row normalised to 1 (right)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    matrix = np.asarray(matrix)
    totals = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    size = max(4.0, 0.5 * len(class_names) + 2)
    figure, axes = pyplot.subplots(1, 2, figsize=(2 * size, size))
    panels = ((axes[0], matrix, "counts", "d"),
              (axes[1], normalised, "share of each true class", ".2f"))  # fmt: skip
    for axis, values, title, form in panels:
        axis.imshow(values, cmap="Blues")
        axis.set_title(title)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        axis.set_xticks(range(len(class_names)), class_names, rotation=90)
        axis.set_yticks(range(len(class_names)), class_names)
        if len(class_names) <= 30:
            for (row, column), value in np.ndenumerate(values):
                axis.text(column, row, format(value, form), ha="center", va="center", fontsize=7)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
