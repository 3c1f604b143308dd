"""WAV reading (rates, channels, sample formats, broken files) and fixed-length clips."""

import numpy as np
import pytest
import scipy.io.wavfile
from helpers import tone, write_wav_folder

import tl_templates
from tl_templates.data import audio_files as audio


def dominant_frequency(waveform, sample_rate=audio.SAMPLE_RATE):
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    return np.fft.rfftfreq(len(waveform), 1 / sample_rate)[np.argmax(spectrum)]


def test_stereo_44k_is_averaged_to_mono_and_resampled_to_16k(tmp_path):
    left, right = tone(440.0, 44_100, 44_100), tone(440.0, 44_100, 44_100, amplitude=0.2)
    path = tmp_path / "stereo.wav"
    scipy.io.wavfile.write(path, 44_100, (np.stack([left, right], axis=1) * 32767).astype("int16"))

    waveform = tl_templates.read_wav(path)

    assert waveform.dtype == np.float32 and waveform.shape == (16_000,)
    assert dominant_frequency(waveform) == pytest.approx(440.0, abs=2.0)
    # The mean of the channels: amplitude (0.5 + 0.2) / 2.
    assert np.abs(waveform[1000:-1000]).max() == pytest.approx(0.35, abs=0.01)


@pytest.mark.parametrize(
    "dtype, scale, offset",
    [("uint8", 127, 128), ("int16", 32767, 0), ("int32", 2**31 - 1, 0), ("float32", 1.0, 0)],
)
def test_every_sample_format_reads_into_minus_one_to_one(tmp_path, dtype, scale, offset):
    samples = tone(1000.0, 8000, 8000, amplitude=0.5)  # 8 kHz: resampled too
    path = tmp_path / f"{dtype}.wav"
    scipy.io.wavfile.write(path, 8000, (samples * scale + offset).astype(dtype))

    waveform = tl_templates.read_wav(path)

    assert waveform.shape == (16_000,)
    assert np.abs(waveform[500:-500]).max() == pytest.approx(0.5, abs=0.02)
    assert dominant_frequency(waveform) == pytest.approx(1000.0, abs=2.0)


def test_a_truncated_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "cut.wav"
    audio.write_wav(path, tone(440.0, 16_000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the header still announces all the samples
    with pytest.raises(ValueError) as error:
        tl_templates.read_wav(path)
    assert str(path) in str(error.value) and "truncated" in str(error.value)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "not a readable WAV file"),
        (b"ID3\x03 an mp3 renamed to .wav", "not a readable WAV file"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not a readable WAV file"),  # header cut short
    ],
)
def test_unreadable_files_get_errors_naming_them(tmp_path, content, reason):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        tl_templates.read_wav(path)
    assert str(path) in str(error.value) and reason in str(error.value)
    assert "Remove or replace the file" in str(error.value)


def test_a_file_without_samples_is_an_error(tmp_path):
    path = tmp_path / "empty.wav"
    scipy.io.wavfile.write(path, 16_000, np.zeros(0, dtype="int16"))
    with pytest.raises(ValueError, match="holds no samples"):
        tl_templates.read_wav(path)


def test_a_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="nowhere.wav"):
        tl_templates.read_wav("nowhere.wav")


def test_audio_folders_need_classes_with_wav_files(tmp_path):
    data = write_wav_folder(tmp_path / "data", {"yes": 2, "no": 3}, samples=1600)
    (data / "no" / "notes.txt").write_text("not audio")
    folder = tl_templates.scan_audio_folder(data)
    assert folder.class_names == ["no", "yes"] and folder.labels.tolist() == [0, 0, 0, 1, 1]
    (data / "maybe").mkdir()
    with pytest.raises(ValueError, match=f"Class folder {data / 'maybe'} has no WAV files"):
        tl_templates.scan_audio_folder(data)
    with pytest.raises(ValueError, match="one sub-folder per class"):
        tl_templates.scan_audio_folder(data / "yes")


def test_fit_to_length_keeps_the_loud_part_or_centres_in_silence():
    quiet_then_loud = np.concatenate([np.full(100, 0.01), np.full(50, 0.9), np.full(100, 0.01)])
    cut = tl_templates.fit_to_length(quiet_then_loud, 60)
    assert len(cut) == 60 and np.sum(cut == np.float32(0.9)) == 50

    padded = tl_templates.fit_to_length(np.ones(10), 20)
    assert padded.tolist() == [0.0] * 5 + [1.0] * 10 + [0.0] * 5


def test_sliding_windows_cover_the_whole_recording():
    waveform = np.arange(1, 101, dtype="float32")
    windows, starts = tl_templates.sliding_windows(waveform, window=30, hop=20)
    assert starts.tolist() == [0, 20, 40, 60, 80]
    np.testing.assert_array_equal(windows[1], waveform[20:50])
    assert windows[-1][:20].tolist() == waveform[80:].tolist() and not windows[-1][20:].any()
    # A clip shorter than the window: one window, padded.
    assert tl_templates.sliding_windows(waveform[:10], 30, 20)[0].shape == (1, 30)


def test_a_class_too_small_to_split_is_named(tmp_path):
    data = write_wav_folder(tmp_path / "data", {"yes": 2, "no": 6}, samples=1600)
    with pytest.raises(ValueError, match="Class 'yes' has 2 example.s.; it needs at least 3"):
        tl_templates.load_audio_splits(data, 1600)
