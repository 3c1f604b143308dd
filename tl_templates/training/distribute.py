"""Distribution: one model trained on several devices or machines, with `tf.distribute`.

A strategy decides where the model's variables live and how each batch is
split. `choose_strategy` turns a project's `distribution` setting into one:

- `default`: TensorFlow's default strategy, one device (the GPU if there is one).
- `mirrored`: `tf.distribute.MirroredStrategy`, a copy of the model on each
  local GPU (on each logical CPU device where there is no GPU); every replica
  takes a slice of the batch and the gradients are averaged (all-reduce).
- `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy`, the same over
  several machines; the cluster and this process's place in it come from the
  `TF_CONFIG` environment variable, one process per machine running the same
  command.
- `tpu`: `tf.distribute.TPUStrategy` on the attached TPU (Colab, Kaggle, Cloud).
- `auto`: `multi_worker` when `TF_CONFIG` names a cluster, else a TPU if one
  is attached, else `mirrored` when there are two or more GPUs, else `default`.

Three things change under a strategy, and the templates do all three:

1. The batch size in the config is per replica; a step takes
   `global_batch_size(batch_size, strategy)` examples, split across replicas.
2. The model and its optimizer are built inside `strategy.scope()`, so their
   variables are mirrored; `fit()` then distributes the `tf.data` datasets
   itself (`strategy.experimental_distribute_dataset`).
3. With several workers, only the chief writes the outputs; the others write
   to a temporary folder that is deleted at the end (`worker_output_dir`).

A known limit on CPUs (seen with TensorFlow 2.21 and oneDNN, its default on
x86): a last batch with fewer examples than replicas leaves a replica with
none, and oneDNN's convolution returns an empty batch unchanged, so a CNN
fails on it (a shape error). With TF_ENABLE_ONEDNN_OPTS=0 the shapes are
right; or pick a batch_size whose last batches are not that small.

Examples:

>>> import tl_templates
>>> strategy = tl_templates.choose_strategy("default")
>>> tl_templates.global_batch_size(32, strategy)
32
"""

import atexit
import functools
import json
import os
import shutil
import tempfile
from pathlib import Path

DISTRIBUTIONS = ("auto", "default", "mirrored", "multi_worker", "tpu")


def check_distribution(distribution):
    """Raises a ValueError listing the valid names when `distribution` is not one."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"Unknown distribution. Received: distribution={distribution!r}. "
            f"Known distributions: {', '.join(DISTRIBUTIONS)}."
        )


def _tf_config_cluster():
    """The workers (and chief) that TF_CONFIG names, as `{task type: [addresses]}`."""
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return {}
    try:
        cluster = json.loads(text).get("cluster", {})
    except (ValueError, AttributeError):
        raise ValueError(
            f"TF_CONFIG is not valid JSON with a 'cluster' entry. Received: TF_CONFIG={text!r}. "
            'Example: {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}.'
        ) from None
    return {kind: cluster[kind] for kind in ("chief", "worker") if cluster.get(kind)}


def _tpu_resolver():
    """A TPUClusterResolver for the attached TPU, or None when there is none."""
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.TPUClusterResolver
    if tf.config.list_physical_devices("TPU"):
        return resolver(tpu="local")  # a TPU VM: the TPU is on this machine
    try:
        return resolver()  # Colab and Kaggle name their TPU in the environment
    except (ValueError, RuntimeError, ImportError):
        return None  # "Please provide a TPU Name to connect to.": no TPU here


def _tpu_strategy(resolver):
    import tensorflow as tf

    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def _mirrored_strategy():
    """MirroredStrategy over the local GPUs, or over the logical CPUs without a GPU."""
    import tensorflow as tf

    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    _fix_keras_for_replicas()
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def choose_strategy(distribution="auto"):
    """The `tf.distribute.Strategy` a `distribution` setting names (see the module docstring).

    `multi_worker` must be chosen before TensorFlow runs anything (at the
    start of the program), as `MultiWorkerMirroredStrategy` requires.

    Args:
        distribution: str. `auto`, `default`, `mirrored`, `multi_worker` or `tpu`.

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: an unknown name, `tpu` without a TPU, `multi_worker`
            without a TF_CONFIG cluster.

    Examples:

    >>> import tl_templates
    >>> tl_templates.choose_strategy("mirrored").num_replicas_in_sync >= 1
    True
    """
    check_distribution(distribution)
    import tensorflow as tf

    if distribution == "auto":
        if _tf_config_cluster():
            distribution = "multi_worker"
        elif (resolver := _tpu_resolver()) is not None:
            return _tpu_strategy(resolver)
        elif len(tf.config.list_physical_devices("GPU")) >= 2:
            distribution = "mirrored"
        else:
            distribution = "default"  # one GPU or none: one device, no copies to keep in sync

    if distribution == "default":
        return tf.distribute.get_strategy()
    if distribution == "mirrored":
        return _mirrored_strategy()
    if distribution == "multi_worker":
        if not _tf_config_cluster():
            raise ValueError(
                "distribution='multi_worker' needs the TF_CONFIG environment variable: the "
                "cluster's addresses and this process's task, e.g. "
                '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}. Set it on every machine, or use '
                "distribution='mirrored' for the GPUs of one machine."
            )
        _fix_keras_for_replicas()
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = _tpu_resolver()
    if resolver is None:
        raise ValueError(
            "distribution='tpu' but no TPU was found (on Colab: Runtime > Change runtime type "
            "> TPU). Use distribution='auto' to take whatever this machine has."
        )
    return _tpu_strategy(resolver)


def _fix_keras_for_replicas():
    """Works around Keras issue 20585: `fit()` fails under MultiWorkerMirroredStrategy,
    and under MirroredStrategy when a dataset's first batch splits unevenly.

    Keras 3 (reported since TensorFlow 2.16; still so in Keras 3.15, tested here)
    has two bugs:

    1. Before the first step it builds the model from a batch averaged over the
       replicas with `strategy.reduce("MEAN", batch)`. MultiWorkerMirroredStrategy
       cannot reduce a structure such as `(images, labels)` ("Attempt to convert
       a value (PerReplica...) to a Tensor"); MirroredStrategy fails when the
       replicas' parts differ in size (9 validation clips on 2 replicas: 5 and 4,
       "Inputs to operation AddN ... must have the same size and shape"). Only
       the batch's shapes matter for building, so this builds from the first
       local replica's part of the batch, on both strategies.
    2. (MultiWorkerMirroredStrategy only) After each step it averages the
       logged metrics over the replicas along axis 0, which scalars do not
       have ("Invalid reduction dimension 0"). Those values are already the
       same on every replica (metric variables are summed over all replicas
       when updated), so this takes the first local one, as Keras does on TPUs.

    Other strategies keep Keras' own code. Runs once per process; a Keras whose
    internals differ (a later, fixed version) is left as it is.
    """
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    original_build = getattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build", None)
    original_reduce = getattr(trainer, "reduce_per_replica", None)
    already_fixed = getattr(trainer, "_tl_templates_multi_worker_fix", False)
    if already_fixed or original_build is None or original_reduce is None:
        return

    def is_multi_worker(strategy):
        return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)

    def is_mirrored(strategy):
        return is_multi_worker(strategy) or isinstance(strategy, tf.distribute.MirroredStrategy)

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or not is_mirrored(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tree.map_structure(
                lambda value: strategy.experimental_local_results(value)[0], next(batches)
            )
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction == "auto" and is_multi_worker(strategy):
            reduction = "first"
        return original_reduce(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    trainer._tl_templates_multi_worker_fix = True


def global_batch_size(batch_size, strategy):
    """Examples per step over all replicas: `batch_size` on each replica.

    Args:
        batch_size: int. Examples per replica (the config's `batch_size`).
        strategy: tf.distribute.Strategy.

    Returns:
        int. `batch_size * strategy.num_replicas_in_sync`.
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1. Received: batch_size={batch_size!r}.")
    return int(batch_size) * strategy.num_replicas_in_sync


def describe_strategy(strategy):
    """One line: the strategy's class, its replicas and, with several workers, this one's role."""
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"  # its class is named CollectiveAllReduceStrategy
    elif not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
        name = "default strategy"
    else:
        name = type(strategy).__name__
    line = f"{name}, {strategy.num_replicas_in_sync} replica(s)"
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and resolver.task_type:
        role = "chief" if is_chief(strategy) else "worker"
        line += f", this process: {resolver.task_type} {resolver.task_id} ({role})"
    return line


def is_chief(strategy):
    """Whether this process writes the outputs: True except on non-chief workers.

    The chief is the `chief` task if the cluster has one, else worker 0 (the
    convention of TensorFlow's multi-worker guide).
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_output_dir(output_dir, strategy, restart=False):
    """Where this process writes: `output_dir` for the chief, a temporary folder for others.

    Every worker runs the same code, saves and checkpoints included, but only
    the chief's files are kept. A non-chief worker's folder starts as a copy of
    the chief's checkpoints and history when it can see them (a shared or
    local file system), so that after an interruption every worker resumes at
    the same epoch; with `restart` it starts empty, as the chief does. It is
    deleted when the process exits, as TensorFlow's multi-worker guide does
    with the workers' copies.

    Args:
        output_dir: str or Path. The run's output folder (the chief's).
        strategy: tf.distribute.Strategy.
        restart: bool. The run starts over (train.py --restart).

    Returns:
        Path.
    """
    output_dir = Path(output_dir)
    if is_chief(strategy):
        return output_dir
    resolver = strategy.cluster_resolver
    folder = Path(
        tempfile.mkdtemp(prefix=f"{output_dir.name}-{resolver.task_type}{resolver.task_id}-")
    )
    if not restart:
        if (output_dir / "checkpoints").is_dir():
            shutil.copytree(output_dir / "checkpoints", folder / "checkpoints")
        for name in ("run.json", "history.csv", "metrics.json"):
            if (output_dir / name).is_file():
                shutil.copy2(output_dir / name, folder / name)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def in_model_scope(function):
    """Runs `function(model, ...)` inside the scope of the strategy `model` was built in.

    Training code creates variables (optimizers, a head model on cached
    features) that must live where the model's do. Decorating the function
    enters `model.distribute_strategy.scope()` around it; for a model built
    outside any strategy that is the default scope, which changes nothing.
    """

    @functools.wraps(function)
    def wrapper(model, *args, **kwargs):
        with model.distribute_strategy.scope():
            return function(model, *args, **kwargs)

    return wrapper


def use_logical_cpus(count):
    """Splits the CPU into `count` logical devices, so `mirrored` has `count` replicas.

    For trying a distribution without GPUs (and for the tests): the replicas
    share the same cores, so it is not faster. Must run before TensorFlow
    initialises its devices (at the start of the program).

    Args:
        count: int. Logical CPU devices to create.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    )
