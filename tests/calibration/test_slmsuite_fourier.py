"""slmsuite's fourier_calibrate through our adapters recovers the affine slmsuite's
SimulatedCamera was built with."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("slmsuite")

from calibration.errors import CalibrationError  # noqa: E402
from calibration.slmsuite_fourier import slmsuite_fourier_calibrate  # noqa: E402
from devices.hardware.slmsuite_adapter import make_camera, make_slm  # noqa: E402


def test_fourier_calibrate_recovers_the_simulated_cameras_affine():
    th = 0.05
    m = 1500 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    b = np.array([[130.0], [120.0]])
    state = np.random.get_state()  # noqa: NPY002 - slmsuite draws from the legacy global
    np.random.seed(0)  # noqa: NPY002
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slm = make_slm("SimulatedSLM", resolution=(256, 256), pitch_um=(8, 8), bitdepth=8)
        cam = make_camera(
            "SimulatedCamera",
            slm=slm,
            resolution=(256, 256),
            M=m,
            b=b,
            bitdepth=12,
            gain=40.0,
            pitch_um=(5, 5),
        )
    # slmsuite's simulated camera draws from numpy's global generator: seeded here (and put
    # back), the fit is the same every run (unseeded, 1 run in 56 failed outright, |dM| ~ 2 x
    # 1500); over 56 unseeded runs |dM| <= 0.53 % of 1500, |db| <= 0.05 px.
    try:
        got = slmsuite_fourier_calibrate(slm, cam, maxiter=30)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    assert np.abs(got["M"] - m).max() < 0.01 * 1500
    np.testing.assert_allclose(got["b"], b.ravel(), atol=0.15)


def test_our_simulated_devices_are_refused_with_a_pointer():
    with pytest.raises(CalibrationError, match="kspace_to_camera"):
        slmsuite_fourier_calibrate(object(), object())
