"""Bench calibration routines and the calibration file."""
