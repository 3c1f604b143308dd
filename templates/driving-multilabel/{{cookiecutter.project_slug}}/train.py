"""Trains the multi-label scene model and writes everything to outputs/.

    python train.py                          # the bundled sample data
    python train.py --data path/to/scenes    # labels.csv (filename,car,...) + images/

Interrupted (Ctrl-C, a crash, a Colab disconnect)? Run the same command again:
training continues after the last finished epoch. A finished run is not
trained again: pass --restart to start over, or --output to write elsewhere.
"""

import dataclasses
import math

import numpy as np
from config import OUTPUT_DIR, load_config

import tl_templates
from tl_templates.project import scripts


def load_data(config):
    """Label names and the scenes split three ways: `(images, {"labels": (n, labels)})`."""
    table = tl_templates.read_label_csv(config.labels_file)  # the label set is the CSV header
    label_names = list(table.labels)
    labels = table.matrix(label_names)  # 1, 0 or NaN (unknown)
    useful = np.flatnonzero(~np.all(np.isnan(labels), axis=1))  # scenes with a known label
    images = np.stack([tl_templates.load_image(table.paths[row], config.image_size) for row in useful])
    labels = labels[useful]
    rows = tl_templates.split_examples(
        len(useful), config.validation_fraction, config.test_fraction, config.seed
    )
    splits = [(images[part], {"labels": labels[part]}) for part in rows]
    print(f"Data: {table.source} -> {len(useful)} scenes "
          f"(train {len(rows[0])}, validation {len(rows[1])}, test {len(rows[2])})")
    for index, name in enumerate(label_names):
        column = labels[:, index]
        known = column[~np.isnan(column)]
        print(f"  {name:<16} present in {int(known.sum())} of {len(known)} known, "
              f"unknown in {len(column) - len(known)}")
    return label_names, splits


def tune_thresholds(label_names, labels, probabilities):
    """Per label, the decision threshold with the best F1 on the validation scenes."""
    return {
        name: tl_templates.best_f1_threshold(labels[:, index], probabilities[:, index])[0]
        for index, name in enumerate(label_names)
    }


def mean_auc(labels, probabilities):
    """The AUC of each label over its known values, averaged over the labels that have both classes."""
    aucs = [tl_templates.roc_auc(labels[:, index], probabilities[:, index])
            for index in range(labels.shape[1])]  # fmt: skip
    aucs = [auc for auc in aucs if not math.isnan(auc)]
    return float(np.mean(aucs)) if aucs else float("nan")


def evaluate(label_names, labels, probabilities, thresholds):
    """Per-label AUC, and precision and recall at the tuned thresholds, on known labels."""
    results = {}
    for index, name in enumerate(label_names):
        truth, scores = labels[:, index], probabilities[:, index]
        precision, recall, _ = tl_templates.precision_recall(truth, scores, thresholds[name])
        results[f"auc_{name}"] = tl_templates.roc_auc(truth, scores)
        results[f"precision_{name}"] = precision
        results[f"recall_{name}"] = recall
    results["mean_auc"] = mean_auc(labels, probabilities)
    return {name: None if math.isnan(value) else value for name, value in results.items()}


def main(argv=None):
    # The flags every template's train.py takes (python train.py --help).
    parser = scripts.training_parser(
        __doc__, OUTPUT_DIR, data_help="a folder with labels.csv and images/, or a CSV file"
    )
    args = parser.parse_args(argv)
    # The settings (config.toml, then the flags), where to train, the output folder,
    # the seed, mixed precision and XLA: tl_templates/project/scripts.py.
    run = scripts.start_training(args, load_config, headline="mean_auc")
    if run.finished:  # this run finished before: nothing to do
        return run.finished
    config, output = run.config, run.output
    # model.py imports Keras (seconds): only once the settings are read, so that --help,
    # a bad flag or a bad setting answers at once.
    from model import build_head, build_model, choose_plan

    label_names, (train, validation, test) = load_data(config)
    plan = choose_plan(config, train_examples=len(train[0]))
    print(f"\nPlan for {config.backbone}:\n{plan.describe()}\n")

    head = build_head(config, label_names, train[1]["labels"])

    def train_one(plan, folder):
        """Builds the model for `plan` and trains it, writing its run to `folder`."""
        with run.strategy.scope():  # the model's variables live on every replica
            model = build_model(config, plan, head)
        phases = tl_templates.train_multitask(
            model, [head], plan, train, validation,
            head_epochs=config.head_epochs, fine_tune_epochs=config.fine_tune_epochs,
            batch_size=run.batch_size, output_dir=folder, augment=config.augment,
            seed=config.seed, verbose=run.verbose,
            extra_settings=dataclasses.asdict(config),  # an unfinished run resumes only unchanged
            jit_compile=run.jit_compile,
            # From scratch the model keeps its last epoch, where the cosine schedule has
            # brought the weights and BatchNormalization's statistics to rest (README:
            # "From scratch"); on a few validation scenes the lowest loss is a noisy pick.
            # Transfer keeps its best validation epoch.
            restore_best=plan.strategy != "train_from_scratch",
        )  # fmt: skip
        return model, phases

    def probabilities(model, split):
        return model.predict(split[0].astype("float32"), batch_size=run.batch_size, verbose=0)["labels"]

    def choose(prior, trained):
        """Keeps the advisor's plan unless another is clearly better in validation mean AUC."""
        predictions = {name: probabilities(model, validation) for name, (_, model, _) in trained.items()}
        return tl_templates.pick_by_bootstrap(
            prior, predictions, validation[1]["labels"], {"mean_auc": (mean_auc, "higher")}
        )

    # strategy = "auto" checks the advisor on your data: on a small data set it also
    # trains the neighbouring strategies (each in outputs/candidates/) and keeps the
    # advisor's plan unless another is clearly better on the validation scenes.
    candidates = [plan]
    if config.strategy == "auto":
        candidates = tl_templates.auto_candidates(
            plan, len(train[0]), pretrained=config.weights_argument is not None
        )
    plan, model, phases, auto = tl_templates.train_candidates(
        candidates, train_one, output, validation_examples=len(validation[0]), choose=choose
    )
    if auto:
        print(f"\n{auto.describe()}")

    thresholds = tune_thresholds(label_names, validation[1]["labels"], probabilities(model, validation))
    results = evaluate(label_names, test[1]["labels"], probabilities(model, test), thresholds)

    # Every file is written whole or not at all (a temporary file, then a rename);
    # metrics.json comes last: it marks the run as finished.
    with tl_templates.atomic_path(output / "model.keras") as temporary:
        model.save(temporary)
    # The thresholds belong to this model: predict.py reads them from beside model.keras.
    tl_templates.write_json_atomic(output / "thresholds.json", thresholds)
    tl_templates.plot_task_history(output / "history.csv", output / "training.png")
    timing = {phase.name: phase.seconds for phase in phases}
    tl_templates.write_json_atomic(output / "timing.json", {"phase_seconds": timing})
    from evaluate import write_reports  # report.json, precision_recall.png
    write_reports(label_names, test[1]["labels"], probabilities(model, test), thresholds, output)
    train_labels = train[1]["labels"]
    metrics = {
        **results,
        "labels": label_names,
        "thresholds": thresholds,
        "positive_weights": dict(
            zip(label_names, head.positive_weights or [1.0] * len(label_names), strict=True)
        ),
        "train_prevalence": {
            name: float(np.nanmean(train_labels[:, index])) for index, name in enumerate(label_names)
        },
        "strategy": plan.strategy,
        "trainable_blocks": plan.trainable_blocks,
        "truncate_after": plan.truncate_after,
        "backbone": config.backbone,
        "weights": config.weights,
        "examples": {"train": len(train[0]), "validation": len(validation[0]), "test": len(test[0])},
        # Seconds go to timing.json: metrics.json holds results only, the same
        # for two runs with the same --seed.
        "phases": [{key: value for key, value in vars(phase).items() if key != "seconds"}
                   for phase in phases],
        "plan": plan.to_dict(),
        "auto": auto.to_dict() if auto else None,  # what strategy "auto" compared
    }
    # With the settings and the data fingerprint it came from (from run.json).
    metrics = tl_templates.write_metrics(output, metrics)

    def number(value):
        return "  n/a" if value is None else f"{value:.3f}"

    print("\nResults on the test scenes (known labels only; a constant guess has AUC 0.5)")
    for phase in phases:
        print(f"  {phase.name:<18} best validation loss {phase.best_val_task_loss:.3f}"
              f" ({phase.epochs} epochs, {phase.seconds:.0f} s)")
    if auto:
        print(f"  strategy           {plan.strategy} ({auto.reason})")
    print(f"  {'label':<16} {'AUC':>6} {'precision':>10} {'recall':>7} {'threshold':>10}")
    for name in label_names:
        print(f"  {name:<16} {number(results[f'auc_{name}']):>6} "
              f"{number(results[f'precision_{name}']):>10} {number(results[f'recall_{name}']):>7} "
              f"{thresholds[name]:>10.3f}")
    print(f"  mean AUC {number(results['mean_auc'])}")
    print(f"Written to {output}: model.keras, thresholds.json, metrics.json, history.csv, "
          "training.png, timing.json, logs/ (tensorboard --logdir outputs/logs)")
    return metrics


if __name__ == "__main__":
    scripts.run(main, resumable=True)  # a bad input: one line, not a traceback
