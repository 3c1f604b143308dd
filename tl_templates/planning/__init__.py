"""Which strategy to train with and for how long: the advisor, `strategy = "auto"`, the phase budgets."""
