"""Multi-task experiment helpers: a trunk shared or not, seeded training, scores, face folders."""

import keras
import numpy as np
import pytest

import tl_templates
from tl_templates import paths
from tl_templates.experiments import trunk as mt

HEADS = [tl_templates.TaskHead("gender", "binary"),
         tl_templates.TaskHead("age", "regression", target_mean=40, target_std=20)]  # fmt: skip


def data(count=64, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(count, 8)).astype("float32")
    genders = (features[:, 0] > 0).astype("float32")
    ages = (40 + 20 * features[:, 1]).astype("float32")
    return features, {"gender": genders, "age": ages}


def compiled(heads, uncertainty=False, seed=0):
    keras.utils.set_random_seed(seed)
    model = mt.build_trunk_model((8,), heads, trunk_units=16, uncertainty_weighting=uncertainty)
    weights = None if uncertainty else {head.name: 1.0 for head in heads}
    losses = {head.name: head.loss() for head in heads}
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=losses, loss_weights=weights,
                  jit_compile=False)  # fmt: skip
    return model


def test_shared_trunk_learns_both_tasks_from_a_seeded_order():
    features, labels = data()
    model = compiled(HEADS)
    before = mt.task_scores(model, HEADS, features, labels)
    mt.fit_task_steps(model, features, labels, steps=60, batch_size=16, seed=1)
    after = mt.task_scores(model, HEADS, features, labels)
    assert after["gender_accuracy"] > max(0.8, before["gender_accuracy"])
    assert after["age_mae"] < before["age_mae"]
    again = compiled(HEADS)
    mt.fit_task_steps(again, features, labels, steps=60, batch_size=16, seed=1)
    for mine, theirs in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_single_task_trunk_and_learned_weights():
    features, labels = data()
    single = compiled(HEADS[:1])
    assert list(single.output) == ["gender"]
    mt.fit_task_steps(single, features, {"gender": labels["gender"]}, steps=5, batch_size=16)
    learned = compiled(HEADS, uncertainty=True)
    mt.fit_task_steps(learned, features, labels, steps=30, batch_size=16)
    weights = learned.uncertainty_layer().weights_by_task()
    assert set(weights) == {"gender", "age"} and weights["gender"] != 1.0


def test_task_scores_refuses_other_kinds():
    head = tl_templates.TaskHead("objects", "multilabel", units=2)
    model = mt.build_trunk_model((8,), [head])
    with pytest.raises(ValueError, match="'objects' of kind 'multilabel'"):
        mt.task_scores(model, [head], np.zeros((2, 8)), {"objects": np.zeros(2)})


def test_load_face_folder_reads_the_bundled_labels_csv():
    images, genders, ages = mt.load_face_folder(paths.SAMPLES_DIR / "faces", 24, limit=10)
    assert images.shape == (10, 24, 24, 3) and images.dtype == np.uint8
    assert set(np.unique(genders)) <= {0.0, 1.0}
    assert np.all((ages >= 0) & (ages <= 120))
