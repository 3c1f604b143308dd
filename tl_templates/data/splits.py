"""Seeded splits of a data set into train, validation and test: the one home.

- `split_indices`: stratified three-way split; each class contributes to every
  split (class-per-folder images and audio, `tl_templates.load_image_splits`).
- `split_examples`: the same three-way split of examples without classes
  (multi-task and multi-label rows).
- `split_per_class`: a fixed test set of k examples per class; the rest is a
  pool to draw training sets from (the experiments).
- `split_by_fractions`: a stratified split into parts of given shares, in
  shuffled order (the domain-shift experiment's source and target domains).
- `Splits`: loaded arrays split three ways (`ImageSplits`, `AudioSplits`).

Every function depends only on its arguments and `seed` (the same call gives
the same split, on any machine) and returns sorted index arrays, except
`split_by_fractions`, whose parts are shuffled.
"""

import dataclasses
import math

import numpy as np


@dataclasses.dataclass
class Splits:
    """Examples loaded as arrays, split three ways.

    Images as uint8 `(count, size, size, 3)` (`tl_templates.ImageSplits`), clips
    as float32 waveforms `(count, samples)` (`tl_templates.AudioSplits`).

    Attributes:
        class_names: list. Label `i` is `class_names[i]`.
        train: tuple. `(inputs, labels)`.
        validation: tuple. `(inputs, labels)`.
        test: tuple. `(inputs, labels)`.
    """

    class_names: list
    train: tuple
    validation: tuple
    test: tuple

    def sizes(self):
        return {name: len(getattr(self, name)[1]) for name in ("train", "validation", "test")}


def _round_down(value):
    return math.floor(value + 1e-9)  # 0.15 * 20 is 2.9999999999999996


ROUNDING = {"down": _round_down, "nearest": round}


def split_sizes(count, validation_fraction, test_fraction, rounding="down"):
    """`(train, validation, test)` sizes of a class of `count` examples.

    Validation and test get their fraction rounded, and at least one example
    each; train gets the rest, which is less than one when the class is too
    small to split. Rounding down (the default, used by `split_indices`)
    leaves small classes as much to train on as it can: 10 images give
    8 / 1 / 1 at 15%, where rounding to nearest gives 6 / 2 / 2. Larger sets
    reach their fractions (100 images: 70 / 15 / 15); the test score of a
    small set is reported with its confidence interval
    (`tl_templates.evaluation.intervals`).

    Args:
        count: int. Examples to split.
        validation_fraction: float. Share held out for validation.
        test_fraction: float. Share held out for the final test.
        rounding: str. `"down"`, or `"nearest"` (Python's `round`, halves to
            even), which `split_examples` has always used.

    Examples:

    >>> from tl_templates.data.splits import split_sizes
    >>> split_sizes(10, 0.15, 0.15), split_sizes(100, 0.15, 0.15)
    ((8, 1, 1), (70, 15, 15))
    >>> split_sizes(10, 0.15, 0.15, rounding="nearest")
    (6, 2, 2)
    """
    if rounding not in ROUNDING:
        raise ValueError(
            f"Unknown rounding. Received: rounding={rounding!r}. Known: {', '.join(ROUNDING)}."
        )
    to_whole = ROUNDING[rounding]
    validation = max(1, to_whole(count * validation_fraction))
    test = max(1, to_whole(count * test_fraction))
    return count - validation - test, validation, test


def _cut(members, rng, validation_count, test_count):
    """Shuffles `members` in place with `rng`, then cuts validation, test, train off it."""
    rng.shuffle(members)
    return (
        members[validation_count + test_count :],
        members[:validation_count],
        members[validation_count : validation_count + test_count],
    )


def split_indices(labels, class_names, validation_fraction, test_fraction, seed):
    """Stratified, seeded split: each class contributes to train, validation and test.

    Each class is shuffled (one generator for all, class by class) and cut
    into the sizes of `split_sizes` (rounding down).

    Args:
        labels: np.ndarray. Integer label of each example.
        class_names: list. Label `i` is `class_names[i]` (named in errors).
        validation_fraction: float. Share of each class held out for validation.
        test_fraction: float. Share of each class held out for the final test.
        seed: int. The same seed gives the same split.

    Returns:
        `[train, validation, test]`: sorted index arrays.

    Raises:
        ValueError: a class too small to appear in all three splits.

    Examples:

    >>> import numpy as np
    >>> from tl_templates.data import splits
    >>> train, validation, test = splits.split_indices(
    ...     np.repeat([0, 1], 10), ["cat", "dog"], 0.15, 0.15, seed=0)
    >>> len(train), len(validation), len(test)
    (16, 2, 2)
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for label, name in enumerate(class_names):
        members = np.flatnonzero(labels == label)
        _, validation_count, test_count = split_sizes(
            len(members), validation_fraction, test_fraction
        )
        if len(members) < validation_count + test_count + 1:
            raise ValueError(
                f"Class {name!r} has {len(members)} example(s); it needs at least "
                f"{validation_count + test_count + 1} for a train/validation/test split."
            )
        for part, indices in zip(parts, _cut(members, rng, validation_count, test_count),
                                 strict=True):  # fmt: skip
            part.extend(indices)
    return [np.sort(np.array(part, dtype=int)) for part in parts]


def split_examples(count, validation_fraction=0.15, test_fraction=0.15, seed=0):
    """A seeded random split of `count` examples without classes (not stratified).

    The examples are shuffled and cut as one class of `split_indices` would
    be, except that the held-out sizes round to nearest (`split_sizes(...,
    rounding="nearest")`), as this function always has: the multi-task
    templates' splits stay the same.

    Returns:
        `(train, validation, test)`: sorted index arrays.

    Raises:
        ValueError: too few examples for three non-empty splits.

    Examples:

    >>> import tl_templates
    >>> [len(part) for part in tl_templates.split_examples(40, 0.15, 0.15, seed=3)]
    [28, 6, 6]
    """
    _, validation_count, test_count = split_sizes(
        count, validation_fraction, test_fraction, rounding="nearest"
    )
    if count < validation_count + test_count + 1:
        raise ValueError(
            f"{count} example(s) is too few for a train/validation/test split; "
            f"at least {validation_count + test_count + 1} are needed."
        )
    rng = np.random.default_rng(seed)
    return tuple(
        np.sort(part) for part in _cut(np.arange(count), rng, validation_count, test_count)
    )


def split_per_class(labels, test_per_class, seed=0):
    """A test set of `test_per_class` examples of each class; the rest is the pool.

    Args:
        labels: array. Integer labels of every example.
        test_per_class: int. Test examples per class; at least one example of
            each class is left in the pool.
        seed: int. The same seed gives the same split.

    Returns:
        `(pool_indices, test_indices)`, sorted int arrays.

    Raises:
        ValueError: a class has no more than `test_per_class` examples.

    Examples:

    >>> from tl_templates.data import splits
    >>> pool, test = splits.split_per_class([0, 0, 0, 1, 1, 1], 1, seed=0)
    >>> len(pool), len(test), sorted(set((test // 3).tolist()))
    (4, 2, [0, 1])
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) <= test_per_class:
            raise ValueError(
                f"Class {label} has {len(members)} example(s): too few for {test_per_class} test "
                "examples and a training pool. Lower test_per_class or add examples."
            )
        test.append(rng.choice(members, test_per_class, replace=False))
    test = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test), test


def split_by_fractions(labels, fractions, seed):
    """Class-stratified random split into `len(fractions)` parts, each part shuffled.

    Unlike the splits above, the parts are returned in random order (not
    sorted), and each class is cut at `floor(cumulative fraction * size)`
    with no minimum per part: a small class may be missing from a small part.
    `tl_templates.experiments.domain_shift` splits digits into source,
    target and target-test domains this way.

    Args:
        labels: array. Integer label of each example.
        fractions: sequence. Each part's share; they add up to 1.
        seed: int. The same seed gives the same split.

    Returns:
        A list of `len(fractions)` int index arrays, in shuffled order.

    Examples:

    >>> from tl_templates.data import splits
    >>> parts = splits.split_by_fractions([0] * 10 + [1] * 10, (0.5, 0.3, 0.2), seed=0)
    >>> [len(part) for part in parts]
    [10, 6, 4]
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = [[] for _ in fractions]
    bounds = np.cumsum(fractions)[:-1]
    for label in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == label))
        chunks = np.split(indices, (bounds * len(indices)).astype(int))
        for part, chunk in zip(parts, chunks, strict=True):
            part.extend(chunk)
    return [rng.permutation(np.array(part, dtype=int)) for part in parts]
