"""What the model gets wrong: per-class precision, recall, F1 and support, the confusion matrix,
the worst mistakes and, for a wake word, false accepts per hour and false rejects by threshold.

    python evaluate.py [--data path/to/wavs] [--model outputs/model.keras] [--output outputs/]

Without --data: the run's own test clips (the split train.py made, from the
settings saved in metrics.json), so the accuracy is metrics.json's; train.py
writes the same reports when it finishes. With --data: every WAV file of a
class-per-folder data set whose classes are the model's, each cut or padded to
the model's clip as in training; a file that cannot be read is named and skipped.

Writes report.json, confusion_matrix.png (counts, and each true class
normalised to 1) and prints the worst mistakes (file, true and predicted class,
probability). When the classes include negative_classes (config.toml:
background, other) and at least one other class (the wake words), also
detection.png: false accepts per hour of the negative clips' audio and the
share of wake-word clips missed, against the detection threshold, with
detection_threshold marked; report.json's "detection" holds the curve and
the figures at that threshold.
"""

import sys

import numpy as np
from config import OUTPUT_DIR, SAMPLE_RATE, load_config

import tl_templates
from tl_templates.data import audio_folder
from tl_templates.evaluation import detection, mistakes
from tl_templates.project import scripts

WORST = 10  # wrong predictions listed


def test_files(config):
    """The files of the test split train.py made, in the order of its test clips."""
    folder = tl_templates.scan_audio_folder(config.data_path)
    _, _, test = audio_folder.split_indices(
        folder.labels, folder.class_names, config.validation_fraction, config.test_fraction, config.seed
    )
    return [folder.paths[index] for index in test]


def wake_word_report(labels, probabilities, class_names, clip_seconds, config):
    """False accepts per hour and false rejects against the threshold; None without wake words."""
    targets = [index for index, name in enumerate(class_names) if name not in config.negative_classes]
    if not targets or len(targets) == len(class_names):
        return None
    scores, is_target = detection.detection_scores(labels, probabilities, targets)
    negative_seconds = float(np.sum(~is_target)) * clip_seconds
    curve = detection.detection_tradeoff(scores, is_target, negative_seconds)
    chosen = detection.detection_tradeoff(scores, is_target, negative_seconds, [config.detection_threshold])
    return {
        "wake_words": [class_names[index] for index in targets],
        "negative_seconds": negative_seconds,
        "wake_word_clips": int(is_target.sum()),
        "threshold": config.detection_threshold,
        **{name: values[0] for name, values in chosen.items() if name != "thresholds"},
        "curve": curve,
    }


def write_reports(labels, probabilities, class_names, files, output, config, failures=(), data="test split"):
    """Writes report.json, confusion_matrix.png and (wake words) detection.png to `output`; prints them."""
    predicted = np.argmax(probabilities, axis=-1)
    report = tl_templates.classification_report(labels, predicted, class_names)
    report["confusion_matrix"] = tl_templates.confusion_matrix(labels, predicted, len(class_names)).tolist()
    report["worst_examples"] = [
        {"file": str(files[row["index"]]), "true": class_names[row["true"]],
         "predicted": class_names[row["predicted"]], "probability": row["probability"],
         "true_probability": row["true_probability"]}
        for row in mistakes.worst_examples(labels, probabilities, count=WORST)
    ]  # fmt: skip
    # Each clip counts as clip_seconds of audio (files are cut or padded to it, as in training).
    clip_seconds = config.clip_samples / SAMPLE_RATE
    report["detection"] = wake_word_report(labels, probabilities, class_names, clip_seconds, config)
    report["data"] = data
    report["unreadable"] = [{"file": str(path), "error": reason} for path, reason in failures]
    output.mkdir(parents=True, exist_ok=True)
    tl_templates.write_json_atomic(output / "report.json", report)
    tl_templates.plot_confusion_matrix(report["confusion_matrix"], class_names, output / "confusion_matrix.png")
    print(tl_templates.describe_report(report))
    print(f"Most confident mistakes ({len(report['worst_examples'])}):")
    for row in report["worst_examples"]:
        print(f"  {row['file']}: {row['true']} heard as {row['predicted']} ({row['probability']:.3f})")
    written = "report.json, confusion_matrix.png"
    found = report["detection"]
    if found:
        detection.plot_detection_tradeoff(found["curve"], found["threshold"], output / "detection.png")
        written += ", detection.png"
        rate = "n/a" if found["false_reject_rate"] is None else f"{found['false_reject_rate']:.3f}"
        print(f"Wake word ({', '.join(found['wake_words'])}) at threshold {found['threshold']:g}: "
              f"{found['false_accepts']} false accepts in {found['negative_seconds']:.0f} s without it "
              f"({found['false_accepts_per_hour']:.0f} per hour), "
              f"{found['false_rejects']} of {found['wake_word_clips']} wake-word clips missed ({rate})")
    print(f"Wrote {output}: {written}")
    return report


def main(argv=None):
    args = scripts.evaluate_parser(__doc__, OUTPUT_DIR, "a class-per-folder set of WAV files (default: the run's test clips)").parse_args(argv)

    model = tl_templates.load_model(args.model, compile=False)  # for prediction only
    class_names = (args.model.parent / "labels.txt").read_text(encoding="utf-8").split("\n")[:-1]
    config = load_config(**scripts.saved_settings(args.model))
    samples = model.input_shape[1]
    if args.data is None:
        paths, known = test_files(config), None
    else:
        folder = tl_templates.scan_audio_folder(args.data)
        paths, known = folder.paths, scripts.labels_in_model_order(folder, class_names)
    files, probabilities, failures = tl_templates.predict_files(
        paths, lambda path: tl_templates.fit_to_length(tl_templates.read_wav(path), samples),
        lambda batch: model.predict(batch, verbose=0), batch_size=args.batch_size,
    )  # fmt: skip
    if not files:
        raise ValueError(f"{args.data}: no WAV file could be read.")
    for path, reason in failures:
        print(f"{path}: unreadable, skipped ({reason})", file=sys.stderr)
    # The test split's class of a file is its folder's, as load_audio_splits numbers them.
    labels = np.array([known[path] if known else class_names.index(path.parent.name) for path in files])
    return write_reports(
        labels, probabilities, class_names, files, args.output or args.model.parent, config,
        failures=failures, data=str(args.data) if args.data else "test split",
    )  # fmt: skip


if __name__ == "__main__":
    scripts.run(main)  # a bad input: one line, not a traceback
