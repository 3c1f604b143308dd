"""Two-phase training: every strategy trains, and frozen blocks stay as they were."""

import keras
import numpy as np
import pytest
from helpers import random_images, weights_by_layer

import tl_templates
from tl_templates.planning import advisor
from tl_templates.training import caching, resume

# The lab backbone: small, so every strategy trains in seconds.
BACKBONE = "lab_glyphs"


def build_classifier(plan, classes=3):
    backbone = tl_templates.build_backbone(BACKBONE, (32, 32, 3), weights=None)
    if plan.truncate_after:
        backbone = tl_templates.truncate_backbone(backbone, plan.truncate_after)
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    outputs = keras.layers.Dense(classes, activation="softmax", name="classifier")(pooled)
    return keras.Model(inputs, outputs), backbone


def tiny_data(count, seed):
    return random_images(count, seed=seed).astype("uint8"), np.arange(count) % 3


@pytest.mark.parametrize("strategy", advisor.STRATEGIES)
def test_every_strategy_trains_and_leaves_frozen_blocks_unchanged(strategy, tmp_path):
    keras.utils.set_random_seed(0)
    plan = tl_templates.plan_strategy(strategy, BACKBONE)
    model, backbone = build_classifier(plan)
    head_before = [np.array(w) for w in model.get_layer("classifier").get_weights()]
    before = weights_by_layer(backbone)

    phases = tl_templates.train_classifier(
        model, plan, tiny_data(24, 1), tiny_data(9, 2), head_epochs=2, fine_tune_epochs=1,
        batch_size=8, output_dir=tmp_path, verbose=0, restore_best=False,
    )  # fmt: skip

    after = weights_by_layer(backbone)
    trained_blocks = set(plan.trainable_blocks)
    scratch = strategy == "train_from_scratch"
    changed_blocks = set()
    for block in tl_templates.list_blocks(backbone):
        for layer in block.layers:
            if layer.name not in before:
                continue
            moved = any(
                not np.allclose(old, new)
                for old, new in zip(before[layer.name], after[layer.name], strict=True)
            )
            is_bn = isinstance(layer, keras.layers.BatchNormalization)
            if block.name not in trained_blocks or (is_bn and not scratch):
                assert not moved, f"{strategy}: frozen layer {layer.name} ({block.name}) changed"
            elif moved:
                changed_blocks.add(block.name)
    assert changed_blocks == trained_blocks
    head_after = model.get_layer("classifier").get_weights()
    assert not np.allclose(head_before[0], head_after[0])

    expected_phases = {
        "feature_extraction": ["feature_extraction"],
        "train_from_scratch": ["scratch"],
    }.get(strategy, ["feature_extraction", "fine_tuning"])
    assert [phase.name for phase in phases] == expected_phases
    rows = tl_templates.read_history(tmp_path / "history.csv")
    assert [row["epoch"] for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == (2 if strategy == "feature_extraction" else 3)
    assert (tmp_path / "checkpoints" / "best.weights.h5").is_file()
    if strategy == "truncate_and_fine_tune":
        assert tl_templates.block_names(model)[-1] == plan.truncate_after
    if expected_phases[0] == "feature_extraction":
        assert phases[0].cached_features


def test_a_new_run_starts_a_new_history(tmp_path):
    plan = tl_templates.plan_strategy("feature_extraction", BACKBONE)
    for epochs in (3, 2):
        model, _ = build_classifier(plan)
        tl_templates.train_classifier(
            model, plan, tiny_data(24, 1), tiny_data(9, 2), head_epochs=epochs,
            fine_tune_epochs=0, batch_size=8, output_dir=tmp_path, verbose=0, resume=False,
        )  # fmt: skip
    rows = tl_templates.read_history(tmp_path / "history.csv")
    assert [row["epoch"] for row in rows] == [1, 2]


def test_feature_extraction_runs_the_backbone_once_with_the_cache(tmp_path, monkeypatch):
    plan = tl_templates.plan_strategy("feature_extraction", BACKBONE)
    model, backbone = build_classifier(plan)
    calls = []
    original = backbone.predict
    monkeypatch.setattr(
        backbone, "predict", lambda x, **kw: calls.append(len(x)) or original(x, **kw)
    )
    tl_templates.train_classifier(
        model, plan, tiny_data(24, 1), tiny_data(9, 2), head_epochs=5, fine_tune_epochs=0,
        batch_size=8, output_dir=tmp_path, verbose=0,
    )  # fmt: skip
    assert calls == [24 + 9]  # one pass over train and validation, not one per epoch


def test_augmentation_trains_the_full_model_without_cache(tmp_path):
    plan = tl_templates.plan_strategy("feature_extraction", BACKBONE)
    model, _ = build_classifier(plan)
    phases = tl_templates.train_classifier(
        model, plan, tiny_data(24, 1), tiny_data(9, 2), head_epochs=1, fine_tune_epochs=0,
        batch_size=8, output_dir=tmp_path, augment=True, verbose=0,
    )  # fmt: skip
    assert not phases[0].cached_features


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_the_model_ends_with_its_best_epoch_saved_once(tmp_path, monkeypatch):
    keras.utils.set_random_seed(0)
    plan = tl_templates.plan_strategy("fine_tune_all", BACKBONE)
    model, _ = build_classifier(plan)
    saves, snapshots = [], {}
    save_weights = keras.Model.save_weights
    monkeypatch.setattr(
        keras.Model, "save_weights", lambda *a, **k: saves.append(a[1]) or save_weights(*a, **k)
    )
    commit = resume.TrainingRun.commit

    def commit_and_snapshot(run, full_model, *args, **kwargs):
        commit(run, full_model, *args, **kwargs)
        snapshots[run.epochs_done] = [weight.numpy() for weight in full_model.weights]

    monkeypatch.setattr(resume.TrainingRun, "commit", commit_and_snapshot)
    tl_templates.train_classifier(
        model, plan, tiny_data(24, 1), tiny_data(9, 2), head_epochs=2, fine_tune_epochs=2,
        batch_size=8, output_dir=tmp_path, verbose=0,
    )  # fmt: skip
    rows = tl_templates.read_history(tmp_path / "history.csv")
    scores = [row["val_accuracy"] for row in rows]
    # A tie goes to the later epoch, so every epoch that reaches the best so far improves.
    improving = [epoch for epoch in range(1, 5) if scores[epoch - 1] >= max(scores[:epoch])]
    assert len(saves) == 1 < len(improving)  # one save at the end, not one per improvement
    for expected, weight in zip(snapshots[improving[-1]], model.weights, strict=True):
        np.testing.assert_array_equal(expected, weight.numpy())
    best = keras.models.clone_model(model)
    best.load_weights(tmp_path / "checkpoints" / "best.weights.h5")
    for a, b in zip(model.weights, best.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Each phase's learning rate falls along a cosine to zero: half-way after
    # the first of its two epochs, zero at its end.
    rates = [row["learning_rate"] for row in rows]
    expected = [plan.head_learning_rate / 2, 0.0, plan.fine_tune_learning_rate / 2, 0.0]
    assert rates == pytest.approx(expected, rel=1e-5, abs=1e-12)


def test_head_model_shares_the_classifier_layers():
    plan = tl_templates.plan_strategy("feature_extraction", BACKBONE)
    model, backbone = build_classifier(plan)
    head = caching.head_model(model)
    assert head.get_layer("classifier") is model.get_layer("classifier")
    images = random_images(2)
    np.testing.assert_allclose(
        head.predict(backbone.predict(images, verbose=0), verbose=0),
        model.predict(images, verbose=0),
        rtol=1e-5,
    )


def test_plot_history_writes_a_png(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(
        "epoch,phase,loss,accuracy,val_loss,val_accuracy,learning_rate\n"
        "1,feature_extraction,1.0,0.5,1.1,0.4,0.001\n"
        "2,fine_tuning,0.8,0.6,0.9,0.5,1e-05\n"
    )
    tl_templates.plot_history(history, tmp_path / "training.png")
    assert (tmp_path / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fine_tuning_on_the_cached_prefix_equals_the_whole_model_with_frozen_blocks(tmp_path):
    plan = tl_templates.plan_strategy("fine_tune_top", BACKBONE)  # block3, block4, top
    plan.fine_tune_learning_rate = 1e-3  # large enough for the weights to move clearly
    trained = []
    for cache in (True, False):
        keras.utils.set_random_seed(0)
        model, backbone = build_classifier(plan)
        start = weights_by_layer(backbone)
        phases = tl_templates.train_classifier(
            model, plan, tiny_data(24, 1), tiny_data(9, 2), head_epochs=1, fine_tune_epochs=2,
            batch_size=8, output_dir=tmp_path / str(cache), verbose=0, restore_best=False,
            cache_frozen_blocks=cache,
        )  # fmt: skip
        assert [phase.cached_features for phase in phases] == [cache, cache]
        trained.append([weight.numpy() for weight in model.weights])
    assert caching.cacheable_cut(model, 33) == "block2"
    after = weights_by_layer(backbone)
    moved = [
        name
        for name in after
        if any(not np.allclose(a, b) for a, b in zip(start[name], after[name], strict=True))
    ]
    assert moved  # fine-tuning changed the top blocks ...
    for cached, whole in zip(*trained, strict=True):  # ... the same way with and without the cache
        np.testing.assert_allclose(cached, whole, rtol=1e-4, atol=1e-5)


def test_prefix_outputs_too_big_for_memory_are_not_cached():
    plan = tl_templates.plan_strategy("fine_tune_top", BACKBONE)
    model, _ = build_classifier(plan)
    tl_templates.set_trainable(model, plan.trainable_blocks)
    block2_bytes = 8 * 8 * 48 * 4  # one image's block2 output, float32
    assert caching.cacheable_cut(model, 10, limit_bytes=10 * block2_bytes) == "block2"
    assert caching.cacheable_cut(model, 11, limit_bytes=10 * block2_bytes) is None
