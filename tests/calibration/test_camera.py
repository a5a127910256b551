"""EMVA 1288 analysis: against the camera model's own parameters and, on the same frames,
against the emva1288 package (the standard's reference implementation)."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.camera import QUANTISATION_VAR, fit_gain, pair_stats
from devices.simulated.camera import SimulatedCamera

PHOTONS = np.linspace(0.0, 24000.0, 13)  # mean photons per pixel, below saturation


def _camera() -> SimulatedCamera:
    return SimulatedCamera(
        (96, 96),
        quantum_efficiency=0.6,
        gain=0.15,
        read_noise=6.0,
        dark_current=0.0,
        full_well=20000.0,
        bit_depth=12,
        black_level=50.0,
        dsnu=3.0,
        prnu=0.01,
        seed=11,
    )


def _pairs(cam: SimulatedCamera) -> list[tuple[np.ndarray, np.ndarray]]:
    return [tuple(cam.expose(float(p), 2)) for p in PHOTONS]


def test_photon_transfer_recovers_gain_and_read_noise():
    cam = _camera()
    pairs = _pairs(cam)
    stats = np.array([pair_stats(a, b) for a, b in pairs])
    mu, var = stats[:, 0] - stats[0, 0], stats[:, 1] - stats[0, 1]
    k = fit_gain(mu, var, saturation=mu[-1] / 0.7 + 1)
    assert k == pytest.approx(0.15, rel=0.02)
    read = np.sqrt(stats[0, 1] - QUANTISATION_VAR) / k
    assert read == pytest.approx(6.0, rel=0.05)


def test_analysis_agrees_with_the_emva1288_package_on_the_same_frames(monkeypatch):
    emva = pytest.importorskip("emva1288.process.results")  # dev extra: the reference
    if not hasattr(np, "asfarray"):  # emva1288 1.0.2 still calls it (removed in NumPy 2)
        monkeypatch.setattr(np, "asfarray", lambda a: np.asarray(a, float), raising=False)
    from emva1288.process.data import Data1288
    from emva1288.process.results import Results1288
    from emva1288.process.routines import get_int_imgs

    cam = _camera()
    pairs = _pairs(cam)
    texp = 1e-3

    def temporal(a, b):
        d = get_int_imgs([a, b])
        return {"sum": np.sum(d["sum"]), "pvar": np.sum(d["pvar"]), "dmean": d["dmean"]}

    data = {
        "width": 96,
        "height": 96,
        "temporal": {texp: {float(p): temporal(*ab) for p, ab in zip(PHOTONS, pairs, strict=True)}},
        "spatial": {texp: {0.0: get_int_imgs(list(pairs[0])), 1.0: get_int_imgs(list(pairs[6]))}},
    }
    ref = Results1288(Data1288(data).data, loglevel=40)
    stats = np.array([pair_stats(a, b) for a, b in pairs])
    mu, var = stats[1:, 0] - stats[0, 0], stats[1:, 1] - stats[0, 1]
    saturation = mu[ref.index_u_ysat]
    k = fit_gain(mu, var, saturation)
    assert k == pytest.approx(ref.K, rel=1e-9)
    read = np.sqrt(stats[0, 1] - QUANTISATION_VAR) / k
    assert read == pytest.approx(ref.sigma_d, rel=1e-9)
    assert emva is not None
