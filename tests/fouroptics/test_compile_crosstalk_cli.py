"""``compile --calibration``: a calibration's measured crosstalk (kernel and domain) is what the
refinement and the realised masks go through, and compile.json says where the crosstalk came
from ("profile" without a crosstalk section, "calibration" with one)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fouroptics.cli import main
from fouroptics.compiler import MaskBundle
from fouroptics.optics.pixels import axis_kernel, crosstalk_response

ROOT = Path(__file__).resolve().parents[2]
MATCHED = str(ROOT / "examples" / "systems" / "matched.yaml")
CURVE = 2.1 * np.pi * (np.arange(256) / 255) ** 1.3
KERNEL = np.outer(axis_kernel(0.07, 0.02, 0.4), axis_kernel(0.03, 0.06, 0.3))


OTHER = np.outer(axis_kernel(0.05, 0.04, 0.3), axis_kernel(0.04, 0.05, 0.3))


def _calibration(path: Path, crosstalk: bool, tie: float = 3.0, other=OTHER) -> Path:
    """A calibration with the Fourier LUT and, with ``crosstalk``, a voltage-domain kernel
    whose phase-domain fit (``other``) had ``tie`` times the residual."""
    from calibration.calset import CalibrationSet

    sections = {"lut": {"fourier_slm": {"curve": CURVE, "inverse": np.arange(256)}}}
    if crosstalk:
        axes = {a: {"residual_voltage": 0.1, "residual_phase": 0.1 * tie} for a in ("rows", "c")}
        raw = {"kernel_voltage": KERNEL, "kernel_phase": other}
        sections["crosstalk"] = {"kernel": KERNEL, "domain": "voltage", "axes": axes, "raw": raw}
    return CalibrationSet(bench_name="test", sections=sections).save(path)


def test_a_tie_between_the_domains_hedges_the_compile(tmp_path, capsys) -> None:
    """Summed squared residuals within calibration.crosstalk.HEDGE_RATIO (1.1) of each other:
    compile.json keeps the other domain's kernel, and the refinement goes through both (the
    warning says so); 1.44 apart (residuals 1.2x), one domain."""
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.random.default_rng(1).standard_normal((1, 5, 5)))
    for tie, hedged in ((1.02, True), (1.2, False)):
        cal = _calibration(tmp_path / f"cal{tie}.h5", True, tie=tie)
        out = tmp_path / f"out{tie}"
        rc = main(
            ["compile", "--kernels", str(kernels), "--image-size", "16", "--system", MATCHED,
             "--detection", "intensity", "--encoding", "double-phase", "--slm",
             "holoeye_pluto2", "--calibration", str(cal), "--refine", "5", "--out", str(out),
             "--no-progress"]
        )  # fmt: skip
        assert rc == 0, capsys.readouterr().err
        report = json.loads((out / "compile.json").read_text())
        hedge = report["slm"]["crosstalk"]["hedge"]
        said = any("hedged: also through the phase domain" in w for w in report["warnings"])
        assert said == hedged
        if hedged:
            assert hedge["domain"] == "phase"
            np.testing.assert_allclose(hedge["kernel"], OTHER)
        else:
            assert hedge is None


@pytest.mark.parametrize("measured", [True, False], ids=["calibration", "profile"])
def test_compile_applies_the_measured_crosstalk(tmp_path, capsys, measured) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.random.default_rng(1).standard_normal((1, 5, 5)))
    cal = _calibration(tmp_path / "cal.h5", measured)
    out = tmp_path / "out"
    rc = main(
        ["compile", "--kernels", str(kernels), "--image-size", "16", "--system", MATCHED,
         "--detection", "intensity", "--encoding", "double-phase", "--slm", "holoeye_pluto2",
         "--calibration", str(cal), "--refine", "5", "--out", str(out), "--no-progress"]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    report = json.loads((out / "compile.json").read_text())
    xt = report["slm"]["crosstalk"]
    bundle = MaskBundle.load(out / "bundle.h5")
    lv = bundle.fourier_levels
    if measured:
        assert xt["source"] == "calibration" and xt["domain"] == "voltage"
        np.testing.assert_allclose(xt["kernel"], KERNEL)
        want = np.exp(1j * crosstalk_response(lv, CURVE, KERNEL, "voltage"))
        assert any("measured crosstalk (voltage domain" in w for w in report["warnings"])
    else:  # the profile's nominal fringing stays the belief
        assert xt["source"] == "profile" and xt["domain"] == "phase"
        c = report["slm"]["fringing"]
        w = np.array([c, 1 - 2 * c, c])
        want = np.exp(1j * crosstalk_response(lv, CURVE, np.outer(w, w), "phase"))
    np.testing.assert_allclose(bundle.fourier_masks, want, atol=1e-5)


def test_a_bundles_record_rebuilds_the_crosstalk_it_was_compiled_through() -> None:
    """finetune recompiles from the bundle's SLM record: the measured kernel and domain come
    back (a profile's record keeps only its fringing)."""
    from fouroptics.compiler import SLMModel

    slm = SLMModel(
        8, "phase", fringing=0.05, crosstalk=KERNEL, crosstalk_domain="voltage",
        crosstalk_source="calibration", crosstalk_hedge=OTHER,
    )  # fmt: skip
    info = json.loads(json.dumps(slm.describe()))
    again = SLMModel(8, "phase", **SLMModel.crosstalk_fields(info))
    np.testing.assert_allclose(again.kernel, KERNEL)
    assert again.crosstalk_domain == "voltage" and again.crosstalk_source == "calibration"
    np.testing.assert_allclose(again.crosstalk_hedge, OTHER)
    assert again.hedge_domain == "phase"
    plain = SLMModel(8, "phase", **SLMModel.crosstalk_fields(SLMModel(8, fringing=0.05).describe()))
    assert plain.crosstalk is None and plain.fringing == 0.05


def test_a_malformed_hedge_kernel_is_one_line_naming_the_file(tmp_path, capsys) -> None:
    kernels = tmp_path / "k.npy"
    np.save(kernels, np.random.default_rng(1).standard_normal((1, 5, 5)))
    cal = _calibration(tmp_path / "cal.h5", True, tie=1.01, other=np.full((4, 4), 1 / 16))
    out = tmp_path / "out"
    rc = main(
        ["compile", "--kernels", str(kernels), "--image-size", "16", "--system", MATCHED,
         "--encoding", "double-phase", "--slm", "holoeye_pluto2", "--calibration", str(cal),
         "--out", str(out), "--no-progress"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert f"--calibration {cal}" in err and "crosstalk_hedge" in err
    assert not out.exists()
