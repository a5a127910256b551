"""Spec-sheet profiles: each names its source and builds a simulated device."""

from __future__ import annotations

import numpy as np
import pytest

from devices.config import (
    BenchConfigError,
    DeviceContext,
    build_device,
    list_profiles,
    load_profile,
)
from devices.simulated.camera import SimulatedCamera
from devices.simulated.slm import SimulatedSLM
from fouroptics.optics import PixelGrid

EXPECTED = {
    "holoeye_pluto2": ("slm", (1080, 1920), 8e-6, 8),
    "ti_dlp7000": ("slm", (768, 1024), 13.68e-6, 1),
    "sony_imx174_cmos": ("camera", (1200, 1920), 5.86e-6, 12),
}


def test_required_profiles_exist_and_name_their_source():
    names = list_profiles()
    assert set(EXPECTED) <= set(names)
    for name in names:
        prof = load_profile(name)
        assert prof["kind"] in ("slm", "camera")
        assert len(prof["source"]) > 20 and "model" in prof


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_values_match_the_spec_sheets(name):
    kind, shape, pitch, bits = EXPECTED[name]
    role = "fourier_slm" if kind == "slm" else "camera"
    ctx = DeviceContext(role, None, 532e-9, np.random.SeedSequence(0))
    dev = build_device({"driver": "simulated", "profile": name}, ctx)
    assert isinstance(dev, SimulatedSLM if kind == "slm" else SimulatedCamera)
    assert dev.shape == shape and dev.pitch == pytest.approx(pitch) and dev.bit_depth == bits


def test_camera_profile_saturates_near_the_adc_ceiling():
    prof = load_profile("sony_imx174_cmos")
    assert prof["gain"] * prof["full_well"] + prof["black_level"] <= 2 ** prof["bit_depth"] + 100


def test_system_grid_overrides_profile_geometry_for_simulated_devices():
    grid = PixelGrid(shape=(32, 48), pitch=5e-6, name="camera")
    ctx = DeviceContext("camera", grid, 532e-9, np.random.SeedSequence(0))
    cam = build_device({"driver": "simulated", "profile": "sony_imx174_cmos"}, ctx)
    assert cam.shape == (32, 48) and cam.pitch == 5e-6 and cam.bit_depth == 12


def test_unknown_profile_lists_the_bundled_ones():
    with pytest.raises(BenchConfigError, match="holoeye_pluto2"):
        load_profile("no_such_device")
