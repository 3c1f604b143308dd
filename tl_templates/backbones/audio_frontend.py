"""The audio front end as Keras layers: waveform in, log-mel spectrogram out.

Inside the model, so a saved (or TFLite) model takes raw 16 kHz audio and
nobody has to recompute features the same way before `predict()`. The
settings are YAMNet's (tensorflow/models, research/audioset/yamnet/params.py):
25 ms Hann windows every 10 ms, a 512-point DFT, 64 mel bands from 125 Hz to
7,500 Hz, `log(mel + 0.001)`. 96 frames (0.96 s, 15,600 samples) make one
96x64 patch, the input YAMNet's network was trained on.

The DFT is a fixed convolution (the window times cosines and sines), not an
FFT op: the same numbers as `tf.signal.stft`, and only operations that
TensorFlow Lite runs natively.
"""

import keras
import numpy as np
from keras import ops

SAMPLE_RATE = 16_000
STFT_WINDOW_SAMPLES = 400  # 25 ms
STFT_HOP_SAMPLES = 160  # 10 ms
FFT_LENGTH = 512  # the next power of two above the window
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96  # 0.96 s of 10 ms frames: one YAMNet patch
# Samples that make exactly PATCH_FRAMES frames: 15,600 (0.975 s).
PATCH_SAMPLES = STFT_WINDOW_SAMPLES + (PATCH_FRAMES - 1) * STFT_HOP_SAMPLES


def frame_count(samples, frame_length=STFT_WINDOW_SAMPLES, frame_step=STFT_HOP_SAMPLES):
    """Number of whole STFT frames in `samples` samples (no padding)."""
    return (int(samples) - frame_length) // frame_step + 1


def hertz_to_mel(frequencies):
    """The HTK mel scale, as `tf.signal.linear_to_mel_weight_matrix` uses it."""
    return 1127.0 * np.log1p(np.asarray(frequencies, dtype="float64") / 700.0)


def mel_weight_matrix(
    num_mel_bins=MEL_BANDS,
    num_spectrogram_bins=FFT_LENGTH // 2 + 1,
    sample_rate=SAMPLE_RATE,
    lower_edge_hertz=MEL_MIN_HZ,
    upper_edge_hertz=MEL_MAX_HZ,
):
    """`(num_spectrogram_bins, num_mel_bins)` triangular filters on the mel scale.

    The same matrix as `tf.signal.linear_to_mel_weight_matrix`: band edges
    equally spaced in mel, each filter rising from its lower edge to 1 at its
    centre and falling to 0 at its upper edge; the DC bin gets no weight.
    """
    frequencies = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins)[1:]
    bins_mel = hertz_to_mel(frequencies)[:, None]
    edges = np.linspace(
        hertz_to_mel(lower_edge_hertz), hertz_to_mel(upper_edge_hertz), num_mel_bins + 2
    )
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel - lower) / (centre - lower)
    falling = (upper - bins_mel) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, [[1, 0], [0, 0]]).astype("float32")


def mel_band_centres(
    num_mel_bins=MEL_BANDS, lower_edge_hertz=MEL_MIN_HZ, upper_edge_hertz=MEL_MAX_HZ
):
    """Centre frequency in Hz of each mel band."""
    edges = np.linspace(
        hertz_to_mel(lower_edge_hertz), hertz_to_mel(upper_edge_hertz), num_mel_bins + 2
    )
    return 700.0 * np.expm1(edges[1:-1] / 1127.0)


def dft_kernel(frame_length=STFT_WINDOW_SAMPLES, fft_length=FFT_LENGTH):
    """`(frame_length, 1, 2 * bins)` convolution kernel: periodic Hann window
    times the cosines (real part), then the sines (imaginary part) of the DFT."""
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(frame_length) / frame_length)
    bins = fft_length // 2 + 1
    angles = 2.0 * np.pi * np.outer(np.arange(frame_length), np.arange(bins)) / fft_length
    kernel = np.concatenate([np.cos(angles), -np.sin(angles)], axis=1) * window[:, None]
    return kernel[:, None, :].astype("float32")


@keras.saving.register_keras_serializable(package="tl_templates")
class LogMelSpectrogram(keras.layers.Layer):
    """Waveforms `(batch, samples)` to log-mel spectrograms `(batch, frames, mel_bins, 1)`.

    No weights: the DFT and the mel filters are constants. The output has a
    channel axis, so a 2-D CNN reads it like a one-channel image (time down,
    frequency across).

    Args:
        sample_rate: int. Samples per second of the input.
        frame_length: int. STFT window in samples (25 ms at 16 kHz).
        frame_step: int. Hop between windows in samples (10 ms).
        fft_length: int. DFT size; frames are zero-padded to it.
        num_mel_bins: int. Mel bands.
        lower_edge_hertz: float. Lower edge of the lowest band.
        upper_edge_hertz: float. Upper edge of the highest band.
        log_offset: float. Added before the log, so silence stays finite.
        **kwargs: forwarded to `keras.layers.Layer`.

    Examples:

    >>> import numpy as np
    >>> from tl_templates.backbones.audio_frontend import LogMelSpectrogram
    >>> LogMelSpectrogram()(np.zeros((2, 15600), "float32")).shape
    TensorShape([2, 96, 64, 1])
    """

    def __init__(
        self,
        sample_rate=SAMPLE_RATE,
        frame_length=STFT_WINDOW_SAMPLES,
        frame_step=STFT_HOP_SAMPLES,
        fft_length=FFT_LENGTH,
        num_mel_bins=MEL_BANDS,
        lower_edge_hertz=MEL_MIN_HZ,
        upper_edge_hertz=MEL_MAX_HZ,
        log_offset=LOG_OFFSET,
        **kwargs,
    ):
        # Waveforms and spectra stay float32 under mixed precision: float16
        # would round quiet samples away and overflow large power values.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.sample_rate = sample_rate
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.num_mel_bins = num_mel_bins
        self.lower_edge_hertz = lower_edge_hertz
        self.upper_edge_hertz = upper_edge_hertz
        self.log_offset = log_offset
        self._dft_kernel = dft_kernel(frame_length, fft_length)
        self._mel_matrix = mel_weight_matrix(
            num_mel_bins, fft_length // 2 + 1, sample_rate, lower_edge_hertz, upper_edge_hertz
        )

    def call(self, waveforms):
        waveforms = ops.cast(waveforms, "float32")
        spectra = ops.conv(
            ops.expand_dims(waveforms, -1),
            ops.convert_to_tensor(self._dft_kernel),
            strides=self.frame_step,
            padding="valid",
        )  # (batch, frames, 2 * bins): real parts, then imaginary parts
        real, imaginary = ops.split(spectra, 2, axis=-1)
        magnitude = ops.sqrt(real * real + imaginary * imaginary)
        mel = ops.matmul(magnitude, ops.convert_to_tensor(self._mel_matrix))
        return ops.expand_dims(ops.log(mel + self.log_offset), -1)

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = (
            None if samples is None else frame_count(samples, self.frame_length, self.frame_step)
        )
        return (input_shape[0], frames, self.num_mel_bins, 1)

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "num_mel_bins": self.num_mel_bins,
            "lower_edge_hertz": self.lower_edge_hertz,
            "upper_edge_hertz": self.upper_edge_hertz,
            "log_offset": self.log_offset,
        }


@keras.saving.register_keras_serializable(package="tl_templates")
class AudioAugmentation(keras.layers.Layer):
    """Label-preserving changes to waveforms, during training only.

    Each clip is shifted in time (circularly, by up to `max_shift_seconds`),
    made louder or quieter (up to `max_gain_db`), and gets white noise at a
    random level up to `max_noise`. At inference the input passes unchanged.

    Args:
        max_shift_seconds: float. Largest time shift, either way.
        max_gain_db: float. Largest volume change, either way, in decibels.
        max_noise: float. Largest standard deviation of the added noise.
        sample_rate: int. Samples per second of the input.
        seed: int. Seed of the random changes.
        **kwargs: forwarded to `keras.layers.Layer`.
    """

    def __init__(
        self,
        max_shift_seconds=0.1,
        max_gain_db=6.0,
        max_noise=0.01,
        sample_rate=SAMPLE_RATE,
        seed=None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")  # waveforms stay float32 (see LogMelSpectrogram)
        super().__init__(**kwargs)
        self.max_shift_seconds = max_shift_seconds
        self.max_gain_db = max_gain_db
        self.max_noise = max_noise
        self.sample_rate = sample_rate
        self.seed = seed
        self._generator = keras.random.SeedGenerator(seed)

    def call(self, waveforms, training=False):
        if not training:
            return waveforms
        waveforms = ops.cast(waveforms, "float32")
        batch, samples = ops.shape(waveforms)[0], ops.shape(waveforms)[1]
        largest = int(self.max_shift_seconds * self.sample_rate)
        shifts = keras.random.randint((batch, 1), -largest, largest + 1, seed=self._generator)
        # Circular shift: sample i of the output is sample (i - shift) mod n.
        positions = ops.mod(ops.arange(samples)[None, :] - shifts, samples)
        waveforms = ops.take_along_axis(waveforms, positions, axis=1)
        gain_db = keras.random.uniform(
            (batch, 1), -self.max_gain_db, self.max_gain_db, seed=self._generator
        )
        waveforms = waveforms * ops.power(10.0, gain_db / 20.0)
        noise_level = keras.random.uniform((batch, 1), 0.0, self.max_noise, seed=self._generator)
        noise = keras.random.normal(ops.shape(waveforms), seed=self._generator)
        return waveforms + noise_level * noise

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_shift_seconds": self.max_shift_seconds,
            "max_gain_db": self.max_gain_db,
            "max_noise": self.max_noise,
            "sample_rate": self.sample_rate,
            "seed": self.seed,
        }
