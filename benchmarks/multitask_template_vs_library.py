"""The multi-task product path against the research path, on the bundled faces and scenes.

Data: the bundled samples, data/samples/faces (400 faces with UTKFace names,
gender and age known for every one) and data/samples/street_scenes (400
scenes, labels.csv with car, pedestrian, traffic_light, stop_sign; about 15%
of the cells unknown). For each seed, 100 of each are held out as a fixed
test set; training sets of `--sizes` examples are drawn from the other 300.

- template: the chosen examples are written as a user has them (a UTKFace
  folder; a labels.csv beside images/), a face-multitask or
  driving-multilabel project is generated (`tl-templates new ... --no-input`)
  and trained as a user would: `python train.py --data FOLDER` with its
  defaults, with `--weights none` (the template's from-scratch recipe) and
  with each of `--strategies`. The project splits the examples into train /
  validation / test itself; the kit's budgets apply (TL_TEMPLATES_MIN_STEPS
  is removed from its environment). `--before PATH` also makes every one of
  these runs with the kit of another checkout (its library and its
  templates, e.g. a `git worktree add /tmp/before <commit>`);
- library: what notebooks 07 and 08 do in their quick mode, on the same
  examples, all of them for training: 07's shared trunk (Dense 64 on the
  frozen lab_glyphs features at 32 px, gender and age heads, Adam 3e-3,
  150 steps of 32); 08's multi-label head (block3 features of lab_glyphs at
  48 px, flattened and standardised, Dense 64, Adam 3e-3, 120 steps of 32,
  unknown labels masked);

and every model is scored on the same held-out examples: gender accuracy and
age MAE (next to a constant guess: the majority gender of the training set,
the mean training age), mean AUC over the labels (a constant guess: 0.5).
Prints a table and one JSON line.

    python benchmarks/multitask_template_vs_library.py          # 100 and 300; ~30 min, 2 cores
    python benchmarks/multitask_template_vs_library.py --before /tmp/before   # ~50 min
    python benchmarks/multitask_template_vs_library.py --no-scratch --strategies fine_tune_all
"""

import argparse
import dataclasses
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import keras
import numpy as np

import tl_templates
from tl_templates.experiments import multitask as mte
from tl_templates.experiments import runs as experiments
from tl_templates.experiments import trunk as trunk_experiments
from tl_templates.tasks.multitask import build_task_heads, compile_multitask
from tl_templates.training import caching

REPOSITORY = Path(__file__).resolve().parents[1]
SAMPLES = REPOSITORY / "data" / "samples"
TEMPLATES = ("face-multitask", "driving-multilabel")
TEST_SIZE = 100  # held-out examples of each sample, the same for every run of a seed
SCENE_LABELS = ["car", "pedestrian", "traffic_light", "stop_sign"]


# ---------------------------------------------------------------- the data


@dataclasses.dataclass
class Draw:
    """The examples of one run: a training set and the held-out test set.

    Labels are `{"gender": (n,), "age": (n,)}` for faces, `(n, 4)` for scenes
    (NaN where unknown).
    """

    template: str
    train_paths: list
    train_labels: object
    test_paths: list
    test_labels: object


def draw(template, seed, size):
    """`size` training examples and `TEST_SIZE` test examples of a sample, drawn by `seed`."""
    if template == "face-multitask":
        table = tl_templates.read_face_labels(SAMPLES / "faces" / "images")  # UTKFace names
        labels = {task: np.asarray(table.labels[task], "float32") for task in ("gender", "age")}

        def rows_of(rows):
            return {task: values[rows] for task, values in labels.items()}
    else:
        table = tl_templates.read_label_csv(SAMPLES / "street_scenes" / "labels.csv")
        labels = np.asarray(table.matrix(SCENE_LABELS), "float32")

        def rows_of(rows):
            return labels[rows]

    order = np.random.default_rng(seed).permutation(len(table.paths))
    test, pool = order[:TEST_SIZE], order[TEST_SIZE:]
    chosen = np.sort(np.random.default_rng(seed + 1).choice(pool, size, replace=False))
    return Draw(
        template,
        [table.paths[row] for row in chosen],
        rows_of(chosen),
        [table.paths[row] for row in test],
        rows_of(test),
    )


def write_user_folder(draw, folder):
    """The training examples as a user has them: a UTKFace folder, or labels.csv + images/."""
    if draw.template == "face-multitask":
        folder.mkdir(parents=True)
        for path in draw.train_paths:
            shutil.copyfile(path, folder / Path(path).name)
        return folder
    (folder / "images").mkdir(parents=True)
    rows = ["filename," + ",".join(SCENE_LABELS)]
    for path, row in zip(draw.train_paths, draw.train_labels, strict=True):
        shutil.copyfile(path, folder / "images" / Path(path).name)
        cells = ["?" if np.isnan(value) else str(int(value)) for value in row]
        rows.append(f"{Path(path).name}," + ",".join(cells))
    (folder / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def load_images(paths, image_size):
    return np.stack([tl_templates.load_image(path, image_size) for path in paths])


# ---------------------------------------------------------------- the scores


def scores(draw, predictions):
    """Held-out scores of `{output: array}` predictions, and a constant guess's for faces."""
    test = draw.test_labels
    if draw.template == "driving-multilabel":
        aucs = [
            tl_templates.roc_auc(test[:, index], predictions["labels"][:, index])
            for index in range(len(SCENE_LABELS))
        ]
        return {
            "mean_auc": float(np.nanmean(aucs)),
            **{f"auc_{name}": auc for name, auc in zip(SCENE_LABELS, aucs, strict=True)},
        }
    train = draw.train_labels
    majority = float(np.mean(train["gender"]) >= 0.5)  # the training set's most common gender
    return {
        "gender_accuracy": float(
            np.mean((np.ravel(predictions["gender"]) >= 0.5) == test["gender"])
        ),
        "age_mae": float(np.mean(np.abs(np.ravel(predictions["age"]) - test["age"]))),
        "constant_gender_accuracy": float(np.mean(test["gender"] == majority)),
        "constant_age_mae": float(np.mean(np.abs(np.mean(train["age"]) - test["age"]))),
    }


# ---------------------------------------------------------------- the template path


def bake(kit, template, folder):
    """Generates `template` with the kit of checkout `kit`; returns (project, its environment)."""
    environment = {**os.environ, "PYTHONPATH": str(kit)}
    environment.pop("TL_TEMPLATES_MIN_STEPS", None)  # a user's run: the kit's own budgets
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tl_templates.cli",
            "new",
            template,
            "--no-input",
            "-o",
            str(folder),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env=environment,
    )
    project = next(path for path in folder.iterdir() if (path / "train.py").exists())
    return project, environment


def template_run(project, environment, data, output, *flags):
    """Trains the project on `data` as a user would; returns its model and what it reported."""
    command = [
        sys.executable,
        "train.py",
        "--data",
        str(data),
        "--output",
        str(output),
        "--quiet",
        *flags,
    ]
    started = time.perf_counter()
    subprocess.run(
        command,
        cwd=project,
        check=True,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    metrics = json.loads((output / "metrics.json").read_text())
    own = {
        key: metrics.get(key)
        for key in ("gender_accuracy", "age_mae", "mean_auc")
        if metrics.get(key) is not None
    }
    report = {
        "strategy": metrics["strategy"],
        "phases": [
            {key: phase.get(key) for key in ("name", "epochs", "steps", "learning_rate")}
            for phase in metrics["phases"]
        ],
        "own_test": {**own, "examples": metrics["examples"]["test"]},
        "seconds": round(seconds, 1),
    }
    return tl_templates.load_model(output / "model.keras"), report


def image_size_of(project):
    return tomllib.loads((project / "config.toml").read_text(encoding="utf-8"))["image_size"]


# ---------------------------------------------------------------- the library path


def library(draw, seed):
    """The notebook's recipe on the same examples, every one of them for training."""
    if draw.template == "face-multitask":
        return library_faces(draw, seed)
    return library_scenes(draw, seed)


def library_faces(draw, seed):
    """Notebook 07 (quick mode): a shared Dense trunk on cached lab_glyphs features."""
    image_size, steps, batch_size, learning_rate, trunk_units = 32, 150, 32, 3e-3, 64
    backbone = tl_templates.build_backbone("lab_glyphs", (image_size, image_size, 3), "pretrained")
    features = experiments.predict(backbone, load_images(draw.train_paths, image_size))
    test_features = experiments.predict(backbone, load_images(draw.test_paths, image_size))
    mean, spread = tl_templates.target_statistics(draw.train_labels["age"])
    heads = [
        tl_templates.TaskHead("gender", "binary"),
        tl_templates.TaskHead("age", "regression", target_mean=mean, target_std=spread),
    ]
    keras.utils.set_random_seed(seed)
    model = trunk_experiments.build_trunk_model(features.shape[1:], heads, trunk_units)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={head.name: head.loss() for head in heads},
        loss_weights={"gender": 1.0, "age": 1.0},
    )
    trunk_experiments.fit_task_steps(model, features, draw.train_labels, steps, batch_size, seed)
    return scores(draw, mte.predict(model, test_features))


def library_scenes(draw, seed):
    """Notebook 08 (quick mode): a multi-label head on block3 features, flattened."""
    image_size, steps, batch_size, learning_rate, hidden = 48, 120, 32, 3e-3, 64
    backbone = tl_templates.build_backbone("lab_glyphs", (image_size, image_size, 3), "pretrained")
    lower, _ = caching.split_at_block(backbone, "block3")

    def features_of(paths):
        maps = experiments.predict(lower, load_images(paths, image_size))
        return maps.reshape(len(maps), -1)

    features, test_features = mte.standardise(
        features_of(draw.train_paths), features_of(draw.test_paths)
    )
    heads = [
        tl_templates.TaskHead(
            "objects",
            "multilabel",
            units=len(SCENE_LABELS),
            label_names=tuple(SCENE_LABELS),
            hidden_units=hidden,
        )
    ]
    keras.utils.set_random_seed(seed)
    model = build_task_heads(features.shape[1:], heads)
    compile_multitask(model, heads, learning_rate)
    mte.fit_steps(model, features, {"objects": draw.train_labels}, steps, batch_size, seed)
    return scores(draw, {"labels": mte.predict(model, test_features)["objects"]})


# ---------------------------------------------------------------- the runs


def print_table(rows):
    """One Markdown line per run, and the constant guess of each face row."""

    def cell(scores, key, form):
        return form.format(scores[key]) if key in scores else "-"

    print(
        "\n| template | seed | size | run | gender accuracy | age MAE | mean AUC | strategy | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        start = f"| {row['template']} | {row['seed']} | {row['size']} |"
        for run, scores in ((key, value) for key, value in row.items() if isinstance(value, dict)):
            print(
                f"{start} {run} | {cell(scores, 'gender_accuracy', '{:.3f}')} | "
                f"{cell(scores, 'age_mae', '{:.1f}')} | {cell(scores, 'mean_auc', '{:.3f}')} | "
                f"{scores.get('strategy', 'notebook recipe')} | {scores['seconds']} |"
            )
        if "constant_gender_accuracy" in row["after_default"]:
            scores = row["after_default"]
            print(
                f"{start} constant guess | {scores['constant_gender_accuracy']:.3f} | "
                f"{scores['constant_age_mae']:.1f} | 0.5 | - | - |"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--templates", nargs="+", default=list(TEMPLATES), choices=TEMPLATES)
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100, 300],
        help="training examples given to the template (300: all but the test)",
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="which examples are held out and drawn"
    )
    parser.add_argument("--before", type=Path, help="also run the templates of this checkout")
    parser.add_argument("--no-library", action="store_true", help="template rows only")
    parser.add_argument("--no-scratch", action="store_true", help="skip the --weights none runs")
    parser.add_argument(
        "--strategies",
        nargs="*",
        default=[],
        help="also train the templates with these --strategy values",
    )
    args = parser.parse_args(argv)
    kits = {"after": REPOSITORY, **({"before": args.before.resolve()} if args.before else {})}

    runs = {"default": []}  # name: train.py flags
    if not args.no_scratch:
        runs["scratch"] = ["--weights", "none"]
    runs.update({strategy: ["--strategy", strategy] for strategy in args.strategies})

    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        projects = {
            (name, template): bake(kit, template, work / f"{name}-{template}")
            for name, kit in kits.items()
            for template in args.templates
        }
        for template, seed, size in itertools.product(args.templates, args.seeds, args.sizes):
            examples = draw(template, seed, size)
            data = write_user_folder(examples, work / f"{template}-{seed}-{size}")
            row = {"template": template, "seed": seed, "size": size, "test": TEST_SIZE}
            for (name, run), (kit_name, _) in itertools.product(runs.items(), kits.items()):
                project, environment = projects[(kit_name, template)]
                output = work / f"out-{kit_name}-{template}-{seed}-{size}-{name}"
                model, report = template_run(project, environment, data, output, *run)
                test_images = load_images(examples.test_paths, image_size_of(project))
                predictions = model.predict(test_images.astype("float32"), verbose=0)
                row[f"{kit_name}_{name}"] = {**scores(examples, predictions), **report}
                keras.backend.clear_session()
            if not args.no_library:
                started = time.perf_counter()
                row["library"] = {
                    **library(examples, seed),
                    "seconds": round(time.perf_counter() - started, 1),
                }
                keras.backend.clear_session()
            rows.append(row)
            print(json.dumps(row), flush=True)

    print_table(rows)
    print(
        json.dumps(
            {"test_examples": TEST_SIZE, "kits": {k: str(v) for k, v in kits.items()}, "rows": rows}
        )
    )


if __name__ == "__main__":
    main()
