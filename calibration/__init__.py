"""Bench calibration routines and the calibration file.

:class:`CalibrationSet` (:mod:`calibration.calset`) is the file; :func:`calibration.run.calibrate`
runs the routines (camera, LUTs, registration, Fourier plane) through a bench's devices.
"""

from calibration.calset import CalibrationSet

__all__ = ["CalibrationSet"]
