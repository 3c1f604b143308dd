"""How sure a test score is: the Wilson interval of an accuracy.

An accuracy measured on 20 test images is one draw of a binomial: 0.90 could
as well be 0.70 or 0.97. Below about 1,000 test examples the templates print
and save the 95% interval next to every accuracy. Wilson's score interval
(Wilson 1927) stays inside [0, 1] and keeps its coverage near 0 and 1, where
the textbook "p ± 1.96 standard errors" does not (Brown, Cai and DasGupta 2001).

This module imports no Keras or TensorFlow.
"""

import math
from statistics import NormalDist

# Test sets smaller than this get their interval printed next to the accuracy.
INTERVAL_BELOW_EXAMPLES = 1_000


def wilson_interval(correct, total, confidence=0.95):
    """`(low, high)`: the Wilson score interval of `correct` successes out of `total`.

    Args:
        correct: int or float. Successes (an accuracy times `total` is fine).
        total: int. Trials; 0 gives `(0.0, 1.0)`: nothing is known.
        confidence: float. Two-sided coverage.

    Examples:

    >>> from tl_templates.evaluation.intervals import wilson_interval
    >>> [round(bound, 3) for bound in wilson_interval(18, 20)]
    [0.699, 0.972]
    >>> [round(bound, 3) for bound in wilson_interval(900, 1000)]
    [0.88, 0.917]
    """
    if total <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    share = correct / total
    denominator = 1 + z**2 / total
    centre = (share + z**2 / (2 * total)) / denominator
    half_width = z * math.sqrt(share * (1 - share) / total + z**2 / (4 * total**2)) / denominator
    low = 0.0 if correct <= 0 else max(0.0, centre - half_width)
    high = 1.0 if correct >= total else min(1.0, centre + half_width)
    return low, high


def accuracy_with_interval(accuracy, total, confidence=0.95):
    """A dict for metrics.json: the accuracy, the test set's size and its interval.

    Examples:

    >>> from tl_templates.evaluation.intervals import accuracy_with_interval
    >>> accuracy_with_interval(0.9, 20)
    {'accuracy': 0.9, 'examples': 20, 'confidence': 0.95, 'low': 0.699, 'high': 0.972}
    """
    low, high = wilson_interval(accuracy * total, total, confidence)
    return {"accuracy": accuracy, "examples": int(total), "confidence": confidence,
            "low": round(low, 3), "high": round(high, 3)}  # fmt: skip


def describe_accuracy(accuracy, total, noun="examples", confidence=0.95):
    """`"0.900 (95% CI 0.699-0.972) on 20 held-out images"`: the interval only
    when `total` is below `INTERVAL_BELOW_EXAMPLES`.

    Examples:

    >>> from tl_templates.evaluation.intervals import describe_accuracy
    >>> describe_accuracy(0.9, 20, "images")
    '0.900 (95% CI 0.699-0.972) on 20 held-out images'
    >>> describe_accuracy(0.9, 5000, "images")
    '0.900 on 5000 held-out images'
    """
    text = f"{accuracy:.3f}"
    if total < INTERVAL_BELOW_EXAMPLES:
        low, high = wilson_interval(accuracy * total, total, confidence)
        text += f" ({confidence:.0%} CI {low:.3f}-{high:.3f})"
    return f"{text} on {total} held-out {noun}"
