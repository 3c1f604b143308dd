"""The examples a classifier gets most confidently wrong, and a grid of them."""

from pathlib import Path

import numpy as np


def worst_examples(labels, probabilities, count=9):
    """The wrong predictions made with the highest confidence, most confident first.

    Args:
        labels: array of int. The true class of each example.
        probabilities: array `(examples, classes)`. The model's output.
        count: int. How many to return at most.

    Returns:
        list of dict: `{"index", "true", "predicted", "probability",
        "true_probability"}`, the probability being that of the predicted
        class; fewer than `count` when fewer examples are wrong.

    Examples:
    >>> from tl_templates.evaluation import mistakes
    >>> probabilities = [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]]
    >>> [row["index"] for row in mistakes.worst_examples([0, 0, 0, 1], probabilities)]
    [1, 3, 2]
    >>> mistakes.worst_examples([0, 0, 0, 1], probabilities, count=1)[0]["probability"]
    0.8
    """
    labels = np.asarray(labels, dtype="int64")
    probabilities = np.asarray(probabilities, dtype="float64")
    predicted = probabilities.argmax(axis=-1)
    confidence = probabilities[np.arange(len(labels)), predicted]
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:count]
    return [
        {
            "index": int(index),
            "true": int(labels[index]),
            "predicted": int(predicted[index]),
            "probability": round(float(confidence[index]), 6),
            "true_probability": round(float(probabilities[index, labels[index]]), 6),
        }
        for index in order
    ]


def plot_example_grid(images, titles, path, columns=4):
    """Writes a PNG of `images` (raw pixels, 0-255) in a grid, each with its title.

    An empty list writes a figure that says so, so that the file always exists.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    count = len(images)
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    figure, axes = pyplot.subplots(
        rows, columns, figsize=(2.4 * columns, 2.6 * rows), squeeze=False
    )
    for axis in axes.ravel():
        axis.axis("off")
    if not count:
        axes[0, 0].text(0.5, 0.5, "no wrong predictions", ha="center", va="center")
    for axis, image, title in zip(axes.ravel(), images, titles, strict=False):
        image = np.clip(np.asarray(image, dtype="float32"), 0, 255).astype("uint8")
        axis.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None)
        axis.set_title(title, fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
