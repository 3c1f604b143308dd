"""Helpers of the multi-task notebooks: hidden labels, task data, balanced batches, scores."""

import keras
import numpy as np
import pytest

import tl_templates
from tl_templates.experiments import multitask as mte


def test_hide_labels_hides_the_asked_share_and_keeps_the_rest():
    labels = np.random.default_rng(0).integers(0, 2, (2000, 4))
    hidden = mte.hide_labels(labels, 0.3, seed=1)
    unknown = np.isnan(hidden)
    assert 0.28 < unknown.mean() < 0.32
    assert np.array_equal(hidden[~unknown], labels[~unknown])
    assert np.array_equal(np.isnan(mte.hide_labels(labels, 0.3, seed=1)), unknown)
    assert not np.array_equal(np.isnan(mte.hide_labels(labels, 0.3, seed=2)), unknown)
    # A row is complete when none of its labels is unknown (NaN or -1).
    complete = mte.complete_rows(hidden)
    assert np.array_equal(complete, ~unknown.any(axis=1))
    assert list(mte.complete_rows([[1, 0], [1, -1], [np.nan, 0]])) == [True, False, False]
    with pytest.raises(ValueError, match="between 0 and 1"):
        mte.hide_labels(labels, 1.5)


def test_assign_examples_gives_disjoint_sets_of_the_asked_sizes():
    sets = mte.assign_examples({"a": 5, "b": 0, "c": 7}, total=20, seed=3)
    assert [len(sets[task]) for task in "abc"] == [5, 0, 7]
    assert not set(sets["a"]) & set(sets["c"])
    assert np.array_equal(mte.assign_examples({"a": 5}, 20, seed=3)["a"], sets["a"])
    with pytest.raises(ValueError, match="only 10"):
        mte.assign_examples({"a": 6, "b": 6}, total=10)


def test_labels_for_tasks_labels_each_example_for_its_own_task_only():
    sources = {"a": (np.zeros((3, 2)), np.array([1, 0, 1])),
               "b": (np.ones((2, 2)), np.array([0, 1])),
               "c": (np.full((4, 2), 2.0), np.array([3, 3, 1, 0]))}  # fmt: skip
    inputs, labels = mte.labels_for_tasks(sources, ["a", "c"])
    assert inputs.shape == (7, 2) and sorted(labels) == ["a", "b", "c"]
    assert np.array_equal(labels["a"][:3], [1, 0, 1]) and np.isnan(labels["a"][3:]).all()
    assert np.isnan(labels["c"][:3]).all() and np.array_equal(labels["c"][3:], [3, 3, 1, 0])
    assert np.isnan(labels["b"]).all()  # not chosen: unknown everywhere
    with pytest.raises(ValueError, match="Choose tasks among"):
        mte.labels_for_tasks(sources, ["d"])


def test_task_balanced_order_gives_every_task_its_share_of_each_batch():
    sizes = [50, 3, 10]
    order = mte.task_balanced_order(sizes, batch_size=8, steps=30, seed=0)
    batches = order.reshape(30, 8)
    task = np.digitize(batches, np.cumsum(sizes)[:-1])  # which task each index belongs to
    assert all(sorted(np.bincount(row, minlength=3)) == [2, 3, 3] for row in task)
    # Each task cycles through all of its examples before repeating one.
    first_task = order[task.ravel() == 0]
    assert sorted(first_task[:50]) == list(range(50))
    assert np.array_equal(order, mte.task_balanced_order(sizes, 8, 30, seed=0))
    with pytest.raises(ValueError, match="one example or more of each task"):
        mte.task_balanced_order([5, 5, 5], batch_size=2, steps=1)


def test_label_scores_and_tuned_thresholds():
    labels = np.array([[1, 0], [1, 1], [0, np.nan], [0, 0], [1, 1], [0, 0]], dtype=float)
    scores = np.array([[0.9, 0.3], [0.8, 0.4], [0.1, 0.9], [0.3, 0.1], [0.7, 0.35], [0.2, 0.2]])
    rows = mte.label_scores(labels, scores, thresholds=0.5)
    assert rows[0] == {"auc": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert rows[1]["recall"] == 0.0 and rows[1]["precision"] == 0.0 and rows[1]["auc"] == 1.0
    thresholds = mte.tuned_thresholds(labels, scores)
    assert thresholds[1] < 0.35  # label 2's positives score under 0.5: a lower threshold
    assert mte.label_scores(labels, scores, thresholds)[1]["f1"] == 1.0


def test_standardise_uses_the_training_statistics():
    train, other = np.array([[0.0, 10.0], [2.0, 30.0]]), np.array([[1.0, 20.0]])
    scaled_train, scaled_other = mte.standardise(train, other)
    assert np.allclose(scaled_train.mean(axis=0), 0) and np.allclose(scaled_other, 0, atol=1e-3)


def test_a_masked_task_does_not_move_the_shared_layer_or_its_head():
    """Single-task runs are the multi-task model with the other tasks' labels unknown."""
    heads = [tl_templates.TaskHead("a", "binary"), tl_templates.TaskHead("b", "binary")]
    features = keras.Input((6,))
    shared = keras.layers.Dense(4, activation="relu", name="shared")(features)
    outputs = {head.name: head.output_layer(shared) for head in heads}
    model = tl_templates.MultiTaskModel(features, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss={head.name: head.loss() for head in heads})  # fmt: skip
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(64, 6)).astype("float32")
    labels = {"a": (inputs[:, 0] > 0).astype("float32"), "b": np.full(64, np.nan, "float32")}
    b_before = [weight.numpy().copy() for weight in model.get_layer("b").weights]
    shared_before = model.get_layer("shared").get_weights()[0].copy()
    mte.fit_steps(model, inputs, labels, steps=5, batch_size=16)
    assert all(
        np.array_equal(before, weight.numpy())
        for before, weight in zip(b_before, model.get_layer("b").weights, strict=True)
    )
    assert not np.array_equal(shared_before, model.get_layer("shared").get_weights()[0])
    predictions = mte.predict(model, inputs)
    assert sorted(predictions) == ["a", "b"] and predictions["a"].shape == (64, 1)
    with pytest.raises(ValueError, match="cannot fill one batch"):
        mte.fit_steps(model, inputs[:4], {k: v[:4] for k, v in labels.items()}, 1, batch_size=16)


def test_load_tfds_multilabel_reads_mock_voc():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        images, labels = mte.load_tfds_multilabel("voc/2007", ["car", "person"], 32, count=10)
        assert images.shape == (10, 32, 32, 3) and images.dtype == np.uint8
        assert labels.shape == (10, 2) and set(np.unique(labels)) <= {0, 1}
        with pytest.raises(ValueError, match="has no class.*stop sign"):
            mte.load_tfds_multilabel("voc/2007", ["stop sign"], 32, count=2)
