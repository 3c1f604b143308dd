"""The lab backbone and the generated source task it was pretrained on."""

import numpy as np

import tl_templates
from tl_templates import paths
from tl_templates.synthetic import glyphs, strokes


def test_bundled_weights_load_through_the_registry():
    pretrained = tl_templates.build_backbone("lab_glyphs", weights="pretrained")
    random = tl_templates.build_backbone("lab_glyphs", weights=None)
    weights_file = paths.DATA_DIR / tl_templates.get_spec("lab_glyphs").pretrained
    assert weights_file.stat().st_size < 2_000_000
    assert any(
        not np.allclose(a.numpy(), b.numpy())
        for a, b in zip(pretrained.weights, random.weights, strict=True)
    )
    # Batch statistics were learned on the source task, not left at their init.
    assert not np.allclose(pretrained.get_layer("top_bn").moving_variance.numpy(), 1.0)


def test_pretrained_features_separate_glyph_classes_better_than_random_ones():
    images, labels = glyphs.make_glyph_dataset(470, seed=99)
    scores = {}
    for weights in ("pretrained", None):
        backbone = tl_templates.build_backbone("lab_glyphs", weights=weights)
        features = backbone.predict(images.astype("float32"), verbose=0).mean(axis=(1, 2))
        features /= np.linalg.norm(features, axis=1, keepdims=True) + 1e-8
        similarity = features @ features.T
        np.fill_diagonal(similarity, -np.inf)
        scores[weights] = np.mean(labels[np.argmax(similarity, axis=1)] == labels)
    # Nearest-neighbour accuracy among 47 classes (chance: about 2%).
    assert scores["pretrained"] > 0.5 > scores[None]


def test_glyph_dataset_is_seeded_balanced_and_uses_every_class():
    first, labels = glyphs.make_glyph_dataset(94, seed=3)
    again, labels_again = glyphs.make_glyph_dataset(94, seed=3)
    other, _ = glyphs.make_glyph_dataset(94, seed=4)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(first, other)
    assert np.bincount(labels).tolist() == [2] * len(glyphs.CLASSES)
    assert first.std() > 10  # not blank images


def test_every_class_has_pen_strokes_centred_by_mass_and_never_twice_the_same():
    assert set(strokes.TEMPLATES) == set(glyphs.CLASSES)
    rng = np.random.default_rng(0)
    rows, columns = np.indices((32, 32))
    for character in glyphs.CLASSES:
        ink = strokes.draw_character(character, rng, size=32)
        again = strokes.draw_character(character, rng, size=32)
        assert ink.shape == (32, 32) and 0.03 < ink.mean() < 0.4, character
        assert not np.allclose(ink, again), character
        centre = ((rows * ink).sum() / ink.sum(), (columns * ink).sum() / ink.sum())
        assert np.allclose(centre, 16, atol=1.0), (character, centre)
        inked_rows, inked_columns = np.nonzero(ink > 0.2)
        longer_side = max(np.ptp(inked_rows), np.ptp(inked_columns)) + 1
        assert 14 <= longer_side <= 26, (character, longer_side)  # MNIST: 20 of 28


def test_glyph_dataset_mixes_strokes_and_fonts_by_the_fraction_asked():
    fonts_only, _ = glyphs.make_glyph_dataset(47, seed=5, stroke_fraction=0.0)
    mixed, _ = glyphs.make_glyph_dataset(47, seed=5, stroke_fraction=0.5)
    strokes_only, labels = glyphs.make_glyph_dataset(47, seed=5, stroke_fraction=1.0)
    assert not np.array_equal(fonts_only, mixed) and not np.array_equal(mixed, strokes_only)
    assert np.bincount(labels).tolist() == [1] * len(glyphs.CLASSES)
    assert strokes_only.std() > 10


def test_matplotlib_fonts_draw_every_class():
    renders = glyphs.base_renders(glyphs.font_files())
    assert all(len(renders[index]) >= 10 for index in range(len(glyphs.CLASSES)))


def test_bundled_mnist_subset_is_real_balanced_and_transfers_few_shot():
    subset = np.load(paths.DATA_DIR / "targets" / "mnist_subset.npz")
    images, labels = subset["images"], subset["labels"]
    assert images.shape == (1800, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [180] * 10
    # Few-shot on real handwriting, with frozen features: 5 examples per class
    # give class centroids; pretrained features must classify the rest far
    # better than the same network's random features.
    rgb = np.repeat(np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None], 3, axis=-1)
    shots = np.concatenate([np.flatnonzero(labels == digit)[:5] for digit in range(10)])
    rest = np.setdiff1d(np.arange(len(labels)), shots)
    scores = {}
    for weights in ("pretrained", None):
        backbone = tl_templates.build_backbone("lab_glyphs", weights=weights)
        features = backbone.predict(rgb.astype("float32"), verbose=0).mean(axis=(1, 2))
        features /= np.linalg.norm(features, axis=1, keepdims=True) + 1e-8
        centroids = np.stack([features[shots][labels[shots] == d].mean(0) for d in range(10)])
        predicted = np.argmax(features[rest] @ centroids.T, axis=1)
        scores[weights] = np.mean(predicted == labels[rest])
    assert scores["pretrained"] > scores[None] + 0.15, scores
