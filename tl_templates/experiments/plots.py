"""The plots the notebooks share: curves with a spread band, heat maps, bars.

Each function takes scores as lists over repeated runs (seeds), draws the
mean and the spread, and returns the matplotlib `Figure` (a notebook shows it;
`figure.savefig(path)` writes it).
"""

import numpy as np


def _pyplot():
    from matplotlib import pyplot

    return pyplot


def _mean_std(runs):
    runs = [np.asarray(values, dtype=float) for values in runs]
    means = np.array([values.mean() if values.size else np.nan for values in runs])
    stds = np.array([values.std(ddof=1) if values.size > 1 else 0.0 for values in runs])
    return means, stds


def curves(
    x, series, xlabel, ylabel="accuracy", title=None, log_x=False, percent=True, x_labels=None
):
    """One line per setting: the mean over runs at each x, with a ±1 std band.

    Args:
        x: list. The x values.
        series: dict. `{label: [scores of the runs at x[0]], [... at x[1]], ...]}`.
        xlabel: str. x axis label.
        ylabel: str. y axis label.
        title: str or None.
        log_x: bool. Logarithmic x axis (for sizes that double).
        percent: bool. Scores are fractions; show them as percentages.
        x_labels: list or None. Tick labels for the x values.

    Returns:
        A matplotlib `Figure`.

    Examples:

    >>> from tl_templates.experiments import plots
    >>> figure = plots.curves([10, 100], {"scratch": [[0.5, 0.6], [0.8, 0.9]]}, "examples")
    >>> [line.get_label() for line in figure.axes[0].get_lines()]
    ['scratch']
    """
    pyplot = _pyplot()
    figure, axis = pyplot.subplots(figsize=(6.4, 4))
    scale = 100 if percent else 1
    for label, runs in series.items():
        means, stds = _mean_std(runs)
        axis.plot(x, scale * means, marker="o", label=label)
        axis.fill_between(x, scale * (means - stds), scale * (means + stds), alpha=0.2)
    if log_x:
        axis.set_xscale("log")
        axis.minorticks_off()
    if log_x or x_labels:
        axis.set_xticks(list(x), x_labels or [str(value) for value in x])
    axis.set_xlabel(xlabel)
    axis.set_ylabel(f"{ylabel} (%)" if percent else ylabel)
    axis.grid(alpha=0.3)
    axis.legend()
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return figure


def heatmap(
    runs, row_labels, column_labels, marks=(), title=None, percent=True, colorbar_label=None
):
    """A grid of mean scores, coloured, each cell annotated with mean ± std.

    Args:
        runs: nested list. `runs[row][column]` is the list of scores of the runs.
        row_labels: list. One per row.
        column_labels: list. One per column.
        marks: iterable. `(row, column)` cells to outline (e.g. the advisor's pick).
        title: str or None.
        percent: bool. Scores are fractions; show them as percentages.
        colorbar_label: str or None. What the colours measure (default
            "accuracy (%)", or "score" when `percent` is False).

    Returns:
        A matplotlib `Figure`.

    Examples:

    >>> from tl_templates.experiments import plots
    >>> figure = plots.heatmap([[[0.9, 0.8]], [[0.5, 0.6]]], ["a", "b"], ["small"],
    ...                        marks=[(0, 0)])
    >>> figure.axes[0].texts[0].get_text()
    '85.0\\n± 7.1'
    """
    pyplot = _pyplot()
    scale = 100 if percent else 1
    stats = [[_mean_std([cell]) for cell in row] for row in runs]
    means = scale * np.array([[float(m[0]) for m, _ in row] for row in stats])
    stds = scale * np.array([[float(s[0]) for _, s in row] for row in stats])
    figure, axis = pyplot.subplots(
        figsize=(1.8 + 1.6 * len(column_labels), 1.2 + 0.6 * len(row_labels))
    )
    image = axis.imshow(means, cmap="viridis", aspect="auto")
    if colorbar_label is None:
        colorbar_label = "accuracy (%)" if percent else "score"
    figure.colorbar(image, ax=axis, label=colorbar_label)
    low, high = np.nanmin(means), np.nanmax(means)
    for (row, column), mean in np.ndenumerate(means):
        dark = mean < (low + high) / 2
        axis.text(column, row, f"{mean:.1f}\n± {stds[row, column]:.1f}", ha="center",
                  va="center", fontsize=8, color="white" if dark else "black")  # fmt: skip
    for row, column in marks:
        axis.add_patch(pyplot.Rectangle((column - 0.48, row - 0.48), 0.96, 0.96, fill=False,
                                        edgecolor="red", linewidth=2.5))  # fmt: skip
    axis.set_xticks(range(len(column_labels)), column_labels)
    axis.set_yticks(range(len(row_labels)), row_labels)
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return figure


def bars(runs, labels, ylabel="accuracy", title=None, percent=True):
    """One bar per setting (mean over runs), its std as an error bar, runs as dots.

    Args:
        runs: list. `runs[i]` is the list of scores of setting `labels[i]`.
        labels: list. Bar labels.
        ylabel: str. y axis label.
        title: str or None.
        percent: bool. Scores are fractions; show them as percentages.

    Returns:
        A matplotlib `Figure`.
    """
    pyplot = _pyplot()
    scale = 100 if percent else 1
    means, stds = _mean_std(runs)
    figure, axis = pyplot.subplots(figsize=(1.5 + 1.3 * len(labels), 4))
    positions = np.arange(len(labels))
    axis.bar(positions, scale * means, yerr=scale * stds, capsize=4, alpha=0.7)
    for position, values in zip(positions, runs, strict=True):
        axis.plot([position] * len(values), scale * np.asarray(values), "k.", alpha=0.6)
    axis.set_xticks(positions, labels, rotation=20, ha="right")
    axis.set_ylabel(f"{ylabel} (%)" if percent else ylabel)
    axis.grid(axis="y", alpha=0.3)
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return figure


def examples(images, labels, class_names, per_class=8, title=None):
    """Example images as one picture: a row per class, `per_class` images in each.

    Args:
        images: array. uint8 `(n, height, width, 3)`.
        labels: array. Integer labels.
        class_names: list. Row labels.
        per_class: int. Images per row (fewer if a class has fewer).
        title: str or None.

    Returns:
        A matplotlib `Figure`.

    Examples:

    >>> import numpy as np
    >>> from tl_templates.experiments import plots
    >>> images = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    >>> figure = plots.examples(images, [0, 0, 1, 1], ["a", "b"], per_class=2)
    >>> figure.axes[0].get_images()[0].get_array().shape
    (16, 16, 3)
    """
    pyplot = _pyplot()
    images, labels = np.asarray(images), np.asarray(labels)
    height, width = images.shape[1:3]
    sheet = np.full((len(class_names) * height, per_class * width, 3), 255, dtype=np.uint8)
    for row in range(len(class_names)):
        for column, index in enumerate(np.flatnonzero(labels == row)[:per_class]):
            sheet[row * height : (row + 1) * height, column * width : (column + 1) * width] = (
                images[index]
            )
    figure, axis = pyplot.subplots(figsize=(1.5 + 0.45 * per_class, 0.4 + 0.45 * len(class_names)))
    axis.imshow(sheet, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([height * (row + 0.5) for row in range(len(class_names))],
                    [str(name) for name in class_names], fontsize=8)  # fmt: skip
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return figure
