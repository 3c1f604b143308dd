"""Prints the predicted label of each WAV file, and detections over time in long ones.

    python predict.py clip.wav [more.wav ...] [--model outputs/model.keras]
    python predict.py folder/ --csv predictions.csv [--top-k 3] [--batch-size 64]

A file no longer than the model's clip gets one label. A longer recording is
read through a window the model's length, sliding by window_hop_seconds
(config.toml): each window gets a label, and runs of windows whose label is
not one of negative_classes, with at least detection_threshold probability,
are reported as detections.

A folder stands for every WAV file under it. Clips are read and predicted a
batch at a time, so any number of files fits in memory. A file that cannot
be read is named (on the console and in the CSV's error column) and the
others go on. The CSV has one row per file: file, label, probability, top_k
("label:probability" for the k most probable classes) and detections; for
a long recording a class's probability is its highest over the windows.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from config import OUTPUT_DIR, SAMPLE_RATE, load_config

import tl_templates
from tl_templates.project import scripts


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


def describe_recording(path, waveform, model, labels, config):
    """Prints a long recording's windows and detections; returns its CSV row."""
    window = model.input_shape[1]  # samples the model hears at once
    hop = int(round(config.window_hop_seconds * SAMPLE_RATE))
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
    return rows.max(axis=0), summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, help="WAV files or folders")
    parser.add_argument("--model", type=Path, default=OUTPUT_DIR / "model.keras")
    parser.add_argument("--csv", type=Path, help="write every prediction to this CSV file")
    parser.add_argument("--top-k", type=int, default=3, help="classes listed in the CSV's top_k column")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    config = load_config()
    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    labels = (args.model.parent / "labels.txt").read_text(encoding="utf-8").split("\n")[:-1]
    window = model.input_shape[1]
    files = tl_templates.find_input_files(args.files, (".wav", ".wave"))
    csv_rows, failures = [], []
    for first in range(0, len(files), args.batch_size):  # a batch of files at a time
        waveforms = {}
        for path in files[first:first + args.batch_size]:
            try:
                waveforms[path] = tl_templates.read_wav(path)  # 16 kHz mono, whatever the file's format
            except (ValueError, OSError) as error:
                failures.append((path, str(error)))
                print(f"{path}: unreadable, skipped ({error})", file=sys.stderr)
        # Files no longer than the model's clip, centred in silence as in training: one batch.
        short = [path for path, waveform in waveforms.items() if len(waveform) <= window]
        predicted = {}
        if short:
            clips = np.stack([tl_templates.fit_to_length(waveforms[path], window) for path in short])
            predicted = dict(zip(short, model.predict(clips, verbose=0)))
        for path, waveform in waveforms.items():
            if path in predicted:
                row, summary = predicted[path], ""
                best = int(np.argmax(row))
                print(f"{path}: {labels[best]} ({row[best]:.3f})")
            else:
                row, summary = describe_recording(path, waveform, model, labels, config)
            csv_row = tl_templates.classification_rows([path], row[None], labels, top_k=args.top_k)[0]
            csv_rows.append({**csv_row, "detections": summary})
    if args.csv:
        tl_templates.write_predictions_csv(args.csv, csv_rows, failures)
        print(f"Wrote {args.csv}: {len(csv_rows)} predictions, {len(failures)} unreadable files")
    return csv_rows, failures


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
