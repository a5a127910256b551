"""#16: the LUT by region of the panel (Fourier SLM: a per-region scale of the global curve;
input SLM: its gamma map through the registration) and the amplitude input SLM's phase coupling
(Young's slits on the Fourier camera), each within its limit against the hidden truth on two
seeds, and better than what a uniform LUT or no coupling leaves. The routines use only the
bench's devices; the truth is read here, for grading."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibration.coupling import coupling_error, measure_phase_coupling
from calibration.limits import LIMITS
from calibration.lut import amplitude_lut, fourier_phase_lut
from calibration.panel import input_panel, panel_error
from calibration.registration import register
from calibration.session import Session
from devices.config.bench_yaml import load_bench

NOISY = Path(__file__).resolve().parents[2] / "examples" / "benches" / "misaligned_noisy.yaml"


@pytest.mark.parametrize("seed", [1234, 7])
def test_regional_luts_and_phase_coupling_within_their_limits(seed) -> None:
    with load_bench(NOISY, seed=seed) as bench:
        session = Session(bench)
        fourier = fourier_phase_lut(session, step=8)
        amp = amplitude_lut(session, "input_slm", step=8)
        coupling = measure_phase_coupling(session, amp.curve)
        reg = register(session)
        coef, _ = input_panel(session, amp.curve, reg.affine)
        t = bench.truth()
    f_true, i_true = t["fourier_slm"], t["input_slm"]
    args = (f_true["response"], f_true["panel"], "phase")
    got, uniform = (
        panel_error(fourier.curve, fourier.panel, *args),
        panel_error(fourier.curve, None, *args),
    )
    print(f"seed {seed}: fourier panel {got:.4f} rad (uniform {uniform:.4f})")
    assert got <= LIMITS["lut_panel_phase"].value and got < 0.6 * uniform, (got, uniform)
    args = (i_true["response"], i_true["panel"], "amplitude")
    got, uniform = panel_error(amp.curve, coef, *args), panel_error(amp.curve, None, *args)
    print(f"seed {seed}: input panel {got:.5f} (uniform {uniform:.5f})")
    assert got <= LIMITS["lut_panel_amplitude"].value and got < 0.6 * uniform, (got, uniform)
    a = i_true["response"] / i_true["response"].max()
    got = coupling_error(coupling.curve, a, i_true["phase_coupling"])
    none = coupling_error(None, a, i_true["phase_coupling"])
    print(f"seed {seed}: phase coupling {got:.4f} rad (none {none:.4f})")
    assert got <= LIMITS["phase_coupling"].value and got < 0.5 * none, (got, none)
