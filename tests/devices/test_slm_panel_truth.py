"""#16: a simulated SLM whose response varies across its panel, and the amplitude input SLM's
phase coupling: the truth's field against a per-pixel evaluation, the seed's other hidden
values unmoved by the new draws, and bad YAML values refused in one line (exit 2)."""

from __future__ import annotations

import cmath
from pathlib import Path

import numpy as np
import pytest
import yaml

from devices.config.bench_yaml import load_bench
from devices.simulated.slm import SimulatedSLM
from devices.simulated.slm_response import draw_panel, draw_phase_coupling
from fouroptics.cli import main

ROOT = Path(__file__).resolve().parents[2]
NOISY = ROOT / "examples" / "benches" / "misaligned_noisy.yaml"


def test_phase_panel_field_matches_a_per_pixel_evaluation() -> None:
    rng = np.random.default_rng(3)
    panel, _ = draw_panel(rng, (6, 5), 0.05)
    slm = SimulatedSLM((6, 5), bit_depth=4, phase_range=7.0, gamma=1.3, panel=panel)
    levels = rng.integers(0, 16, (2, 6, 5))
    got = slm.fields(levels, fill_factor=False)
    for b, i, j in np.ndindex(levels.shape):
        phase = 7.0 * (levels[b, i, j] / 15) ** 1.3 * panel[i, j]
        assert got[b, i, j] == pytest.approx(cmath.exp(1j * phase), abs=1e-12)
    assert slm.level_table() is None  # no table lookup: every pixel has its own response
    np.testing.assert_allclose(slm.truth()["panel"], panel)


def test_amplitude_panel_and_phase_coupling_field_per_pixel() -> None:
    rng = np.random.default_rng(4)
    panel, _ = draw_panel(rng, (4, 7), 0.05)
    coupling, _ = draw_phase_coupling(rng, 16, 0.3, 0.3)
    slm = SimulatedSLM(
        (4, 7), bit_depth=4, modulation="amplitude", gamma=2.2, amplitude_min=0.02,
        panel=panel, phase_coupling=coupling,
    )  # fmt: skip
    levels = rng.integers(0, 16, (3, 4, 7))
    got = slm.fields(levels, fill_factor=False)
    for b, i, j in np.ndindex(levels.shape):
        g = int(levels[b, i, j])
        amp = (0.02 + 0.98 * (g / 15) ** 2.2) ** panel[i, j]
        assert got[b, i, j] == pytest.approx(amp * cmath.exp(1j * coupling[g]), abs=1e-12)
    # coupling alone keeps the table lookup, complex
    plain = SimulatedSLM((4, 7), bit_depth=4, modulation="amplitude", phase_coupling=coupling)
    assert plain.complex_field and np.iscomplexobj(plain.level_table())
    assert np.ptp(coupling) > 0.05


def test_misaligned_noisy_draws_both_after_every_earlier_value() -> None:
    cfg = yaml.safe_load(NOISY.read_text())
    with load_bench(NOISY) as bench:
        t = bench.truth()
    assert np.std(t["fourier_slm"]["panel"]) == pytest.approx(0.03)
    assert np.std(t["input_slm"]["panel"]) == pytest.approx(0.03)
    assert 0.05 < np.ptp(t["input_slm"]["phase_coupling"]) < 1.0
    assert t["fourier_slm"]["phase_coupling"] is None
    # without the new truths, every other hidden value is the same
    cfg["imperfections"]["lut"] = {"range_spread": 0.12, "gamma_spread": 0.3}
    del cfg["input_slm"]["phase_coupling"]
    with load_bench(cfg, seed=1234) as plain:
        p = plain.truth()
    assert p["fourier_slm"]["panel"] is None and p["input_slm"]["phase_coupling"] is None
    for role in ("input_slm", "fourier_slm"):
        np.testing.assert_array_equal(p[role]["response"], t[role]["response"])
    np.testing.assert_array_equal(
        p["fourier_slm"]["crosstalk"]["kernel"], t["fourier_slm"]["crosstalk"]["kernel"]
    )
    assert p["imperfections"] == t["imperfections"]
    with load_bench(ROOT / "examples" / "benches" / "ideal.yaml") as ideal:
        i = ideal.truth()
    assert i["input_slm"]["panel"] is None and i["input_slm"]["phase_coupling"] is None


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [
        (("imperfections", "lut", "panel_spread"), -0.03, "lut.panel_spread"),
        (("imperfections", "lut", "coupling_spread"), 2.0, "lut.coupling_spread"),
        (("input_slm", "phase_coupling"), 0.3, "input_slm.phase_coupling"),
        (("input_slm", "phase_coupling"), "-0.3 rad", "input_slm.phase_coupling"),
        (("fourier_slm", "phase_coupling"), "0.3 rad", "fourier_slm.phase_coupling"),
    ],
)
def test_bad_values_one_line_exit_2(tmp_path, capsys, where, value, words) -> None:
    cfg = yaml.safe_load(NOISY.read_text())
    node = cfg
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    rc = main(["calibrate", "--bench", str(path), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and words in err[0], err
