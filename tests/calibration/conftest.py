"""A small, fast imperfect bench for calibration tests (same devices as misaligned_noisy)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from devices.config import load_bench

BENCHES = Path(__file__).resolve().parents[2] / "examples" / "benches"

SMALL = {
    "name": "small_noisy",
    "seed": 7,
    "system": {
        "wavelength": "532 nm",
        "f1": "30 mm",
        "f2": "30 mm",
        "input_slm": {"shape": [128, 128], "pitch": "8 um"},
        "fourier_slm": {"shape": [256, 256], "pitch": "8 um", "fill_factor": 0.93},
        "camera": {"shape": [256, 256], "pitch": "5.86 um"},
    },
    "laser": {"power": "0.25 uW", "beam_waist": "0.75 mm"},
    "imperfections": {
        "shift": 2.0,
        "rotation_deg": 0.5,
        "scale": 0.01,
        "fourier_decentre": 0.7,
        "laser_power": 0.1,
        "beam_offset": "75 um",
        "focal_error": 0.003,
        "aberration": 0.3,
        "lut": {"range_spread": 0.12, "gamma_spread": 0.3},
        "camera": {
            "gain": 0.05,
            "quantum_efficiency": 0.05,
            "read_noise": 0.15,
            "dark_current": 0.3,
        },
    },
    "input_slm": {
        "driver": "simulated",
        "profile": "holoeye_pluto2",
        "modulation": "amplitude",
        "gamma": 2.2,
        "amplitude_min": 0.02,
    },
    "fourier_slm": {"driver": "simulated", "profile": "holoeye_pluto2"},
    "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "2 ms"},
}


@pytest.fixture
def small_bench_config() -> dict:
    """A fresh copy of the small bench's mapping."""
    return copy.deepcopy(SMALL)


@pytest.fixture
def small_bench_yaml(tmp_path: Path) -> Path:
    """The small bench written as a YAML file (the CLI and the CalibrationSet need a file)."""
    path = tmp_path / "small_noisy.yaml"
    path.write_text(yaml.safe_dump(copy.deepcopy(SMALL)))
    return path


@pytest.fixture
def phase_bench(small_bench_config):
    """The small bench with a phase-only input SLM and a manual shutter (answered by the
    simulator)."""
    cfg = small_bench_config
    cfg["input_slm"] = {"driver": "simulated", "profile": "holoeye_pluto2", "modulation": "phase"}
    cfg["shutter"] = "manual"
    with load_bench(cfg) as bench:
        yield bench
