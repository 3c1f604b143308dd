"""Targets for the notebooks: offline ones, and TFDS loaders run on TFDS's own mock data."""

import numpy as np
import pytest

from tl_templates.experiments import datasets


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits(test_per_class=20)


def test_digits_are_real_uci_scans_split_without_overlap(digits):
    images, labels = digits.pool
    assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3)
    assert len(labels) + len(digits.test[1]) == 1797  # every scan, once
    assert np.bincount(digits.test[1]).tolist() == [20] * 10
    assert images.mean() > 127  # dark ink on white paper, like data/samples


def test_sample_draws_balanced_reproducible_sets(digits):
    images, labels = digits.sample(5, seed=3)
    assert np.bincount(labels, minlength=10).tolist() == [5] * 10
    again, _ = digits.sample(5, seed=3)
    other, _ = digits.sample(5, seed=4)
    np.testing.assert_array_equal(images, again)
    assert not np.array_equal(images, other)


def test_sample_refuses_more_than_the_pool_holds(digits):
    with pytest.raises(ValueError, match=r"1 to \d+ examples per class. Received: per_class=999"):
        digits.sample(999)


def test_photo_patch_test_pixels_never_appear_in_training_patches():
    for boxes in datasets.PHOTO_REGIONS.values():
        for _, box in boxes:
            train = datasets._region_part(box, "train")
            test = datasets._region_part(box, "test")
            overlap_x = min(train[2], test[2]) - max(train[0], test[0])
            overlap_y = min(train[3], test[3]) - max(train[1], test[1])
            assert overlap_x <= 0 or overlap_y <= 0, box
            assert min(test[2] - test[0], test[3] - test[1]) >= 24, f"{box}: too thin for a patch"


def test_photo_patches_have_ten_materials():
    patches = datasets.load_photo_patches(pool_per_class=3, test_per_class=2, seed=1)
    assert patches.num_classes == 10 and "sky" in patches.class_names
    assert patches.pool[0].shape == (30, 32, 32, 3)
    assert np.bincount(patches.test[1]).tolist() == [2] * 10


def test_sound_spectrograms_are_an_audio_target():
    sounds = datasets.load_sound_spectrograms(pool_per_class=2, test_per_class=1)
    assert sounds.input_type == "audio"
    assert sounds.pool[0].shape == (20, 32, 32, 3) and sounds.test[0].shape == (10, 32, 32, 3)


def test_quick_target_names_are_checked():
    with pytest.raises(ValueError, match="name='digts'.*digits, mnist, photo_patches"):
        datasets.load_quick_target("digts")


def test_mnist_subset_reads_the_bundled_format(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist_subset.npz"
    np.savez(path, images=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
             labels=np.repeat(np.arange(10), 4).astype(np.uint8))  # fmt: skip
    mnist = datasets.load_mnist_subset(path, test_per_class=1)
    assert mnist.pool[0].shape == (30, 32, 32, 3) and mnist.test[0].shape == (10, 32, 32, 3)
    with pytest.raises(FileNotFoundError, match="missing"):
        datasets.load_mnist_subset(tmp_path / "absent.npz")


@pytest.fixture
def tfds_mock():
    import tensorflow_datasets as tfds  # in the dev extra

    with tfds.testing.mock_data(num_examples=60):
        yield


# Every TFDS set a notebook loads in full mode.
FULL_MODE_SETS = {
    "cats_vs_dogs": 2,
    "tf_flowers": 5,
    "eurosat/rgb": 10,
    "speech_commands": 12,
}


@pytest.mark.parametrize("name", sorted(FULL_MODE_SETS))
def test_tfds_targets_load_offline_on_mock_data(name, tfds_mock):
    assert datasets.tfds_class_count(name) == FULL_MODE_SETS[name]
    target = datasets.load_tfds_target(name, image_size=40, pool_per_class=2, test_per_class=1)

    assert target.num_classes == FULL_MODE_SETS[name]
    for images, labels in (target.pool, target.test):
        assert images.dtype == np.uint8 and images.shape[1:] == (40, 40, 3)
        assert len(images) == len(labels) and set(labels) <= set(range(target.num_classes))
    assert np.bincount(target.pool[1], minlength=target.num_classes).max() <= 2
    assert target.input_type == ("audio" if name == "speech_commands" else "image")
    assert target.describe().startswith(name.replace("/", "_"))
