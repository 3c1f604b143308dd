"""Writes the bundled wake-word sample: data/samples/wake_word/<class>/<n>.wav.

Three classes of 0.975 s clips, 16 kHz mono 16-bit: `marvin` (the wake
word), `other` (30 other words, several of them sound-alikes: marble,
martin, carving, garden, ...) and `background` (noise only). The words are
spoken by Flite's voices awb, rms, slt, kal and kal16 (built from recordings
of real speakers), at random speeds and pitches, then echoed, filtered and
mixed with noise (data/lab_speech/speech_synthesis.py). The lab_speech
backbone was pretrained on other words from another synthesizer (espeak-ng):
this is a small target it never saw. The audio-classifier template trains on it.

    apt-get install -y flite && python data/samples/make_wake_word.py
"""

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lab_speech"))
import speech_synthesis  # noqa: E402

from tl_templates.data.audio_files import write_wav  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-class", type=int, default=18)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()

    clips, labels = speech_synthesis.wake_word_clips(args.per_class, args.seed)
    output = HERE / "wake_word"
    shutil.rmtree(output, ignore_errors=True)
    for number, (clip, label) in enumerate(zip(clips, labels, strict=True)):
        folder = output / speech_synthesis.WAKE_WORD_CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        write_wav(folder / f"{number % args.per_class:03d}.wav", clip)
    print(f"Wrote {len(clips)} clips to {output}")


if __name__ == "__main__":
    main()
