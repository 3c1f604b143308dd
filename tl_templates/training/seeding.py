"""Reproducible runs: the same seed gives the same numbers."""

import keras


def seed_everything(seed, deterministic=False):
    """Seeds Python, NumPy and TensorFlow; optionally makes TensorFlow's ops deterministic.

    Seeding fixes the split, the initial weights, the shuffling and the
    dropout masks. That is not always enough for identical numbers: some
    TensorFlow ops (parallel reductions, most GPU kernels, `tf.data` with
    parallel calls) may add floating-point numbers in a different order from
    run to run. `deterministic=True` turns on TensorFlow's op determinism:
    two runs on the same machine and software then give identical results,
    at some cost in speed on a GPU. It stays on for the rest of the process.

    Call it before building the model.

    Args:
        seed: int. Any whole number.
        deterministic: bool. Also make TensorFlow's ops deterministic.

    Examples:

    >>> import numpy as np
    >>> import tl_templates
    >>> tl_templates.seed_everything(7)
    >>> first = np.random.rand()
    >>> tl_templates.seed_everything(7)
    >>> first == np.random.rand()
    True
    """
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
