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
# # 01 · Feature extraction: a frozen backbone and a new head
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/tl-templates/tl-templates/blob/main/notebooks/01_feature_extraction.ipynb)
#
# **Rule of thumb.** With a small target data set similar to the source task, freeze the
# pretrained backbone and train only a new head (replace the last layer). The frozen
# weights do not change, so the backbone's outputs can be computed once and cached: the
# head then trains in a fraction of the time.
#
# **The experiment.** A classifier = a pretrained backbone (frozen) + a new softmax head,
# trained on a small target, over several seeds:
# 1. check that training leaves every frozen weight (BatchNormalization statistics
#    included) exactly as it was;
# 2. train the same head twice: running the frozen backbone at every step, and on
#    features computed once; compare time and accuracy.
#
# **Runtime.** Quick mode (`QUICK = True`): offline, about 15 s on a 2-core CPU of its own
# (about 25 s of CPU time; minutes of wall clock on a busy shared machine), with
# the kit's lab backbone `lab_glyphs` (pretrained on 47,000 rendered characters) and real
# handwritten digits. Full mode: EfficientNetB0 with ImageNet weights on TFDS
# `tf_flowers`, on a Colab GPU with mixed precision (not timed yet).

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

SEEDS = [0, 1, 2]  # every measurement is repeated once per seed
if QUICK:
    BACKBONE = "lab_glyphs"  # the kit's lab backbone, pretrained offline
    IMAGE_SIZE = 32
    WEIGHTS = "pretrained"  # the bundled lab_glyphs weights file
    PER_CLASS = 20  # training examples per class
    TEST_PER_CLASS = 30
    EPOCHS = 10
    BATCH_SIZE = 32
else:
    BACKBONE = "efficientnetb0"
    WEIGHTS = "imagenet"  # downloaded once; or the path of a local weights file
    IMAGE_SIZE = 224
    PER_CLASS = 100
    TEST_PER_CLASS = 100
    EPOCHS = 10
    BATCH_SIZE = 64
HEAD_LEARNING_RATE = 3e-3

# %%
import time

import keras
import numpy as np

import tl_templates
from tl_templates.experiments import datasets, plots
from tl_templates.experiments import runs as experiments
from tl_templates.experiments.results import Results, compare
from tl_templates.training import caching

timer = experiments.RunTimer()
if not QUICK:
    print("mixed precision:", experiments.use_mixed_precision())

# %% [markdown]
# ## The target
# Quick mode: real handwritten digits (scikit-learn's copy of the UCI scans), close to
# the rendered characters the lab backbone learned. Full mode: photos of five kinds of
# flower, close to ImageNet's photos. A fixed test set is kept aside.

# %%
if QUICK:
    target = datasets.load_digits(IMAGE_SIZE, test_per_class=TEST_PER_CLASS)
else:
    target = datasets.load_tfds_target(
        "tf_flowers", IMAGE_SIZE, pool_per_class=PER_CLASS, test_per_class=TEST_PER_CLASS
    )
print(target.describe())
train_images, train_labels = target.sample(PER_CLASS, seed=0)
test_images, test_labels = target.test
figure = plots.examples(train_images, train_labels, target.class_names, title="training examples")

# %% [markdown]
# ## Freeze the backbone, add a new head
# `set_trainable(model, [])` freezes every block. The table shows each block of the
# backbone and how many of its weights will train: none.

# %%
def build_model():
    backbone = tl_templates.build_backbone(BACKBONE, (IMAGE_SIZE, IMAGE_SIZE, 3), WEIGHTS)
    model = experiments.build_classifier(backbone, target.num_classes)
    tl_templates.set_trainable(model, [])  # freeze every block of the backbone
    return model


keras.utils.set_random_seed(0)  # dropout's seed is drawn when the model is built
model = build_model()
backbone = tl_templates.find_backbone(model)
print(tl_templates.block_table(model))
print(f"\nparameters: {model.count_params():,} in total, "
      f"{sum(int(np.prod(w.shape)) for w in model.trainable_weights):,} trainable (the head)")

# %% [markdown]
# ## Two ways to train the same head
# * **backbone every step**: `model.fit` on the images; the frozen backbone computes the
#   same features again at every epoch;
# * **cached features**: run the backbone once (`lower`), then fit only the part
#   above it (`head`) on those features. `caching.split_at_block` cuts the model after a
#   block (here the last one); both parts share the model's layers and weights.
#
# Both start from the same weights, see the same batches in the same order, and train the
# same number of steps. Each part is compiled once; `experiments.restart` puts a model
# back to its starting weights with a fresh optimizer and dropout's random draws rewound
# to the start, for the next run, without compiling again (compiling traces the training
# step, which takes seconds). So the two ways should train the same head: the same
# dropout masks on the same features, up to the rounding of features computed in other
# batches.

# %%
lower, head = caching.split_at_block(model, tl_templates.block_names(model)[-1])
for part in (model, head):
    part.compile(
        optimizer=keras.optimizers.Adam(HEAD_LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
steps_per_epoch = max(1, len(train_labels) // BATCH_SIZE)
print(f"each run: {EPOCHS} epochs of {steps_per_epoch} steps of {BATCH_SIZE} examples")



def features_of(images):
    return experiments.predict(lower, images)


# Trace the training steps and the feature pass now: the timings below measure work only.
experiments.fit_steps(model, train_images, train_labels, steps=1, batch_size=BATCH_SIZE)
experiments.fit_steps(head, features_of(train_images), train_labels, steps=1,
                      batch_size=BATCH_SIZE)  # fmt: skip


def train(part, inputs, labels, seed):
    experiments.fit_steps(part, inputs, labels, steps=steps_per_epoch, epochs=EPOCHS,
                          batch_size=BATCH_SIZE, seed=seed)  # fmt: skip


# %% [markdown]
# ## The runs
# For each seed: a new training set drawn from the pool and a new head. The backbone's
# weights (BatchNormalization's moving statistics included) are copied before training
# and compared after.

# %%
results = Results()
for seed in SEEDS:
    train_images, train_labels = target.sample(PER_CLASS, seed)
    start = experiments.initial_weights(build_model, seed)

    # 1. The backbone runs at every step.
    experiments.restart(model, start)
    backbone_before = [weight.numpy().copy() for weight in backbone.weights]
    head_before = [weight.numpy().copy() for weight in head.trainable_weights]
    began, began_cpu = time.perf_counter(), time.process_time()
    train(model, train_images, train_labels, seed)
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - began_cpu
    backbone_change = max(np.abs(weight.numpy() - before).max()
                          for weight, before in zip(backbone.weights, backbone_before, strict=True))
    head_change = max(np.abs(weight.numpy() - before).max()
                      for weight, before in zip(head.trainable_weights, head_before, strict=True))
    head_after = [weight.numpy().copy() for weight in head.trainable_weights]
    results.add(method="backbone every step", seed=seed, seconds=seconds, cpu_seconds=cpu_seconds,
                accuracy=experiments.accuracy(model, test_images, test_labels),
                backbone_change=float(backbone_change), head_change=float(head_change))

    # 2. Cached features: the backbone runs once, inside the timing.
    experiments.restart(model, start)
    experiments.restart(head)  # the head's own optimizer
    began, began_cpu = time.perf_counter(), time.process_time()
    train(head, features_of(train_images), train_labels, seed)
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - began_cpu
    head_gap = max(np.abs(weight.numpy() - after).max()
                   for weight, after in zip(head.trainable_weights, head_after, strict=True))
    results.add(method="cached features", seed=seed, seconds=seconds, cpu_seconds=cpu_seconds,
                accuracy=experiments.accuracy(model, test_images, test_labels),
                head_gap=float(head_gap))
    print(f"seed {seed} done")

# %%
print(f"test accuracy, mean ± std over {len(SEEDS)} seeds ({len(test_labels)} test images):")
print(results.table("accuracy", rows="method"))
print("\nseconds per training run, wall clock and CPU (all threads of this process):")
print(results.table("seconds", rows="method", percent=False))
print(results.table("cpu_seconds", rows="method", percent=False))

# %%
methods = ["backbone every step", "cached features"]
figure = plots.bars([results.values("accuracy", method=m) for m in methods], methods,
                    title="test accuracy (dots: seeds)")
figure = plots.bars([results.values("cpu_seconds", method=m) for m in methods], methods,
                    ylabel="CPU seconds per run", percent=False, title="training time")

# %% [markdown]
# ## Verdict
# Computed from this run's numbers.

# %%
# Time is judged in CPU seconds: on a shared machine the wall clock also counts the
# other programs' work, CPU time hardly does. A difference under 10% does not matter.
every_step = results.values("cpu_seconds", method="backbone every step")
cached = results.values("cpu_seconds", method="cached features")
speed = compare("cached features", cached, "backbone every step", every_step,
                rule="lower", paired=True, scale=1, unit="CPU s",
                smallest_difference=0.1 * np.mean(every_step), higher_is_better=False)
same = compare("cached features", results.values("accuracy", method="cached features"),
               "backbone every step", results.values("accuracy", method="backbone every step"),
               rule="similar", paired=True)
backbone_change = max(results.values("backbone_change"))
head_change = min(results.values("head_change"))

print(f"1. Frozen weights: the largest change of any backbone weight over {len(SEEDS)} runs "
      f"was {backbone_change:g}, while every run moved the head (by at least {head_change:.3g}): "
      + ("frozen weights did not change, as the rule says."
         if backbone_change == 0 else "frozen weights CHANGED: something is wrong."))
ratio = np.mean(every_step) / np.mean(cached)
wall_ratio = (results.mean("seconds", method="backbone every step")
              / results.mean("seconds", method="cached features"))
print(f"2. Time: {speed.sentence()}")
print(f"   Per run, the backbone every step took {ratio:.1f}x the CPU time of cached features "
      f"({np.mean(every_step):.2f} s against {np.mean(cached):.2f} s) and {wall_ratio:.1f}x "
      "their wall-clock time.")
accuracy_gaps = np.subtract(results.values("accuracy", method="cached features"),
                            results.values("accuracy", method="backbone every step"))
head_gap = max(results.values("head_gap"))
if not accuracy_gaps.any():
    print(f"3. Accuracy: the two ways gave the same test accuracy for every seed ("
          f"{results.mean('accuracy', method='cached features'):.1%} on average) and the "
          f"trained heads' weights differed by at most {head_gap:.2g} (features computed in "
          "other batches round differently): one training, two speeds, as the rule predicts.")
else:
    print(f"3. Accuracy: {same.sentence()} The trained heads' weights differed by up to "
          f"{head_gap:.2g}.")
print(f"\n({timer.report()})")
