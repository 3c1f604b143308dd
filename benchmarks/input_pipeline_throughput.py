"""Input pipeline throughput vs the training step it feeds (images per second).

With augmentation on, `train_classifier` cannot cache and trains the model
on freshly augmented batches every step; the pipeline must deliver them
faster than the model consumes them. Measured separately, in one run:

- in memory: `tl_templates.training.classifier.epoch_batches` with the default
  augmentation (shifts, rotations, zooms) - what `train_classifier` uses;
- from files: `tl_templates.image_file_dataset` reading PNG files, first
  epoch (decoding) and later epochs (decoded images cached), with the same
  augmentation;
- training: steps of the model (top blocks trainable, as fine-tuning) on
  batches already in memory.

Prints the throughputs and ratios, then one JSON line.

    python benchmarks/input_pipeline_throughput.py [--backbone efficientnetb0]
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from PIL import Image  # noqa: E402

import tl_templates  # noqa: E402
from tl_templates.data import pipelines
from tl_templates.training import classifier as training  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_common_arguments(parser)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    figures = common.setup(args)
    (images, labels), _ = common.synthetic_data(args)
    augmentation = training.default_augmentation(seed=0)
    epochs = 3

    in_memory = training.epoch_batches(images, labels, args.batch_size, 0, 0, epochs, augmentation)
    memory_rate = pipelines.measure_throughput(in_memory)

    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, image in enumerate(images):
            paths.append(Path(folder) / f"{index}.png")
            Image.fromarray(image).save(paths[-1])
        files = pipelines.image_file_dataset(
            paths, labels, args.image_size, args.batch_size, shuffle=True, augmentation=augmentation
        )
        first_epoch_rate = pipelines.measure_throughput(files, warm_up=False)  # decodes
        cached_rate = pipelines.measure_throughput(files, warm_up=False)  # from the cache

    model, backbone = common.classifier(args)
    plan = tl_templates.plan_strategy("fine_tune_top", args.backbone)
    tl_templates.set_trainable(model, plan.trainable_blocks)
    training.compile_classifier(model, 1e-4, jit_compile=figures["jit_compile"])
    step = common.seconds_per_step(model, images, labels, args.batch_size, args.steps)
    training_rate = args.batch_size / step

    figures.update(
        trainable_blocks=plan.trainable_blocks,
        in_memory_images_per_second=round(memory_rate, 1),
        files_first_epoch_images_per_second=round(first_epoch_rate, 1),
        files_cached_images_per_second=round(cached_rate, 1),
        training_images_per_second=round(training_rate, 1),
        in_memory_over_training=round(memory_rate / training_rate, 2),
        files_cached_over_training=round(cached_rate / training_rate, 2),
    )
    print(
        f"{args.backbone}, {len(labels)} images of {args.image_size}px, batch "
        f"{args.batch_size}, default augmentation ({figures['precision']})"
    )
    print(f"  pipeline in memory (epoch_batches):          {memory_rate:9.1f} images/s")
    print(f"  pipeline from PNG files, first epoch:        {first_epoch_rate:9.1f} images/s")
    print(f"  pipeline from PNG files, cached epochs:      {cached_rate:9.1f} images/s")
    print(
        f"  training steps ({', '.join(plan.trainable_blocks)} trainable): "
        f"{training_rate:9.1f} images/s"
    )
    print(
        f"  pipeline / training: {figures['in_memory_over_training']}x in memory, "
        f"{figures['files_cached_over_training']}x from cached files (target: at least 3x)"
    )
    return common.finish(figures)


if __name__ == "__main__":
    main()
