"""Generated sounds and spectrogram images: an offline stand-in for speech.

Ten kinds of one-second sound (rising and falling tones, two-note calls,
beeps, a trill ...) with random pitch, timing, harmonics, loudness and
background noise, and `spectrogram_image`, which draws any waveform (these, or
real speech from TFDS `speech_commands`) as a square image for a CNN.
"""

import functools

import numpy as np

# Generated sounds are telephone quality: enough for tones, half the cost of 16 kHz.
SAMPLE_RATE = 8_000

# Each sound: segments (start, end) in fractions of its span, and the pitch at
# the start and end of the segment as multiples of a random base pitch.
SOUND_CLASSES = {
    "rising": [(0.0, 1.0, 1.0, 3.0)],
    "falling": [(0.0, 1.0, 3.0, 1.0)],
    "low_hum": [(0.0, 1.0, 1.0, 1.0)],
    "high_whistle": [(0.0, 1.0, 3.2, 3.2)],
    "low_then_high": [(0.0, 0.45, 1.0, 1.0), (0.55, 1.0, 2.8, 2.8)],
    "high_then_low": [(0.0, 0.45, 2.8, 2.8), (0.55, 1.0, 1.0, 1.0)],
    "arch": [(0.0, 0.5, 1.0, 3.0), (0.5, 1.0, 3.0, 1.0)],
    "valley": [(0.0, 0.5, 3.0, 1.0), (0.5, 1.0, 1.0, 3.0)],
    "three_beeps": [(0.0, 0.25, 2.0, 2.0), (0.375, 0.625, 2.0, 2.0), (0.75, 1.0, 2.0, 2.0)],
    "trill": [(step / 8, (step + 0.8) / 8, 1.6 + 0.8 * (step % 2), 1.6 + 0.8 * (step % 2))
              for step in range(8)],
}  # fmt: skip


def _render(segments, rng, sample_rate):
    time = np.arange(sample_rate) / sample_rate  # one second
    span = rng.uniform(0.5, 0.9)  # how long the sound lasts, in seconds
    start = rng.uniform(0.0, 1.0 - span)
    base = rng.uniform(150.0, 500.0)  # Hz
    frequency = np.zeros(sample_rate)
    envelope = np.zeros(sample_rate)
    for begin, end, pitch_start, pitch_end in segments:
        t0, t1 = start + begin * span, start + end * span
        inside = slice(int(t0 * sample_rate), int(t1 * sample_rate))
        progress = (time[inside] - t0) / max(t1 - t0, 1e-6)
        frequency[inside] = base * (pitch_start + (pitch_end - pitch_start) * progress)
        envelope[inside] = np.minimum(1.0, np.minimum(progress, 1 - progress) * 20)  # no clicks
    phase = 2 * np.pi * np.cumsum(frequency) / sample_rate
    harmonics = rng.uniform(0.0, 0.6, 2)
    wave = envelope * (np.sin(phase) + harmonics[0] * np.sin(2 * phase)
                       + harmonics[1] * np.sin(3 * phase))  # fmt: skip
    wave /= np.abs(wave).max() + 1e-9
    noise = rng.standard_normal(sample_rate)
    noise = np.cumsum(noise) * 0.02 + noise  # more energy in low frequencies, like rooms
    noise /= np.abs(noise).max() + 1e-9
    wave = wave + rng.uniform(0.2, 1.2) * noise
    return (rng.uniform(0.2, 1.0) * wave / (np.abs(wave).max() + 1e-9)).astype("float32")


def make_sounds(count, seed=0, sample_rate=SAMPLE_RATE):
    """Random one-second sounds of the `SOUND_CLASSES`, classes balanced.

    Args:
        count: int. Sounds per class.
        seed: int. The same seed gives the same sounds.
        sample_rate: int. Samples per second.

    Returns:
        `(waveforms, labels)`: float32 `(10 * count, sample_rate)` in [-1, 1]
        and int `(10 * count,)` indices into `SOUND_CLASSES`.

    Examples:

    >>> from tl_templates.synthetic import sounds
    >>> waveforms, labels = sounds.make_sounds(2)
    >>> waveforms.shape, labels.tolist()[:4]
    ((20, 8000), [0, 0, 1, 1])
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(SOUND_CLASSES)), count)
    patterns = list(SOUND_CLASSES.values())
    waveforms = np.stack([_render(patterns[label], rng, sample_rate) for label in labels])
    return waveforms, labels


@functools.lru_cache(maxsize=8)
def _band_matrix(window, image_size, sample_rate):
    """(frequency bins, bands): averages the power of the bins in each band; a band
    narrower than one bin takes the nearest bin."""
    bin_hz = np.fft.rfftfreq(window, 1 / sample_rate)
    edges = np.geomspace(80.0, sample_rate / 2, image_size + 1)
    matrix = np.zeros((len(bin_hz), image_size), dtype="float32")
    for band, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        inside = (bin_hz >= low) & (bin_hz < high)
        if not inside.any():
            inside = np.abs(bin_hz - (low + high) / 2) == np.abs(bin_hz - (low + high) / 2).min()
        matrix[inside, band] = 1.0 / inside.sum()
    return matrix


def spectrogram_image(waveform, image_size=32, sample_rate=SAMPLE_RATE, window=None):
    """A waveform as a square uint8 RGB image: time left to right, pitch upwards.

    Short-time Fourier transform over `image_size` frames, power pooled into
    `image_size` bands spaced evenly on a log-frequency scale (80 Hz to the
    Nyquist frequency), in decibels, the top 60 dB mapped to 0-255.

    Args:
        waveform: array. Mono samples; shorter than one second is zero-padded,
            longer is cut.
        image_size: int. Image side.
        sample_rate: int. Samples per second.
        window: int or None. Samples per Fourier frame; None: about 1/32 s
            (256 at 8 kHz, 512 at 16 kHz).

    Returns:
        uint8 array `(image_size, image_size, 3)`, the same in all channels.

    Examples:

    >>> from tl_templates.synthetic import sounds
    >>> waveforms, labels = sounds.make_sounds(1)
    >>> sounds.spectrogram_image(waveforms[0]).shape
    (32, 32, 3)
    """
    window = window or 2 ** round(np.log2(sample_rate / 32))
    samples = np.zeros(sample_rate, dtype="float32")
    waveform = np.asarray(waveform, dtype="float32").reshape(-1)[:sample_rate]
    samples[: len(waveform)] = waveform
    starts = np.linspace(0, sample_rate - window, image_size).astype(int)
    frames = samples[starts[:, None] + np.arange(window)] * np.hanning(window)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (time, frequency bins)
    bands = power @ _band_matrix(window, image_size, sample_rate)  # (time, bands)
    decibels = 10 * np.log10(bands + 1e-10)
    decibels = np.clip(decibels - decibels.max() + 60, 0, 60) / 60
    image = (decibels.T[::-1] * 255).astype(np.uint8)  # low pitches at the bottom
    return np.repeat(image[..., None], 3, axis=-1)
