"""What the benchmark scripts share: arguments, data, models, the JSON line.

Each script measures its own figures in one run, prints them with their
ratios, and ends with one JSON line (snake_case names, seconds, ratios) that
tools and tests read.
"""

import json
import os
import platform
import time

# TensorFlow's CPU allocator keeps peak-memory figures only in its BFC form;
# it must be chosen before TensorFlow starts (fine_tuning_memory reads them).
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tl_templates  # noqa: E402
from tl_templates.training import acceleration  # noqa: E402


def add_common_arguments(parser, backbone="efficientnetb0", image_size=96, images=400):
    parser.add_argument("--backbone", default=backbone)
    parser.add_argument("--image-size", type=int, default=image_size)
    parser.add_argument("--images", type=int, default=images)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--mixed-precision",
        default="float32",
        help='"auto", "mixed_float16", "mixed_bfloat16" or "float32"',
    )
    parser.add_argument("--jit-compile", default="false", help='"auto", "true" or "false"')


def setup(args):
    """Applies the precision setting; returns what the JSON line records about the run."""
    policy = tl_templates.set_precision(args.mixed_precision)
    return {
        "device": acceleration.accelerator(),
        "machine": platform.node(),
        "backbone": args.backbone,
        "images": args.images,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "precision": policy,
        "jit_compile": tl_templates.choose_jit_compile(args.jit_compile),
    }


def synthetic_data(args, seed=0):
    """uint8 images (random pixels) and labels; 80% train, 20% validation."""
    rng = np.random.default_rng(seed)
    shape = (args.images, args.image_size, args.image_size, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    labels = rng.integers(0, args.classes, args.images)
    split = int(0.8 * args.images)
    return (images[:split], labels[:split]), (images[split:], labels[split:])


def classifier(args, seed=0):
    """The template's model: backbone (random weights) -> pool -> dropout -> float32 softmax."""
    keras.utils.set_random_seed(seed)
    shape = (args.image_size, args.image_size, 3)
    backbone = tl_templates.build_backbone(args.backbone, shape, weights=None)
    inputs = keras.Input(shape)
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    pooled = keras.layers.Dropout(0.2)(pooled)
    outputs = keras.layers.Dense(args.classes, activation="softmax", dtype="float32")(pooled)
    return keras.Model(inputs, outputs), backbone


def seconds_per_step(model, images, labels, batch_size, steps):
    """Mean seconds of one training step of a compiled `model`, after a traced warm-up."""
    dataset = tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels))
    dataset = dataset.repeat().batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    model.fit(dataset, steps_per_epoch=2, epochs=1, shuffle=False, verbose=0)  # traces the step
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    return (time.perf_counter() - started) / steps


def memory_device():
    """The device whose allocator peak is measured; refuses if it keeps none."""
    device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
    try:
        tf.config.experimental.reset_memory_stats(device)
    except ValueError as error:
        raise SystemExit(
            f"TensorFlow keeps no memory figures for {device} in this process ({error}). "
            "On a CPU set TF_CPU_ALLOCATOR_USE_BFC=true before TensorFlow starts "
            "(running the script directly does)."
        ) from error
    return device


def finish(figures):
    """Prints the JSON line (the last line of every benchmark's output)."""
    print(json.dumps(figures))
    return figures
