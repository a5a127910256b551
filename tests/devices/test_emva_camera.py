"""SimulatedCamera against an independent photon-transfer (EMVA 1288) analysis done here."""

from __future__ import annotations

import numpy as np
import pytest

from devices.interface.errors import DeviceTimeout, InvalidSetting
from devices.simulated.camera import SimulatedCamera
from devices.simulated.emva import HC, EmvaParameters

SHAPE = (192, 192)

PARAMETER_SETS = {
    "cmos12": dict(
        quantum_efficiency=0.65,
        gain=0.25,
        read_noise=6.0,
        dark_current=40.0,
        full_well=10_000.0,
        bit_depth=12,
        black_level=64.0,
        dsnu=3.0,
        prnu=0.01,
    ),
    "scmos16": dict(
        quantum_efficiency=0.8,
        gain=2.0,
        read_noise=1.6,
        dark_current=3.0,
        full_well=30_000.0,
        bit_depth=16,
        black_level=100.0,
        dsnu=0.8,
        prnu=0.005,
    ),
    "ccd10": dict(
        quantum_efficiency=0.45,
        gain=0.05,
        read_noise=18.0,
        dark_current=120.0,
        full_well=18_000.0,
        bit_depth=10,
        black_level=32.0,
        dsnu=10.0,
        prnu=0.02,
    ),
}


def photon_transfer(cam: SimulatedCamera, photons: np.ndarray):
    """EMVA 1288 two-frame analysis: (mean DN, temporal variance DN^2) per photon level."""
    means, variances = [], []
    for mu_p in photons:
        a, b = cam.expose(mu_p, n_frames=2).astype(np.float64)
        means.append(0.5 * (a.mean() + b.mean()))
        variances.append(0.5 * np.var(a - b))
    return np.array(means), np.array(variances)


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_photon_transfer_curve_recovers_gain_read_noise_saturation_and_dark_current(name):
    p = PARAMETER_SETS[name]
    cam = SimulatedCamera(shape=SHAPE, pitch=5e-6, seed=11, exposure=0.01, **p)
    qe, k, fw = p["quantum_efficiency"], p["gain"], p["full_well"]

    # --- dark current: mean dark DN versus exposure, slope = K * mu_I --------------------
    times = np.array([0.01, 0.5, 1.0, 2.0, 4.0])
    dark_means = []
    for t in times:
        cam.exposure = t
        dark_means.append(cam.expose(0.0, n_frames=2).mean())
    slope = np.polyfit(times, dark_means, 1)[0]

    # --- photon transfer at a short exposure ---------------------------------------------
    cam.exposure = 0.01
    sat_photons = fw / qe
    photons = np.concatenate([[0.0], np.linspace(0.02, 1.0, 16) * sat_photons, [3 * sat_photons]])
    mu, var = photon_transfer(cam, photons)
    mu_dark, var_dark = mu[0], var[0]
    signal = mu - mu_dark
    # linear range: up to 70 % of the saturation signal (EMVA 1288 fit range)
    mu_sat = mu[-1]
    fit = (signal > 0) & (signal < 0.7 * (mu_sat - mu_dark))
    k_est = np.sum(signal[fit] * (var[fit] - var_dark)) / np.sum(signal[fit] ** 2)
    dark_current_est = slope / k_est
    read_est = np.sqrt((var_dark - 1 / 12) / k_est**2 - dark_current_est * 0.01)
    qe_est = np.polyfit(photons[fit], signal[fit], 1)[0] / k_est
    full_well_est = (mu_sat - mu_dark) / k_est

    assert abs(k_est / k - 1) < 0.02, k_est
    assert abs(read_est / p["read_noise"] - 1) < 0.05, read_est
    assert abs(dark_current_est / p["dark_current"] - 1) < 0.05, dark_current_est
    assert abs(qe_est / qe - 1) < 0.02, qe_est
    assert abs(full_well_est / fw - 1) < 0.02, full_well_est
    # the variance collapses once every pixel sits at the full well
    assert var[-1] < 0.2 * var[fit].max()


def test_saturation_is_reached_at_the_full_well_not_before():
    p = PARAMETER_SETS["cmos12"]
    cam = SimulatedCamera(
        shape=(64, 64), pitch=5e-6, seed=2, **{**p, "dsnu": 0, "prnu": 0, "read_noise": 0}
    )
    below = cam.expose(0.9 * p["full_well"] / p["quantum_efficiency"]).astype(float)
    above = cam.expose(1.5 * p["full_well"] / p["quantum_efficiency"])
    assert np.all(above == round(p["black_level"] + p["gain"] * p["full_well"]))
    assert below.mean() == pytest.approx(
        p["black_level"] + 0.9 * p["gain"] * p["full_well"], rel=0.01
    )


def test_frames_are_in_true_bit_depth_and_clip_at_the_adc():
    cam = SimulatedCamera(shape=(32, 32), pitch=5e-6, bit_depth=12, gain=1.0, full_well=1e6, seed=0)
    frame = cam.expose(1e6)
    assert frame.dtype == np.uint16 and frame.max() == 4095
    cam8 = SimulatedCamera(
        shape=(32, 32), pitch=5e-6, bit_depth=8, gain=0.02, black_level=5, full_well=10_000, seed=0
    )
    assert cam8.expose(100.0).dtype == np.uint8


def test_dsnu_and_prnu_maps_are_fixed_per_seed():
    kw = dict(shape=(48, 48), pitch=5e-6, dsnu=5.0, prnu=0.03)
    a, b, c = (SimulatedCamera(seed=s, **kw).truth() for s in (7, 7, 8))
    np.testing.assert_array_equal(a["dsnu_map"], b["dsnu_map"])
    np.testing.assert_array_equal(a["prnu_map"], b["prnu_map"])
    assert not np.allclose(a["dsnu_map"], c["dsnu_map"])
    assert np.std(a["dsnu_map"]) == pytest.approx(5.0, rel=0.1)
    assert np.std(a["prnu_map"]) == pytest.approx(0.03, rel=0.1)


def test_fixed_pattern_shows_in_averaged_frames_and_temporal_noise_does_not_repeat():
    cam = SimulatedCamera(
        shape=(48, 48), pitch=5e-6, dsnu=8.0, prnu=0.05, read_noise=3.0, gain=1.0, seed=3
    )
    truth = cam.truth()
    dark = cam.expose(0.0, n_frames=32).mean(axis=0)
    assert np.corrcoef(dark.ravel(), truth["dsnu_map"].ravel())[0, 1] > 0.95
    flat = cam.expose(4000.0, n_frames=32).mean(axis=0) - dark
    assert np.corrcoef(flat.ravel(), truth["prnu_map"].ravel())[0, 1] > 0.9
    f1, f2 = cam.expose(0.0), cam.expose(0.0)
    assert not np.array_equal(f1, f2)


def test_same_seed_gives_identical_frames():
    a = SimulatedCamera(shape=(16, 16), pitch=5e-6, seed=5).expose(100.0, n_frames=3)
    b = SimulatedCamera(shape=(16, 16), pitch=5e-6, seed=5).expose(100.0, n_frames=3)
    np.testing.assert_array_equal(a, b)


def test_capture_converts_power_to_photons_at_the_wavelength():
    cam = SimulatedCamera(
        shape=(64, 64),
        pitch=5e-6,
        wavelength=633e-9,
        exposure=2e-3,
        quantum_efficiency=0.5,
        gain=0.1,
        read_noise=0,
        dark_current=0,
        dsnu=0,
        prnu=0,
        black_level=0,
        full_well=1e6,
        bit_depth=16,
        seed=1,
    )
    photons = 20_000.0
    cam.set_source(photons * HC / 633e-9 / 2e-3)  # W per pixel giving 20000 photons
    mean = cam.capture(4, average=True).mean()
    assert mean == pytest.approx(0.1 * 0.5 * photons, rel=0.005)
    cam.set_source(lambda: np.zeros((64, 64)))
    assert cam.capture().max() == 0


def test_simulated_camera_timeout_and_recovery():
    cam = SimulatedCamera(shape=(16, 16), pitch=5e-6, exposure=0.2, seed=0)
    with pytest.raises(DeviceTimeout, match="SimulatedCamera"):
        cam.capture(10, timeout=1.0)
    assert cam.capture(2, timeout=1.0).shape == (2, 16, 16)


def test_bad_photon_maps_and_parameters_are_rejected():
    cam = SimulatedCamera(shape=(16, 16), pitch=5e-6, seed=0)
    for bad in (np.full((16, 16), np.nan), -1.0, np.zeros((8, 8))):
        with pytest.raises(InvalidSetting):
            cam.expose(bad)
    with pytest.raises(InvalidSetting):
        cam.set_source(np.full((16, 16), -1e-9))
    with pytest.raises(ValueError, match="camera.gain"):
        EmvaParameters(gain=0)
    with pytest.raises(ValueError, match="camera.quantum_efficiency"):
        SimulatedCamera(quantum_efficiency=1.5)
