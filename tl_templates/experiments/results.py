"""Results of repeated runs: tables of mean ± spread, and verdicts computed from them.

An experiment adds one row per run (`results.add(strategy=..., seed=...,
accuracy=...)`); `table` prints mean ± standard deviation over the seeds;
`compare` says whether one setting beat another by more than the noise, in
a sentence built from the numbers, never written in advance; `check_verdicts`
re-derives every such sentence in a text from the numbers it states, so a
hand-edited or stale verdict is caught.
"""

import dataclasses
import itertools
import math
import re

import numpy as np

# A difference counts as real when the two-sided 95% confidence interval of the
# difference (Student's t, for the number of runs) leaves out zero.
CONFIDENCE = 0.95

# The smallest difference that matters, in the unit of the difference: 2 points of
# accuracy at the default scale. A test whose 95% interval reaches past it either
# way cannot tell "no difference" from "a difference that matters": inconclusive.
SMALLEST_DIFFERENCE = 2.0


class Results:
    """Rows of an experiment, one per run: its settings and its scores.

    Examples:

    >>> from tl_templates.experiments.results import Results
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


def critical_value(degrees_of_freedom, confidence=CONFIDENCE):
    """Two-sided Student's t critical value: 4.30 for 2 degrees of freedom, 2.26 for 9.

    With 3 seeds the standard error of a difference has 2 degrees of freedom, and a
    difference must exceed 4.3 of them (not 2) before pure noise passes only 5% of
    the time.
    """
    from scipy import stats  # a dependency already (WAV reading); imported when needed

    return float(stats.t.ppf(0.5 + confidence / 2, degrees_of_freedom))


@dataclasses.dataclass
class Comparison:
    """How setting A scored against setting B over repeated runs.

    The outcome is one of:

    - `"higher"` / `"lower"`: A scored above / below B; the 95% confidence interval
      of the difference (mean ± t × standard error, Student's t for the runs'
      degrees of freedom) leaves out zero.
    - `"similar"`: no real difference, and the whole interval lies within
      ± `smallest_difference`: any difference is too small to matter.
    - `"inconclusive"`: no real difference, but the interval reaches past
      ± `smallest_difference`: the runs are too few or too noisy to tell "no
      difference" from one that matters.
    - `"too few runs"`: fewer than 2 runs of a setting, or no spread between
      runs (a zero standard error): the noise cannot be measured at all.

    Attributes:
        name: str. Setting A, e.g. `"fine-tuning"`.
        other: str. Setting B.
        difference: float. Mean of A minus mean of B (in points when scaled).
        standard_error: float. Of that difference: sqrt(sA²/nA + sB²/nB), or
            paired, that of the per-pair differences.
        runs: tuple. Runs of A and of B.
        paired: bool. Runs were paired (same seed, same data) and the standard
            error is that of the per-pair differences.
        rule: str. What the rule of thumb predicts: `"higher"` (A beats B),
            `"lower"` (B beats A) or `"similar"` (no real difference).
        unit: str. Unit of the difference, e.g. `"points"`.
        smallest_difference: float. The smallest difference that matters, in
            `unit` (default 2.0: 2 points of accuracy).
        higher_is_better: bool. False for errors (a mean absolute error, a
            loss): the sentence then says "scored above/below", never "beat".
    """

    name: str
    other: str
    difference: float
    standard_error: float
    runs: tuple
    paired: bool = False
    rule: str = "higher"
    unit: str = "points"
    smallest_difference: float = SMALLEST_DIFFERENCE
    higher_is_better: bool = True

    @property
    def degrees_of_freedom(self):
        """n - 1 paired; unpaired, the conservative min(nA, nB) - 1 (Welch's is never
        lower), so the verdict can be re-derived from the run counts in the sentence."""
        return min(self.runs) - 1

    @property
    def too_few_runs(self):
        """Fewer than 2 runs of a setting, or no spread to measure the noise by."""
        return self.degrees_of_freedom < 1 or not self.standard_error > 1e-9 * max(
            1.0, abs(self.difference)
        )

    @property
    def half_width(self):
        """Of the 95% confidence interval of the difference (infinite: too few runs)."""
        if self.too_few_runs:
            return math.inf
        return critical_value(self.degrees_of_freedom) * self.standard_error

    @property
    def interval(self):
        """The 95% confidence interval of the difference, (low, high)."""
        return self.difference - self.half_width, self.difference + self.half_width

    @property
    def real(self):
        """Larger than the noise: the 95% interval leaves out zero."""
        return not self.too_few_runs and abs(self.difference) > self.half_width

    @property
    def outcome(self):
        """`"higher"`, `"lower"`, `"similar"`, `"inconclusive"` or `"too few runs"`."""
        if self.too_few_runs:
            return "too few runs"
        if self.real:
            return "higher" if self.difference > 0 else "lower"
        if abs(self.difference) + self.half_width <= self.smallest_difference:
            return "similar"
        return "inconclusive"

    @property
    def as_predicted(self):
        return self.outcome == self.rule

    def sentence(self):
        """The result in words, with the numbers, and whether the rule held.

        The sentence states the difference, its standard error and the runs, so
        `check_verdicts` can re-derive its verdict from it.
        """
        spread = f"± {_number(self.standard_error)}, {_runs(self.runs, self.paired)}"
        noise = f"{self.difference:+.1f} {self.unit} {spread}"
        size = f"{abs(self.difference):.1f} {self.unit}"
        smallest = f"{_number(self.smallest_difference)} {self.unit}"
        expected = {
            "higher": f"{self.name} to beat {self.other}",
            "lower": f"{self.other} to beat {self.name}",
            "similar": "no real difference",
        }[self.rule]
        if not self.higher_is_better and self.rule != "similar":
            expected = f"{self.name} to score {'above' if self.rule == 'higher' else 'below'} "
            expected += self.other
        untested = f"the rule expects {expected}, untested in this run."
        said = {
            "higher": f"{self.name} beat {self.other} by {size} ({spread})"
            if self.higher_is_better
            else f"{self.name} scored {size} above {self.other} ({spread})",
            "lower": f"{self.name} scored {size} below {self.other} ({spread})",
            "similar": f"{self.name} and {self.other} were within the noise of each other "
            f"({noise}), any difference under {smallest}",
            "inconclusive": f"{self.name} against {self.other}: inconclusive ({noise}), too "
            f"noisy to rule out a difference of {smallest}; {untested}",
            "too few runs": f"{self.name} against {self.other}: too few runs to judge "
            f"({noise}); {untested}",
        }[self.outcome]
        if self.outcome in ("inconclusive", "too few runs"):
            return said
        if self.as_predicted:
            return f"{said}, as the rule predicts."
        return f"{said}: the rule expects {expected}; it did not hold in this run."


def _number(value):
    """One decimal, or two significant digits below 0.1 (a standard error of 0.04 is
    not 0.0)."""
    return f"{value:.1f}" if abs(value) >= 0.1 or value == 0 else f"{value:.2g}"


def _runs(runs, paired):
    if paired:
        return f"{runs[0]} paired runs"
    if runs[0] == runs[1]:
        return f"{runs[0]} runs each"
    return f"{runs[0]} and {runs[1]} runs"


def compare(
    name,
    values,
    other,
    other_values,
    rule="higher",
    paired=False,
    scale=100.0,
    unit="points",
    smallest_difference=SMALLEST_DIFFERENCE,
    higher_is_better=True,
):
    """Compares two settings' scores over repeated runs.

    The difference of the means counts as real when its 95% confidence interval
    (difference ± t × standard error, Student's t) leaves out zero. Unpaired, the
    standard error is sqrt(sA²/nA + sB²/nB) with min(nA, nB) - 1 degrees of
    freedom. Paired (run i of A and run i of B share a seed: the same training
    set, the same starting point), it is the standard error of the n differences
    with n - 1 degrees of freedom, which removes the noise the pair shares. With
    3 runs t is 4.30; with 10 paired runs, 2.26. A difference that is not real
    counts as `"similar"` only when the interval lies within ±
    `smallest_difference`; otherwise the test is `"inconclusive"`.

    Args:
        name: str. Setting A.
        values: list. A's scores, one per run.
        other: str. Setting B.
        other_values: list. B's scores.
        rule: str. `"higher"`, `"lower"` or `"similar"`: what the rule predicts for A.
        paired: bool. `values[i]` and `other_values[i]` come from the same seed.
        scale: float. Multiplies the difference (100: fractions to points).
        unit: str. Unit of the scaled difference.
        smallest_difference: float. The smallest difference that matters, in
            `unit`: 2 points of accuracy by default; pass your own for another
            unit (seconds, years).
        higher_is_better: bool. False for errors: the sentence says "scored
            above/below" and never calls the higher error the winner.

    Returns:
        A `Comparison`; `.sentence()` states it in words.

    Examples:

    >>> from tl_templates.experiments.results import compare
    >>> compare("fine-tuning", [0.90, 0.92, 0.91], "feature extraction",
    ...         [0.84, 0.85, 0.86]).sentence()
    'fine-tuning beat feature extraction by 6.0 points (± 0.8, 3 runs each), as the rule predicts.'
    >>> noisy = compare("a", [0.80, 0.84, 0.79], "b", [0.80, 0.81, 0.80], paired=True)
    >>> noisy.outcome
    'inconclusive'
    >>> print(noisy.sentence())  # doctest: +NORMALIZE_WHITESPACE
    a against b: inconclusive (+0.7 points ± 1.2, 3 paired runs), too noisy to rule out
    a difference of 2.0 points; the rule expects a to beat b, untested in this run.
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
        (len(values), len(other_values)), paired, rule, unit, smallest_difference,
        higher_is_better,
    )  # fmt: skip


# The grammar of `Comparison.sentence()`, read back by `check_verdicts`.
_NUMBER = r"\d+(?:\.\d+)?(?:e[+-]?\d+)?"
_RUNS = r"(?P<runs>\d+ paired runs|\d+ runs each|\d+ and \d+ runs)"
_TAIL = (
    r"(?P<tail>, as the rule predicts\."
    r"|: the rule expects (?P<expected>[^;]+?); it did not hold in this run\.)"
)
_UNIT = r"[^()±;:,]+?"  # "points", "years", "CPU s"
_NOISE = rf"\((?P<difference>[+-]{_NUMBER}) (?P<unit>{_UNIT}) ± (?P<error>{_NUMBER}), {_RUNS}\)"
_SENTENCES = [
    (
        "higher",
        rf".*? beat .*? by (?P<size>{_NUMBER}) (?P<unit>{_UNIT}) "
        rf"\(± (?P<error>{_NUMBER}), {_RUNS}\){_TAIL}",
    ),
    (
        "lower",
        rf".*? scored (?P<size>{_NUMBER}) (?P<unit>{_UNIT}) below .+? "
        rf"\(± (?P<error>{_NUMBER}), {_RUNS}\){_TAIL}",
    ),
    (
        "higher",
        rf".*? scored (?P<size>{_NUMBER}) (?P<unit>{_UNIT}) above .+? "
        rf"\(± (?P<error>{_NUMBER}), {_RUNS}\){_TAIL}",
    ),
    (
        "similar",
        rf"were within the noise of each other {_NOISE}, any difference under "
        rf"(?P<smallest>{_NUMBER}) {_UNIT}{_TAIL}",
    ),
    (
        "inconclusive",
        rf": inconclusive {_NOISE}, too noisy to rule out a difference of "
        rf"(?P<smallest>{_NUMBER}) {_UNIT}; the rule expects [^;]+?, untested in this run\.",
    ),
    (
        "too few runs",
        rf": too few runs to judge {_NOISE}; the rule expects [^;]+?, "
        r"untested in this run\.",
    ),
]
_SENTENCES = [(outcome, re.compile(pattern)) for outcome, pattern in _SENTENCES]
# Words that claim a verdict; a line with one of them and a "±" must hold a sentence
# in the grammar above, or the check cannot re-derive it.
_VERDICT_WORDS = re.compile(
    r"as the rule predicts|did not hold|inconclusive|too few runs|within the noise|"
    r"not as the rule"
)


def _read(number):
    """The value of a printed number and half a unit of its last digit (its rounding)."""
    mantissa, _, exponent = number.partition("e")
    decimals = len(mantissa.partition(".")[2])
    return float(number), 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def _degrees_of_freedom(runs):
    counts = [int(word) for word in runs.split() if word.isdigit()]
    return min(counts) - 1


def _possible_outcomes(difference, error, degrees_of_freedom, smallest):
    """The outcomes that the printed numbers allow, given their rounding: the
    same rule as `Comparison.outcome`, at both ends of each number's rounding."""
    (d, dd), (e, de) = difference, error
    if degrees_of_freedom < 1 or e + de <= 1e-9 * max(1.0, abs(d) - dd):
        return {"too few runs"}
    possible = set()
    if e - de <= 1e-9 * max(1.0, abs(d) + dd):
        possible.add("too few runs")
    t = critical_value(degrees_of_freedom)
    low, high = max(abs(d) - dd, 0.0), abs(d) + dd
    if high > t * max(e - de, 0.0):  # real, for some values within the rounding
        if d + dd > 0:
            possible.add("higher")
        if d - dd < 0:
            possible.add("lower")
    if low <= t * (e + de):  # not real, for some
        if smallest is None:
            possible |= {"similar", "inconclusive"}
        else:
            s, ds = smallest
            if low + t * max(e - de, 0.0) <= s + ds:
                possible.add("similar")
            if high + t * (e + de) > s - ds:
                possible.add("inconclusive")
    return possible


def check_verdicts(text):
    """Problems with the verdict sentences in `text`: each is re-derived from the
    numbers it states (difference, standard error, runs) with the rule of
    `compare`, so a hand-edited or stale verdict, or one made by an older rule, is
    caught. A line that claims a verdict next to a "±" in another wording is a
    problem too: nothing could re-derive it.

    Args:
        text: str. Printed output, e.g. a notebook's.

    Returns:
        list of str, empty if every verdict agrees with its numbers.

    Examples:

    >>> from tl_templates.experiments.results import check_verdicts, compare
    >>> check_verdicts(compare("a", [0.9, 0.92, 0.91], "b", [0.84, 0.85, 0.86]).sentence())
    []
    >>> stale = "a beat b by 2.5 points (± 1.0, 3 paired runs), as the rule predicts."
    >>> print(*check_verdicts(stale))  # doctest: +NORMALIZE_WHITESPACE
    "a beat b by 2.5 points (± 1.0, 3 paired runs), as the rule predicts.": says higher,
    but the numbers give no real difference (Student's t 4.30 for 3 paired runs)
    """
    problems = []
    for line in text.splitlines():
        found = []
        for claimed, pattern in _SENTENCES:
            for match in pattern.finditer(line):
                found.append(match)
                problems += _check_sentence(claimed, match)
        if not found and "±" in line and _VERDICT_WORDS.search(line):
            problems.append(f"{line.strip()!r}: a verdict in a wording the check cannot re-derive")
    return problems


def _check_sentence(claimed, match):
    groups = match.groupdict()
    quoted = f'"{match.group(0).strip()}"'
    if "size" in groups:
        size, rounding = _read(groups["size"])
        difference = (size if claimed == "higher" else -size, rounding)
    else:
        difference = _read(groups["difference"])
    smallest = _read(groups["smallest"]) if groups.get("smallest") else None
    possible = _possible_outcomes(
        difference, _read(groups["error"]), _degrees_of_freedom(groups["runs"]), smallest
    )
    problems = []
    if claimed not in possible:
        given = " or ".join(sorted(possible))
        if smallest is None and possible <= {"similar", "inconclusive"}:
            given = "no real difference"  # similar or inconclusive: the size is not stated
        t = critical_value(max(_degrees_of_freedom(groups["runs"]), 1))
        problems.append(
            f"{quoted}: says {claimed}, but the numbers give {given} (Student's t {t:.2f} for "
            f"{groups['runs']})"
        )
    expected = groups.get("expected")
    if expected:  # "it did not hold": the rule must expect something else
        sentence = match.group(0)

        def said(first, word, second):  # "A beat B by", "A scored 3.0 points above B ("
            if word == "beat":
                return f"{first} beat {second} by " in sentence
            return f"{first} scored " in sentence and f" {word} {second} (" in sentence

        if expected == "no real difference":
            held = claimed == "similar"
        elif " to beat " in expected:
            winner, _, loser = expected.partition(" to beat ")
            held = (claimed == "higher" and said(winner, "beat", loser)) or (
                claimed == "lower" and said(loser, "below", winner)
            )
        else:  # "A to score above B" or "A to score below B" (errors)
            scored = re.fullmatch(r"(.+) to score (above|below) (.+)", expected)
            held = bool(scored) and (
                claimed == {"above": "higher", "below": "lower"}[scored[2]]
                and said(scored[1], scored[2], scored[3])
            )
        if held:
            problems.append(f"{quoted}: says the rule did not hold, but it did")
    return problems
