"""The training loops and what they need: prefix caching, callbacks, resume, distribution, precision, saving."""


def __getattr__(name):
    # `tl_templates.training` was a module before it became this package: its names still answer.
    from tl_templates import _moved

    return _moved.forward("training", "training", "training.classifier", name)
