"""Spec-sheet YAML profiles of real SLMs and cameras (each file names its source)."""
