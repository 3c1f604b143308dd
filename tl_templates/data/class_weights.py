"""Class weights for imbalanced data: each class counts as much in the loss as the others.

The imbalance figure is the doctor's (`tl-templates doctor`): the largest
class's training examples over the smallest's; from
`tl_templates.data.doctor.IMBALANCE_WARNING_RATIO` (3x) on, the doctor warns and
`class_weights = "auto"` weights the classes.
"""

import numpy as np

from tl_templates.data.doctor import IMBALANCE_WARNING_RATIO


def imbalance_ratio(labels, num_classes):
    """The largest class's examples over the smallest's (classes with none left out).

    Args:
        labels: np.ndarray. Integer labels.
        num_classes: int.

    Returns:
        float: 1.0 for balanced classes (or fewer than two present).
    """
    counts = np.bincount(np.asarray(labels, dtype="int64"), minlength=num_classes)
    present = counts[counts > 0]
    return float(present.max() / present.min()) if len(present) >= 2 else 1.0


def choose_class_weights(setting, labels, num_classes):
    """The weight of each class in the loss, or None for none.

    Balanced weights: class c weighs `n / (num_classes * count_c)`, so that
    every class adds the same total weight and the weights average 1 over
    the examples (the loss keeps its scale).

    Args:
        setting: bool or "auto". True: weight the classes; False: do not;
            "auto": weight them when `imbalance_ratio` is at least
            `IMBALANCE_WARNING_RATIO` (the doctor's warning).
        labels: np.ndarray. The training examples' integer labels.
        num_classes: int.

    Returns:
        dict class index -> float weight, or None.

    Examples:
    >>> import numpy as np, tl_templates
    >>> labels = np.array([0] * 8 + [1] * 2)
    >>> tl_templates.choose_class_weights("auto", labels, 2)
    {0: 0.625, 1: 2.5}
    >>> tl_templates.choose_class_weights("auto", np.array([0, 0, 1, 1, 1]), 2) is None
    True
    """
    if setting not in (True, False, "auto"):
        raise ValueError(
            f'class_weights is true, false or "auto". Received: class_weights={setting!r}.'
        )
    if setting is False or (
        setting == "auto" and imbalance_ratio(labels, num_classes) < IMBALANCE_WARNING_RATIO
    ):
        return None
    counts = np.bincount(np.asarray(labels, dtype="int64"), minlength=num_classes)
    return {
        index: round(float(len(labels) / (num_classes * count)), 6)
        for index, count in enumerate(counts) if count > 0
    }  # fmt: skip
