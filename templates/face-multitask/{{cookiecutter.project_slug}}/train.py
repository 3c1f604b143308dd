"""Trains the face model (gender and age) and writes everything to outputs/.

    python train.py                         # the bundled sample data
    python train.py --data path/to/UTKFace  # a folder of [age]_[gender]_[race]_[date].jpg
    python train.py --data labels.csv       # filename,gender,age (empty or ? when unknown)
    python train.py --tasks gender          # one task only, to compare with multi-task

Interrupted (Ctrl-C, a crash, a Colab disconnect)? Run the same command again:
training continues after the last finished epoch. A finished run is not
trained again: pass --restart to start over, or --output to write elsewhere.
"""

import dataclasses
import math

import numpy as np
from config import OUTPUT_DIR, load_config, parse_tasks

import tl_templates
from tl_templates.project import scripts


def load_data(config):
    """Faces and labels, split three ways: `(images, {task: labels})` each, NaN when unknown."""
    table = tl_templates.read_face_labels(config.data_path, config.tasks)
    for task in config.tasks:
        if not np.any(~np.isnan(table.labels[task])):
            raise ValueError(f"{table.source}: no face has a known {task}; drop it from --tasks.")
    # The split depends only on the seed, not on --tasks: a single-task run is
    # tested on the same faces as a multi-task one.
    rows = tl_templates.split_examples(
        len(table), config.validation_fraction, config.test_fraction, config.seed
    )
    # A face with no known label for any task of this run teaches nothing: leave it out.
    known = np.any([~np.isnan(table.labels[task]) for task in config.tasks], axis=0)
    rows = [part[known[part]] for part in rows]
    images = np.stack([tl_templates.load_image(path, config.image_size) for path in table.paths])
    splits = [(images[part], {task: table.labels[task][part] for task in config.tasks}) for part in rows]
    print(f"Data: {table.source} -> {int(known.sum())} faces with a known "
          f"{' or '.join(config.tasks)} (train {len(rows[0])}, validation {len(rows[1])}, "
          f"test {len(rows[2])})")
    for task in config.tasks:
        count = int(np.sum(~np.isnan(table.labels[task])))
        print(f"  {task}: known for {count} faces, unknown for {len(table) - count}")
    return splits


def gender_accuracy(labels, predictions):
    """The share of faces with a known gender whose predicted probability is on the right side of 0.5."""
    truth, probability = labels["gender"], predictions["gender"].ravel()
    known = ~np.isnan(truth)
    return float(np.mean((probability[known] >= 0.5) == truth[known])) if known.any() else float("nan")


def age_mae(labels, predictions):
    """The mean absolute error in years over the faces with a known age."""
    truth, years = labels["age"], predictions["age"].ravel()
    known = ~np.isnan(truth)
    return float(np.mean(np.abs(years[known] - truth[known]))) if known.any() else float("nan")


def evaluate(test_labels, predictions, train_labels):
    """Test metrics over the known labels, next to what a constant guess would score."""
    results = {}
    if "gender" in test_labels:
        truth = test_labels["gender"]
        known = ~np.isnan(truth)
        majority = float(np.nanmean(train_labels["gender"]) >= 0.5)  # the most common class
        accuracy = gender_accuracy(test_labels, predictions)
        results["gender_accuracy"] = accuracy
        # The 95% interval of an accuracy measured on few faces (Wilson).
        results["gender_accuracy_interval"] = (
            tl_templates.accuracy_with_interval(accuracy, int(known.sum())) if known.any() else None
        )
        results["gender_auc"] = tl_templates.roc_auc(truth, predictions["gender"].ravel())
        results["gender_accuracy_majority_baseline"] = float(np.mean(truth[known] == majority))
    if "age" in test_labels:
        truth = test_labels["age"]
        known = ~np.isnan(truth)
        median = float(np.nanmedian(train_labels["age"]))  # the best constant guess for MAE
        results["age_mae"] = age_mae(test_labels, predictions)
        results["age_mae_constant_baseline"] = float(np.mean(np.abs(median - truth[known])))
    return {
        name: None if isinstance(value, float) and math.isnan(value) else value
        for name, value in results.items()
    }


def main(argv=None):
    # The flags every template's train.py takes (python train.py --help), and this one's.
    parser = scripts.training_parser(
        __doc__, OUTPUT_DIR, data_help="labels.csv + images/, a UTKFace folder, or a CSV file"
    )
    parser.add_argument("--tasks", type=parse_tasks,
                        help="comma-separated: gender,age (default), gender, or age")  # fmt: skip
    parser.add_argument("--loss-weighting", help="fixed (config weights) or uncertainty (learned)")
    args = parser.parse_args(argv)
    # The settings (config.toml, then the flags), where to train, the output folder,
    # the seed, mixed precision and XLA: tl_templates/project/scripts.py.
    run = scripts.start_training(args, load_config, headline=("gender_accuracy", "age_mae"))
    if run.finished:  # this run finished before: nothing to do
        return run.finished
    config, output = run.config, run.output
    # model.py imports Keras (seconds): only once the settings are read, so that --help,
    # a bad flag or a bad setting answers at once.
    from model import build_heads, build_model, choose_plan

    train, validation, test = load_data(config)
    plan = choose_plan(config, train_examples=len(train[0]))
    print(f"\nTasks: {', '.join(config.tasks)} ({config.loss_weighting} loss weights)")
    print(f"Plan for {config.backbone}:\n{plan.describe()}\n")

    heads = build_heads(config, train[1].get("age"))

    def train_one(plan, folder):
        """Builds the model for `plan` and trains it, writing its run to `folder`."""
        with run.strategy.scope():  # the model's variables live on every replica
            model = build_model(config, plan, heads)
        phases = tl_templates.train_multitask(
            model, heads, plan, train, validation,
            head_epochs=config.head_epochs, fine_tune_epochs=config.fine_tune_epochs,
            batch_size=run.batch_size, output_dir=folder, augment=config.augment,
            seed=config.seed, verbose=run.verbose,
            extra_settings=dataclasses.asdict(config),  # an unfinished run resumes only unchanged
            jit_compile=run.jit_compile,
            # From scratch the model keeps its last epoch, where the cosine schedule has
            # brought the weights and BatchNormalization's statistics to rest (README:
            # "From scratch"); on a few validation faces the lowest loss can be an early,
            # barely trained epoch. Transfer keeps its best validation epoch.
            restore_best=plan.strategy != "train_from_scratch",
        )  # fmt: skip
        return model, phases

    def predict(model, split):
        return model.predict(split[0].astype("float32"), batch_size=run.batch_size, verbose=0)

    def choose(prior, trained):
        """Keeps the advisor's plan unless another is clearly better on a task's validation
        measure and clearly worse on none."""
        predictions = {name: predict(model, validation) for name, (_, model, _) in trained.items()}
        measures = {}  # each task's own measure, and which way is better
        if "gender" in config.tasks:
            measures["gender_accuracy"] = (gender_accuracy, "higher")
        if "age" in config.tasks:
            measures["age_mae"] = (age_mae, "lower")
        return tl_templates.pick_by_bootstrap(prior, predictions, validation[1], measures)

    # strategy = "auto" checks the advisor on your data: on a small data set it also
    # trains the neighbouring strategies (each in outputs/candidates/) and keeps the
    # advisor's plan unless another is clearly better on the validation faces.
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
    predictions = predict(model, test)
    results = evaluate(test[1], predictions, train[1])

    # Every file is written whole or not at all (a temporary file, then a rename);
    # metrics.json comes last: it marks the run as finished.
    with tl_templates.atomic_path(output / "model.keras") as temporary:
        model.save(temporary)
    tl_templates.plot_task_history(output / "history.csv", output / "training.png")
    timing = {phase.name: phase.seconds for phase in phases}
    tl_templates.write_json_atomic(output / "timing.json", {"phase_seconds": timing})
    from evaluate import write_reports  # report.json, gender_confusion.png, age_bands.png
    write_reports(test[1], predictions, output)
    weighting = model.uncertainty_layer()
    metrics = {
        **results,
        "tasks": config.tasks,
        "loss_weighting": config.loss_weighting,
        "loss_weights": {head.name: head.loss_weight for head in heads},
        "learned_task_weights": weighting.weights_by_task() if weighting else None,
        "strategy": plan.strategy,
        "trainable_blocks": plan.trainable_blocks,
        "truncate_after": plan.truncate_after,
        "backbone": config.backbone,
        "weights": config.weights,
        "examples": {"train": len(train[0]), "validation": len(validation[0]), "test": len(test[0])},
        "test_known_labels": {task: int(np.sum(~np.isnan(test[1][task]))) for task in config.tasks},
        # Seconds go to timing.json: metrics.json holds results only, the same
        # for two runs with the same --seed.
        "phases": [{key: value for key, value in vars(phase).items() if key != "seconds"}
                   for phase in phases],
        "plan": plan.to_dict(),
        "auto": auto.to_dict() if auto else None,  # what strategy "auto" compared
    }
    # With the settings and the data fingerprint it came from (from run.json).
    metrics = tl_templates.write_metrics(output, metrics)

    def number(name, digits=3):
        return "n/a" if results.get(name) is None else f"{results[name]:.{digits}f}"

    print("\nResults on the test faces (known labels only)")
    for phase in phases:
        print(f"  {phase.name:<18} best validation task loss {phase.best_val_task_loss:.3f}"
              f" ({phase.epochs} epochs, {phase.seconds:.0f} s)")
    if auto:
        print(f"  strategy           {plan.strategy} ({auto.reason})")
    if "gender" in config.tasks:
        interval = results["gender_accuracy_interval"]  # with the 95% interval below 1,000 faces
        accuracy = "n/a" if interval is None else tl_templates.describe_accuracy(
            interval["accuracy"], interval["examples"], "faces")  # fmt: skip
        print(f"  gender accuracy    {accuracy}")
        print(f"                     AUC {number('gender_auc')}; always the most common gender: "
              f"{number('gender_accuracy_majority_baseline')}")
    if "age" in config.tasks:
        print(f"  age MAE            {number('age_mae', 1)} years "
              f"(always the median age: {number('age_mae_constant_baseline', 1)})")
    print(f"Written to {output}: model.keras, metrics.json, history.csv, training.png, "
          "timing.json, logs/ (tensorboard --logdir outputs/logs)")
    return metrics


if __name__ == "__main__":
    scripts.run(main, resumable=True)  # a bad input: one line, not a traceback
