"""Patterns that fit the SLMs at hand (#22 item 3): the Fourier routine's grating chosen from
the SLMs' shapes and pitches and checked against a direct FFT of the pattern it shows; a
period that does not fit and a bench too small for the routine refused in one line (exit 2);
per-routine reasons on slmsuite's simulated optics; the probe that sees the input SLM."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.fit_patterns import fourier_pattern
from calibration.session import Session
from calibration.visibility import input_seen
from devices.config import load_bench

ROOT = Path(__file__).resolve().parents[2]


def _system(n_in: int, n_f: int, f1: float) -> SimpleNamespace:
    return SimpleNamespace(
        wavelength=532e-9,
        f1=f1,
        input_pitch=8e-6,
        fourier_pitch=8e-6,
        input_shape=(n_in, n_in),
        fourier_shape=(n_f, n_f),
    )


def _spectrum(system: SimpleNamespace, period: int, sigma: float) -> np.ndarray:
    """|DFT|^2 of the Fourier routine's input pattern, zero-padded so the DFT's bins fall on
    the Fourier SLM's pixels (``lambda f1 / (N p_in) = p_F``: N integer by the choice of f1),
    centred; an independent computation of where its light lands."""
    n_pad = int(round(system.wavelength * system.f1 / (system.input_pitch * system.fourier_pitch)))
    h = system.input_shape[0]
    rr, cc = np.mgrid[:h, :h] - h // 2
    env = np.exp(-(rr**2 + cc**2) / (2 * sigma**2))
    pattern = env * (2 + np.cos(2 * np.pi * cc / period) + np.cos(2 * np.pi * rr / period)) / 4
    field = np.zeros((n_pad, n_pad))
    field[:h, :h] = pattern
    return np.abs(np.fft.fftshift(np.fft.fft2(field))) ** 2, n_pad


def test_chosen_grating_puts_its_spectrum_on_the_fourier_slm():
    """On a small bench (128 input, 160 Fourier px, f1 = 57.9 mm: 481 Fourier px per cycle
    per input pixel, an integer so a padded DFT's bins fall on the Fourier pixels) the 4-px
    default does not fit; the chosen period's side peak lies where the direct FFT puts it and
    > 99.9 % of the light falls on the Fourier SLM's panel."""
    f1 = 481 * 8e-6 * 8e-6 / 532e-9  # N_pad = 481: DFT bins on the Fourier pixels
    system = _system(128, 160, f1)
    fit = fourier_pattern(system)
    assert fit.period > 4  # the default's peaks (120 px out) leave the 160-px panel
    power, n_pad = _spectrum(system, fit.period, fit.sigma)
    c = n_pad // 2
    side = power[c, c + 1 :]
    peak = 1 + int(np.argmax(side[int(0.5 * fit.peak_distance) :])) + int(0.5 * fit.peak_distance)
    assert abs(peak - fit.peak_distance) <= 1.0
    half = 80
    panel = power[c - half : c + half, c - half : c + half].sum()
    assert panel / power.sum() > 0.999
    assert fit.peak_distance + fit.half_band + 5 < half


def test_default_period_kept_on_the_large_benches():
    bench = _system(256, 512, 60e-3)
    assert fourier_pattern(bench).period == 4
    assert fourier_pattern(bench).half_band == 24


def test_period_that_does_not_fit_is_refused_in_one_line():
    system = _system(256, 512, 60e-3)
    with pytest.raises(
        CalibrationError, match=r"--fourier-period: a 2-px .* periods that fit: 3\.\."
    ) as e:
        fourier_pattern(system, period=2)
    assert "\n" not in str(e.value)


def test_slm_too_small_says_what_would_fit():
    """slmsuite_simulated's geometry (64x96 SLMs, f1 = 100 mm): no grating fits."""
    system = _system(64, 64, 100e-3)
    with pytest.raises(
        CalibrationError,
        match=r"no input grating fits .* at least \d+ px across, or f1 at most \d+ mm",
    ):
        fourier_pattern(system)


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fouroptics", "calibrate", *args, "--threads", "1", "--no-progress"],
        capture_output=True, text=True, cwd=cwd, timeout=120,
    )  # fmt: skip


def test_cli_refuses_a_fourier_period_that_does_not_fit(small_bench_yaml, tmp_path):
    r = _cli(
        "--bench", str(small_bench_yaml), "--out", str(tmp_path / "o"), "--fourier-period", "2"
    )
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "--fourier-period: a 2-px input grating does not fit" in lines[0]
    assert not (tmp_path / "o" / "calibration.h5").exists()


def test_cli_refuses_fourier_on_a_panel_too_small(small_bench_config, tmp_path):
    import yaml

    cfg = small_bench_config
    cfg["system"]["fourier_slm"]["shape"] = [96, 96]
    cfg["system"]["camera"]["shape"] = [96, 96]
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = _cli("--bench", str(path), "--out", str(tmp_path / "o"), "--only", "fourier")
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "fourier: no input grating fits this bench" in lines[0], r.stderr


def test_slmsuite_optics_say_per_routine_why(tmp_path):
    pytest.importorskip("slmsuite")
    out = tmp_path / "o"
    r = _cli("--bench", "examples/benches/slmsuite_simulated.yaml", "--out", str(out))
    assert r.returncode == 2
    js = json.loads((out / "calibration.json").read_text())
    skipped = js["skipped"]
    assert set(skipped) == {"camera", "lut", "crosstalk", "registration", "fourier", "aberration"}
    assert "camera does not see the input SLM" in skipped["registration"]
    assert "dark frames" in skipped["camera"]
    for name, reason in skipped.items():
        assert reason.startswith(name) and f"calibrate: skipped {reason}" in r.stderr


def test_probe_sees_the_input_slm_of_a_4f_bench(small_bench_config):
    cfg = small_bench_config
    cfg["input_slm"] = {"driver": "simulated", "profile": "holoeye_pluto2", "modulation": "phase"}
    with load_bench(cfg) as bench:
        seen, numbers = input_seen(Session(bench))
    assert seen and numbers["change"] > 10 * numbers["noise"]
