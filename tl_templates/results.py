"""Results of repeated runs: tables of mean ± spread, and verdicts computed from them.

An experiment adds one row per run (`results.add(strategy=..., seed=...,
accuracy=...)`); `table` prints mean ± standard deviation over the seeds;
`compare` says whether one setting beat another by more than the noise, in
a sentence built from the numbers, never written in advance.
"""

import dataclasses
import itertools
import math

import numpy as np

# A difference counts as real when it is larger than this many standard errors
# (about a 95% two-sided test for normal noise).
NOISE_STANDARD_ERRORS = 2.0


class Results:
    """Rows of an experiment, one per run: its settings and its scores.

    Examples:

    >>> from tl_templates.results import Results
    >>> results = Results()
    >>> for seed, score in enumerate([0.80, 0.82, 0.84]):
    ...     results.add(strategy="fine_tune", seed=seed, accuracy=score)
    >>> results.values("accuracy", strategy="fine_tune")
    [0.8, 0.82, 0.84]
    >>> print(results.table("accuracy", rows="strategy"))
    strategy   accuracy
    ---------  ------------
    fine_tune  82.0% ± 2.0%
    """

    def __init__(self):
        self.rows = []

    def add(self, **row):
        """Adds one run: settings (strings, numbers) and scores."""
        self.rows.append(row)

    def select(self, **where):
        """The rows whose settings equal all of `where`."""
        return [row for row in self.rows if all(row.get(k) == v for k, v in where.items())]

    def values(self, value, **where):
        """`value` of every matching row, in the order they were added."""
        return [row[value] for row in self.select(**where) if value in row]

    def mean(self, value, **where):
        values = self.values(value, **where)
        return float(np.mean(values)) if values else math.nan

    def levels(self, setting):
        """Distinct values of a setting, in the order they first appear."""
        return list(dict.fromkeys(row[setting] for row in self.rows if setting in row))

    def table(self, value, rows, columns=None, percent=True):
        """A plain-text table of `value`: mean ± standard deviation over the runs.

        Args:
            value: str. The score to show, e.g. `"accuracy"`.
            rows: str. The setting that varies down the table.
            columns: str, tuple or None. The setting(s) that vary across it.
            percent: bool. Show fractions as percentages.

        Returns:
            str.
        """
        columns = (columns,) if isinstance(columns, str) else tuple(columns or ())
        column_keys = [
            key
            for key in itertools.product(*(self.levels(c) for c in columns))
            if self.select(**dict(zip(columns, key, strict=True)))
        ] or [()]  # only the combinations that occur
        header = [rows] + [" / ".join(map(str, key)) or value for key in column_keys]
        lines = []
        for row_level in self.levels(rows):
            if not self.values(value, **{rows: row_level}):
                continue  # a row without this score
            cells = [str(row_level)]
            for key in column_keys:
                where = {rows: row_level, **dict(zip(columns, key, strict=True))}
                cells.append(format_spread(self.values(value, **where), percent))
            lines.append(cells)
        return _render([header, *lines])


def format_spread(values, percent=True):
    """`"82.0% ± 2.0%"` (mean ± sample standard deviation), or `"-"` for no values."""
    if not values:
        return "-"
    mean, spread = float(np.mean(values)), _std(values)
    if percent:
        return f"{100 * mean:.1f}% ± {100 * spread:.1f}%"
    return f"{mean:.3g} ± {spread:.2g}"


def _std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _render(lines):
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            for line in lines]  # fmt: skip
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in text)


@dataclasses.dataclass
class Comparison:
    """How setting A scored against setting B over repeated runs.

    Attributes:
        name: str. Setting A, e.g. `"fine-tuning"`.
        other: str. Setting B.
        difference: float. Mean of A minus mean of B (in points when scaled).
        standard_error: float. Of that difference: sqrt(sA²/nA + sB²/nB).
        runs: tuple. Runs of A and of B.
        paired: bool. Runs were paired (same seed, same data) and the standard
            error is that of the per-pair differences.
        rule: str. What the rule of thumb predicts: `"higher"` (A beats B),
            `"lower"` (B beats A) or `"similar"` (no real difference).
        unit: str. Unit of the difference, e.g. `"points"`.
    """

    name: str
    other: str
    difference: float
    standard_error: float
    runs: tuple
    paired: bool = False
    rule: str = "higher"
    unit: str = "points"

    @property
    def real(self):
        """Larger than the noise: more than `NOISE_STANDARD_ERRORS` standard errors."""
        return abs(self.difference) > NOISE_STANDARD_ERRORS * self.standard_error

    @property
    def outcome(self):
        """`"higher"`, `"lower"` or `"similar"`: what the numbers showed."""
        if not self.real:
            return "similar"
        return "higher" if self.difference > 0 else "lower"

    @property
    def as_predicted(self):
        return self.outcome == self.rule

    def sentence(self):
        """The result in words, with the numbers, and whether the rule held."""
        size = f"{abs(self.difference):.1f} {self.unit}"
        noise = f"± {self.standard_error:.1f}, {_runs(self.runs, self.paired)}"
        if self.outcome == "higher":
            said = f"{self.name} beat {self.other} by {size} ({noise})"
        elif self.outcome == "lower":
            said = f"{self.name} scored {size} below {self.other} ({noise})"
        else:
            said = (
                f"{self.name} and {self.other} were within the noise of each other "
                f"({self.difference:+.1f} {noise})"
            )
        if self.as_predicted:
            return f"{said}, as the rule predicts."
        expected = {
            "higher": f"{self.name} to beat {self.other}",
            "lower": f"{self.other} to beat {self.name}",
            "similar": "no real difference",
        }[self.rule]
        return f"{said}: the rule expects {expected}; it did not hold in this run."


def _runs(runs, paired):
    if paired:
        return f"{runs[0]} paired runs"
    if runs[0] == runs[1]:
        return f"{runs[0]} runs each"
    return f"{runs[0]} and {runs[1]} runs"


def compare(
    name, values, other, other_values, rule="higher", paired=False, scale=100.0, unit="points"
):
    """Compares two settings' scores over repeated runs.

    The difference of the means counts as real when it is larger than
    `NOISE_STANDARD_ERRORS` of its standard errors. Unpaired, the standard
    error is sqrt(sA²/nA + sB²/nB). Paired (run i of A and run i of B share a
    seed: the same training set, the same starting point), it is the standard
    error of the n differences, which removes the noise the pair shares.

    Args:
        name: str. Setting A.
        values: list. A's scores, one per run.
        other: str. Setting B.
        other_values: list. B's scores.
        rule: str. `"higher"`, `"lower"` or `"similar"`: what the rule predicts for A.
        paired: bool. `values[i]` and `other_values[i]` come from the same seed.
        scale: float. Multiplies the difference (100: fractions to points).
        unit: str. Unit of the scaled difference.

    Returns:
        A `Comparison`; `.sentence()` states it in words.

    Examples:

    >>> from tl_templates.results import compare
    >>> compare("fine-tuning", [0.90, 0.92, 0.91], "feature extraction",
    ...         [0.84, 0.85, 0.86]).sentence()
    'fine-tuning beat feature extraction by 6.0 points (± 0.8, 3 runs each), as the rule predicts.'
    """
    if rule not in ("higher", "lower", "similar"):
        raise ValueError(f"rule must be 'higher', 'lower' or 'similar'. Received: rule={rule!r}.")
    if len(values) == 0 or len(other_values) == 0:
        raise ValueError(f"No scores to compare for {name if len(values) == 0 else other!r}.")
    difference = scale * (float(np.mean(values)) - float(np.mean(other_values)))
    if paired:
        if len(values) != len(other_values):
            raise ValueError(
                f"Paired runs need as many scores for {name!r} ({len(values)}) as for "
                f"{other!r} ({len(other_values)})."
            )
        differences = np.asarray(values, float) - np.asarray(other_values, float)
        variance = _std(differences) ** 2 / len(differences)
    else:
        variance = _std(values) ** 2 / len(values) + _std(other_values) ** 2 / len(other_values)
    return Comparison(
        name, other, difference, scale * math.sqrt(variance),
        (len(values), len(other_values)), paired, rule, unit,
    )  # fmt: skip
