"""How good a model is: confidence intervals, per-class reports, the confusion matrix."""
