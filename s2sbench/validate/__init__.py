"""Validation: speech recognition, text normalization and error rates for every clip."""
