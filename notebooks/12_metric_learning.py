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
# # 12 · Metric learning: Siamese (contrastive) and triplet embeddings, few-shot on new classes
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/tl-templates/tl-templates/blob/main/notebooks/12_metric_learning.ipynb)
#
# **Rule of thumb.** When new classes keep arriving (faces, products, signatures), learn
# a similarity instead of a fixed classifier: an embedding where images of one class lie
# close together. A class never seen in training is then recognised from a few examples
# (the nearest class centroid), with no retraining. The losses are contrastive (pairs,
# a Siamese network) or triplet (anchor, positive, negative), and the triplets the batch
# offers must be mined (batch-hard, semi-hard).
#
# **The experiment.** A pretrained backbone, frozen, and an embedding head (an MLP, its
# output L2-normalised) trained on the *seen* classes with four losses, the same head,
# steps and learning rate each, over several seeds: softmax cross-entropy (the usual
# classifier; its penultimate layer as the embedding, the fair baseline), contrastive,
# triplet with batch-hard mining, triplet with semi-hard mining. Then everything is
# scored on *unseen* classes: recall@k and few-shot accuracy (1 and 5 examples per class,
# nearest centroid), against the backbone's own pooled features with no head at all, and
# against the same head untrained (its random starting weights), which tells what the
# head's shape costs before any training. A last row, for reference, trains a linear head
# (no hidden layer) with the batch-hard triplet loss.
#
# **Declared before the run.** Three comparisons are tested, on 5-shot accuracy of the
# unseen classes, paired by seed (Student's t, `tl_templates.experiments.results.compare`):
# 1. *triplet batch-hard* against *softmax*: the rule says a metric loss makes a better
#    embedding for new classes than a classifier. Batch-hard is chosen in advance as the
#    standard triplet recipe (Hermans et al. 2017); contrastive and semi-hard are shown,
#    not tested (picking the best of three after the run would favour luck);
# 2. *triplet batch-hard* against *the backbone, no head*: the rule implies that learning
#    the embedding helps at all;
# 3. *triplet batch-hard* against *the same head untrained*: what the training itself adds.
#
# **Runtime.** Quick mode (`QUICK = True`): offline, about 80 s of CPU time on a 2-core CPU
# (about two minutes alone; six on a busy shared machine). The
# kit's lab backbone `lab_glyphs` was pretrained on 47 rendered character classes; the
# head trains on those 47, and the unseen classes are 37 characters neither saw: Greek
# letters and symbols, drawn by the same renderer. Full mode: Omniglot (TFDS; 964
# training alphabets' characters, 659 others for few-shot) with EfficientNetB0's ImageNet
# features, on a Colab GPU with mixed precision (not timed yet).

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

SEEDS = [0, 1, 2]  # every head is trained once per seed
if QUICK:
    BACKBONE = "lab_glyphs"  # the kit's lab backbone, pretrained offline
    WEIGHTS = "pretrained"
    IMAGE_SIZE = 32
    SEEN_IMAGES = 2820  # renderings of the 47 seen classes (60 each)
    UNSEEN_IMAGES = 1110  # renderings of the 37 unseen classes (30 each)
    STEPS = 200
else:
    SEEDS = [0, 1, 2, 3, 4]
    BACKBONE = "efficientnetb0"
    WEIGHTS = "imagenet"
    IMAGE_SIZE = 96
    STEPS = 2000
EMBEDDING_DIM = 64
CLASSES_PER_BATCH, PER_CLASS = 16, 4  # class-balanced batches of 64
LEARNING_RATE = 1e-3
MARGIN_TRIPLET, MARGIN_CONTRASTIVE = 0.2, 0.5
SHOTS = [1, 5]

# %%
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

import tl_templates
from tl_templates.experiments import runs as experiments
from tl_templates.experiments.results import compare, format_spread
from tl_templates.synthetic import glyphs
from tl_templates.tasks import metric_learning as ml

STARTED = time.perf_counter()
if not QUICK:
    print("mixed precision:", experiments.use_mixed_precision())  # on a GPU only

# Characters that lab_glyphs never saw: Greek letters unlike any Latin capital, and symbols.
UNSEEN_CHARACTERS = "αβγδεζηθλμξπρσφψωΓΔΘΛΞΠΣΦΨΩ#$%&@?+=<>"
if QUICK:
    seen_images, seen_labels = glyphs.make_glyph_dataset(SEEN_IMAGES, IMAGE_SIZE, seed=0)
    unseen_images, unseen_labels = glyphs.make_glyph_dataset(
        UNSEEN_IMAGES, IMAGE_SIZE, seed=1, characters=UNSEEN_CHARACTERS
    )
    unseen_names = [UNSEEN_CHARACTERS[label] for label in range(len(UNSEEN_CHARACTERS))]
else:
    seen_images, seen_labels = ml.load_tfds_characters("omniglot", "train", IMAGE_SIZE)
    unseen_images, unseen_labels = ml.load_tfds_characters("omniglot", "test", IMAGE_SIZE)
    unseen_names = [str(label) for label in range(unseen_labels.max() + 1)]
    print("TFDS omniglot: train characters are seen, test characters unseen")
print(f"seen: {len(seen_labels)} images of {len(np.unique(seen_labels))} classes; "
      f"unseen: {len(unseen_labels)} images of "
      f"{len(np.unique(unseen_labels))} classes")  # fmt: skip

figure, axes = plt.subplots(2, 12, figsize=(12, 2.3))
for column in range(12):
    axes[0, column].imshow(seen_images[column])
    axes[1, column].imshow(unseen_images[column])
    axes[1, column].set_title(unseen_names[unseen_labels[column]], fontsize=9)
for axis in axes.ravel():
    axis.set_xticks([])
    axis.set_yticks([])
axes[0, 0].set_ylabel("seen")
axes[1, 0].set_ylabel("unseen")
plt.show()

# %% [markdown]
# ## Features once, heads many times
#
# The backbone is frozen, so its pooled features are computed once; every head trains on
# that cache (`embedding_head` is a layer of the full image-to-embedding model and shares
# its weights, so the trained model is ready for images).

# %%
model = ml.build_embedding_model(
    BACKBONE, EMBEDDING_DIM, (IMAGE_SIZE, IMAGE_SIZE, 3), weights=WEIGHTS
)
tl_templates.set_trainable(model, [])  # every block frozen
pooled = ml.feature_model(model)
seen_features = experiments.predict(pooled, seen_images)
unseen_features = experiments.predict(pooled, unseen_images)
FEATURE_DIM = seen_features.shape[1]
print(f"pooled features: {FEATURE_DIM} per image ({time.perf_counter() - STARTED:.0f} s so far)")

NO_HEAD, UNTRAINED, LINEAR = "backbone, no head", "untrained head", "triplet batch-hard, linear"
METHODS = ["softmax", "contrastive", "triplet batch-hard", "triplet semi-hard", LINEAR]
ROWS = [NO_HEAD, UNTRAINED, *METHODS]
MEASURES = ["recall@1", "recall@4", *(f"{shots}-shot" for shots in SHOTS)]


def train_head(method, seed):
    """The embedding head trained with `method` on the seen classes' features (`UNTRAINED`:
    the same head, as it starts)."""
    keras.utils.set_random_seed(seed)
    head = ml.build_embedding_head(FEATURE_DIM, EMBEDDING_DIM,
                                   hidden_units=None if method == LINEAR else 256)  # fmt: skip
    if method == UNTRAINED:
        return head
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    if method == "softmax":
        # A classifier over the seen classes; its (normalised) penultimate layer is the embedding.
        trained = keras.Sequential(
            [head, keras.layers.Dense(int(seen_labels.max()) + 1, activation="softmax")]
        )
        trained.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    else:
        losses = {
            "contrastive": ml.ContrastiveLoss(MARGIN_CONTRASTIVE),
            "triplet batch-hard": ml.TripletLoss(MARGIN_TRIPLET, mining="batch_hard"),
            LINEAR: ml.TripletLoss(MARGIN_TRIPLET, mining="batch_hard"),
            "triplet semi-hard": ml.TripletLoss(MARGIN_TRIPLET, mining="semi_hard"),
        }
        trained = head
        trained.compile(optimizer=optimizer, loss=losses[method])
    batches = ml.metric_dataset(seen_features, seen_labels, CLASSES_PER_BATCH, PER_CLASS, seed)
    trained.fit(batches, epochs=1, steps_per_epoch=STEPS, verbose=0)
    return head


def scores(embeddings, seed):
    recall = ml.recall_at_k(embeddings, unseen_labels, ks=(1, 4))
    measured = {"recall@1": recall[1], "recall@4": recall[4]}
    for shots in SHOTS:
        measured[f"{shots}-shot"] = ml.few_shot_accuracy(
            embeddings, unseen_labels, shots=shots, episodes=20, seed=seed
        )[0]
    return measured


results = {row: {name: [] for name in MEASURES} for row in ROWS}
embeddings_seed0 = {}
for seed in SEEDS:
    # The backbone alone: its recall is the same every seed; few-shot draws the seed's episodes.
    for name, value in scores(unseen_features, seed).items():
        results[NO_HEAD][name].append(value)
    for method in [UNTRAINED, *METHODS]:
        head = train_head(method, seed)
        embeddings = experiments.predict(head, unseen_features, batch_size=512)
        for name, value in scores(embeddings, seed).items():
            results[method][name].append(value)
        if seed == SEEDS[0]:
            embeddings_seed0[method] = embeddings
    print(f"seed {seed} done ({time.perf_counter() - STARTED:.0f} s)")

# %% [markdown]
# ## Results on the unseen classes

# %%
classes = len(np.unique(unseen_labels))
print(f"unseen classes: {classes} ({len(unseen_labels)} images); chance: "
      f"{100 / classes:.1f}% few-shot; mean ± standard deviation over {len(SEEDS)} seeds")
print(f"{'embedding':<28}" + "".join(f"{name:>16}" for name in MEASURES))
for row in ROWS:
    print(f"{row:<28}" + "".join(f"{format_spread(results[row][name]):>16}" for name in MEASURES))

# %%
figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
for method in METHODS:
    curve = [np.mean(results[method][f"{shots}-shot"]) for shots in SHOTS]
    axes[0].plot(SHOTS, 100 * np.array(curve), marker="o", label=method)
axes[0].plot(SHOTS, [100 * np.mean(results[NO_HEAD][f"{shots}-shot"]) for shots in SHOTS],
             "k--", marker="o", label=NO_HEAD)  # fmt: skip
axes[0].set_xlabel("examples per unseen class")
axes[0].set_ylabel("nearest-centroid accuracy (%)")
axes[0].set_title(f"few-shot on {classes} unseen classes")
axes[0].legend(fontsize=8)
shown = np.isin(unseen_labels, np.unique(unseen_labels)[:8])  # 8 classes, for legibility
for axis, method in zip(axes[1:], ["softmax", "triplet batch-hard"], strict=True):
    projected = PCA(n_components=2, random_state=0).fit_transform(embeddings_seed0[method][shown])
    for label in np.unique(unseen_labels[shown]):
        points = projected[unseen_labels[shown] == label]
        axis.scatter(*points.T, s=8, alpha=0.7, label=unseen_names[label])
    axis.set_title(f"{method} embedding of unseen classes (PCA)")
    axis.legend(fontsize=8, ncol=2, markerscale=2)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Verdict

# %%
MEASURE = f"{max(SHOTS)}-shot"
PICK = "triplet batch-hard"  # declared in the introduction, before the run
tests = [
    compare(PICK, results[PICK][MEASURE], "softmax", results["softmax"][MEASURE], paired=True),
    compare(PICK, results[PICK][MEASURE], NO_HEAD, results[NO_HEAD][MEASURE], paired=True),
    compare(PICK, results[PICK][MEASURE], UNTRAINED, results[UNTRAINED][MEASURE], paired=True),
]
print(f"{MEASURE} accuracy on the {classes} unseen classes, the three declared comparisons:")
for number, test in enumerate(tests, 1):
    print(f"{number}. {test.sentence()}")
print("Not tested, for reference (5-shot): " + "; ".join(
    f"{method} {format_spread(results[method][MEASURE])}"
    for method in ["contrastive", "triplet semi-hard", LINEAR]))  # fmt: skip
best_trained = max(METHODS, key=lambda method: np.mean(results[method][MEASURE]))
print(f"The backbone's own features ({format_spread(results[NO_HEAD][MEASURE])}) against the "
      f"best trained head after the fact, {best_trained} "
      f"({format_spread(results[best_trained][MEASURE])}), and the untrained head "
      f"({format_spread(results[UNTRAINED][MEASURE])}): "
      + ("every trained head scored below the features it was trained on."
         if all(np.mean(results[m][MEASURE]) < np.mean(results[NO_HEAD][MEASURE])
                for m in METHODS)
         else "at least one trained head scored above the backbone's own features."))  # fmt: skip
print(f"\n(this notebook ran in {time.perf_counter() - STARTED:.0f} s)")


# %% [markdown]
# ## Conclusion
#
# In this run (quick mode, 3 seeds, 5-shot on the 37 unseen classes) the rule did not hold:
# - **Every trained head scored below the backbone's own features.** Triplet batch-hard
#   reached 71.0% against 77.9% with no head at all, 6.9 points lower, a real difference;
#   softmax 69.8%, contrastive 69.4%, semi-hard 70.6%. Even the best head picked after
#   the run, a linear one, stayed below (75.3%).
# - **The head's shape costs most of it before any training.** The same head untrained
#   scores 72.9%, 5.0 points below no head: its random ReLU layer and 64-dimensional
#   projection throw away part of what the 256 pooled features say. Training it with
#   batch-hard triplets then lowered it by another 2.0 points, a real difference.
# - **Metric loss against classifier**, the comparison declared first: batch-hard +1.2
#   points over softmax (± 0.6, 3 paired seeds), inconclusive.
#
# We looked for a bug before writing this (the learning rate, the L2 normalisation,
# which layers train, the number of steps, the embedding size) and found none that
# changes the picture. Side checks on seed 0, not part of this notebook: a batch-hard head
# trained on half of the seen images has a loss averaging 0.115 over its first 50 steps
# and 0.041 over its last 50, and finds the other half's images at least as well as
# untrained (recall@1 90.6% against 90.1%), so the training works; 50 steps instead of 200 gave 72.6%, a 256-wide embedding 72.1%, and a
# head trained on 46 characters the backbone never saw (Cyrillic letters and others)
# 71.5%. The reason is the setting: the seen classes are the 47 that `lab_glyphs` was
# pretrained on, so its features already separate them, and a head trained on them has
# nothing new to learn and specialises. With a frozen backbone, use its pooled features
# (or a linear head) for new classes; a metric-learning head is worth its training when
# its classes teach the backbone's features something new, as Omniglot's alphabets do
# for ImageNet features in full mode (untested here).

