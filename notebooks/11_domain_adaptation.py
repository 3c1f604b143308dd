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
# # 11 · Domain adaptation: DANN and the gradient reversal layer
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/tl-templates/tl-templates/blob/main/notebooks/11_domain_adaptation.ipynb)
#
# **Rule of thumb.** When the task stays the same but the inputs shift (a model trained on
# one camera, used on another), unlabelled images of the new domain are worth having:
# train the features so that a domain classifier cannot tell the two domains apart
# (DANN: a gradient reversal layer between the features and the domain classifier), and
# the label classifier carries over better. Labelled target data remain the upper bound.
#
# **The experiment.** The kit's offline version of MNIST → MNIST-M: real handwritten digits
# (source, labelled) and other digits blended onto patches of real photographs (target,
# labels hidden). Three models with the same network, learning rate, schedule and steps,
# over several seeds, scored on held-out target images:
# 1. *source-only*: trained on the source labels alone;
# 2. *DANN*: the same, plus the domain classifier behind a gradient reversal layer fed
#    with unlabelled target images (lambda rising from 0 to 1, annealed learning rate);
# 3. *target-supervised*: trained on the labelled target images (the upper bound).
#
# Ganin et al. (2015) report, on MNIST → MNIST-M: source-only 52.25%, DANN 76.66%,
# trained on target 95.96%. We compare how much of the gap DANN closes here.
#
# **Runtime.** Quick mode (`QUICK = True`): offline, about two minutes on a 2-core CPU of its
# own (about 5 minutes of CPU time; ten of wall clock on a busy shared machine), with
# the kit's lab backbone `lab_glyphs` (its low blocks frozen). Full mode: TFDS MNIST on
# photo patches from TFDS Imagenette, EfficientNetB0 with ImageNet weights fine-tuned
# whole, mixed precision on a Colab GPU (not timed yet).

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
QUICK = True  # True: offline, CPU, about two minutes. False: full size on a Colab GPU.

SEEDS = [0, 1, 2]  # every model is trained once per seed
if QUICK:
    BACKBONE = "lab_glyphs"  # the kit's lab backbone, pretrained offline
    WEIGHTS = "pretrained"
    IMAGE_SIZE = 32
    TRAIN_FROM_BLOCK = "block3"  # stem-block2 frozen (and their BatchNormalization)
    STEPS = 150  # training steps of every run (at 100, DANN had not yet helped)
    BATCH_SIZE = 64  # DANN: half source, half target
    LEARNING_RATE = 0.01
else:
    SEEDS = [0, 1, 2, 3, 4]
    BACKBONE = "efficientnetb0"
    WEIGHTS = "imagenet"  # downloaded once; or the path of a local weights file
    IMAGE_SIZE = 64
    TRAIN_FROM_BLOCK = "stem"  # every block trains (BatchNormalization frozen)
    STEPS = 3000
    BATCH_SIZE = 128
    LEARNING_RATE = 0.01
    DIGITS = 20000  # MNIST training digits to split into the two domains
    PHOTOS = 500  # Imagenette photos whose patches make the target textures

# %%
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

import tl_templates
from tl_templates.experiments import domain_shift
from tl_templates.experiments import runs as experiments
from tl_templates.experiments.results import compare, format_spread
from tl_templates.tasks import domain

STARTED = time.perf_counter()
if not QUICK:
    print("mixed precision:", experiments.use_mixed_precision())  # on a GPU only

if QUICK:
    data = domain_shift.load_digits_to_photos(IMAGE_SIZE, seed=0)
else:
    ink, labels, class_names = domain_shift.load_tfds_digits("mnist", "train", limit=DIGITS)
    photos = domain_shift.load_tfds_photos("imagenette/160px-v2", "train", limit=PHOTOS)
    data = domain_shift.make_domain_shift(ink, labels, class_names, photos, IMAGE_SIZE, seed=0)
    print(f"TFDS mnist ({len(labels)} digits) on TFDS imagenette ({len(photos)} photos)")
print(data.summary())

figure, axes = plt.subplots(2, 10, figsize=(10, 2.3))
for column in range(10):
    axes[0, column].imshow(data.source_images[data.source_labels == column][0])
    axes[1, column].imshow(data.target_images[data.target_labels == column][0])
for axis in axes.ravel():
    axis.set_xticks([])
    axis.set_yticks([])
axes[0, 0].set_ylabel("source")
axes[1, 0].set_ylabel("target")
plt.suptitle("the same classes in two domains")
plt.show()

# %% [markdown]
# ## The models
#
# One builder for all three: the backbone, global pooling, a dense feature layer, the
# label classifier, and the domain classifier behind the gradient reversal layer.
# Source-only and target-supervised runs set the domain loss weight to 0: the domain
# head then sends no gradient to the features. With the backbone's BatchNormalization
# frozen, the target half of a source-only batch changes nothing, so source-only is
# exactly "trained on source alone", on the same batches, steps and learning rates.

# %%
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
METHODS = ["source-only", "DANN", "target-supervised"]


def train(method, seed):
    """Trains one model; returns it."""
    keras.utils.set_random_seed(seed)
    model = domain.build_dann(BACKBONE, len(data.class_names), INPUT_SHAPE, weights=WEIGHTS)
    tl_templates.set_trainable(model, from_block=TRAIN_FROM_BLOCK)
    domain.compile_dann(model, LEARNING_RATE, domain_loss_weight=1.0 if method == "DANN" else 0.0)
    if method == "target-supervised":
        labelled_images, labels = data.target_images, data.target_labels
    else:
        labelled_images, labels = data.source_images, data.source_labels
    batches = domain.dann_dataset(
        labelled_images, labels, data.target_images, BATCH_SIZE, seed=seed
    )
    callbacks = [domain.AnnealedLearningRate(LEARNING_RATE, STEPS)]
    if method == "DANN":
        callbacks.append(domain.GradientReversalSchedule(STEPS))
    # No validation_data: DANN may not see target labels, and every method is
    # scored once, at the end, on the held-out target test images.
    model.fit(batches, epochs=5, steps_per_epoch=STEPS // 5, callbacks=callbacks, verbose=0)
    return model


def accuracy(model, images, labels):
    return experiments.accuracy(domain.classifier(model), images, labels)


def domain_head_accuracy(model):
    """How often the model's own domain head tells source from target test images."""
    count = min(len(data.source_images), len(data.target_test_images))
    images = np.concatenate([data.source_images[:count], data.target_test_images[:count]])
    truth = np.repeat([0, 1], count)
    guesses = experiments.predict(domain.domain_classifier(model), images).ravel() > 0.5
    return float(np.mean(guesses == truth))


results = {method: {} for method in METHODS}  # method -> measure -> one value per seed
features = {}  # (method, domain) -> features of seed 0, for the projection
for seed in SEEDS:
    for method in METHODS:
        started = time.perf_counter()
        model = train(method, seed)
        extractor = domain.feature_extractor(model)
        source_features = experiments.predict(extractor, data.source_images)
        target_features = experiments.predict(extractor, data.target_test_images)
        measures = {
            "target accuracy": accuracy(model, data.target_test_images, data.target_test_labels),
            "source accuracy": accuracy(model, data.source_images, data.source_labels),
            "domain probe accuracy": domain.domain_probe_accuracy(
                source_features, target_features, seed=seed
            ),
            "seconds": time.perf_counter() - started,
        }
        if method == "DANN":
            measures["domain head accuracy"] = domain_head_accuracy(model)
        for name, value in measures.items():
            results[method].setdefault(name, []).append(value)
        if seed == SEEDS[0]:
            features[method, "source"], features[method, "target"] = (
                source_features,
                target_features,
            )
    print(f"seed {seed} done ({time.perf_counter() - STARTED:.0f} s)")

# %% [markdown]
# ## Results

# %%
MEASURES = ["target accuracy", "source accuracy", "domain probe accuracy"]
print(f"mean ± standard deviation over {len(SEEDS)} seeds; "
      f"{len(data.target_test_labels)} target test images")  # fmt: skip
print(f"{'method':<18}" + "".join(f"{name:>24}" for name in MEASURES) + f"{'seconds':>10}")
for method in METHODS:
    row = "".join(f"{format_spread(results[method][name]):>24}" for name in MEASURES)
    print(f"{method:<18}{row}{np.mean(results[method]['seconds']):>10.1f}")
print("\nDANN's own domain head on held-out images (50% = chance): "
      f"{format_spread(results['DANN']['domain head accuracy'])}")  # fmt: skip

# Ganin et al. 2015, MNIST -> MNIST-M (Table 2).
PAPER = {"source-only": 0.5225, "DANN": 0.7666, "target-supervised": 0.9596}
target = {method: np.array(results[method]["target accuracy"]) for method in METHODS}
gains = target["DANN"] - target["source-only"]  # paired by seed
gap = np.mean(target["target-supervised"]) - np.mean(target["source-only"])
closed = np.mean(gains) / gap if gap > 0 else float("nan")
paper_closed = (PAPER["DANN"] - PAPER["source-only"]) / (
    PAPER["target-supervised"] - PAPER["source-only"]
)
print(f"\n{'':<18}{'this run':>12}{'Ganin et al.':>14}")
for method in METHODS:
    print(f"{method:<18}{100 * np.mean(target[method]):>11.1f}%{100 * PAPER[method]:>13.1f}%")
print(f"{'gap closed':<18}{100 * closed:>11.0f}%{100 * paper_closed:>13.0f}%")

# %%
figure, axes = plt.subplots(1, 3, figsize=(14, 4))
positions = np.arange(len(METHODS))
axes[0].bar(positions, [100 * np.mean(target[m]) for m in METHODS],
            yerr=[100 * np.std(target[m], ddof=1) for m in METHODS], capsize=4,
            color=["tab:gray", "tab:blue", "tab:green"])  # fmt: skip
for index, method in enumerate(METHODS):
    axes[0].scatter([index] * len(SEEDS), 100 * target[method], color="black", s=10, zorder=3)
axes[0].set_xticks(positions, METHODS)
axes[0].set_ylabel("target test accuracy (%)")
axes[0].set_title("accuracy on the target domain")
for axis, method in zip(axes[1:], ["source-only", "DANN"], strict=True):
    both = np.concatenate([features[method, "source"], features[method, "target"]])
    projected = PCA(n_components=2, random_state=0).fit_transform(both)
    count = len(features[method, "source"])
    axis.scatter(*projected[:count].T, s=4, alpha=0.5, label="source")
    axis.scatter(*projected[count:].T, s=4, alpha=0.5, label="target")
    axis.set_title(f"{method} features (PCA, seed {SEEDS[0]})")
    axis.legend(markerscale=3)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Verdict

# %%
# Paired by seed (the same seed gives every method the same batches and starting head).
# Student's t for the runs; see tl_templates.experiments.results.compare.
dann_gain = compare("DANN", target["DANN"], "source-only", target["source-only"],
                    rule="higher", paired=True)
upper_bound = compare("DANN", target["DANN"], "target-supervised", target["target-supervised"],
                      rule="lower", paired=True)
probe = compare("DANN", results["DANN"]["domain probe accuracy"], "source-only",
                results["source-only"]["domain probe accuracy"], rule="lower", paired=True)
print(f"1. Target accuracy ({format_spread(results['source-only']['target accuracy'])} -> "
      f"{format_spread(results['DANN']['target accuracy'])}): {dann_gain.sentence()}")
print(f"   It closed {100 * closed:.0f}% of the gap to the target-supervised upper bound "
      f"({format_spread(results['target-supervised']['target accuracy'])}); Ganin et al. closed "
      f"{100 * paper_closed:.0f}% on MNIST -> MNIST-M (52.3% -> 76.7%, upper bound 96.0%).")
print(f"2. Against the upper bound: {upper_bound.sentence()}")
print(f"3. Domain probe (a fresh linear classifier on the features; lower = domains harder to "
      f"tell apart): {probe.sentence()}")
head_score = np.mean(results["DANN"]["domain head accuracy"])
probe_score = np.mean(results["DANN"]["domain probe accuracy"])
print(f"   DANN's own domain head scores {format_spread(results['DANN']['domain head accuracy'])}"
      f" on held-out images (50% = chance), the fresh probe "
      f"{format_spread(results['DANN']['domain probe accuracy'])} on DANN's features: "
      + ("the features fool the head they were trained against more than they hide the "
         "domain from a new classifier." if head_score < probe_score
         else "the fresh probe does no better than the head DANN was trained against."))
print(f"\n(this notebook ran in {time.perf_counter() - STARTED:.0f} s)")


# %% [markdown]
# ## Conclusion
#
# In this run (quick mode, 3 seeds, 364 held-out target images):
# - **DANN helped, as the rule predicts**: 66.6% on the target domain against 55.5% for
#   source-only, +11.1 points (± 1.2 standard error, 3 paired seeds), a real difference. It
#   closed 41% of the gap to the target-supervised upper bound (82.3%); Ganin et al. closed
#   56% on MNIST -> MNIST-M.
# - **Labelled target data remain the upper bound**: DANN stayed 15.8 points below
#   target-supervised (± 1.7), a real difference.
# - **The features did not clearly hide the domain**: a fresh linear probe told the domains
#   apart from DANN's features about as well as from source-only's (79.2% against 81.0%,
#   -1.8 ± 3.4 points), inconclusive with 3 seeds; only the domain head DANN was trained
#   against was fooled (64.7%, 50% = chance). DANN's gain here comes with features that a
#   new classifier can still tell apart by domain.

