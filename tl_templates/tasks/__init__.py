"""What a model learns: multi-task heads, masked losses and metrics, domain adaptation, metric learning."""
