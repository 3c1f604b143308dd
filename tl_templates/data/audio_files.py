"""Audio files as waveforms: WAV reading, resampling, fixed-length clips, sliding windows.

Every audio model of the kit takes mono float32 waveforms at 16 kHz in [-1, 1]
(YAMNet's input). `read_wav` turns any PCM or float WAV file into that: other
sample rates are resampled, stereo is averaged to mono, and a file that cannot
be read gets an error naming it.
"""

import struct
import warnings
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal

SAMPLE_RATE = 16_000

# Full scale of each integer sample type, to map it to [-1, 1].
_FULL_SCALE = {
    np.dtype("uint8"): 128.0,  # 8-bit WAV is unsigned, centred on 128
    np.dtype("int16"): 32768.0,
    np.dtype("int32"): 2147483648.0,  # 24-bit files are read as int32 too
}


def _unreadable(path, reason):
    return ValueError(f"Cannot read audio file {path}: {reason}. Remove or replace the file.")


def resample(waveform, from_rate, to_rate=SAMPLE_RATE):
    """`waveform` (samples along the first axis) from `from_rate` to `to_rate` Hz.

    Polyphase filtering (`scipy.signal.resample_poly`): an anti-aliasing
    low-pass filter, then exact rational rate conversion.
    """
    from_rate, to_rate = int(from_rate), int(to_rate)
    if from_rate == to_rate:
        return waveform
    divisor = np.gcd(from_rate, to_rate)
    resampled = scipy.signal.resample_poly(waveform, to_rate // divisor, from_rate // divisor)
    return resampled.astype("float32")


class _Truncated(Exception):
    """The data of a WAV file ends before the length its header announces."""


def _read_wav_samples(path):
    """`(rate, samples)` as scipy reads them; a truncated file raises `_Truncated`."""
    with warnings.catch_warnings():
        # scipy warns, then returns what it found, when the data ends before
        # the length its header announces: a truncated file is an error here.
        warnings.simplefilter("error", scipy.io.wavfile.WavFileWarning)
        try:
            return scipy.io.wavfile.read(path)
        except scipy.io.wavfile.WavFileWarning as warning:
            if "EOF" in str(warning):
                raise _Truncated(str(warning)) from None
        warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
        return scipy.io.wavfile.read(path)  # a harmless oddity (an extra chunk)


def read_wav(path, sample_rate=SAMPLE_RATE):
    """A WAV file as a mono float32 waveform in [-1, 1] at `sample_rate` Hz.

    Args:
        path: str or Path. A WAV file: 8, 16, 24 or 32-bit PCM or 32/64-bit
            float, any sample rate, any number of channels.
        sample_rate: int. Rate of the returned waveform; other rates are
            resampled.

    Returns:
        A 1-D float32 `np.ndarray`.

    Raises:
        ValueError: the file is not a WAV file, is truncated, or holds no
            samples; the message names the file.

    Examples:

    >>> import numpy as np, tempfile, os
    >>> from tl_templates.data import audio_files as audio
    >>> path = os.path.join(tempfile.mkdtemp(), "stereo_8k.wav")
    >>> stereo = np.zeros((8000, 2), dtype="int16")  # 1 s of stereo at 8 kHz
    >>> audio.write_wav(path, stereo, sample_rate=8000)
    >>> audio.read_wav(path).shape  # mono, resampled to 16 kHz
    (16000,)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Audio file not found: {path}")
    try:
        rate, samples = _read_wav_samples(path)
    except (ValueError, EOFError, OSError, struct.error, NameError) as error:
        # NameError: scipy's reader fails that way on a file with no 'fmt ' chunk.
        raise _unreadable(path, f"not a readable WAV file ({error})") from None
    except _Truncated as warning:
        raise _unreadable(path, f"the file is truncated ({warning})") from None
    if samples.size == 0:
        raise _unreadable(path, "it holds no samples")
    if samples.dtype in _FULL_SCALE:
        offset = 128.0 if samples.dtype == np.uint8 else 0.0
        samples = (samples.astype("float32") - offset) / _FULL_SCALE[samples.dtype]
    else:  # float WAV: already in [-1, 1]
        samples = samples.astype("float32")
    if samples.ndim == 2:  # (samples, channels): average the channels
        samples = samples.mean(axis=1)
    return resample(samples, rate, sample_rate)


def write_wav(path, waveform, sample_rate=SAMPLE_RATE):
    """Writes a waveform as a 16-bit PCM WAV file.

    Args:
        path: str or Path. The file to write.
        waveform: np.ndarray. Float samples in [-1, 1] (clipped), or int16;
            shape `(samples,)` or `(samples, channels)`.
        sample_rate: int. Samples per second.
    """
    waveform = np.asarray(waveform)
    if waveform.dtype != np.int16:
        waveform = np.round(np.clip(waveform, -1.0, 1.0) * 32767).astype("int16")
    scipy.io.wavfile.write(path, int(sample_rate), waveform)


def fit_to_length(waveform, samples):
    """`waveform` cut or padded to exactly `samples` samples.

    A longer clip keeps its loudest stretch of `samples` samples (where the
    word is); a shorter one is centred between zeros (silence).
    """
    waveform = np.asarray(waveform, dtype="float32")
    if len(waveform) > samples:
        energy = np.concatenate([[0.0], np.cumsum(waveform.astype("float64") ** 2)])
        start = int(np.argmax(energy[samples:] - energy[:-samples]))
        return waveform[start : start + samples]
    before = (samples - len(waveform)) // 2
    return np.pad(waveform, (before, samples - len(waveform) - before))


def sliding_windows(waveform, window, hop):
    """Overlapping windows over a waveform, for detections over time.

    The last window is padded with silence so that the whole clip is covered.

    Args:
        waveform: np.ndarray. 1-D samples.
        window: int. Samples per window (the model's input length).
        hop: int. Samples between the starts of two windows.

    Returns:
        `(windows, starts)`: float32 `(count, window)` and the start sample
        of each window.

    Examples:

    >>> import numpy as np
    >>> from tl_templates.data import audio_files as audio
    >>> windows, starts = audio.sliding_windows(np.ones(25), window=10, hop=5)
    >>> windows.shape, starts.tolist()
    ((4, 10), [0, 5, 10, 15])
    """
    waveform = np.asarray(waveform, dtype="float32")
    count = 1 + max(0, int(np.ceil((len(waveform) - window) / hop)))
    starts = np.arange(count) * hop
    padded = np.pad(waveform, (0, max(0, starts[-1] + window - len(waveform))))
    return np.stack([padded[start : start + window] for start in starts]), starts
