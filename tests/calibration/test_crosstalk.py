"""SLM crosstalk the compiler does not know until calibration measures it (#16).

A small noisy bench whose Fourier SLM's true crosstalk differs from the profile's nominal
nearest-neighbour fringing in size and in form (asymmetric, second neighbours, acting on the
drive voltage before the LUT). The ``crosstalk`` routine measures it with the bench's devices
only; the tests grade the measured kernel against the hidden one by the field a double-phase
pattern realises, and show that refined double-phase compiled through the profile's belief
misses scipy's convolution on that bench while compiled through the measured kernel it is
back near the matched case. Nothing here compiles with ``bench.truth()``: the truth only
grades (the field error) and shows (the SLM's own fields).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from calibration.crosstalk import CROSSTALK_LIMIT, double_phase_field_error, measure_crosstalk
from calibration.lut import fourier_phase_lut
from calibration.session import Session
from devices.config import load_bench
from fouroptics.compiler import SLMModel, compile_kernels
from fouroptics.optics import FourFSystem
from fouroptics.optics.pixels import fringing_kernel

CROSSTALK = {"spread": 0.3, "asymmetry": 0.4, "width": 0.6}


def _bench(config: dict, seed: int, domain: str):
    cfg = dict(config, seed=seed)
    # no phase flicker (#17): the holoeye profile's 0.03 rad takes the compile error through
    # the measured kernel on seed 11 from 0.026 to 0.068 (the routine does not average it out)
    cfg["imperfections"] = dict(
        cfg["imperfections"], crosstalk={**CROSSTALK, "domain": domain}, noise={"flicker": 0}
    )
    cfg["system"] = dict(cfg["system"])
    cfg["system"]["fourier_slm"] = dict(cfg["system"]["fourier_slm"], fill_factor=1.0)
    return load_bench(cfg)


def _measure(bench) -> tuple[np.ndarray, object]:
    """The measured Fourier LUT (radians per level) and crosstalk, devices only."""
    session = Session(bench)
    lut = fourier_phase_lut(session, step=4)
    return lut.curve, measure_crosstalk(session, lut.curve, lut.inverse)


@pytest.fixture(scope="module")
def voltage_bench():
    from tests.calibration.conftest import SMALL

    bench = _bench(SMALL, 11, "voltage")
    curve, measured = _measure(bench)
    return bench, curve, measured


@pytest.mark.parametrize("seed", [3, 5, 8])
def test_measured_crosstalk_is_within_its_limit(seed) -> None:
    """On three seeds (domain drawn at random) the measured kernel realises a double-phase
    pattern's field within the README limit of the true one, and far closer than the profile's
    nominal fringing does."""
    from tests.calibration.conftest import SMALL

    bench = _bench(SMALL, seed, "random")
    _, measured = _measure(bench)
    t = bench.truth()["fourier_slm"]
    truth = (t["crosstalk"]["kernel"], t["crosstalk"]["domain"])
    curve = np.asarray(t["response"], float)
    err = double_phase_field_error(curve, (measured.kernel, measured.domain), truth)
    nominal = double_phase_field_error(curve, (fringing_kernel(0.05), "phase"), truth)
    assert err < CROSSTALK_LIMIT, (err, nominal, measured.axes, truth)
    assert err < nominal / 2, (err, nominal)


def _compile_error(bench, slm: SLMModel) -> float:
    rng = np.random.default_rng(3)
    kernels = rng.standard_normal((2, 7, 7))
    images = rng.random((3, 1, 16, 16))
    ref = np.stack(
        [np.stack([fftconvolve(im[0], k, mode="same") for k in kernels]) for im in images]
    )
    # a matched system with the bench's Fourier SLM grid (the bench's own input SLM is too
    # small for the compiler's blocks): the bench lends only its SLM
    n = bench.fourier_slm.shape[0]
    system = FourFSystem.from_dict(
        {
            "wavelength": "532 nm",
            "f1": "100 mm",
            "f2": "100 mm",
            "input_slm": {"shape": [n, n], "pitch": "8 um"},
            "fourier_slm": {"shape": [n, n], "pitch": "matched", "fill_factor": 1.0},
            "camera": {"shape": [n, n], "pitch": "matched"},
        }
    )
    bundle = compile_kernels(
        kernels, system, image_size=16, detection="ideal", encoding="double-phase", slm=slm
    )
    # shown by the bench's own SLM: its true LUT and crosstalk, the engine's ideal detection
    bundle.fourier_masks = bench.fourier_slm.fields(bundle.fourier_levels, fill_factor=False)
    out = bundle.simulate(images)
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def test_compile_through_the_measured_crosstalk_reproduces_fftconvolve(voltage_bench) -> None:
    """Refined double-phase compiled through the profile's belief (c = 0.05, phase domain)
    misses fftconvolve on a bench whose crosstalk is asymmetric, wider and acts on the drive
    voltage; compiled through the kernel and domain the bench's calibration measured, the
    error falls near the matched case (2-3 %)."""
    bench, curve, measured = voltage_bench
    table = np.exp(1j * curve)
    belief = SLMModel(8, "phase", response=table, fringing=0.05)
    calibrated = SLMModel(
        8,
        "phase",
        response=table,
        fringing=0.05,
        crosstalk=measured.kernel,
        crosstalk_domain=measured.domain,
        crosstalk_source="calibration",
    )
    profile_err = _compile_error(bench, belief)
    calibrated_err = _compile_error(bench, calibrated)
    assert profile_err > 0.15, profile_err
    assert calibrated_err < 0.05, (calibrated_err, measured.axes, measured.domain)
