# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# nearest centroid), against the backbone's own pooled features with no head at all.
#
# **Runtime.** Quick mode (`QUICK = True`): offline, about a minute on a 2-core CPU. The
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
QUICK = True  # True: offline, CPU, about a minute. False: full size on a Colab GPU.

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
from tl_templates import experiments, glyphs
from tl_templates import metric_learning as ml

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
seen_features = pooled.predict(seen_images, batch_size=256, verbose=0)
unseen_features = pooled.predict(unseen_images, batch_size=256, verbose=0)
FEATURE_DIM = seen_features.shape[1]
print(f"pooled features: {FEATURE_DIM} per image ({time.perf_counter() - STARTED:.0f} s so far)")

METHODS = ["softmax", "contrastive", "triplet batch-hard", "triplet semi-hard"]
MEASURES = ["recall@1", "recall@4", *(f"{shots}-shot" for shots in SHOTS)]


def train_head(method, seed):
    """The embedding head trained with `method` on the seen classes' features."""
    keras.utils.set_random_seed(seed)
    head = ml.build_embedding_head(FEATURE_DIM, EMBEDDING_DIM)
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


results = {method: {name: [] for name in MEASURES} for method in METHODS}
no_head = scores(unseen_features, seed=0)  # the backbone alone: deterministic
embeddings_seed0 = {}
for seed in SEEDS:
    for method in METHODS:
        head = train_head(method, seed)
        embeddings = head.predict(unseen_features, batch_size=512, verbose=0)
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
      f"{100 / classes:.1f}% few-shot; mean ± std over {len(SEEDS)} seeds, in %")  # fmt: skip
print(f"{'embedding':<24}" + "".join(f"{name:>16}" for name in MEASURES))
print(f"{'backbone, no head':<24}"
      + "".join(f"{100 * no_head[name]:>16.1f}" for name in MEASURES))  # fmt: skip
for method in METHODS:
    cells = "".join(
        f"{100 * np.mean(results[method][name]):>10.1f} "
        f"± {100 * np.std(results[method][name]):3.1f}"
        for name in MEASURES
    )
    print(f"{method:<24}{cells}")

# %%
figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
for method in METHODS:
    curve = [np.mean(results[method][f"{shots}-shot"]) for shots in SHOTS]
    axes[0].plot(SHOTS, 100 * np.array(curve), marker="o", label=method)
axes[0].plot(SHOTS, [100 * no_head[f"{shots}-shot"] for shots in SHOTS], "k--", marker="o",
             label="backbone, no head")  # fmt: skip
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
def paired_gain(method_a, method_b, measure):
    """Mean of (a - b) over seeds, and its standard error."""
    difference = np.array(results[method_a][measure]) - np.array(results[method_b][measure])
    error = np.std(difference, ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else np.inf
    return np.mean(difference), error


MEASURE = f"{max(SHOTS)}-shot"
metric_methods = METHODS[1:]
best = max(metric_methods, key=lambda method: np.mean(results[method][MEASURE]))
gain, error = paired_gain(best, "softmax", MEASURE)
if gain > 2 * error:
    print(f"The best metric loss, {best}, beat the softmax baseline (same head, steps and "
          f"learning rate) on {MEASURE} accuracy of unseen classes by {100 * gain:.1f} points "
          f"(± {100 * error:.1f} standard error over {len(SEEDS)} seeds), as the rule predicts.")
elif gain < -2 * error:
    print(f"Even the best metric loss, {best}, did worse than the softmax baseline on "
          f"{MEASURE} accuracy of unseen classes ({100 * gain:+.1f} points): the rule did not "
          "hold here.")
else:
    print(f"The best metric loss, {best}, and the softmax baseline were within noise of each "
          f"other on {MEASURE} accuracy of unseen classes ({100 * gain:+.1f} ± "
          f"{100 * error:.1f} points): no clear winner in this run.")
for method in metric_methods:
    if method != best:
        other, other_error = paired_gain(method, "softmax", MEASURE)
        print(f"  {method}: {100 * other:+.1f} ± {100 * other_error:.1f} points vs softmax")
head_vs_backbone = np.mean(results[best][MEASURE]) - no_head[MEASURE]
print("Against the pretrained backbone's own features with no head "
      f"({100 * no_head[MEASURE]:.1f}%), "
      f"the best trained head is {100 * head_vs_backbone:+.1f} points: "
      + ("training on the seen classes carried over to unseen ones." if head_vs_backbone > 0
         else "a head trained on the seen classes specialised to them and lost some of what "
              "the backbone knew about characters in general; with a frozen backbone, the "
              "untouched features were the better embedding for new classes."))  # fmt: skip
print(f"\n(this notebook ran in {time.perf_counter() - STARTED:.0f} s)")
