"""A small simulated bench as a bench-YAML mapping, for CLI tests."""

from __future__ import annotations

from typing import Any


def simulated_bench(system: dict[str, Any], name: str = "tiny", seed: int = 1) -> dict[str, Any]:
    """An aligned simulated bench over ``system`` (a system-YAML mapping): amplitude input SLM,
    phase Fourier SLM, the IMX174 camera at 1 ms, a flat 1 uW beam."""
    return {
        "name": name,
        "seed": seed,
        "system": system,
        "laser": {"power": "1 uW", "beam_waist": None},
        "input_slm": {"driver": "simulated", "modulation": "amplitude"},
        "fourier_slm": {"driver": "simulated", "modulation": "phase"},
        "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
    }
