"""The Fourier SLM's LUT through a phase-only input SLM (#22 item 3): two-beam fringes of a
sinusoidal grating's +-1 orders (calibration/phase_input.py), graded on a small simulated
bench against its hidden truth (read after the routine, to grade only), and its refusal of a
grating that does not fit."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.limits import linearised_rms
from calibration.phase_input import fourier_phase_lut_fringes
from calibration.session import Session


def test_fringe_lut_within_the_lut_limit(phase_bench):
    """The true response (its range 6.78 rad, off the nominal 2 pi) through the measured
    inverse leaves < 0.05 rad rms (the README's LUT limit); no dark frame is taken (the
    manual shutter is never asked for: the dark offset has no power at the fringes)."""
    session = Session(phase_bench)
    r = fourier_phase_lut_fringes(session, step=8)
    true = np.asarray(phase_bench.truth()["fourier_slm"]["response"], float)
    true = true - true[0]
    n = len(true)
    assert linearised_rms(true, r.inverse, 2 * np.pi * np.arange(n) / n) < 0.05
    assert abs(r.curve[-1] - true[-1]) < 0.1
    assert session.manual_steps.get("lut.fourier_slm", 0) <= 1  # auto-exposure's dark model


def test_fringe_lut_refuses_a_grating_that_does_not_fit(phase_bench):
    with pytest.raises(CalibrationError, match="do not fit the Fourier SLM") as e:
        fourier_phase_lut_fringes(Session(phase_bench), step=8, period=2)
    assert "\n" not in str(e.value)


def test_fourier_mapping_through_a_phase_cross_grating(phase_bench):
    """The Fourier routine's split regions on a phase-only input SLM's cross grating (the
    beam as its envelope): centre and scale within the README's limits (0.25 Fourier px,
    0.5 %), graded against the truth after the routine ran."""
    from calibration.fourier import fourier_mapping

    f = fourier_mapping(Session(phase_bench))
    t = phase_bench.truth()
    assert np.hypot(*np.subtract(f.centre_px, t["fourier_centre_px"])) < 0.25
    assert abs(f.scale / t["fourier_scale"] - 1) < 0.005
    assert f.kspace_to_camera is None  # its input dot does not show without a filter
