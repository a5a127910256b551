"""The error a calibration routine raises when it cannot succeed on this bench."""

from __future__ import annotations

from fouroptics.errors import FouropticsError


class CalibrationError(FouropticsError, RuntimeError):
    """A routine cannot succeed: no light, a saturated camera, an exposure out of range, a
    pattern that does not fit the SLM. The message says what to fix."""


class CalibrationWarning(UserWarning):
    """A calibration is used with another bench, or one whose YAML changed after it, or one
    measured out of its limits (:mod:`calibration.limits`)."""
