# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Multi-label driving scenes: unknown labels and per-label thresholds
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/tl-templates/tl-templates/blob/main/notebooks/08_multilabel_driving.ipynb)
#
# **Rule of thumb.** When an image can hold several objects at once (a car *and* a
# pedestrian), give each object its own sigmoid, not one softmax over all. When some
# labels are unknown ("nobody checked for stop signs in this image"), mask them out of
# the loss rather than throw away every image with a missing label: the other labels of
# those images still teach the network. And pick each label's decision threshold on
# validation data: 0.5 is rarely the best threshold for a rare object.
#
# **The experiment.** One network with one sigmoid per object, trained over several seeds
# on scenes where a share of the labels is hidden (unknown), two ways, with the same
# steps and learning rate:
# 1. *masked*: every image, unknown labels masked out of the loss
#    (`tl_templates.MaskedBinaryCrossentropy`);
# 2. *dropped*: only the images whose labels are all known.
#
# Each is scored per label on a fully labelled test set: AUC, and precision, recall and
# F1 at a fixed threshold of 0.5 and at thresholds tuned for the best F1 on the
# validation set (`tl_templates.best_f1_threshold`).
#
# **Runtime.** Quick mode (`QUICK = True`): offline, 5 seeds, 35 s of CPU time (156 s of wall
# clock on a 2-core CPU shared with other builds).
# Street scenes drawn by the kit (cars, pedestrians, traffic lights, stop signs among
# distractors: `tl_templates.synthetic.scenes`, the generator of `data/samples/street_scenes`),
# and the kit's lab backbone `lab_glyphs`, frozen, its features cached. Full mode:
# EfficientNetB0 with ImageNet weights on TFDS `voc/2007` (car, person, bicycle, bus),
# mixed precision, on a Colab GPU (not timed yet). Why VOC: COCO 2017 has traffic lights
# and stop signs too, but TFDS prepares all of it (about 25 GB, 118,000 training images)
# before giving one example; VOC 2007 is under 1 GB and has cars, people and other road
# users. Neither set has unknown labels: both modes hide a share at random.

# %%
# On Colab only: install the kit with pip from its repository, with the notebooks'
# extras (its templates, bundled data and lab backbones come inside the package).
# Elsewhere, install it first the same way, or from a clone: pip install -e ".[notebooks]"
import subprocess
import sys

if "google.colab" in sys.modules:
    kit = "tl-templates[notebooks] @ git+https://github.com/tl-templates/tl-templates"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", kit], check=True)

# %% tags=["parameters"]
QUICK = True  # True: offline, CPU, under a minute. False: full size on a Colab GPU.

SEEDS = [0, 1, 2, 3, 4]  # every measurement is repeated once per seed
UNKNOWN_FRACTION = 0.3  # chance that any one label of a training image is hidden
if QUICK:
    BACKBONE, WEIGHTS = "lab_glyphs", "pretrained"  # pretrained offline on characters
    IMAGE_SIZE = 48  # stop signs and traffic lights are a few pixels wide
    DATASET = "street_scenes"  # drawn by tl_templates.synthetic.scenes
    LABELS = ["car", "pedestrian", "traffic_light", "stop_sign"]
    FEATURE_BLOCK = "block3"  # features from this block, flattened (objects are small)
    POOLING = "flatten"
    TRAIN_COUNT = 600  # training images, before any is dropped
    VALIDATION_COUNT = 600  # to tune the thresholds on (labels hidden too)
    TEST_COUNT = 400
    STEPS = 120
    BATCH_SIZE = 32
else:
    BACKBONE, WEIGHTS = "efficientnetb0", "imagenet"  # or the path of a weights file
    IMAGE_SIZE = 224
    DATASET = "voc/2007"
    LABELS = ["car", "person", "bicycle", "bus"]
    FEATURE_BLOCK = None  # None: the backbone's last block
    POOLING = "average"
    TRAIN_COUNT = 3500  # of the 5,011 images of train + validation
    VALIDATION_COUNT = 1500
    TEST_COUNT = 4952
    STEPS = 1500
    BATCH_SIZE = 64
HIDDEN_UNITS = 64  # the head: a hidden layer, then one sigmoid per label
LEARNING_RATE = 3e-3

# %%
import numpy as np

import tl_templates
from tl_templates.experiments import multitask as mte
from tl_templates.experiments import plots
from tl_templates.experiments import runs as experiments
from tl_templates.experiments.results import Results, compare
from tl_templates.synthetic import scenes as synthetic_scenes
from tl_templates.tasks.multitask import build_task_heads, compile_multitask
from tl_templates.training import caching

timer = experiments.RunTimer()
if not QUICK:
    print("mixed precision:", experiments.use_mixed_precision())

# %% [markdown]
# ## The scenes and their labels
# Each image has one 0/1 label per object. The training and validation images then lose
# a share of their labels at random (unknown, NaN); the test images keep all of theirs.

# %%
pool_count = TRAIN_COUNT + VALIDATION_COUNT
if QUICK:
    pool_images, pool_labels = synthetic_scenes.generate_scenes(pool_count, 1, IMAGE_SIZE)
    test_images, test_labels = synthetic_scenes.generate_scenes(TEST_COUNT, 2, IMAGE_SIZE)
    print(f"{DATASET}: scenes drawn by tl_templates.synthetic.scenes")
else:
    pool_images, pool_labels = mte.load_tfds_multilabel(
        DATASET, LABELS, IMAGE_SIZE, pool_count, split="train+validation"
    )
    test_images, test_labels = mte.load_tfds_multilabel(
        DATASET, LABELS, IMAGE_SIZE, TEST_COUNT, split="test"
    )
    print(
        f"TFDS {DATASET}: {len(pool_labels):,} training and validation images, "
        f"{len(test_labels):,} test images"
    )
train_count = len(pool_labels) - min(VALIDATION_COUNT, len(pool_labels) // 2)
print("share of images with each object (test set):",
      ", ".join(f"{label} {share:.0%}" for label, share in zip(LABELS, test_labels.mean(axis=0),
                                                               strict=True)))  # fmt: skip
example_labels = [next(iter(np.flatnonzero(row)), len(LABELS)) for row in test_labels]
figure = plots.examples(test_images, example_labels, [*LABELS, "none"], per_class=8,
                        title="test scenes, a row per object (the first present)")  # fmt: skip

# %% [markdown]
# ## Features from the frozen backbone, computed once
# The backbone stays frozen, so its output for an image never changes: it is computed
# once for every image, and only the head trains (see notebook 01).

# %%
backbone = tl_templates.build_backbone(BACKBONE, (IMAGE_SIZE, IMAGE_SIZE, 3), WEIGHTS)
block = FEATURE_BLOCK or tl_templates.block_names(backbone)[-1]
lower, _ = caching.split_at_block(backbone, block)


def features_of(images):
    maps = experiments.predict(lower, images)
    if POOLING == "flatten":
        return maps.reshape(len(maps), -1)
    return maps.mean(axis=(1, 2))


pool_features, test_features = mte.standardise(features_of(pool_images), features_of(test_images))
print(f"features: {pool_features.shape[1]:,} per image, from {BACKBONE}'s block {block!r}")

# %% [markdown]
# ## One sigmoid per object
# The head: a hidden layer, then `len(LABELS)` sigmoids, one output `objects`. Its loss is
# the masked binary cross-entropy: an unknown label adds nothing to the loss or the
# gradient. Compiled once; `experiments.restart` puts it back to a seed's starting
# weights for every run.

# %%
heads = [tl_templates.TaskHead("objects", "multilabel", units=len(LABELS),
                               label_names=tuple(LABELS), hidden_units=HIDDEN_UNITS)]  # fmt: skip
head = build_task_heads(pool_features.shape[1:], heads)
compile_multitask(head, heads, LEARNING_RATE)
head.summary(line_length=90)

# %% [markdown]
# ## The runs
# For each seed: hide labels, split training and validation images, then train the same
# head from the same starting weights on (1) every training image, masked, and (2) the
# complete ones only. Thresholds are tuned per label on the validation images (their
# known labels).

# %%
results = Results()
for seed in SEEDS:
    order = np.random.default_rng(seed).permutation(len(pool_labels))
    train, validation = order[:train_count], order[train_count:]
    hidden = mte.hide_labels(pool_labels, UNKNOWN_FRACTION, seed)
    complete = train[mte.complete_rows(hidden[train])]
    if seed == SEEDS[0]:
        print(
            f"{len(train)} training images, {len(complete)} with every label known "
            f"({len(complete) / len(train):.0%}); masking keeps all {len(train)} and "
            f"{np.isfinite(hidden[train]).mean():.0%} of their labels"
        )
    start = experiments.initial_weights(lambda: build_task_heads(pool_features.shape[1:], heads),
                                        seed)  # fmt: skip
    for method, rows in (("masked", train), ("dropped", complete)):
        experiments.restart(head, start)
        mte.fit_steps(head, pool_features[rows], {"objects": hidden[rows]}, STEPS,
                      BATCH_SIZE, seed)  # fmt: skip
        validation_scores = mte.predict(head, pool_features[validation])["objects"]
        test_scores = mte.predict(head, test_features)["objects"]
        tuned = mte.tuned_thresholds(hidden[validation], validation_scores)
        for threshold_name, thresholds in (("0.5", 0.5), ("tuned", tuned)):
            scores = mte.label_scores(test_labels, test_scores, thresholds)
            for label, score, value in zip(LABELS, scores, np.broadcast_to(thresholds, len(LABELS)),
                                           strict=True):  # fmt: skip
                extra = {"threshold_value": float(value)} if threshold_name == "tuned" else {}
                results.add(
                    method=method,
                    threshold=threshold_name,
                    label=label,
                    seed=seed,
                    **score,
                    **extra,
                )
    print(f"seed {seed} done")

# %% [markdown]
# ## Per-label results on the test set
# Mean ± standard deviation over the seeds. AUC does not depend on a threshold.

# %%
print("AUC per label:")
print(results.table("auc", rows="label", columns="method"))
for value in ("precision", "recall", "f1"):
    print(f"\n{value} per label (threshold: fixed 0.5, or tuned on validation):")
    print(results.table(value, rows="label", columns=("method", "threshold")))
print("\nthresholds tuned on validation:")
print(results.table("threshold_value", rows="label", columns="method", percent=False))

# %%
methods = ["masked", "dropped"]
figure = plots.heatmap([[results.values("auc", method=m, label=label, threshold="0.5")
                         for m in methods] for label in LABELS], LABELS, methods,
                       title="test AUC per label", colorbar_label="AUC (%)")  # fmt: skip
figure = plots.heatmap([[results.values("f1", method="masked", label=label, threshold=t)
                         for t in ("0.5", "tuned")] for label in LABELS], LABELS,
                       ["threshold 0.5", "tuned threshold"],
                       title="test F1 per label (masked training)",
                       colorbar_label="F1 (%)")  # fmt: skip

# %% [markdown]
# ## Verdict
# Computed from this run's numbers: per seed, the mean over labels; the methods are
# paired (same seed: same hidden labels, same starting weights).


# %%
def mean_over_labels(value, **where):
    return [np.mean(results.values(value, seed=seed, **where)) for seed in SEEDS]


masking = compare("masking unknown labels", mean_over_labels("auc", method="masked",
                                                             threshold="0.5"),
                  "dropping incomplete images", mean_over_labels("auc", method="dropped",
                                                                 threshold="0.5"),
                  paired=True)  # fmt: skip
print(f"1. Mean test AUC over the {len(LABELS)} labels: {masking.sentence()}")
thresholds = compare("tuned thresholds", mean_over_labels("f1", method="masked", threshold="tuned"),
                     "a fixed 0.5", mean_over_labels("f1", method="masked", threshold="0.5"),
                     paired=True)  # fmt: skip
print(f"2. Mean test F1 over the labels (masked training): {thresholds.sentence()}")
rarest = LABELS[int(np.argmin(test_labels.mean(axis=0)))]
f1_fixed = results.mean("f1", method="masked", threshold="0.5", label=rarest)
f1_tuned = results.mean("f1", method="masked", threshold="tuned", label=rarest)
tuned_value = results.mean("threshold_value", method="masked", threshold="tuned", label=rarest)
print(
    f"   The rarest object, {rarest}: F1 {f1_fixed:.2f} at 0.5, {f1_tuned:.2f} at its tuned "
    f"threshold ({tuned_value:.2f} on average)."
)
print(f"\n({timer.report()})")

# %% [markdown]
# ## What this run showed
# Over 5 seeds, masking unknown labels beat dropping every image with an unknown label by
# 6.8 points of mean test AUC, as the rule predicts: the dropped images' known labels are
# worth having. Tuning each label's threshold on validation raised the mean F1 by 1.8 ±
# 0.8 points: *inconclusive*, not a clear gain with 5 runs, and a gain of 2 points or more
# cannot be ruled out either. The tuned thresholds traded precision for recall on the
# rarer objects (traffic lights: recall 45.5% -> 64.6%, precision 61.8% -> 50.7%).
