"""Mixed precision and XLA: use what the accelerator offers, stay plain on a CPU.

Mixed precision computes in 16-bit floats and keeps the weights in float32:
about twice as fast on a recent GPU (`mixed_float16`, with loss scaling, which
Keras adds at compile time) or a TPU (`mixed_bfloat16`, which needs none), and
no gain on a CPU. The output layer must stay float32 so that the softmax and
the loss are computed safely: build it with `dtype="float32"`.

XLA (`jit_compile`) fuses a training step's operations into a few kernels:
faster steps on a GPU or TPU after a compile of seconds to minutes, which a
small CPU run never wins back.

Both settings take "auto" (decide from the hardware) or an explicit value, so
a project's config can switch them.
"""

import keras
import tensorflow as tf

PRECISIONS = ("auto", "mixed_float16", "mixed_bfloat16", "float32")


def accelerator():
    """The kind of device training will run on: `"tpu"`, `"gpu"` or `"cpu"`.

    A TPU counts once it is initialised (as a `TPUStrategy` does).

    Examples:

    >>> from tl_templates.training import acceleration
    >>> acceleration.accelerator() in ("tpu", "gpu", "cpu")
    True
    """
    if tf.config.list_logical_devices("TPU"):
        return "tpu"
    if tf.config.list_physical_devices("GPU"):
        return "gpu"
    return "cpu"


def choose_precision(setting="auto"):
    """The Keras dtype policy name for a `mixed_precision` setting.

    Args:
        setting: str or bool. `"auto"`: `mixed_float16` on a GPU,
            `mixed_bfloat16` on a TPU, `float32` on a CPU; or a policy name
            (`"mixed_float16"`, `"mixed_bfloat16"`, `"float32"`); True means
            "auto" and False means `"float32"`.

    Returns:
        str. A policy name for `keras.mixed_precision.set_global_policy`.

    Raises:
        ValueError: an unknown setting (the message lists the known ones).

    Examples:

    >>> import tl_templates
    >>> tl_templates.choose_precision("mixed_bfloat16"), tl_templates.choose_precision(False)
    ('mixed_bfloat16', 'float32')
    """
    if setting is True:
        setting = "auto"
    elif setting is False:
        setting = "float32"
    if setting not in PRECISIONS:
        raise ValueError(
            f"Unknown mixed_precision setting. Received: mixed_precision={setting!r}. "
            f"Known settings: {', '.join(PRECISIONS)} (or true / false)."
        )
    if setting != "auto":
        return setting
    return {"tpu": "mixed_bfloat16", "gpu": "mixed_float16"}.get(accelerator(), "float32")


def set_precision(setting="auto"):
    """Sets Keras's global dtype policy from a `mixed_precision` setting.

    Call it before building the model: layers take the policy that is global
    when they are made. Keep the output layer float32 (`dtype="float32"`).

    Args:
        setting: str or bool. See `tl_templates.choose_precision`.

    Returns:
        str. The policy now in force.

    Examples:

    >>> import tl_templates
    >>> tl_templates.set_precision("float32")
    'float32'
    """
    policy = choose_precision(setting)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def choose_jit_compile(setting="auto"):
    """Whether to compile training steps with XLA, from a `jit_compile` setting.

    Args:
        setting: str or bool. `"auto"`: on a GPU or TPU, not on a CPU (where
            the compile time is rarely won back); True or False: as given.

    Returns:
        bool. The value to pass as `model.compile(jit_compile=...)`.

    Raises:
        ValueError: an unknown setting.

    Examples:

    >>> import tl_templates
    >>> tl_templates.choose_jit_compile(True), tl_templates.choose_jit_compile(False)
    (True, False)
    """
    if isinstance(setting, str) and setting.lower() in ("true", "false"):
        setting = setting.lower() == "true"
    if not (isinstance(setting, bool) or setting == "auto"):
        raise ValueError(
            f"Unknown jit_compile setting. Received: jit_compile={setting!r}. "
            'Known settings: "auto", true, false.'
        )
    if setting == "auto":
        return accelerator() != "cpu"
    return setting
