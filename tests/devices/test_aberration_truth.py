"""The hidden higher-order aberration: drawn after every earlier hidden value (a seed's other
values do not move), set from the bench YAML (an rms or a per-term mapping, bad fields named),
reported by truth(), and acting in the Fourier plane as the zernike basis says."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from devices.config import load_bench
from devices.config.fields import BenchConfigError
from devices.simulated.imperfections import Imperfections
from fouroptics.optics import zernike

BENCH = Path(__file__).resolve().parents[2] / "examples" / "benches" / "misaligned_noisy.yaml"


def test_higher_terms_are_drawn_after_every_earlier_value() -> None:
    kw = dict(shift=2.0, rotation=0.01, scale=0.01, fourier_decentre=0.7, laser_power=0.1,
              beam_offset=1e-4, focal_error=0.003, aberration=0.3)  # fmt: skip
    old = Imperfections.draw(np.random.default_rng(5), **kw)
    new = Imperfections.draw(np.random.default_rng(5), **kw, aberration_high=0.1)
    assert asdict(replace(new, aberration_high=old.aberration_high)) == asdict(old)
    assert old.aberration_high == (0.0,) * 5 and all(new.aberration_high)
    some = Imperfections.draw(np.random.default_rng(5), **kw, aberration_high={"spherical": 0.2})
    assert [k for k, v in some.zernike.items() if v and k in zernike.HIGH_TERMS] == ["spherical"]


def _cfg(tmp_path: Path, value) -> Path:
    cfg = yaml.safe_load(BENCH.read_text())
    cfg["system"] = (
        str(BENCH.parent / cfg["system"]) if isinstance(cfg["system"], str) else cfg["system"]
    )
    cfg["imperfections"]["aberration_high"] = value
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    ("value", "field"),
    [({"coma_z": 0.1}, "bench.imperfections.aberration_high"),
     (-0.1, "bench.imperfections.aberration_high"),
     ({"coma_x": "big"}, "bench.imperfections.aberration_high.coma_x")],
)  # fmt: skip
def test_bad_aberration_high_names_the_field(tmp_path: Path, value, field: str) -> None:
    with pytest.raises(BenchConfigError, match=field.replace(".", r"\.")):
        load_bench(_cfg(tmp_path, value))


def test_truth_reports_the_wavefront_that_acts(tmp_path: Path) -> None:
    bench = load_bench(BENCH)
    t = bench.truth()["aberration"]
    assert set(t["coefficients"]) == set(zernike.TERMS)
    assert all(t["coefficients"][k] for k in zernike.HIGH_TERMS)  # the example draws them
    assert t["centre_px"] == pytest.approx(bench.truth()["fourier_centre_px"])
    # the factor the optics apply is exp(i W) of the zernike basis at the true axis
    factor = bench._optics.mask_factor
    shape = tuple(bench.system.fourier_shape)
    w = zernike.slm_wavefront(t["coefficients"], shape, t["centre_px"], t["radius_px"])
    np.testing.assert_allclose(factor, np.exp(1j * w), atol=1e-9)
