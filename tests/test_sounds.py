"""Generated sounds and spectrogram images."""

import numpy as np

from tl_templates.synthetic import sounds


def tone(frequency, start=0.0, end=1.0, sample_rate=sounds.SAMPLE_RATE):
    time = np.arange(sample_rate) / sample_rate
    return np.where((time >= start) & (time < end), np.sin(2 * np.pi * frequency * time), 0.0)


def brightest_row(image):
    return int(np.argmax(image[..., 0].astype(float).sum(axis=1)))


def test_higher_pitches_are_drawn_higher_up():
    rows = [brightest_row(sounds.spectrogram_image(tone(hz))) for hz in (200, 800, 3000)]
    assert rows[0] > rows[1] > rows[2]  # row 0 is the top of the image


def test_time_runs_left_to_right():
    image = sounds.spectrogram_image(tone(500, start=0.0, end=0.4))[..., 0].astype(float)
    assert image[:, :10].sum() > 5 * image[:, -10:].sum()


def test_real_speech_rate_and_short_clips_are_handled():
    speech = tone(440, sample_rate=16_000)[:9_000]  # shorter than a second: padded
    image = sounds.spectrogram_image(speech, image_size=48, sample_rate=16_000)
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8


def test_sounds_are_balanced_reproducible_and_bounded():
    waveforms, labels = sounds.make_sounds(3, seed=5)
    again, _ = sounds.make_sounds(3, seed=5)
    assert waveforms.shape == (3 * len(sounds.SOUND_CLASSES), sounds.SAMPLE_RATE)
    assert np.bincount(labels).tolist() == [3] * len(sounds.SOUND_CLASSES)
    np.testing.assert_array_equal(waveforms, again)
    assert np.abs(waveforms).max() <= 1.0


def test_rising_sounds_end_higher_than_they_start():
    index = list(sounds.SOUND_CLASSES).index("rising")
    waveforms, labels = sounds.make_sounds(4, seed=0)
    for waveform in waveforms[labels == index]:
        image = sounds.spectrogram_image(waveform)[..., 0].astype(float)
        clean = np.clip(image - np.median(image, axis=1, keepdims=True), 0, None)
        loud = np.flatnonzero(clean.max(axis=0) > 0.5 * clean.max())
        first, last = clean[:, loud[0]].argmax(), clean[:, loud[-1]].argmax()
        assert last < first  # a smaller row index is a higher pitch
