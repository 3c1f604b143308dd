"""Trains the classifier and writes everything to outputs/.

    python train.py                      # the bundled sample data
    python train.py --data path/to/images --strategy fine_tune_top

Interrupted (Ctrl-C, a crash, a Colab disconnect)? Run the same command again:
training continues after the last finished epoch. A finished run is not
trained again: pass --restart to start over, or --output to write elsewhere.
"""

import dataclasses

from config import OUTPUT_DIR, load_config

import tl_templates
from tl_templates.project import scripts


def main(argv=None):
    # The flags every template's train.py takes (python train.py --help).
    parser = scripts.training_parser(
        __doc__, OUTPUT_DIR, data_help="folder with one sub-folder of images per class"
    )
    args = parser.parse_args(argv)
    # The settings (config.toml, then the flags), where to train, the output folder,
    # the seed, mixed precision and XLA: tl_templates/project/scripts.py.
    run = scripts.start_training(args, load_config)
    if run.finished:  # this run finished before: nothing to do
        return run.finished
    config, output = run.config, run.output
    # model.py imports Keras (seconds): only once the settings are read, so that --help,
    # a bad flag or a bad setting answers at once.
    from model import build_model, choose_plan

    splits = tl_templates.load_image_splits(
        config.data_path, config.image_size, config.validation_fraction,
        config.test_fraction, config.seed,
    )  # fmt: skip
    print(f"Data: {config.data_path} -> {splits.sizes()} images, classes {splits.class_names}")

    plan = choose_plan(config, train_examples=len(splits.train[1]))
    # Imbalanced classes (config.toml: class_weights): the rare ones weigh more in the loss.
    class_weights = tl_templates.choose_class_weights(config.class_weights, splits.train[1], len(splits.class_names))
    if class_weights:
        print(f"Class weights: {dict(zip(splits.class_names, class_weights.values()))} "
              f"(largest class {tl_templates.imbalance_ratio(splits.train[1], len(splits.class_names)):.1f}x the smallest)")
    print(f"\nPlan for {config.backbone}:\n{plan.describe()}\n")

    def train_one(plan, folder, train=splits.train, restore_best=True):
        """Builds the model for `plan` and trains it, writing its run to `folder`."""
        with run.strategy.scope():  # the model's variables live on every replica
            model = build_model(config, plan, num_classes=len(splits.class_names))
        phases = tl_templates.train_classifier(
            model, plan, train, splits.validation,
            head_epochs=config.head_epochs, fine_tune_epochs=config.fine_tune_epochs,
            batch_size=run.batch_size, output_dir=folder, augment=config.augment,
            seed=config.seed, verbose=run.verbose, jit_compile=run.jit_compile,
            extra_settings=dataclasses.asdict(config),  # an unfinished run resumes only unchanged
            restore_best=restore_best,
            # Rare classes weigh more in the loss when the classes are imbalanced.
            class_weight=tl_templates.choose_class_weights(config.class_weights, train[1], len(splits.class_names)),
        )  # fmt: skip
        return model, phases

    # strategy = "auto" checks the advisor on your data: on a small data set it also
    # trains the neighbouring strategies (each in outputs/candidates/) and keeps the
    # advisor's plan unless another is clearly better on validation.
    candidates = [plan]
    if config.strategy == "auto":
        candidates = tl_templates.auto_candidates(
            plan, len(splits.train[1]), pretrained=config.weights_argument is not None
        )
    plan, model, phases, auto = tl_templates.train_candidates(
        candidates, train_one, output, validation_examples=len(splits.validation[1])
    )
    if auto:
        print(f"\n{auto.describe()}")

    # On a small data set the validation images are too many to leave out of the final
    # model: the chosen strategy trains again, with the same budget, on the training and
    # validation images together (config.toml: refit). The test images stay out.
    refit = None
    if tl_templates.should_refit(config.refit, len(splits.train[1])):
        model, refit = tl_templates.refit(plan, train_one, splits.train, splits.validation, output)

    test_images, test_labels = splits.test
    test_loss, test_accuracy = model.evaluate(
        test_images.astype("float32"), test_labels, batch_size=run.batch_size, verbose=0
    )

    # Every file is written whole or not at all (a temporary file, then a rename);
    # metrics.json comes last: it marks the run as finished.
    with tl_templates.atomic_path(output / "model.keras") as temporary:
        model.save(temporary)
    tl_templates.write_text_atomic(output / "labels.txt", "\n".join(splits.class_names) + "\n")
    tl_templates.plot_history(output / "history.csv", output / "training.png")
    timing = {phase.name: phase.seconds for phase in phases}
    tl_templates.write_json_atomic(output / "timing.json", {"phase_seconds": timing})
    # What the model gets wrong on the test images: report.json, confusion_matrix.png,
    # worst_examples.png (python evaluate.py --data DIR does the same for any folder).
    from evaluate import write_reports

    test_probabilities = model.predict(test_images.astype("float32"), verbose=0)
    write_reports(test_images, test_labels, test_probabilities, splits.class_names, output)
    metrics = {
        "test_accuracy": test_accuracy,
        # The 95% interval of an accuracy measured on few images (Wilson).
        "test_accuracy_interval": tl_templates.accuracy_with_interval(test_accuracy, len(test_labels)),
        "test_loss": test_loss,
        "strategy": plan.strategy,
        "trainable_blocks": plan.trainable_blocks,
        "truncate_after": plan.truncate_after,
        "backbone": config.backbone,
        "weights": config.weights,
        "class_names": splits.class_names,
        "examples": splits.sizes(),
        # Seconds go to timing.json: metrics.json holds results only, the same
        # for two runs with the same --seed.
        "phases": [{key: value for key, value in vars(phase).items() if key != "seconds"}
                   for phase in phases],
        "plan": plan.to_dict(),
        "auto": auto.to_dict() if auto else None,  # what strategy "auto" compared
        "refit": refit,  # the final model trained again on train + validation
        # The weight of each class in the loss (None: unweighted), and the imbalance
        # figure "auto" decides on (largest class over smallest, training examples).
        "class_weights": class_weights and {splits.class_names[index]: weight for index, weight in class_weights.items()},
        "imbalance": tl_templates.imbalance_ratio(splits.train[1], len(splits.class_names)),
    }
    # With the settings and the data fingerprint it came from (from run.json).
    metrics = tl_templates.write_metrics(output, metrics)

    print("\nResults")
    for phase in phases:
        print(f"  {phase.name:<18} best validation accuracy {phase.best_val_accuracy:.3f}"
              f" ({phase.epochs} epochs, {phase.seconds:.0f} s)")
    if auto:
        print(f"  strategy           {plan.strategy} ({auto.reason})")
    if refit:
        print(f"  refit              on train + validation, {refit['examples']} images, last epoch kept")
    print(f"  test accuracy      {tl_templates.describe_accuracy(test_accuracy, len(test_labels), 'images')}")
    print(f"Written to {output}: model.keras, metrics.json, history.csv, training.png, "
          "labels.txt, timing.json, logs/ (tensorboard --logdir outputs/logs)")
    return metrics


if __name__ == "__main__":
    scripts.run(main, resumable=True)  # a bad input: one line, not a traceback
