import numpy as np
import pytest
from helpers import write_image_folder

import tl_templates
from tl_templates import paths
from tl_templates.data import image_folder


def test_scan_lists_classes_and_images_and_ignores_the_rest(tmp_path):
    write_image_folder(tmp_path, {"dog": 3, "cat": 2})
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "cat" / ".hidden.png").write_bytes(b"")
    (tmp_path / ".git").mkdir()
    folder = tl_templates.scan_image_folder(tmp_path)
    assert folder.class_names == ["cat", "dog"]
    assert [path.name for path in folder.paths] == ["0.png", "1.png", "0.png", "1.png", "2.png"]
    assert folder.labels.tolist() == [0, 0, 1, 1, 1]


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="Data folder not found: .*nowhere"):
        tl_templates.scan_image_folder(tmp_path / "nowhere")


def test_one_class_is_not_a_classification_task(tmp_path):
    write_image_folder(tmp_path, {"cat": 3})
    with pytest.raises(ValueError, match="one sub-folder per class .at least two.*Found 1"):
        tl_templates.scan_image_folder(tmp_path)


def test_empty_class_folder_is_named(tmp_path):
    write_image_folder(tmp_path, {"cat": 3, "dog": 3})
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError) as error:
        tl_templates.scan_image_folder(tmp_path)
    assert str(tmp_path / "empty_class") in str(error.value)
    assert "has no images" in str(error.value)


@pytest.mark.parametrize(
    "content", [b"", b"\x89PNG\r\n\x1a\n garbage", b"GIF89a" + bytes(range(50))]
)
def test_corrupt_image_is_named(tmp_path, content):
    write_image_folder(tmp_path, {"cat": 3, "dog": 3})
    broken = tmp_path / "dog" / "broken.png"
    broken.write_bytes(content)
    with pytest.raises(ValueError) as error:
        tl_templates.load_image_splits(tmp_path, image_size=16)
    assert f"Cannot read image {broken}" in str(error.value)


def test_images_of_any_size_and_mode_become_rgb_squares(tmp_path):
    from PIL import Image

    (tmp_path / "a").mkdir()
    Image.new("L", (50, 20), 128).save(tmp_path / "a" / "gray.png")
    Image.new("RGBA", (7, 90), (1, 2, 3, 4)).save(tmp_path / "a" / "rgba.png")
    Image.new("RGB", (64, 64), (9, 9, 9)).save(tmp_path / "a" / "photo.jpg")
    for path in sorted((tmp_path / "a").iterdir()):
        image = image_folder.load_image(path, 24)
        assert image.shape == (24, 24, 3) and image.dtype == np.uint8


def test_split_is_stratified_disjoint_and_reproducible():
    labels = np.repeat(np.arange(3), 20)
    names = ["a", "b", "c"]
    first = image_folder.split_indices(labels, names, 0.15, 0.15, seed=7)
    again = image_folder.split_indices(labels, names, 0.15, 0.15, seed=7)
    other = image_folder.split_indices(labels, names, 0.15, 0.15, seed=8)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    train, validation, test = first
    assert len(set(train) | set(validation) | set(test)) == 60
    assert len(train) + len(validation) + len(test) == 60
    for split in (validation, test):
        assert np.bincount(labels[split]).tolist() == [3, 3, 3]


def test_a_class_too_small_to_split_is_named():
    labels = np.array([0, 0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="Class 'rare' has 2 example.s.; it needs at least 3"):
        image_folder.split_indices(labels, ["common", "rare"], 0.15, 0.15, seed=0)


def test_bundled_sample_loads():
    splits = tl_templates.load_image_splits(paths.SAMPLES_DIR / "digits", image_size=32)
    assert splits.class_names == [str(digit) for digit in range(10)]
    sizes = splits.sizes()
    assert sizes["train"] > sizes["validation"] > 0 and sizes["test"] > 0
    assert splits.train[0].shape[1:] == (32, 32, 3)


@pytest.mark.parametrize(
    "count, sizes",
    [(3, (1, 1, 1)), (10, (8, 1, 1)), (20, (14, 3, 3)), (100, (70, 15, 15)),
     (1000, (700, 150, 150))],  # fmt: skip
)
def test_small_classes_keep_most_examples_for_training(count, sizes):
    # Held-out shares round down (at least one each): 10 images train on 8, not 6.
    assert image_folder.split_sizes(count, 0.15, 0.15) == sizes
