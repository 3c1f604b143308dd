"""The lab_speech audio backbone: its bundled weights, and what they learned."""

import keras
import numpy as np

import tl_templates
from tl_templates import paths


def test_bundled_weights_load_through_the_registry():
    pretrained = tl_templates.build_backbone("lab_speech", weights="pretrained")
    random = tl_templates.build_backbone("lab_speech", weights=None)
    weights_file = paths.DATA_DIR / tl_templates.get_spec("lab_speech").pretrained
    assert weights_file.stat().st_size < 1_500_000
    assert any(
        not np.allclose(a.numpy(), b.numpy())
        for a, b in zip(pretrained.weights, random.weights, strict=True)
    )
    # Batch statistics were learned on the source task, not left at their init.
    assert not np.allclose(pretrained.get_layer("top_bn").moving_variance.numpy(), 1.0)


def nearest_neighbour_accuracy(backbone, clips, labels):
    features = backbone.predict(clips, verbose=0).mean(axis=(1, 2))
    features -= features.mean(axis=0)
    features /= np.linalg.norm(features, axis=1, keepdims=True) + 1e-8
    similarity = features @ features.T
    np.fill_diagonal(similarity, -np.inf)
    return np.mean(labels[np.argmax(similarity, axis=1)] == labels)


def test_pretrained_features_tell_the_wake_word_from_other_words_better_than_random_ones():
    # The bundled sample: voices, words and a synthesizer the source task never had.
    folder = tl_templates.scan_audio_folder(paths.SAMPLES_DIR / "wake_word")
    speech = [index for index, name in enumerate(folder.class_names) if name != "background"]
    chosen = np.isin(folder.labels, speech)
    clips = tl_templates.data.audio_folder.load_clips(np.array(folder.paths)[chosen], 15_600)
    labels = folder.labels[chosen]
    keras.utils.set_random_seed(0)
    scores = {
        weights: nearest_neighbour_accuracy(
            tl_templates.build_backbone("lab_speech", weights=weights), clips, labels
        )
        for weights in ("pretrained", None)
    }
    # Leave-one-out nearest neighbour, marvin vs other words (chance: 50%).
    assert scores["pretrained"] > scores[None] + 0.1, scores
