"""Batch runs: the walk of a source folder and the supervised worker pool that de-identifies it."""
