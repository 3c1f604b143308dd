"""How good a model is, and what it gets wrong.

`intervals` (confidence intervals), `reports` (per-class table, confusion matrix),
`mistakes` (the most confident wrong predictions), `bands` (a measure by band of a
number: age error by age band), `detection` (wake words: false accepts per hour and false
rejects against the threshold) and `curves` (precision-recall curves).
"""
