"""Learning: SCLC students (spectral linear optics + detection + electronic head), nonlinear
teachers, knowledge distillation, training, MAC counting and the experiment commands.

Trained models are read back with :func:`load_run` (a run folder -> ``(model, config)``,
sha256-verified; the loader for the compiler) or :func:`load_model` (a ``model.pt``).

Names are imported lazily so that ``fouroptics --help`` (which imports
``fouroptics.nn.commands``) does not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DETECTION_MODES": "detection",
    "Detection": "detection",
    "detect": "detection",
    "FeatureMatcher": "kd",
    "kd_loss": "kd",
    "count_macs": "macs",
    "build_model": "models",
    "SCLC": "sclc",
    "SpectralStack": "sclc",
    "apply_collapsed": "sclc",
    "SpectralConv2d": "spectral",
    "SpectralPool2d": "spectral",
    "spectral_crop": "spectral",
    "TeacherCNN": "teacher",
    "TeacherSegNet": "teacher",
    "load_model": "train",
    "load_run": "train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'fouroptics.nn' has no attribute {name!r}")
    return getattr(importlib.import_module(f"fouroptics.nn.{_EXPORTS[name]}"), name)
