"""Metric learning: mining, losses, recall@k and few-shot on hand-made embeddings."""

import keras
import numpy as np
import pytest

import tl_templates
from tl_templates.tasks import metric_learning as ml

# Six points on a line, two classes:
#   index:  0    1    2    3    4    5
#   label:  0    0    0    1    1    1
#   x:      0.0  1.0  3.0  3.5  5.0  2.5
POINTS = np.array([[0.0], [1.0], [3.0], [3.5], [5.0], [2.5]], "float32")
LABELS = np.array([0, 0, 0, 1, 1, 1])


def test_pairwise_distances_are_euclidean_with_finite_gradients():
    import tensorflow as tf

    distances = ml.pairwise_distances(POINTS).numpy()
    np.testing.assert_allclose(distances, np.abs(POINTS - POINTS.T), atol=1e-5)
    embeddings = tf.constant([[1.0, 0.0], [1.0, 0.0]])  # two identical points
    with tf.GradientTape() as tape:
        tape.watch(embeddings)
        total = tf.reduce_sum(ml.pairwise_distances(embeddings))
    assert np.isfinite(tape.gradient(total, embeddings).numpy()).all()


def test_batch_hard_mining_picks_farthest_positive_and_closest_negative():
    positive, negative, valid = (np.asarray(x) for x in ml.batch_hard_triplets(LABELS, POINTS))
    # anchor 0 (x=0): positives at 1, 3 -> farthest is 2; negatives 3.5, 5, 2.5 -> closest is 5.
    # anchor 3 (x=3.5): positives 5, 2.5 -> farthest is 4 (1.5 > 1.0); closest negative is 2.
    assert positive.tolist() == [2, 2, 0, 4, 5, 4]
    assert negative.tolist() == [5, 5, 3, 2, 2, 2]
    assert valid.all()
    # An anchor alone in its class has no positive: not a valid triplet.
    _, _, valid = ml.batch_hard_triplets(np.array([0, 0, 1]), POINTS[:3])
    assert np.asarray(valid).tolist() == [True, True, False]


def test_semi_hard_mining_picks_closest_negative_beyond_the_positive():
    negative, valid = (np.asarray(x) for x in ml.semi_hard_triplets(LABELS, POINTS))
    # (anchor 0, positive 1): d=1; negatives at 2.5 (d 2.5), 3.5, 5 -> closest farther is 5.
    assert negative[0, 1] == 5
    # (anchor 2, positive 0): d=3; negatives d: 0.5 (idx 3), 2 (idx 4), 0.5 (idx 5)
    # -> none farther than 3, so the farthest negative, 4.
    assert negative[2, 0] == 4
    # (anchor 3, positive 4): d=1.5; negatives d: 3.5 (0), 2.5 (1), 0.5 (2) -> idx 1.
    assert negative[3, 4] == 1
    assert valid.tolist() == [[LABELS[a] == LABELS[p] and a != p for p in range(6)]
                              for a in range(6)]  # fmt: skip


def test_triplet_and_contrastive_losses_match_hand_computation():
    # Batch-hard: one triplet per anchor, with the indices checked above.
    distances = np.abs(POINTS - POINTS.T)
    positive, negative, _ = (np.asarray(x) for x in ml.batch_hard_triplets(LABELS, POINTS))
    anchors = np.arange(6)
    expected = np.maximum(
        distances[anchors, positive] - distances[anchors, negative] + 0.2, 0
    ).mean()
    loss = ml.TripletLoss(margin=0.2, mining="batch_hard")(LABELS, POINTS)
    assert float(loss) == pytest.approx(expected, rel=1e-5)

    same = LABELS[:, None] == LABELS[None, :]
    off_diagonal = ~np.eye(6, dtype=bool)
    costs = np.where(same, distances**2, np.maximum(1.0 - distances, 0) ** 2)
    expected = costs[off_diagonal].mean()
    loss = ml.ContrastiveLoss(margin=1.0)(LABELS, POINTS)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="Known: 'batch_hard', 'semi_hard'"):
        ml.TripletLoss(mining="hardest")


def test_recall_at_k_on_a_hand_made_embedding():
    recall = ml.recall_at_k(POINTS, LABELS, ks=(1, 2, 3))
    # nearest: 0->1 ok, 1->0 ok, 2->{3,5} tie at 0.5 -> 3 (lower index) miss, 3->2 miss,
    # 4->3 ok, 5->2 miss  => R@1 = 3/6
    # two nearest: 2->{3,5} miss, 3->{2,5} 5 ok, 5->{2,3} 3 ok => R@2 = 5/6
    # three nearest: 2->{3,5,4 or 1}: d(2,1)=2=d(2,4) -> stable order picks 1: ok => 6/6
    assert recall == {1: pytest.approx(3 / 6), 2: pytest.approx(5 / 6), 3: pytest.approx(1.0)}


def test_nearest_centroid_few_shot():
    support = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    query = np.array([[1.0, 0.2], [0.3, 1.0], [0.6, 0.5]])
    accuracy = ml.nearest_centroid_accuracy(support, [0, 0, 1, 1], query, [0, 1, 1])
    assert accuracy == pytest.approx(2 / 3)
    rng = np.random.default_rng(0)
    clustered = np.concatenate([rng.normal(center, 0.05, (10, 2)) for center in ([1, 0], [0, 1])])
    mean, spread = ml.few_shot_accuracy(clustered, np.repeat([0, 1], 10), shots=2, episodes=5)
    assert mean == 1.0 and spread == 0.0


def test_embedding_model_trains_with_triplet_loss_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    model = ml.build_embedding_model("lab_glyphs", 8, input_shape=(32, 32, 3))
    tl_templates.set_trainable(model, [])  # frozen backbone: the head learns the metric
    rng = np.random.default_rng(0)
    # Two classes that differ in brightness, so a few steps can separate them.
    images = np.concatenate([rng.uniform(0, 80, (16, 32, 32, 3)),
                             rng.uniform(170, 255, (16, 32, 32, 3))]).astype("float32")  # fmt: skip
    labels = np.repeat([0, 1], 16)
    embeddings = model.predict(images, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ml.TripletLoss(0.5, "batch_hard"))
    before = float(model.evaluate(images, labels, batch_size=32, verbose=0))
    batches = ml.metric_dataset(images, labels, classes_per_batch=2, per_class=8)
    model.fit(batches, steps_per_epoch=15, epochs=1, verbose=0)
    after = float(model.evaluate(images, labels, batch_size=32, verbose=0))
    assert after < before
    path = tmp_path / "embedding.keras"
    model.save(path)
    loaded = tl_templates.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5
    )
    assert loaded.loss.get_config()["mining"] == "batch_hard"


def test_class_balanced_batches():
    labels = np.repeat(np.arange(5), 3)
    batch = next(ml.class_balanced_batches(labels, classes_per_batch=2, per_class=3))
    counts = np.bincount(labels[batch], minlength=5)
    assert sorted(counts[counts > 0].tolist()) == [3, 3]
    with pytest.raises(ValueError, match="classes_per_batch=6"):
        next(ml.class_balanced_batches(labels, classes_per_batch=6))


def test_full_mode_loader_reads_omniglot_from_tfds():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=5):
        images, labels = ml.load_tfds_characters("omniglot", "test", image_size=32)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (5,)
