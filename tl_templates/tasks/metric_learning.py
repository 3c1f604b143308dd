"""Deep metric learning: an embedding where distance means similarity.

Instead of a classifier over fixed classes, the network maps each image to a
point on the unit sphere, trained so that images of the same class lie close
together and images of different classes far apart. New classes then need no
retraining: a few examples of each (their centroid) are enough to classify by
the nearest centroid (few-shot), and retrieval is a nearest-neighbour search
(recall@k).

Losses work on a batch of `(labels, embeddings)`, as `fit()` passes them:
- contrastive (Hadsell et al. 2006): every pair of the batch goes through the
  same network, a Siamese network with shared weights; same-class pairs are
  pulled together, different-class pairs pushed beyond a margin;
- triplet (FaceNet, Schroff et al. 2015): an anchor should be closer to a
  positive (same class) than to a negative by a margin. Which triplets to use
  is the mining: batch-hard (Hermans et al. 2017) takes each anchor's farthest
  positive and closest negative; semi-hard takes, for each anchor-positive
  pair, the closest negative that is still farther than the positive.
The maths are plain functions; the Keras losses are thin wrappers.
"""

import keras
import numpy as np
from keras import ops


def pairwise_distances(embeddings):
    """Euclidean distances between all rows, `(n, n)`, with a safe gradient at 0."""
    embeddings = ops.convert_to_tensor(embeddings)
    dot = ops.matmul(embeddings, ops.transpose(embeddings))
    squared_norms = ops.diagonal(dot)
    squared = ops.maximum(squared_norms[:, None] - 2.0 * dot + squared_norms[None, :], 0.0)
    # sqrt has an infinite gradient at 0 (every diagonal entry): nudge, then zero.
    zero = ops.cast(squared <= 1e-12, squared.dtype)
    return ops.sqrt(squared + zero * 1e-12) * (1.0 - zero)


def _masks(labels):
    """`(positive, negative)` boolean `(n, n)` masks: same class but not itself, other class."""
    labels = ops.reshape(ops.convert_to_tensor(labels), (-1,))
    same = ops.equal(labels[:, None], labels[None, :])
    not_self = ops.logical_not(ops.eye(ops.shape(labels)[0], dtype="bool"))
    return ops.logical_and(same, not_self), ops.logical_not(same)


def contrastive_loss(labels, embeddings, margin=1.0):
    """Mean contrastive loss over all pairs of the batch.

    Same-class pairs cost `d ** 2`; different-class pairs cost
    `max(margin - d, 0) ** 2`.

    Args:
        labels: int tensor `(n,)`.
        embeddings: float tensor `(n, dim)`.
        margin: float. Distance beyond which different classes cost nothing.

    Returns:
        Scalar tensor.
    """
    distances = pairwise_distances(embeddings)
    positive, negative = _masks(labels)
    positive = ops.cast(positive, distances.dtype)
    negative = ops.cast(negative, distances.dtype)
    costs = positive * distances**2 + negative * ops.relu(margin - distances) ** 2
    return ops.sum(costs) / ops.maximum(ops.sum(positive) + ops.sum(negative), 1.0)


def batch_hard_triplets(labels, embeddings):
    """Batch-hard mining: each anchor's farthest positive and closest negative.

    Returns:
        `(positive_index, negative_index, valid)`, each `(n,)`: for anchor `i`,
        the chosen positive and negative examples; `valid[i]` is False when
        the batch holds no positive or no negative for it.
    """
    distances = pairwise_distances(embeddings)
    positive, negative = _masks(labels)
    positive_index = ops.argmax(ops.where(positive, distances, -1.0), axis=1)
    negative_index = ops.argmin(ops.where(negative, distances, np.inf), axis=1)
    valid = ops.logical_and(ops.any(positive, axis=1), ops.any(negative, axis=1))
    return positive_index, negative_index, valid


def semi_hard_triplets(labels, embeddings):
    """Semi-hard mining: for each anchor-positive pair, the closest negative farther away.

    For anchor `a` and positive `p`, the negative `n` with the smallest
    `d(a, n)` among those with `d(a, n) > d(a, p)`; if there is none, the
    farthest negative (as in TensorFlow Addons' TripletSemiHardLoss).

    Returns:
        `(negative_index, valid)`, each `(n, n)`: for the pair (anchor `a`,
        positive `p`), the chosen negative, and whether (a, p) is a real
        positive pair of an anchor that has a negative.
    """
    distances = pairwise_distances(embeddings)
    positive, negative = _masks(labels)
    anchor_positive = distances[:, :, None]  # (a, p, 1)
    anchor_negative = distances[:, None, :]  # (a, 1, n)
    farther = ops.logical_and(negative[:, None, :], anchor_negative > anchor_positive)
    semi_hard = ops.argmin(ops.where(farther, anchor_negative, np.inf), axis=2)
    farthest = ops.argmax(ops.where(negative, distances, -1.0), axis=1)
    negative_index = ops.where(ops.any(farther, axis=2), semi_hard, farthest[:, None])
    valid = ops.logical_and(positive, ops.any(negative, axis=1)[:, None])
    return negative_index, valid


def triplet_loss(labels, embeddings, margin=0.2, mining="semi_hard"):
    """Mean `max(d(a, p) - d(a, n) + margin, 0)` over the mined triplets.

    Args:
        labels: int tensor `(n,)`.
        embeddings: float tensor `(n, dim)`.
        margin: float.
        mining: str. `"batch_hard"` (one triplet per anchor) or `"semi_hard"`
            (one per anchor-positive pair).

    Returns:
        Scalar tensor.
    """
    distances = pairwise_distances(embeddings)
    if mining == "batch_hard":
        positive_index, negative_index, valid = batch_hard_triplets(labels, embeddings)
        anchor_positive = ops.take_along_axis(distances, positive_index[:, None], axis=1)[:, 0]
        anchor_negative = ops.take_along_axis(distances, negative_index[:, None], axis=1)[:, 0]
    elif mining == "semi_hard":
        negative_index, valid = semi_hard_triplets(labels, embeddings)
        anchor_positive = distances
        anchor_negative = ops.take_along_axis(distances, negative_index, axis=1)
    else:
        raise ValueError(
            f"Unknown mining. Received: mining={mining!r}. Known: 'batch_hard', 'semi_hard'."
        )
    valid = ops.cast(valid, distances.dtype)
    losses = ops.relu(anchor_positive - anchor_negative + margin) * valid
    return ops.sum(losses) / ops.maximum(ops.sum(valid), 1.0)


@keras.saving.register_keras_serializable(package="tl_templates")
class ContrastiveLoss(keras.losses.Loss):
    """`contrastive_loss` as a Keras loss: `y_true` labels, `y_pred` embeddings."""

    def __init__(self, margin=1.0, name="contrastive_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = margin

    def call(self, y_true, y_pred):
        return contrastive_loss(y_true, y_pred, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@keras.saving.register_keras_serializable(package="tl_templates")
class TripletLoss(keras.losses.Loss):
    """`triplet_loss` as a Keras loss: `y_true` labels, `y_pred` embeddings."""

    def __init__(self, margin=0.2, mining="semi_hard", name="triplet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if mining not in ("batch_hard", "semi_hard"):
            raise ValueError(
                f"Unknown mining. Received: mining={mining!r}. Known: 'batch_hard', 'semi_hard'."
            )
        self.margin = margin
        self.mining = mining

    def call(self, y_true, y_pred):
        return triplet_loss(y_true, y_pred, self.margin, self.mining)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "mining": self.mining}


def build_embedding_head(input_dim, embedding_dim=64, hidden_units=256, name="embedding_head"):
    """Pooled backbone features -> a small MLP -> unit-length embeddings.

    Args:
        input_dim: int. Size of the pooled backbone features.
        embedding_dim: int. Size of the embedding.
        hidden_units: int or None. Width of the hidden layer; None: linear.
        name: str.

    Returns:
        A `keras.Model`.
    """
    features = keras.Input(shape=(input_dim,), name="features")
    x = features
    if hidden_units:
        x = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(x)
    x = keras.layers.Dense(embedding_dim, name="projection", dtype="float32")(x)
    embeddings = keras.layers.UnitNormalization(name="embedding", dtype="float32")(x)
    return keras.Model(features, embeddings, name=name)


def build_embedding_model(
    backbone,
    embedding_dim=64,
    input_shape=None,
    weights="pretrained",
    hidden_units=256,
    name="embedding_model",
):
    """A registered backbone + pooling + an embedding head, L2-normalised.

    The head is a nested model named `embedding_head`: with a frozen backbone,
    train it alone on cached pooled features (`feature_model(model)`); its
    weights are the full model's.

    Args:
        backbone: str or keras.Model. A registered backbone name or a model.
        embedding_dim: int. Size of the embedding.
        input_shape: tuple or None. For a named backbone.
        weights: str or None. Passed to `build_backbone` for a named backbone.
        hidden_units: int or None. Hidden layer of the head; None: linear.
        name: str.

    Returns:
        A `keras.Model` from raw 0-255 RGB images to unit-length embeddings.

    Examples:

    >>> from tl_templates.tasks import metric_learning
    >>> model = metric_learning.build_embedding_model(
    ...     "lab_glyphs", 16, input_shape=(32, 32, 3), weights=None)
    >>> model.output.shape
    (None, 16)
    """
    if isinstance(backbone, str):
        from tl_templates.backbones.build import build_backbone

        backbone = build_backbone(backbone, input_shape=input_shape, weights=weights)
    images = keras.Input(shape=backbone.input.shape[1:], name="image")
    features = keras.layers.GlobalAveragePooling2D(name="pool")(backbone(images))
    head = build_embedding_head(features.shape[-1], embedding_dim, hidden_units)
    return keras.Model(images, head(features), name=name)


def feature_model(model):
    """Image -> pooled backbone features, the input of the embedding head (shared weights)."""
    return keras.Model(model.input, model.get_layer("pool").output, name="pooled_features")


def class_balanced_batches(labels, classes_per_batch=8, per_class=4, seed=0):
    """Endless index batches of `classes_per_batch` classes x `per_class` examples.

    Mining needs positives in every batch: random batches over many classes
    hold few same-class pairs.

    Yields:
        int arrays of `classes_per_batch * per_class` indices into `labels`.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    by_class = {label: np.flatnonzero(labels == label) for label in np.unique(labels)}
    classes = np.array(sorted(by_class))
    if len(classes) < classes_per_batch:
        raise ValueError(
            f"classes_per_batch={classes_per_batch} but the labels hold {len(classes)} classes."
        )
    while True:
        chosen = rng.choice(classes, classes_per_batch, replace=False)
        yield np.concatenate(
            [rng.choice(by_class[label], per_class, replace=len(by_class[label]) < per_class)
             for label in chosen]
        )  # fmt: skip


def metric_dataset(images, labels, classes_per_batch=8, per_class=4, seed=0):
    """An endless `tf.data.Dataset` of class-balanced `(images, labels)` batches."""
    import tensorflow as tf

    images = np.asarray(images)
    labels = np.asarray(labels, dtype=np.int64)
    batches = class_balanced_batches(labels, classes_per_batch, per_class, seed)

    def generate():
        for indices in batches:
            yield images[indices].astype(np.float32), labels[indices]

    size = classes_per_batch * per_class
    signature = (
        tf.TensorSpec((size, *images.shape[1:]), tf.float32),
        tf.TensorSpec((size,), tf.int64),
    )
    return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(2)


def _normalise(vectors):
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def recall_at_k(embeddings, labels, ks=(1, 2, 4, 8)):
    """Fraction of queries whose k nearest neighbours hold one of their class.

    Every example is a query against all the others (itself excluded), by
    Euclidean distance.

    Returns:
        `{k: recall}` with floats in [0, 1].

    Examples:

    >>> import numpy as np
    >>> from tl_templates.tasks import metric_learning
    >>> points = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> metric_learning.recall_at_k(points, [0, 0, 1, 1], ks=(1,))
    {1: 1.0}
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    squared = np.sum(embeddings**2, axis=1)
    distances = squared[:, None] - 2 * embeddings @ embeddings.T + squared[None, :]
    np.fill_diagonal(distances, np.inf)
    order = np.argsort(distances, axis=1, kind="stable")
    neighbour_labels = labels[order]
    return {
        k: float(np.mean(np.any(neighbour_labels[:, :k] == labels[:, None], axis=1))) for k in ks
    }


def nearest_centroid_accuracy(support, support_labels, query, query_labels):
    """Accuracy of classifying `query` by the nearest class centroid of `support`.

    Centroids are the mean support embedding of each class, re-normalised to
    unit length; distances are Euclidean between unit vectors (cosine order).
    """
    support_labels = np.asarray(support_labels)
    classes = np.unique(support_labels)
    centroids = _normalise([np.mean(support[support_labels == label], axis=0) for label in classes])
    predicted = classes[np.argmax(_normalise(query) @ centroids.T, axis=1)]
    return float(np.mean(predicted == np.asarray(query_labels)))


def few_shot_accuracy(embeddings, labels, shots=5, episodes=20, seed=0):
    """Nearest-centroid accuracy from `shots` examples per class, over random episodes.

    Each episode draws `shots` support examples per class; every other example
    is a query.

    Returns:
        `(mean accuracy, standard deviation over episodes)`.
    """
    rng = np.random.default_rng(seed)
    embeddings = np.asarray(embeddings)
    labels = np.asarray(labels)
    scores = []
    for _ in range(episodes):
        support = np.concatenate(
            [rng.choice(np.flatnonzero(labels == label), shots, replace=False)
             for label in np.unique(labels)]
        )  # fmt: skip
        query = np.setdiff1d(np.arange(len(labels)), support)
        scores.append(
            nearest_centroid_accuracy(
                embeddings[support], labels[support], embeddings[query], labels[query]
            )
        )
    return float(np.mean(scores)), float(np.std(scores))


def load_tfds_characters(name="omniglot", split="train", image_size=64, limit=None, data_dir=None):
    """Images and labels of a TFDS character dataset (full-size runs, Colab).

    Omniglot's `train` and `test` splits hold different characters (964 and
    659 classes): train the embedding on one, evaluate few-shot on the other.

    Returns:
        `(images, labels)`: uint8 `(n, image_size, image_size, 3)` and int `(n,)`.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    dataset = tfds.load(name, split=split, data_dir=data_dir, as_supervised=True)
    if limit is not None:
        dataset = dataset.take(limit)
    dataset = dataset.map(
        lambda image, label: (
            tf.cast(tf.image.resize(image, (image_size, image_size)), tf.uint8),
            label,
        )
    )
    images, labels = [], []
    for image, label in tfds.as_numpy(dataset):
        images.append(image if image.shape[-1] == 3 else np.repeat(image, 3, axis=-1))
        labels.append(label)
    return np.stack(images), np.array(labels, dtype=np.int64)
