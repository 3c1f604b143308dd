"""What only the notebooks use: repeated seeded runs, target data sets, result tables and plots."""


def __getattr__(name):
    # `tl_templates.experiments` was a module before it became this package: its names still answer.
    from tl_templates import _moved

    return _moved.forward("experiments", "experiments", "experiments.runs", name)
