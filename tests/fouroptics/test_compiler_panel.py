"""#16: a Fourier SLM whose phase response varies across its panel (``m(y, x) * curve(l)``).
Compiled with a uniform belief, double-phase through the true panel misses scipy's convolution;
compiled through the panel's map (what ``compile --calibration`` builds from the calibration's
``lut/fourier_slm/panel``) it holds, with and without the refinement through fringing. The
device here is an independent model: the phase per pixel and level, then (fringing) one 2-D
scipy.ndimage.convolve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from scipy.signal import fftconvolve

from fouroptics.compiler import SLMModel, compile_kernels
from fouroptics.optics import FourFSystem
from fouroptics.optics.panel import fit_panel, panel_coords, panel_map

ROOT = Path(__file__).resolve().parents[2]
CURVE = 6.6 * (np.arange(256) / 255) ** 1.2
SYSTEM = FourFSystem.from_yaml(ROOT / "examples" / "systems" / "matched.yaml")


def true_panel(shape: tuple[int, int]) -> np.ndarray:
    """A cell-gap map: a tilt, a bowl off centre and a bump (rms about 0.04)."""
    y, x = panel_coords(shape)
    return (
        1
        + 0.06 * y
        - 0.04 * x
        + 0.08 * ((y - 0.2) ** 2 + (x + 0.3) ** 2 - 0.6)
        + 0.04 * (np.exp(-((y + 0.4) ** 2 + (x - 0.3) ** 2) / 0.5))
    )


def measured_panel(panel: np.ndarray) -> np.ndarray:
    """What a 3 x 3 region calibration recovers: the map fitted through the regions' means."""
    h, w = panel.shape
    ey, ex = np.linspace(0, h, 4).astype(int), np.linspace(0, w, 4).astype(int)
    means = np.array(
        [[panel[ey[i] : ey[i + 1], ex[j] : ex[j + 1]].mean() for j in range(3)] for i in range(3)]
    )
    cy = (ey[:-1] + ey[1:] - 1) / (h - 1) - 1
    cx = (ex[:-1] + ex[1:] - 1) / (w - 1) - 1
    yy, xx = np.meshgrid(cy, cx, indexing="ij")
    return panel_map(fit_panel(yy, xx, means), (h, w))


def shown(levels: np.ndarray, panel: np.ndarray, c: float) -> np.ndarray:
    """The device: phase ``panel * CURVE[level]`` per pixel, mixed by the 3-tap fringing c."""
    phase = CURVE[levels] * panel
    if c:
        k = np.array([c, 1 - 2 * c, c])
        phase = ndimage.convolve(phase, np.outer(k, k)[None], mode="nearest")
    return np.exp(1j * phase)


@pytest.fixture(scope="module")
def case() -> dict:
    rng = np.random.default_rng(5)
    kernels = rng.standard_normal((2, 7, 7))
    images = rng.random((3, 1, 16, 16))
    ref = np.stack(
        [np.stack([fftconvolve(im[0], k, mode="same") for k in kernels]) for im in images]
    )
    return {"kernels": kernels, "images": images, "ref": ref}


def _error(case: dict, belief: np.ndarray | None, c: float, refine: int | None) -> float:
    slm = SLMModel(8, "phase", response=np.exp(1j * CURVE), fringing=c, panel=belief)
    bundle = compile_kernels(
        case["kernels"], SYSTEM, image_size=16, detection="ideal", encoding="double-phase",
        slm=slm, refine=refine,
    )  # fmt: skip
    panel = true_panel(SYSTEM.fourier_shape)
    bundle.fourier_masks = shown(bundle.fourier_levels.astype(np.int64), panel, c)
    got = bundle.simulate(case["images"])
    return float(np.linalg.norm(got - case["ref"]) / np.linalg.norm(case["ref"]))


def test_regional_lut_error_shown_and_removed_by_its_map(case) -> None:
    panel = true_panel(SYSTEM.fourier_shape)
    assert 0.02 < np.std(panel) < 0.06
    uniform = _error(case, None, 0.0, None)
    regional = _error(case, measured_panel(panel), 0.0, None)
    exact = _error(case, panel, 0.0, None)
    # measured: 4.3 % through the uniform belief, 1.3 % through the 3 x 3 fit, 0.18 % exact
    assert uniform > 0.03, uniform
    assert regional < 0.5 * uniform and exact < 0.005, (uniform, regional, exact)


def test_refinement_through_fringing_uses_the_panel(case) -> None:
    panel = true_panel(SYSTEM.fourier_shape)
    uniform = _error(case, None, 0.05, 60)
    regional = _error(case, panel, 0.05, 60)
    # measured: 7.6 % -> 5.4 % (4.3 % on a uniform panel: the refinement's own residual)
    assert regional < 0.8 * uniform, (uniform, regional)


def test_quantise_with_a_panel_picks_the_nearest_realised_phase() -> None:
    rng = np.random.default_rng(1)
    panel = 1 + 0.05 * rng.standard_normal((8, 9))
    slm = SLMModel(8, "phase", response=np.exp(1j * CURVE), panel=np.abs(panel))
    wanted = np.exp(1j * rng.uniform(-np.pi, np.pi, (2, 8, 9)))
    levels, realised = slm.quantise(wanted)
    # brute force over every level at each pixel
    all_phase = CURVE[:, None, None] * slm.panel[None]
    err = np.abs(np.angle(np.exp(1j * (all_phase[None] - np.angle(wanted)[:, None]))))
    best = err.min(axis=1)
    got = np.abs(np.angle(realised * np.conj(wanted)))
    np.testing.assert_allclose(got, best, atol=1e-12)
    np.testing.assert_allclose(slm.realise(levels), realised)
