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
# # 02 · Fine-tuning: unfreeze the top blocks, with a small learning rate
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/tl-templates/tl-templates/blob/main/notebooks/02_fine_tuning.ipynb)
#
# **Rule of thumb.** After training a new head on the frozen backbone (feature
# extraction), unfreeze the top blocks and train on with a *small* learning rate: the
# pretrained weights only need nudging. A large learning rate wrecks them. Keep
# BatchNormalization frozen (inference mode): in training mode it re-estimates its
# statistics from small batches of new data. And compile the model again after changing
# `trainable`, or the change has no effect.
#
# **The experiment.** On a small target, over several seeds: phase 1 trains the head on
# the frozen backbone; phase 2 starts from there and either keeps training the head only,
# or fine-tunes the top blocks (those the advisor names for `fine_tune_top`) with a sweep
# of learning rates, or with BatchNormalization in training mode. Three rates are set
# side by side: the rule's "small" rate (1e-5, the Keras transfer-learning guide's "very
# low learning rate"), the advisor's rate for this backbone's family
# (`tl_templates.planning.budgets.LEARNING_RATES`), and the best rate of the sweep. Every phase's
# rate decays to zero along a cosine, as in the kit's templates. A last check changes
# `trainable` without recompiling.
#
# **Runtime.** Quick mode: offline, a few minutes on a 2-core CPU (the committed run:
# 164 s of CPU time, on a machine shared with other jobs) (`lab_glyphs`,
# real handwritten digits). Full mode: EfficientNetB0 with ImageNet weights on TFDS
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
QUICK = True  # True: offline, CPU, a few minutes. False: full size on a Colab GPU.

SEEDS = [0, 1, 2]
if QUICK:
    BACKBONE, WEIGHTS = "lab_glyphs", "pretrained"  # the kit's lab backbone
    IMAGE_SIZE = 32
    PER_CLASS = 10  # training examples per class
    TEST_PER_CLASS = 30
    HEAD_EPOCHS = 20  # phase 1, on cached features: cheap
    FINE_TUNE_EPOCHS = 8  # phase 2, test accuracy followed after each epoch
    FINE_TUNE_STEPS_PER_EPOCH = 25  # 8 x 25 = 200 steps, 32 passes over 100 digits
    BATCH_SIZE = 16
    # Phase 2 learning rates to try (the rule's and the advisor's are among them).
    LEARNING_RATES = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
else:
    BACKBONE, WEIGHTS = "efficientnetb0", "imagenet"  # or the path of a weights file
    IMAGE_SIZE = 224
    PER_CLASS = 50
    TEST_PER_CLASS = 100
    HEAD_EPOCHS = 20
    FINE_TUNE_EPOCHS = 10
    FINE_TUNE_STEPS_PER_EPOCH = 60  # 600 steps: budgets.MIN_STEPS
    BATCH_SIZE = 32
    LEARNING_RATES = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
# The rule's "small" rate: the Keras transfer-learning guide fine-tunes with 1e-5.
SMALL_LEARNING_RATE = 1e-5
LARGE_LEARNING_RATE = max(LEARNING_RATES)

# %%
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
# ## The target and the model

# %%
if QUICK:
    target = datasets.load_digits(IMAGE_SIZE, test_per_class=TEST_PER_CLASS)
else:
    target = datasets.load_tfds_target(
        "tf_flowers", IMAGE_SIZE, pool_per_class=PER_CLASS, test_per_class=TEST_PER_CLASS
    )
print(target.describe())
test_images, test_labels = target.test


def build_model():
    backbone = tl_templates.build_backbone(BACKBONE, (IMAGE_SIZE, IMAGE_SIZE, 3), WEIGHTS)
    return experiments.build_classifier(backbone, target.num_classes)


def compile_model(part, learning_rate):
    part.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


model = build_model()
plan = tl_templates.plan_strategy("fine_tune_top", BACKBONE)
HEAD_LEARNING_RATE = plan.head_learning_rate
ADVISOR_LEARNING_RATE = plan.fine_tune_learning_rate
print("blocks the advisor fine-tunes in fine_tune_top:", plan.trainable_blocks)
print(f"the advisor's learning rates for {BACKBONE}: head {HEAD_LEARNING_RATE:g}, "
      f"fine-tuning {ADVISOR_LEARNING_RATE:g}")
tl_templates.set_trainable(model, plan.trainable_blocks)
print(tl_templates.block_table(model))

# %% [markdown]
# "partly" means the block trains except its BatchNormalization layers, which
# `set_trainable` keeps frozen unless asked (`bn_trainable=True`).
#
# Nothing below the first trained block changes in phase 2, so its output is computed
# once per image: `caching.split_at_block` cuts the model there, and phase 2 trains the
# part above (`upper`) on those cached outputs. Phase 1 (the head alone) cuts above the
# whole backbone.

# %%
cut = caching.last_frozen_block(model)
lower, upper = caching.split_at_block(model, cut)
top_features, head = caching.split_at_block(model, tl_templates.block_names(model)[-1])
print(f"phase 2 trains the model above {cut!r}: {upper.count_params():,} weights of "
      f"{model.count_params():,}")


def cached(part, images):
    return experiments.predict(part, images)


test_lower = cached(lower, test_images)

# %% [markdown]
# ## Phase 1: the new head on the frozen backbone
# One training set and one head per seed. The weights after phase 1 are kept: every
# phase-2 variant starts from them.

# %%
tl_templates.set_trainable(model, [])
compile_model(head, HEAD_LEARNING_RATE)
after_phase_1, training_sets = {}, {}
results = Results()
for seed in SEEDS:
    images, labels = target.sample(PER_CLASS, seed)
    training_sets[seed] = (cached(lower, images), labels)
    model.set_weights(experiments.initial_weights(build_model, seed))
    experiments.restart(head)  # clear the head's optimizer
    experiments.fit_steps(head, cached(top_features, images), labels, epochs=HEAD_EPOCHS,
                          steps=max(1, len(labels) // BATCH_SIZE), batch_size=BATCH_SIZE,
                          seed=seed, decay="cosine")  # fmt: skip
    after_phase_1[seed] = model.get_weights()
    results.add(variant="after phase 1", seed=seed,
                accuracy=experiments.accuracy(model, test_images, test_labels))
print(results.table("accuracy", rows="variant"))

# %% [markdown]
# ## Phase 2: the variants
# Every variant starts from the phase-1 weights of its seed and trains for the same
# number of steps, its rate decaying along a cosine, scored on the test set after each
# epoch:
# * **head only**: the backbone stays frozen (feature extraction, trained longer);
# * **fine-tune, lr=...**: the top blocks unfrozen (BatchNormalization frozen), for each
#   learning rate;
# * **fine-tune, BN training mode**: the same at the advisor's learning rate, but with
#   BatchNormalization trainable, so it normalises with each batch's statistics and
#   updates its moving averages.
#
# `trainable` changes, so each variant compiles again (see the last section for why).

# %%
steps = FINE_TUNE_STEPS_PER_EPOCH
# Variants whose test accuracy is followed epoch by epoch (for the plot); the others
# are scored once, at the end.
followed = list(dict.fromkeys(
    ["head only", f"fine-tune, lr={SMALL_LEARNING_RATE:g}",
     f"fine-tune, lr={ADVISOR_LEARNING_RATE:g}", f"fine-tune, lr={max(LEARNING_RATES):g}",
     "fine-tune, BN training mode"]))  # fmt: skip
curves = {}


def run_phase_2(variant, learning_rate, seed):
    model.set_weights(after_phase_1[seed])
    experiments.restart(upper, learning_rate=learning_rate)
    if variant in followed:
        history = experiments.fit_steps(
            upper, *training_sets[seed], steps=steps, epochs=FINE_TUNE_EPOCHS,
            batch_size=BATCH_SIZE, seed=seed, validation=(test_lower, test_labels),
            decay="cosine",
        )  # fmt: skip
        curves.setdefault(variant, []).append(history.history["val_accuracy"])
    else:
        experiments.fit_steps(upper, *training_sets[seed], steps=steps * FINE_TUNE_EPOCHS,
                              batch_size=BATCH_SIZE, seed=seed, decay="cosine")  # fmt: skip
    results.add(variant=variant, seed=seed, learning_rate=learning_rate,
                accuracy=experiments.accuracy(upper, test_lower, test_labels))


variants = [("head only", [], False, [HEAD_LEARNING_RATE])]
variants.append(("fine-tune", plan.trainable_blocks, False, LEARNING_RATES))
variants.append(("fine-tune, BN training mode", plan.trainable_blocks, True,
                 [ADVISOR_LEARNING_RATE]))  # fmt: skip
for name, blocks, bn_trainable, learning_rates in variants:
    tl_templates.set_trainable(model, blocks, bn_trainable=bn_trainable)
    compile_model(upper, learning_rates[0])  # trainable changed: compile again
    for learning_rate in learning_rates:
        variant = f"{name}, lr={learning_rate:g}" if name == "fine-tune" else name
        for seed in SEEDS:
            run_phase_2(variant, learning_rate, seed)
    print(f"{name}: done")

# %%
print(f"test accuracy after phase 2 ({steps * FINE_TUNE_EPOCHS} steps), mean ± std over "
      f"{len(SEEDS)} seeds ({PER_CLASS} training examples per class, {len(test_labels)} test "
      "images):")
print(results.table("accuracy", rows="variant"))

# %%
epochs = list(range(1, FINE_TUNE_EPOCHS + 1))
per_epoch = {name: list(zip(*curves[name], strict=True)) for name in followed}
figure = plots.curves(epochs, per_epoch, "phase-2 epoch", "test accuracy",
                      title="phase 2, from the same phase-1 weights")
fine_tune_rates = [f"fine-tune, lr={rate:g}" for rate in LEARNING_RATES]
figure = plots.curves(LEARNING_RATES,
                      {"fine-tune the top blocks": [results.values("accuracy", variant=v)
                                                    for v in fine_tune_rates],
                       "head only": [results.values("accuracy", variant="head only")]
                       * len(LEARNING_RATES)},
                      "phase-2 learning rate", "test accuracy", log_x=True,
                      title="the learning rate of fine-tuning")  # fmt: skip

# %% [markdown]
# ## Changing `trainable` without compiling again
# Keras builds the training step when the model is compiled (or first fitted), with the
# list of trainable weights of that moment. Here the model is compiled with the backbone
# frozen, then the top blocks are unfrozen and training goes on: do their weights move?

# %%
first_trained_block = tl_templates.list_blocks(model)[len(tl_templates.block_names(model))
                                                    - len(plan.trainable_blocks)]
probe_layer = next(layer for layer in first_trained_block.layers if hasattr(layer, "kernel"))
tl_templates.set_trainable(model, [])
model.set_weights(after_phase_1[SEEDS[0]])
compile_model(upper, ADVISOR_LEARNING_RATE)
experiments.fit_steps(upper, *training_sets[SEEDS[0]], steps=1, batch_size=BATCH_SIZE)
tl_templates.set_trainable(model, plan.trainable_blocks)  # unfreeze, but do not compile
before = probe_layer.kernel.numpy().copy()
experiments.fit_steps(upper, *training_sets[SEEDS[0]], steps=steps, batch_size=BATCH_SIZE)
change_without_compile = float(np.abs(probe_layer.kernel.numpy() - before).max())
compile_model(upper, ADVISOR_LEARNING_RATE)  # now compile again
before = probe_layer.kernel.numpy().copy()
experiments.fit_steps(upper, *training_sets[SEEDS[0]], steps=steps, batch_size=BATCH_SIZE)
change_after_compile = float(np.abs(probe_layer.kernel.numpy() - before).max())
print(f"{probe_layer.name}: largest weight change without compiling again "
      f"{change_without_compile:g}, after compiling again {change_after_compile:g}")

# %% [markdown]
# ## Verdict
# Computed from this run's numbers. Runs with the same seed share their training set and
# phase-1 weights, so variants are compared seed by seed (paired), which cancels the noise
# the seed brings.

# %%
def scores(variant):
    return results.values("accuracy", variant=variant)


def at(rate):
    return scores(f"fine-tune, lr={rate:g}")


rule_rate, advisor_rate = SMALL_LEARNING_RATE, ADVISOR_LEARNING_RATE
best_rate = max(LEARNING_RATES, key=lambda rate: np.mean(at(rate)))
print(f"Rates: the rule's small one {rule_rate:g} ({100 * np.mean(at(rule_rate)):.1f}%), the "
      f"advisor's {advisor_rate:g} ({100 * np.mean(at(advisor_rate)):.1f}%), the best of the "
      f"sweep {best_rate:g} ({100 * np.mean(at(best_rate)):.1f}%; picked on the test set "
      "after the fact, so its score is an optimistic one).")
print("1. " + compare(f"fine-tuning the top blocks at the rule's small rate ({rule_rate:g})",
                      at(rule_rate), "training the head only", scores("head only"),
                      paired=True).sentence())  # fmt: skip
print("   " + compare(f"fine-tuning the top blocks at the advisor's rate ({advisor_rate:g})",
                      at(advisor_rate), "training the head only", scores("head only"),
                      paired=True).sentence())  # fmt: skip
print("2. " + compare(f"the small learning rate ({rule_rate:g})", at(rule_rate),
                      f"the large one ({LARGE_LEARNING_RATE:g})", at(LARGE_LEARNING_RATE),
                      paired=True).sentence())  # fmt: skip
for name, rate in (("the rule's small rate", rule_rate), ("the advisor's rate", advisor_rate)):
    if rate == best_rate:
        print(f"   {name} ({rate:g}) was the best rate of the sweep.")
        continue
    print("   The rule expects a small rate to lose nothing against the best one: " + compare(
        f"{name} ({rate:g})", at(rate), f"the best rate of the sweep ({best_rate:g})",
        at(best_rate), rule="similar", paired=True).sentence())  # fmt: skip
print("3. " + compare("BatchNormalization frozen", at(advisor_rate),
                      "BatchNormalization in training mode",
                      scores("fine-tune, BN training mode"), paired=True).sentence())
if change_without_compile == 0 and change_after_compile > 0:
    print("4. Unfreezing without compiling again changed nothing (the largest weight change "
          f"was 0); after compiling, the same steps moved the weights by up to "
          f"{change_after_compile:.2g}: recompile after changing trainable, as the rule says.")
else:
    print(f"4. Without compiling again the weights moved by {change_without_compile:.2g} "
          f"(after compiling: {change_after_compile:.2g}): this Keras version does not "
          "follow the rule here.")
print(f"\n({timer.report()})")

# %% [markdown]
# ## What this run showed
# The numbers of the quick-mode run above (3 seeds, 10 digits a class, 200 fine-tuning
# steps with a cosine decay); a new run gives slightly different ones.
#
# * **Where the rule failed: its "small" rate.** At 1e-5, the Keras guide's rate,
#   fine-tuning did nothing useful in 200 steps: 90.6% against 91.2% for training the head
#   only (-0.7 ± 0.5 points; inconclusive by the test with 3 runs), and 5.3 ± 1.2 points
#   below the best rate of the sweep, a real shortfall. In a run this short it leaves the
#   pretrained blocks almost where they were (whether it suits runs of thousands of steps,
#   this run does not test).
# * **What "small" means here.** The sweep peaked at 1e-3 (95.9%), with 3e-4 (95.2%) and
#   3e-3 (95.3%) close by: 30 to 300 times the rule's rate. The rule's warning about large
#   rates held only at 1e-2 (77.2% ± 9.7% over the 3 seeds), and even that was
#   inconclusive against 1e-5 with 3 runs (+13.3 ± 4.8 points). The best rate was picked
#   on the test set after the fact, so its 95.9% flatters it a little.
# * **The advisor's rate for the lab family (3e-4, `tl_templates.planning.budgets`)** scored 0.7 ±
#   0.4 points below the best rate (inconclusive: the test cannot rule out a 2-point gap
#   with 3 runs) and 4.0 ± 1.2 points above training the head only (inconclusive with 3
#   runs: Student's t for 2 degrees of freedom is 4.3).
# * **BatchNormalization in training mode did not hurt here:** 96.0% against 95.2% with it
#   frozen (-0.8 ± 0.4 points for frozen; inconclusive). The rule's warning did not show on
#   this target and batch size.
# * **Recompiling held:** without compiling again the unfrozen weights did not move at all.
