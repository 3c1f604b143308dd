"""Spoken words from two different speech synthesizers, in noisy, varied 1-second clips.

- Source task (pretraining `lab_speech`): `SOURCE_WORDS` spoken by espeak-ng
  (Debian package `espeak-ng`), a formant synthesizer: 8 English accents x
  ~100 voice variants, random speed and pitch.
- Target task (the wake-word sample and the transfer measurement): the wake
  word, `OTHER_WORDS` and background noise, spoken by Flite (Debian package
  `flite`), whose voices awb, rms, slt (CMU ARCTIC) and kal were built from
  recordings of real speakers: another generator, other voices, and words the
  source never had.

Every clip then gets the same kind of random treatment (`Augmenter.clip`):
speed change, placement in the window, loudness, reverberation, a
microphone-like filter, and noise (white, pink, brown, mains hum) at a random
signal-to-noise ratio.

Used by make_lab_speech.py, measure_transfer.py and
data/samples/make_wake_word.py; not part of the installed library.
"""

import io
import os
import re
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal

from tl_templates.backbones.audio_frontend import PATCH_SAMPLES
from tl_templates.data.audio_files import SAMPLE_RATE, read_wav, resample

# The target's words: never in the source vocabulary (checked below).
WAKE_WORD = "marvin"
OTHER_WORDS = (
    "sheila", "happy", "house", "bird", "tree", "wow", "dog", "cat", "bed", "visual",
    "forward", "follow", "learn", "backward", "marble", "martin", "carving", "garden",
    "morning", "darling", "yes", "no", "up", "down", "left", "right", "on", "off",
    "stop", "go",
)  # fmt: skip

# 120 everyday English words of one to three syllables: the source vocabulary.
SOURCE_WORDS = tuple(
    """
    zero one two three four five six seven eight nine ten eleven twelve twenty
    red green blue yellow orange purple black white silver
    apple banana bread butter cheese coffee water sugar lemon potato
    horse mouse rabbit tiger monkey turtle snake spider eagle chicken
    table chair window kitchen pillow mirror bottle basket candle ladder
    hammer pencil paper letter camera phone radio clock
    doctor teacher farmer pilot sailor baker
    mother father sister brother baby
    river mountain island forest ocean bridge castle station market hospital
    midnight evening winter summer sunday friday
    open close begin finish listen answer carry travel whisper remember
    quickly slowly always never maybe often
    bright quiet heavy simple gentle clever angry hungry
    music number problem question pocket ticket rocket robot
    """.split()
)
assert len(SOURCE_WORDS) == len(set(SOURCE_WORDS)), "duplicate source words"
assert WAKE_WORD not in SOURCE_WORDS and not set(OTHER_WORDS) & set(SOURCE_WORDS)

ESPEAK_ACCENTS = (
    "en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
    "en-029", "en-us-nyc",
)  # fmt: skip
FLITE_VOICES = ("awb", "rms", "slt", "kal", "kal16")


def espeak_variants():
    """Names of espeak-ng's voice variants (`en+NAME`), from its data folder."""
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
    data = Path(re.search(r"Data at:\s*(\S+)", version).group(1))
    return sorted(path.name for path in (data / "voices" / "!v").iterdir() if path.is_file())


def espeak_words(words, accent, variant, speed, pitch):
    """Words from one espeak-ng run (one voice), as 16 kHz float32 waveforms.

    Starting espeak-ng costs more than speaking a word, so one run speaks
    all `words` with 0.7 s pauses (SSML breaks) and the result is cut at the
    pauses. Returns None when the cut does not give one piece per word.
    """
    text = "<break time='700ms'/>".join(words)
    result = subprocess.run(
        ["espeak-ng", "-m", "-v", f"{accent}+{variant}", "-s", str(int(speed)),
         "-p", str(int(pitch)), "--stdout", f"<speak>{text}</speak>"],
        capture_output=True, check=True,
    )  # fmt: skip
    with warnings.catch_warnings():
        # espeak streams its WAV: the header announces more data than there is.
        warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
        rate, samples = scipy.io.wavfile.read(io.BytesIO(result.stdout))
    pieces = split_at_pauses(resample(samples.astype("float32") / 32768.0, rate, SAMPLE_RATE))
    return pieces if len(pieces) == len(words) else None


def split_at_pauses(waveform, pause_seconds=0.35):
    """The stretches of sound between silences of at least `pause_seconds`."""
    frame = SAMPLE_RATE // 100
    frames = len(waveform) // frame
    energy = np.sqrt(np.mean(waveform[: frames * frame].reshape(frames, frame) ** 2, axis=1))
    sound = energy > 1e-3
    pieces, start, quiet = [], None, 0
    for index, loud in enumerate(sound):
        if loud:
            start = index if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * frame >= pause_seconds * SAMPLE_RATE:
                pieces.append(trim_silence(waveform[start * frame : (index + 1) * frame]))
                start, quiet = None, 0
    if start is not None:
        pieces.append(trim_silence(waveform[start * frame :]))
    return pieces


def flite_word(word, voice, duration_stretch, pitch_hz):
    """One word from Flite as a 16 kHz float32 waveform (silence trimmed).

    `kal` speaks at 8 kHz: `read_wav` resamples it like any user file.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "word.wav")
        subprocess.run(
            ["flite", "-voice", voice, "-t", word, "-o", path,
             "--setf", f"duration_stretch={duration_stretch:.3f}",
             "--setf", f"int_f0_target_mean={pitch_hz:.1f}"],
            capture_output=True, check=True,
        )  # fmt: skip
        return trim_silence(read_wav(path))


def random_espeak_words(words, rng, variants):
    """`words` in one random espeak-ng voice (see `espeak_words`)."""
    return espeak_words(
        words,
        accent=rng.choice(ESPEAK_ACCENTS),
        variant=rng.choice(variants),
        speed=rng.uniform(110, 230),
        pitch=rng.uniform(10, 90),
    )


def random_flite_word(word, rng, voices=FLITE_VOICES):
    voice = rng.choice(voices)
    base_pitch = 170.0 if voice == "slt" else 110.0
    return flite_word(word, voice, rng.uniform(0.8, 1.3), base_pitch * rng.uniform(0.75, 1.35))


def trim_silence(waveform, threshold_db=-35.0, margin=0.02):
    """The waveform from its first to its last loud 10 ms frame, plus a margin."""
    frame = SAMPLE_RATE // 100
    frames = len(waveform) // frame
    if frames == 0:
        return waveform
    energy = np.sqrt(np.mean(waveform[: frames * frame].reshape(frames, frame) ** 2, axis=1))
    loud = np.flatnonzero(energy > energy.max() * 10 ** (threshold_db / 20))
    pad = int(margin * SAMPLE_RATE)
    return waveform[max(0, loud[0] * frame - pad) : (loud[-1] + 1) * frame + pad]


def noise(kind, samples, rng):
    """Unit-RMS noise: "white", "pink" (1/f), "brown" (1/f^2) or "hum" (mains)."""
    if kind == "hum":
        time = np.arange(samples) / SAMPLE_RATE
        base = rng.choice([50.0, 60.0])
        phases = rng.uniform(0, 2 * np.pi, 6)
        signal = sum(
            np.sin(2 * np.pi * base * harmonic * time + phases[harmonic - 1]) / harmonic
            for harmonic in range(1, 7)
        ) + 0.1 * rng.standard_normal(samples)
    else:
        spectrum = np.fft.rfft(rng.standard_normal(samples))
        frequencies = np.maximum(np.fft.rfftfreq(samples, 1 / SAMPLE_RATE), 20.0)
        power = {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind]
        signal = np.fft.irfft(spectrum / frequencies ** (power / 2), samples)
    return (signal / (np.sqrt(np.mean(signal**2)) + 1e-12)).astype("float32")


NOISE_KINDS = ("white", "pink", "brown", "hum")


class Augmenter:
    """Random treatments for clips, with long noise recordings and filters made once.

    Args:
        seed: int. Seed of everything random here.
        samples: int. Clip length.
    """

    def __init__(self, seed, samples=PATCH_SAMPLES):
        self.rng = np.random.default_rng(seed)
        self.samples = samples
        # 20 s of each noise kind; clips take random stretches of it.
        self.noises = {kind: noise(kind, 20 * SAMPLE_RATE, self.rng) for kind in NOISE_KINDS}
        # Band limits of cheap microphones and phone lines.
        self.microphones = [
            scipy.signal.butter(
                2, [self.rng.uniform(50, 400), self.rng.uniform(3000, 7900)], btype="band",
                fs=SAMPLE_RATE, output="sos",
            )
            for _ in range(32)
        ]  # fmt: skip

    def noise(self, kind):
        start = self.rng.integers(0, len(self.noises[kind]) - self.samples)
        return self.noises[kind][start : start + self.samples]

    def reverberate(self, waveform):
        """Convolution with a decaying noise tail (a room with a random echo time)."""
        rt60 = self.rng.uniform(0.1, 0.6)
        time = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        response = self.rng.standard_normal(len(time)) * np.exp(-6.9 * time / rt60)
        response[0] = 1.0 / self.rng.uniform(0.2, 0.8)  # the direct sound against the room
        wet = scipy.signal.fftconvolve(waveform, response)[: len(waveform)]
        return wet / (np.abs(wet).max() + 1e-9) * np.abs(waveform).max()

    def clip(self, word, snr_db=(10.0, 40.0)):
        """A clip of `word` (a waveform), randomly varied, in noise.

        `word=None` makes a background clip: noise only, at a random level.
        """
        rng, samples = self.rng, self.samples
        if word is None:
            level = 10 ** (rng.uniform(-55, -15) / 20)
            kinds = rng.choice(NOISE_KINDS, size=rng.integers(1, 3), replace=False)
            clip = level * sum(self.noise(kind) for kind in kinds) / np.sqrt(len(kinds))
            return np.clip(clip, -1.0, 1.0).astype("float32")
        # Tempo and pitch together, as tape speed, 0.9 to 1.1.
        speed = rng.uniform(0.9, 1.1)
        word = np.interp(np.arange(0, len(word) - 1, speed), np.arange(len(word)), word)
        if len(word) > samples:  # keep the middle of a word too long for the window
            start = (len(word) - samples) // 2
            word = word[start : start + samples]
        clip = np.zeros(samples)
        offset = rng.integers(0, samples - len(word) + 1)
        clip[offset : offset + len(word)] = word
        if rng.random() < 0.3:
            clip = self.reverberate(clip)
        if rng.random() < 0.4:
            clip = scipy.signal.sosfilt(self.microphones[rng.integers(len(self.microphones))], clip)
        speech_rms = 10 ** (rng.uniform(-30, -10) / 20)
        clip *= speech_rms / (np.sqrt(np.mean(clip[offset : offset + len(word)] ** 2)) + 1e-9)
        if rng.random() < 0.85:
            level = speech_rms / 10 ** (rng.uniform(*snr_db) / 20)
            clip = clip + level * self.noise(rng.choice(NOISE_KINDS))
        return np.clip(clip, -1.0, 1.0).astype("float32")


# The wake-word target, in the order a class-per-folder data set sorts them.
WAKE_WORD_CLASSES = ("background", WAKE_WORD, "other")


def wake_word_clips(per_class, seed, snr_db=(5.0, 30.0)):
    """Clips of the wake-word target: background noise, the wake word, other words.

    Spoken by Flite (`random_flite_word`), treated by `Augmenter.clip`.

    Args:
        per_class: int. Clips of each class.
        seed: int. Seed of everything random.
        snr_db: tuple. Range of the speech-to-noise ratio in decibels.

    Returns:
        `(clips, labels)`: float32 `(3 * per_class, PATCH_SAMPLES)` and labels
        indexing `WAKE_WORD_CLASSES`, class by class.
    """
    rng = np.random.default_rng(seed)
    augmenter = Augmenter(seed)
    clips, labels = [], []
    for label, name in enumerate(WAKE_WORD_CLASSES):
        for _ in range(per_class):
            if name == "background":
                word = None
            else:
                text = WAKE_WORD if name == WAKE_WORD else rng.choice(OTHER_WORDS)
                word = random_flite_word(text, rng)
            clips.append(augmenter.clip(word, snr_db=snr_db))
            labels.append(label)
    return np.stack(clips), np.array(labels)
