"""The one home of data splits (tl_templates.data.splits), and what its callers get.

The exact indices below were computed by the four implementations this module
replaced (image_folder.split_indices, labels.split_examples,
experiments.datasets._split_per_class, experiments.wake_word.split_per_class):
the notebooks' committed outputs and the templates' measured numbers depend on
them, so a change to any of them must be deliberate.
"""

import numpy as np
import pytest

import tl_templates
from tl_templates.data import audio_folder, image_folder, labels, splits
from tl_templates.experiments import wake_word

LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0])


def as_lists(parts):
    return [part.tolist() for part in parts]


def test_stratified_split_gives_the_same_indices_as_before():
    parts = splits.split_indices(LABELS, ["a", "b", "c"], 0.15, 0.15, seed=5)
    assert as_lists(parts) == [
        [0, 2, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 18, 19],
        [3, 13, 17],
        [1, 11, 12],
    ]


def test_plain_split_gives_the_same_indices_as_before():
    assert as_lists(splits.split_examples(20, 0.15, 0.15, seed=5)) == [
        [0, 2, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 17, 19],
        [3, 9, 18],
        [1, 7, 16],
    ]
    # Held-out sizes round to nearest here (1.5 -> 2), down in the stratified split.
    assert as_lists(splits.split_examples(10, 0.15, 0.15, seed=0)) == [
        [0, 1, 3, 5, 8, 9],
        [4, 6],
        [2, 7],
    ]


def test_per_class_test_set_gives_the_same_indices_as_before():
    pool, test = splits.split_per_class(LABELS, 2, seed=5)
    assert pool.tolist() == [0, 1, 2, 3, 4, 6, 8, 9, 10, 14, 15, 16, 17, 19]
    assert test.tolist() == [5, 7, 11, 12, 13, 18]


@pytest.mark.parametrize("seed", [0, 1, 17])
@pytest.mark.parametrize("counts", [(3, 3), (10, 4, 25), (60, 7)])
def test_stratified_split_puts_every_class_in_every_split(counts, seed):
    labels_ = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))
    names = [f"class{index}" for index in range(len(counts))]
    parts = splits.split_indices(labels_, names, 0.15, 0.15, seed)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(labels_)))
    for part in parts:
        assert np.all(np.diff(part) > 0)  # sorted, no repeats
        assert set(labels_[part].tolist()) == set(range(len(counts)))
    for label, count in enumerate(counts):
        expected = splits.split_sizes(count, 0.15, 0.15)
        assert tuple(int(np.sum(labels_[part] == label)) for part in parts) == expected
    again = splits.split_indices(labels_, names, 0.15, 0.15, seed)
    assert as_lists(again) == as_lists(parts)


def test_split_sizes_rounding_is_chosen_and_checked():
    assert splits.split_sizes(10, 0.15, 0.15) == (8, 1, 1)
    assert splits.split_sizes(20, 0.15, 0.15) == (14, 3, 3)  # 0.15 * 20 is 2.9999...
    assert splits.split_sizes(10, 0.15, 0.15, rounding="nearest") == (6, 2, 2)
    assert splits.split_sizes(50, 0.15, 0.15, rounding="nearest") == (34, 8, 8)  # 7.5 -> 8
    with pytest.raises(ValueError, match="rounding='up'. Known: down, nearest"):
        splits.split_sizes(10, 0.15, 0.15, rounding="up")


def test_per_class_split_is_seeded_and_leaves_a_pool_of_every_class():
    pool, test = splits.split_per_class(LABELS, 3, seed=2)
    assert np.bincount(LABELS[test]).tolist() == [3, 3, 3]
    assert set(LABELS[pool].tolist()) == {0, 1, 2}
    assert sorted(np.concatenate([pool, test]).tolist()) == list(range(len(LABELS)))
    assert splits.split_per_class(LABELS, 3, seed=2)[1].tolist() == test.tolist()
    with pytest.raises(ValueError, match="Class 1 has 6 example.s.: too few for 6"):
        splits.split_per_class(LABELS, 6)


def test_every_old_name_is_the_one_implementation():
    assert image_folder.split_indices is splits.split_indices
    assert image_folder.split_sizes is splits.split_sizes
    assert labels.split_examples is splits.split_examples is tl_templates.split_examples
    assert wake_word.split_per_class is splits.split_per_class
    assert tl_templates.ImageSplits is tl_templates.AudioSplits is splits.Splits
    assert audio_folder.AudioSplits is image_folder.ImageSplits


def test_splits_report_their_sizes():
    train, validation, test = ((np.zeros((count, 2)), np.zeros(count)) for count in (3, 1, 2))
    loaded = splits.Splits(["a", "b"], train, validation, test)
    assert loaded.sizes() == {"train": 3, "validation": 1, "test": 2}


def test_split_by_fractions_gives_the_same_indices_as_before():
    # As experiments.domain_shift._split drew them (parts shuffled, not sorted).
    parts = splits.split_by_fractions(LABELS, (0.5, 0.3, 0.2), seed=5)
    assert as_lists(parts) == [
        [2, 6, 4, 13, 12, 9, 3, 17, 11, 1],
        [10, 5, 15, 19],
        [18, 0, 7, 8, 14, 16],
    ]
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(LABELS)))
