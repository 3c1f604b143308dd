"""Prints the predicted label of each WAV file, and detections over time in long ones.

    python predict.py clip.wav [more.wav ...] [--model outputs/model.keras]

A file no longer than the model's clip gets one label. A longer recording is
read through a window the model's length, sliding by window_hop_seconds
(config.toml): each window gets a label, and runs of windows whose label is
not one of negative_classes, with at least detection_threshold probability,
are reported as detections.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import tl_templates
from config import OUTPUT_DIR, SAMPLE_RATE, load_config


def detections(labels, probabilities, starts, window, config):
    """`(label, start seconds, end seconds, best probability)` for each run of
    consecutive windows with the same detected label."""
    found = []
    for index, (label, probability) in enumerate(zip(labels, probabilities)):
        if label in config.negative_classes or probability < config.detection_threshold:
            continue
        start, end = starts[index] / SAMPLE_RATE, (starts[index] + window) / SAMPLE_RATE
        previous = found[-1] if found else None
        if previous and previous[0] == label and start <= previous[2]:
            found[-1] = (label, previous[1], end, max(previous[3], probability))
        else:
            found.append((label, start, end, probability))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    args = parser.parse_args(argv)

    config = load_config()
    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    labels = (args.model.parent / "labels.txt").read_text(encoding="utf-8").split("\n")[:-1]
    window = model.input_shape[1]  # samples the model hears at once
    hop = int(round(config.window_hop_seconds * SAMPLE_RATE))
    for path in args.files:
        waveform = tl_templates.read_wav(path)  # 16 kHz mono, whatever the file's format
        if len(waveform) <= window:
            clip = tl_templates.fit_to_length(waveform, window)  # centred in silence, as in training
            row = model.predict(clip[None], verbose=0)[0]
            best = int(np.argmax(row))
            print(f"{path}: {labels[best]} ({row[best]:.3f})")
            continue
        windows, starts = tl_templates.sliding_windows(waveform, window, hop)
        rows = model.predict(windows, verbose=0)
        best = np.argmax(rows, axis=1)
        window_labels = [labels[index] for index in best]
        print(f"{path}: {len(waveform) / SAMPLE_RATE:.2f} s, {len(windows)} windows of "
              f"{window / SAMPLE_RATE:.3f} s every {hop / SAMPLE_RATE:.2f} s")
        for start, label, row, index in zip(starts, window_labels, rows, best):
            print(f"  {start / SAMPLE_RATE:6.2f} s  {label} ({row[index]:.3f})")
        found = detections(window_labels, rows[np.arange(len(rows)), best], starts, window, config)
        summary = ", ".join(f"{label} at {start:.2f}-{end:.2f} s ({probability:.3f})"
                            for label, start, end, probability in found)
        print(f"{path}: detections: {summary or 'none'}")


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
