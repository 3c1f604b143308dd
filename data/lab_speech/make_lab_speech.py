"""Pretrains the lab_speech backbone on synthesized spoken words and saves it.

    apt-get install -y espeak-ng
    nice -n 10 python data/lab_speech/make_lab_speech.py     # ~20 min on a 2-core CPU

The source task: which of 120 words (`speech_synthesis.SOURCE_WORDS`) is
spoken in a 0.975 s clip, by espeak-ng in a random accent, voice variant,
speed and pitch, then randomly sped up or slowed down, placed, echoed,
filtered and mixed with noise (`speech_synthesis.Augmenter`). Validation
clips come from other renderings (another seed).

Writes data/lab_speech/lab_speech.weights.h5 (the backbone, front end
included, no classifier) and data/lab_speech/pretraining.json for CARD.md.
"""

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import speech_synthesis  # noqa: E402

WORDS_PER_RUN = 10  # words spoken by one espeak-ng run (one voice)
_worker = {}


def _start_worker(seed):
    _worker["augmenter"] = speech_synthesis.Augmenter(seed)
    _worker["variants"] = speech_synthesis.espeak_variants()


def _render(task):
    """One espeak-ng run: `clips_per_render` clips of each of its words, int16."""
    task_seed, word_indices, clips_per_render = task
    rng = np.random.default_rng(task_seed)
    augmenter = _worker["augmenter"]
    augmenter.rng = rng  # the clip treatments follow the task's seed, not the worker's
    words = [speech_synthesis.SOURCE_WORDS[index] for index in word_indices]
    pieces = None
    while pieces is None:  # a rare voice whose pauses are not silent: draw another
        pieces = speech_synthesis.random_espeak_words(words, rng, _worker["variants"])
    clips, labels = [], []
    for index, piece in zip(word_indices, pieces, strict=True):
        for _ in range(clips_per_render):
            clips.append(np.round(augmenter.clip(piece) * 32767).astype("int16"))
            labels.append(index)
    return np.stack(clips), np.array(labels)


def make_clips(renders_per_word, clips_per_render, seed, workers):
    """Every word `renders_per_word` times, in shuffled groups of WORDS_PER_RUN."""
    rng = np.random.default_rng(seed)
    tasks = []
    for round_index in range(renders_per_word):
        order = rng.permutation(len(speech_synthesis.SOURCE_WORDS))
        for group, start in enumerate(range(0, len(order), WORDS_PER_RUN)):
            task_seed = [seed, round_index, group]
            tasks.append((task_seed, order[start : start + WORDS_PER_RUN], clips_per_render))
    with multiprocessing.get_context("fork").Pool(workers, _start_worker, (seed,)) as pool:
        results = pool.map(_render, tasks, chunksize=8)
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])


def log_mel_features(clips, batch_size=512):
    """int16 clips to float16 log-mel patches with the backbone's own front end."""
    from tl_templates.backbones.audio_frontend import LogMelSpectrogram

    front_end = LogMelSpectrogram()
    parts = []
    for start in range(0, len(clips), batch_size):
        waveforms = clips[start : start + batch_size].astype("float32") / 32768.0
        parts.append(np.asarray(front_end(waveforms)).astype("float16"))
    return np.concatenate(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders-per-word", type=int, default=110)
    parser.add_argument("--clips-per-render", type=int, default=1)
    parser.add_argument("--validation-renders-per-word", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=HERE / "lab_speech.weights.h5")
    args = parser.parse_args()

    # Synthesis first, in worker processes forked before TensorFlow starts.
    started = time.perf_counter()
    train_clips, train_labels = make_clips(
        args.renders_per_word, args.clips_per_render, args.seed, args.workers
    )
    validation_clips, validation_labels = make_clips(
        args.validation_renders_per_word, 1, args.seed + 1000, args.workers
    )
    synthesis_seconds = time.perf_counter() - started
    print(f"{len(train_labels)} + {len(validation_labels)} clips in {synthesis_seconds:.0f} s")

    import keras

    from tl_templates.backbones.audio import build_lab_speech

    keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()
    train_features = log_mel_features(train_clips)
    validation_features = log_mel_features(validation_clips)
    del train_clips, validation_clips
    feature_seconds = time.perf_counter() - started

    # The network after its front end trains on precomputed log-mel patches
    # (the front end has no weights); the saved backbone has the front end.
    backbone = build_lab_speech()
    body = keras.Model(backbone.get_layer("stem_log_mel").output, backbone.output)
    patches = keras.Input(body.input.shape[1:], name="log_mel_patch")
    features = keras.layers.GlobalAveragePooling2D()(body(patches))
    features = keras.layers.Dropout(0.2)(features)
    outputs = keras.layers.Dense(len(speech_synthesis.SOURCE_WORDS), activation="softmax")(features)
    model = keras.Model(patches, outputs)
    steps = args.epochs * int(np.ceil(len(train_labels) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    history = model.fit(
        train_features, train_labels, batch_size=args.batch_size, epochs=args.epochs,
        validation_data=(validation_features, validation_labels), verbose=2,
    )  # fmt: skip
    training_seconds = time.perf_counter() - started

    backbone.save_weights(args.output)
    report = {
        "words": len(speech_synthesis.SOURCE_WORDS),
        "accents": list(speech_synthesis.ESPEAK_ACCENTS),
        "voice_variants": len(speech_synthesis.espeak_variants()),
        "train_clips": int(len(train_labels)),
        "validation_clips": int(len(validation_labels)),
        "renders_per_word": args.renders_per_word,
        "clips_per_render": args.clips_per_render,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "validation_accuracy": round(history.history["val_accuracy"][-1], 4),
        "train_accuracy": round(history.history["accuracy"][-1], 4),
        "synthesis_seconds": round(synthesis_seconds, 1),
        "feature_seconds": round(feature_seconds, 1),
        "training_seconds": round(training_seconds, 1),
        "backbone_params": backbone.count_params(),
        "weights_bytes": args.output.stat().st_size,
    }
    (HERE / "pretraining.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
