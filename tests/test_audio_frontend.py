"""The log-mel front end (YAMNet's features, as a Keras layer) and audio augmentation."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import tone

import tl_templates
from tl_templates.backbones import audio_frontend


def test_output_shape_is_frames_by_mel_bands_with_a_channel():
    layer = tl_templates.LogMelSpectrogram()
    assert np.asarray(layer(np.zeros((2, 15_600), "float32"))).shape == (2, 96, 64, 1)
    assert layer.compute_output_shape((None, 32_000)) == (None, 198, 64, 1)
    assert audio_frontend.frame_count(audio_frontend.PATCH_SAMPLES) == audio_frontend.PATCH_FRAMES


@pytest.mark.parametrize("frequency", [300.0, 1000.0, 4000.0])
def test_a_tone_lands_in_the_mel_band_around_its_frequency(frequency):
    spectrogram = np.asarray(tl_templates.LogMelSpectrogram()(tone(frequency, 15_600)[None]))
    energy = spectrogram[0, :, :, 0].mean(axis=0)  # average over time, per band
    centres = audio_frontend.mel_band_centres()
    # The loudest band is the one centred nearest the tone (or its neighbour,
    # when the tone falls between two centres).
    assert abs(int(np.argmax(energy)) - int(np.argmin(np.abs(centres - frequency)))) <= 1
    # More than an octave away there is (almost) nothing: log(0 + 0.001).
    far = (centres < frequency / 2) | (centres > frequency * 2)
    assert energy[far].max() < energy.max() - 5.0
    # Every frame sees the same steady tone.
    assert spectrogram[0, :, :, 0].std(axis=0).max() < 0.05


def test_values_match_yamnets_tensorflow_recipe():
    """tf.signal.stft (periodic Hann, 512-point FFT), tf's mel matrix, log(mel + 0.001)."""
    waveforms = np.random.default_rng(0).normal(0, 0.1, (3, 15_600)).astype("float32")
    magnitude = tf.abs(tf.signal.stft(waveforms, 400, 160, 512))
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(64, 257, 16_000, 125.0, 7500.0)
    expected = tf.math.log(tf.matmul(magnitude, mel_matrix) + 0.001).numpy()

    actual = np.asarray(tl_templates.LogMelSpectrogram()(waveforms))[..., 0]

    np.testing.assert_allclose(audio_frontend.mel_weight_matrix(), mel_matrix.numpy(), atol=1e-5)
    np.testing.assert_allclose(actual, expected, atol=1e-3)


def test_a_model_with_the_front_end_saves_and_loads_safely(tmp_path):
    waveform = keras.Input((15_600,))
    augmented = tl_templates.AudioAugmentation(seed=1)(waveform)
    spectrogram = tl_templates.LogMelSpectrogram(num_mel_bins=40, name="front_end")(augmented)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(spectrogram))
    model = keras.Model(waveform, outputs)
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = tl_templates.load_model(path)

    clips = np.random.default_rng(1).normal(0, 0.1, (2, 15_600)).astype("float32")
    assert loaded.get_layer("front_end").num_mel_bins == 40
    np.testing.assert_allclose(loaded.predict(clips, verbose=0), model.predict(clips, verbose=0))


def test_augmentation_changes_clips_only_in_training():
    layer = tl_templates.AudioAugmentation(max_shift_seconds=0.05, seed=3)
    clips = np.stack([tone(500.0, 15_600), tone(900.0, 15_600)])
    np.testing.assert_array_equal(np.asarray(layer(clips)), clips)

    augmented = np.asarray(layer(clips, training=True))
    assert augmented.shape == clips.shape
    assert not np.allclose(augmented, clips)
    # Still the same tones: shifted, louder or quieter, a little noise.
    for original, changed in zip(clips, augmented, strict=True):
        spectrum = np.abs(np.fft.rfft(changed))
        assert np.argmax(spectrum) == np.argmax(np.abs(np.fft.rfft(original)))
