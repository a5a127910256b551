"""Encodings against the ideal complex mask on the same system: fidelity (normalised overlap of
the camera fields over the readout windows) and efficiency; DMD encodings against their target
field behind their iris; quantisation through the SLM's levels and LUT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fouroptics.compiler import SLMModel, compile_kernels
from fouroptics.compiler import binary as bn
from fouroptics.compiler.encodings import double_phase
from fouroptics.errors import ConfigError
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matched() -> FourFSystem:
    return FourFSystem.from_yaml(ROOT / "examples" / "systems" / "matched.yaml")


def _quality(system, encoding, n_kernels=2, **kw):
    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((n_kernels, 7, 7))
    b = compile_kernels(
        kernels, system, image_size=16, detection="intensity", encoding=encoding, **kw
    )
    return b, b.quality(rng.random((2, 1, 16, 16)))


@pytest.mark.parametrize(
    ("encoding", "floor", "ceiling"),
    [
        ("complex", 0.9999, 1.0),
        ("amplitude", 0.995, 1.0),  # m/4 carried, bias and conjugate kept off the tiles
        ("double-phase", 0.995, 1.0),  # one channel per frame, checkerboard ghost avoided
        ("double-phase-3pi", 0.995, 1.0),
        ("phase", 0.5, 0.97),  # amplitude dropped: a real loss, reported
    ],
)
def test_encodings_against_the_ideal_mask(matched, encoding, floor, ceiling) -> None:
    bundle, q = _quality(matched, encoding)
    assert floor <= min(q["fidelity"]) and max(q["fidelity"]) <= ceiling + 1e-5
    assert 0 < q["total_efficiency"] < 1
    if encoding != "complex":
        assert bundle.fourier_levels is not None
        assert bundle.fourier_levels.dtype == np.uint16
        assert np.abs(bundle.fourier_masks).max() <= 1 + 1e-6


def test_amplitude_and_phase_masks_are_what_their_slms_can_show(matched) -> None:
    amp, _ = _quality(matched, "amplitude")
    assert np.allclose(amp.fourier_masks.imag, 0) and amp.fourier_masks.real.min() >= 0
    ph, _ = _quality(matched, "phase")
    np.testing.assert_allclose(np.abs(ph.fourier_masks), 1, atol=1e-6)
    levels = np.unique(ph.fourier_levels)
    assert levels.max() < 256  # 8-bit LUT


def test_double_phase_after_the_checkerboard_low_pass() -> None:
    """Unit modulus; behind an iris at half the Nyquist band the field is the target up to
    the checkerboard error's spread (speckle-like target: 0.986 measured)."""
    m = bn.random_target((128, 128), 8, seed=4)
    shown = double_phase(m)
    np.testing.assert_allclose(np.abs(shown), 1)
    real = bn.demodulate(shown, (0.0, 0.0), 1 / 4)  # the iris: half the Nyquist band
    assert bn.fidelity(real, m) > 0.98


def test_superpixel_reaches_0_98_at_8x8_pixels_per_spot() -> None:
    """Goorden et al. 2014: fidelity ~0.98 with 4x4 superpixels, a few % efficiency."""
    for seed in (1, 2):
        target = bn.random_target((256, 256), 8, seed=seed)
        pattern = bn.superpixel_pattern(target, 4)
        assert set(np.unique(pattern)) <= {0.0, 1.0}
        real = bn.demodulate(pattern, bn.superpixel_carrier(4), 1 / 16)
        assert bn.fidelity(real, target) >= 0.98
        assert 0.01 < bn.efficiency(real, target.shape) < 0.1


def test_lee_hologram_behind_its_iris() -> None:
    target = bn.random_target((256, 256), 16, seed=5)
    pattern = bn.lee_hologram(target, (0.0, 1 / 8))
    real = bn.demodulate(pattern, (0.0, 1 / 8), 1 / 32)
    assert bn.fidelity(real, target) >= 0.95
    assert 0.002 < bn.efficiency(real, target.shape) < 0.1


def test_fidelity_is_blind_to_one_complex_factor_only() -> None:
    t = bn.random_target((32, 32), 4, seed=6)
    assert bn.fidelity(2j * t, t) == pytest.approx(1.0)
    assert bn.fidelity(t.conj(), t) < 0.5


def test_quantisation_follows_the_lut() -> None:
    gamma = np.exp(1j * 2 * np.pi * (np.arange(16) / 16) ** 1.5)  # a nonlinear 4-bit LUT
    slm = SLMModel(4, "phase", response=gamma)
    wanted = np.exp(1j * np.linspace(-np.pi, np.pi, 101))
    levels, realised = slm.quantise(wanted)
    np.testing.assert_array_equal(realised, gamma[levels])
    # nearest in phase among the LUT's 16 entries (brute force)
    brute = np.argmin(np.abs(np.angle(wanted[:, None] / gamma[None, :])), axis=1)
    np.testing.assert_array_equal(levels, brute)
    amp = SLMModel(3, "amplitude")
    lv, val = amp.quantise(np.array([0.0, 0.2, 0.49, 1.0]))
    np.testing.assert_allclose(val.real, [0, 1 / 7, 3 / 7, 1])


def test_slm_that_cannot_show_the_encoding_is_refused(matched) -> None:
    with pytest.raises(ConfigError, match="needs an SLM with phase modulation"):
        _quality(matched, "double-phase", slm=SLMModel(8, "amplitude"))
    with pytest.raises(ConfigError, match="'complex' needs an SLM with complex modulation"):
        _quality(matched, "complex", slm=SLMModel(8, "phase"))  # never a silent phase-only
    with pytest.raises(ConfigError, match="encoding: got 'holo'"):
        _quality(matched, "holo")
    with pytest.raises(ConfigError, match="bit_depth"):
        SLMModel(0, "phase")


def test_complex_encoding_through_two_8_bit_slms(matched) -> None:
    """16 bits: 256 amplitudes x 256 phases; quantisation costs almost no fidelity."""
    bundle, q = _quality(matched, "complex", slm=SLMModel(16, "complex"))
    assert bundle.fourier_levels is not None and min(q["fidelity"]) > 0.999
    table = SLMModel(16, "complex").response
    np.testing.assert_allclose(bundle.fourier_masks, table[bundle.fourier_levels], atol=1e-6)


def test_binary_encodings_compile_behind_their_iris(matched) -> None:
    """Lee and superpixel through the tiled compile (the windows inside the iris; more in
    test_compiler_binary_tiled.py, on examples/systems/dmd.yaml)."""
    for enc, floor in (("superpixel", 0.98), ("lee", 0.9)):
        bundle, q = _quality(matched, enc)
        assert min(q["fidelity"]) >= floor, (enc, q["fidelity"])
        assert set(np.unique(bundle.fourier_levels)) <= {0, 1}
