"""Feature extraction: the kit's cached features vs the plain Keras-guide approach.

Both train the same head (global average pooling, dropout, softmax) on the same
images for the same number of epochs, with a frozen backbone:

- plain: the frozen base runs inside the model every epoch (the Keras
  transfer-learning guide: `base.trainable = False; base(inputs, training=False)`);
- cached: `tl_templates.train_classifier` runs the backbone once over the data
  and trains the head on its outputs;
- floor: one backbone pass over the data, which any approach must pay.

Prints the times and their ratios, then one JSON line.

    python benchmarks/feature_extraction_cache.py [--backbone efficientnetb0] [--epochs 10]
"""

import argparse
import json
import tempfile
import time

import keras
import numpy as np

import tl_templates


def head(features, classes):
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    pooled = keras.layers.Dropout(0.2)(pooled)
    return keras.layers.Dense(classes, activation="softmax")(pooled)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="efficientnetb0")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--images", type=int, default=800)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    shape = (args.image_size, args.image_size, 3)
    images = rng.integers(0, 256, (args.images, *shape)).astype("float32")
    labels = rng.integers(0, args.classes, args.images)
    split = int(0.8 * args.images)
    train, validation = (images[:split], labels[:split]), (images[split:], labels[split:])

    # Plain approach: frozen base inside the model, run every epoch.
    keras.utils.set_random_seed(0)
    base = tl_templates.build_backbone(args.backbone, shape, weights=None)
    base.trainable = False
    inputs = keras.Input(shape)
    plain = keras.Model(inputs, head(base(inputs, training=False), args.classes))
    plain.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    plain.fit(*train, batch_size=args.batch_size, epochs=1, verbose=0)  # warm-up: tracing
    started = time.perf_counter()
    plain.fit(*train, batch_size=args.batch_size, epochs=args.epochs, validation_data=validation,
              verbose=0)  # fmt: skip
    plain_seconds = time.perf_counter() - started

    # Floor: one pass of the backbone over the same data (train + validation).
    base.predict(images[: args.batch_size], verbose=0)  # warm-up
    started = time.perf_counter()
    base.predict(images, batch_size=args.batch_size, verbose=0)
    floor_seconds = time.perf_counter() - started

    # The kit: features computed once, head trained on the cache.
    keras.utils.set_random_seed(0)
    backbone = tl_templates.build_backbone(args.backbone, shape, weights=None)
    inputs = keras.Input(shape)
    model = keras.Model(inputs, head(backbone(inputs), args.classes))
    plan = tl_templates.plan_strategy("feature_extraction", args.backbone)
    backbone.predict(images[: args.batch_size], verbose=0)  # same warm-up as the floor
    with tempfile.TemporaryDirectory() as output:
        started = time.perf_counter()
        tl_templates.train_classifier(
            model, plan, train, validation, head_epochs=args.epochs, fine_tune_epochs=0,
            batch_size=args.batch_size, output_dir=output, verbose=0,
        )  # fmt: skip
        cached_seconds = time.perf_counter() - started

    figures = {
        "backbone": args.backbone,
        "images": args.images,
        "image_size": args.image_size,
        "epochs": args.epochs,
        "plain_seconds": round(plain_seconds, 2),
        "cached_seconds": round(cached_seconds, 2),
        "backbone_pass_seconds": round(floor_seconds, 2),
        "speedup": round(plain_seconds / cached_seconds, 2),
        "cached_over_floor": round(cached_seconds / floor_seconds, 2),
        "plain_over_floor": round(plain_seconds / floor_seconds, 2),
    }
    print(f"{args.backbone}, {args.images} images of {args.image_size}px, {args.epochs} epochs")
    print(f"  plain (frozen base run every epoch): {plain_seconds:8.2f} s")
    print(f"  cached features (tl_templates):      {cached_seconds:8.2f} s")
    print(f"  one backbone pass (the floor):        {floor_seconds:8.2f} s")
    print(
        f"  speed-up {figures['speedup']}x; cached = {figures['cached_over_floor']}x the floor, "
        f"plain = {figures['plain_over_floor']}x"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
