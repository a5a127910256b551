"""A simulated bench in time: its clock (refreshes, exposures, idle time, batched captures)
and the drift of its hidden imperfections at the bench YAML's rates."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from devices.config import BenchConfigError, load_bench
from tests.calibration.conftest import SMALL

DRIFT = {"camera_shift": "0.5 px/h", "fourier_decentre": "0.3 px/min", "focal": "1e-3/h",
         "laser_power": "2 %/h", "camera_rotation": "0.1 deg/h"}  # fmt: skip


def _cfg(drift=DRIFT) -> dict:
    cfg = copy.deepcopy(SMALL)
    if drift is not None:
        cfg["imperfections"]["drift"] = dict(drift)
    return cfg


def test_clock_counts_refreshes_exposures_and_idle_time():
    with load_bench(_cfg()) as bench:
        assert bench.time == 0.0
        bench.input_slm.display(np.zeros(bench.input_slm.shape, int))
        bench.fourier_slm.display(np.zeros(bench.fourier_slm.shape, int))
        assert bench.time == pytest.approx(2 / 60.0)  # holoeye_pluto2: 60 Hz refresh
        bench.camera.set_exposure(2e-3)
        bench.camera.capture(3)
        assert bench.time == pytest.approx(2 / 60.0 + 3 * 2e-3)
        bench.advance(100.0)
        assert bench.time == pytest.approx(100.0 + 2 / 60.0 + 6e-3)
        assert bench.truth()["clock_s"] == pytest.approx(bench.time)
        t0 = bench.time
        bench.advance_batch(n_images=5, n_frames=2)  # what a batched capture adds
        assert bench.time - t0 == pytest.approx(2 / 60 + 10 / 60 + 10 * 2e-3)
        with pytest.raises(ValueError, match="advance"):
            bench.advance(-1.0)


def test_static_imperfections_do_not_move_when_drift_is_added():
    with load_bench(_cfg(None)) as still, load_bench(_cfg()) as drifting:
        assert still.truth()["imperfections"] == drifting.truth()["imperfections"]
        assert still.truth()["drift"] is None


def test_drift_at_the_yaml_rates():
    with load_bench(_cfg()) as bench:
        t0 = bench.truth()
        bench.advance(1800.0)  # half an hour
        t1 = bench.truth()
    i0, i1 = t0["imperfections"], t1["imperfections"]
    shift = np.subtract(i1["camera_shift"], i0["camera_shift"])
    assert np.hypot(*shift) == pytest.approx(0.25, rel=1e-9)  # 0.5 px/h for 0.5 h
    dec = np.subtract(i1["fourier_decentre"], i0["fourier_decentre"])
    assert np.hypot(*dec) == pytest.approx(9.0, rel=1e-9)  # 0.3 px/min for 30 min
    assert np.abs(np.subtract(i1["focal_error"], i0["focal_error"])) == pytest.approx([5e-4] * 2)
    assert abs(t1["laser_power"] / t0["laser_power"] - 1) == pytest.approx(0.01)
    assert abs(i1["camera_rotation"] - i0["camera_rotation"]) == pytest.approx(np.deg2rad(0.05))
    # the truth's geometry follows: the Fourier centre moves with the decentring
    assert np.hypot(*np.subtract(t1["fourier_centre_px"], t0["fourier_centre_px"])) == (
        pytest.approx(9.0)
    )


def test_the_camera_image_moves_by_the_drift():
    """Physics, not bookkeeping: a dot's image on the camera (noiseless power centroid) moves
    by the drifted camera shift (rotation and focal drift off, the dot near the centre)."""
    drift = {"camera_shift": "2 px/h"}
    cfg = _cfg(drift)
    cfg["imperfections"]["noise"] = {"stray_light": 0}  # the dot alone: no background
    with load_bench(cfg) as bench:
        h, w = bench.input_slm.shape
        dot = np.zeros((h, w), int)
        dot[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2] = bench.input_slm.levels - 1
        bench.input_slm.display(dot)

        def centroid() -> np.ndarray:
            p = bench.ideal_power().astype(np.float64)
            rr, cc = np.indices(p.shape)
            return np.array([(rr * p).sum(), (cc * p).sum()]) / p.sum()

        c0, s0 = centroid(), np.array(bench.truth()["imperfections"]["camera_shift"])
        bench.advance(3600.0)
        c1, s1 = centroid(), np.array(bench.truth()["imperfections"]["camera_shift"])
    assert np.hypot(*(s1 - s0)) == pytest.approx(2.0, rel=1e-3)
    assert c1 - c0 == pytest.approx(s1 - s0, abs=0.02)


def test_walk_is_seeded_and_continuous():
    cfg = _cfg({"camera_shift": "1 px/h", "walk": 0.5})
    with load_bench(cfg) as a, load_bench(cfg) as b:
        a.advance(5000.0)
        b.advance(2000.0)
        b.truth()
        b.advance(3000.0)
        assert a.truth()["imperfections"] == b.truth()["imperfections"]
        off = a.drift.offsets
        assert np.abs(off(3599.999) - off(3600.001)).max() < 1e-5  # hour blocks join


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        (0.5, "camera_shift: 0.5 has no time unit"),
        ("0.5 px", "camera_shift: '0.5 px' has no time unit"),
        ("0.5 mm/h", "camera_shift: unknown rate unit"),
        ("-1 px/h", "camera_shift: got '-1 px/h'"),
    ],
)
def test_bad_rates_name_the_field(rate, message):
    with pytest.raises(BenchConfigError, match=message):
        load_bench(_cfg({"camera_shift": rate}))
