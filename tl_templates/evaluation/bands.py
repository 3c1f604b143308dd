"""A measure broken down by bands of a number (age error by age band)."""

from pathlib import Path

import numpy as np

AGE_BANDS = (0, 13, 20, 30, 40, 50, 60, 70)  # the lower edge of each band; the last is open


def band_name(edges, index):
    """`"20-29"` for the band starting at `edges[index]`, `"70+"` for the last.

    Examples:
    >>> from tl_templates.evaluation import bands
    >>> bands.band_name((0, 13, 20), 0), bands.band_name((0, 13, 20), 2)
    ('0-12', '20+')
    """
    if index == len(edges) - 1:
        return f"{edges[index]:g}+"
    return f"{edges[index]:g}-{edges[index + 1] - 1:g}"


def mean_by_band(band_values, values, edges=AGE_BANDS):
    """The mean of `values` within each band of `band_values`, over the known (finite) pairs.

    Args:
        band_values: array. What the bands are of (true age).
        values: array. What is averaged (absolute error; 1 for right, 0 for wrong).
        edges: sequence of numbers. The lower edge of each band, increasing;
            a value below the first is left out.

    Returns:
        list of dict `{"band", "examples", "mean"}`, one per band; `mean` is
        None in a band with no example.

    Examples:
    >>> from tl_templates.evaluation import bands
    >>> rows = bands.mean_by_band([5, 8, 25, float("nan")], [1.0, 3.0, 4.0, 9.0], (0, 20))
    >>> [(row["band"], row["examples"], row["mean"]) for row in rows]
    [('0-19', 2, 2.0), ('20+', 1, 4.0)]
    """
    band_values = np.asarray(band_values, dtype="float64").ravel()
    values = np.asarray(values, dtype="float64").ravel()
    known = np.isfinite(band_values) & np.isfinite(values) & (band_values >= edges[0])
    index = (
        np.searchsorted(np.asarray(edges, dtype="float64"), band_values[known], side="right") - 1
    )
    rows = []
    for band in range(len(edges)):
        chosen = values[known][index == band]
        rows.append({
            "band": band_name(edges, band),
            "examples": int(len(chosen)),
            "mean": float(chosen.mean()) if len(chosen) else None,
        })  # fmt: skip
    return rows


def describe_bands(tables, units):
    """`{measure: mean_by_band rows}` as one printable table, a column per measure.

    `units` gives each measure's format, e.g. `{"age MAE": ".1f"}`.
    """
    names = list(tables)
    first = tables[names[0]]
    lines = ["band    " + "".join(f"{name:>16}" for name in names)]
    for row_index, row in enumerate(first):
        cells = []
        for name in names:
            cell = tables[name][row_index]
            text = (
                "-"
                if cell["mean"] is None
                else f"{cell['mean']:{units[name]}} ({cell['examples']})"
            )
            cells.append(f"{text:>16}")
        lines.append(f"{row['band']:<8}" + "".join(cells))
    return "\n".join(lines)


def plot_bands(tables, path):
    """Writes a bar PNG: one panel per measure, one bar per band (the count above it)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, len(tables), figsize=(5 * len(tables), 3.5), squeeze=False)
    for axis, (name, rows) in zip(axes[0], tables.items(), strict=True):
        heights = [row["mean"] or 0.0 for row in rows]
        bars = axis.bar([row["band"] for row in rows], heights, color="tab:blue")
        for bar, row in zip(bars, rows, strict=True):
            top = (bar.get_x() + bar.get_width() / 2, bar.get_height())
            axis.annotate(f"n={row['examples']}", top, ha="center", va="bottom", fontsize=7)
        axis.set_title(name)
        axis.set_xlabel("true age")
        axis.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
