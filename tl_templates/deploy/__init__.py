"""Shipping a model: TFLite and SavedModel export with checks, predicting on folders of files."""
