"""A phase-only input SLM made visible (#22): the Zernike filter's image against the analytic
``|1 + i phi|^2 ~ 1 + 2 phi``, and registration and the input phase LUT on a small bench with
two phase-only SLMs and a manual shutter answered by the simulator; the input SLM's panel map
through the dots' own curves."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.limits import LIMITS, linearised_rms
from calibration.panel import panel_error
from calibration.phase_contrast import input_phase_lut, zernike_filter
from calibration.registration import register
from calibration.session import Session
from devices.config import load_bench


def test_zernike_filter_image_is_one_plus_two_phi(phase_bench):
    """Weak phase squares image as ``1 + 2 phi sin(theta)`` of the background through a
    filter of phase theta on the zero order: invisible without it (``|e^{i phi}|^2 = 1``),
    and with it an excess linear in phi (two phases, ratio of excesses = ratio of phases),
    of the analytic size up to the dilution by the light the filter does not shift (the
    Fourier SLM's gaps, 1 - 0.93^2 of the field, and the square's own share of the zero
    order). The true phases are read from the truth only to grade."""
    bench = phase_bench
    h, w = bench.input_slm.shape
    resp_in = np.asarray(bench.truth()["input_slm"]["response"], float)
    resp_f = np.asarray(bench.truth()["fourier_slm"]["response"], float)
    amap = bench.system.imaging_affine()
    centre = amap @ np.r_[h / 2 - 0.5, w / 2 - 0.5, 1.0]
    r, c = int(round(centre[0])), int(round(centre[1]))

    def ratio(level: int, fourier: np.ndarray) -> float:
        levels = np.zeros((h, w), np.int64)
        levels[h // 2 - 12 : h // 2 + 12, w // 2 - 12 : w // 2 + 12] = level
        bench.display(levels, fourier)
        inside = bench.ideal_power()[r - 4 : r + 5, c - 4 : c + 5].mean()
        bench.display(np.zeros_like(levels), fourier)
        return float(inside / bench.ideal_power()[r - 4 : r + 5, c - 4 : c + 5].mean())

    plain = np.zeros(bench.fourier_slm.shape, np.int64)
    filt = zernike_filter(bench.fourier_slm.shape, 0.5 * np.pi, bench.fourier_slm.levels)
    theta = resp_f[filt.max()] - resp_f[0]
    phis = [resp_in[g] - resp_in[0] for g in (3, 6)]
    excess = [ratio(g, filt) - 1 for g in (3, 6)]
    assert ratio(6, plain) == pytest.approx(1.0, abs=0.01)
    assert excess[1] / excess[0] == pytest.approx(phis[1] / phis[0], rel=0.05)
    analytic = [2 * p * np.sin(theta) for p in phis]
    for got, want in zip(excess, analytic, strict=True):
        assert 0.6 * want < got < 1.0 * want


def test_registration_and_beam_on_a_phase_only_input_slm(phase_bench):
    bench = phase_bench
    session = Session(bench)
    reg = register(session, spacing=16, dot=4)
    truth = bench.truth()
    h, w = bench.input_slm.shape
    rr, cc = np.mgrid[:h, :w]
    pts = np.stack([rr.ravel(), cc.ravel(), np.ones(h * w)])
    err = np.sqrt(np.mean(np.sum(((reg.affine - np.asarray(truth["registration"])) @ pts) ** 2, 0)))
    assert err < 0.1  # camera px (the README's registration limit)
    waist = truth["beam_waist"] / bench.system.input_pitch
    assert reg.beam_waist_px == pytest.approx(waist, rel=0.05)
    assert session.manual_steps == {"registration": 1}  # the dark model (auto-exposure)


def test_input_phase_lut_and_panel_map_within_the_lut_limits(small_bench_config):
    """The mean curve within the LUT limit after linearisation; on a panel whose response
    varies across it (3 % rms, as two_phase_slms.yaml), the map through the dots' scales
    within the panel limit (0.038 rad here; seeds 8, 9: 0.040, 0.039) where a uniform
    response leaves 0.109 (0.128, 0.128)."""
    cfg = small_bench_config
    cfg["input_slm"] = {"driver": "simulated", "profile": "holoeye_pluto2", "modulation": "phase"}
    cfg["shutter"] = "manual"
    cfg["imperfections"]["lut"]["panel_spread"] = 0.03
    with load_bench(cfg) as bench:
        session = Session(bench)
        r = input_phase_lut(session, step=16)
        t = bench.truth()["input_slm"]
    true = np.asarray(t["response"], float)
    n = len(r.curve)
    err = linearised_rms(true - true[0], r.inverse, 2 * np.pi * np.arange(n) / n)
    assert err < 0.05, err
    assert session.manual_steps == {"lut.input_slm": 1}  # the dark model, once
    args = (true, t["panel"], "phase")
    got, uniform = panel_error(r.curve, r.panel, *args), panel_error(r.curve, None, *args)
    assert got <= LIMITS["lut_panel_phase"].value < uniform, (got, uniform)
    assert got < 0.5 * uniform


def test_dot_grid_too_large_for_the_slm_is_refused_in_one_line(phase_bench):
    with pytest.raises(CalibrationError, match=r"spacing 96 px .* at most 64 px") as exc:
        register(Session(phase_bench), spacing=96)
    assert "\n" not in str(exc.value)
