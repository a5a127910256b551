"""Experiment presets: ``quick`` (minutes on 2 CPU cores) and ``paper`` (the full runs)."""

from __future__ import annotations

from typing import Any

from fouroptics.errors import ConfigError

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "classify": {
        "quick": {
            "seeds": [0],
            "teacher": {"widths": [16, 32], "epochs": 4, "lr": 2e-3},
            "student": {"channels": [16, 32], "epochs": 6, "lr": 3e-3},
            "batch_size": 128,
        },
        # `fouroptics demo`: 8 optical channels, so a phase-only (double-phase) compile needs 8
        # exposures per image; sized to train in about a minute on one core.
        "demo": {
            "seeds": [0],
            "teacher": {"widths": [16, 32], "epochs": 3, "lr": 2e-3},
            "student": {"channels": [8, 8], "epochs": 6, "lr": 3e-3},
            "batch_size": 128,
        },
        "paper": {
            "seeds": [0, 1, 2],
            "teacher": {"widths": [32, 64], "epochs": 10, "lr": 1e-3},
            "student": {"channels": [16, 32], "epochs": 20, "lr": 3e-3},
            "batch_size": 128,
        },
    },
    "segment": {
        "quick": {
            "seeds": [0],
            "n_train": 2000,
            "n_test": 500,
            "teacher": {"width": 8, "epochs": 6, "lr": 3e-3},
            "student": {"channels": [16, 32], "epochs": 6, "lr": 3e-3},
            "batch_size": 32,
        },
        "paper": {
            "seeds": [0, 1, 2],
            "n_train": 8000,
            "n_test": 2000,
            "teacher": {"width": 16, "epochs": 15, "lr": 3e-3},
            "student": {"channels": [16, 32], "epochs": 20, "lr": 3e-3},
            "batch_size": 32,
        },
    },
    "resolution": {
        "quick": {
            "seeds": [0],
            "resolutions": [28, 56],
            "teacher": {"widths": [16, 32], "epochs": 3, "lr": 2e-3},
            "student": {"channels": [16, 32], "epochs": 5, "lr": 3e-3},
            "batch_size": 128,
        },
        "paper": {
            "seeds": [0, 1, 2],
            "resolutions": [28, 56, 112],
            "teacher": {"widths": [32, 64], "epochs": 15, "lr": 1e-3},
            "student": {"channels": [16, 32], "epochs": 20, "lr": 3e-3},
            "batch_size": 128,
        },
    },
}


def get_preset(task: str, name: str) -> dict[str, Any]:
    """A deep copy of the preset ``name`` for ``task``; raises naming the allowed values."""
    import copy

    if task not in PRESETS:
        raise ConfigError(f"unknown experiment {task!r}; allowed: {', '.join(PRESETS)}")
    if name not in PRESETS[task]:
        raise ConfigError(f"unknown preset {name!r}; allowed: {', '.join(PRESETS[task])}")
    return copy.deepcopy(PRESETS[task][name])
