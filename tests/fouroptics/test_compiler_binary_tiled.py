"""Binary DMD encodings (Lee, superpixel) through the tiled compile, on a DMD-sized Fourier
plane (examples/systems/dmd.yaml): user kernels against scipy.signal.fftconvolve, a quick SCLC
against its own detected features, the readout windows clear of what the encodings add (zero
order, conjugate, higher orders, the superpixel grid's repeats), and the refusals with numbers.

Measured on this system (intensity detection, noise off, 16x16 images, 48 random kernels of
3x3 .. 15x15, one frame per channel): superpixel fidelity per channel 0.975 .. 0.9997 (median
0.995; 47 of 48 >= 0.98), NRMSE against |fftconvolve|^2 0.017 .. 0.11 (median 0.048); Lee
fidelity median 0.977 (min 0.92), NRMSE median 0.15 (max 0.32): the hologram's higher
orders (as strong as the first where the mask is weak) spread over the iris. The kernels below
measure: superpixel fidelity >= 0.986, NRMSE <= 0.094; Lee >= 0.979, <= 0.098.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.signal import fftconvolve

from fouroptics.compiler import binary as bn
from fouroptics.compiler import compile_kernels, compile_model
from fouroptics.errors import ConfigError
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[2]
SIZES = (3, 7, 15)
#: (fidelity floor per channel, NRMSE ceiling per channel against |fftconvolve|^2)
TOLERANCE = {"superpixel": (0.98, 0.15), "lee": (0.95, 0.2)}


@pytest.fixture(scope="module")
def dmd() -> FourFSystem:
    return FourFSystem.from_yaml(ROOT / "examples" / "systems" / "dmd.yaml")


@pytest.fixture(scope="module")
def user_case(dmd):
    """Kernels 3x3, 7x7 and 15x15 (zero-padded to 15x15 about their centre), two images, and
    the bundle of each binary encoding."""
    rng = np.random.default_rng(7)
    small = [rng.standard_normal((k, k)) for k in SIZES]
    padded = np.zeros((len(SIZES), 15, 15))
    for i, k in enumerate(small):
        o = (15 - k.shape[0]) // 2
        padded[i, o : o + k.shape[0], o : o + k.shape[1]] = k
    images = rng.random((2, 1, 16, 16))
    bundles = {
        enc: compile_kernels(padded, dmd, image_size=16, detection="intensity", encoding=enc)
        for enc in ("superpixel", "lee")
    }
    ref = np.stack(
        [[np.abs(fftconvolve(x[0], k, mode="same")) ** 2 for k in small] for x in images]
    )
    return small, images, bundles, ref


@pytest.mark.parametrize("encoding", ["superpixel", "lee"])
def test_user_kernels_reproduce_fftconvolve(user_case, encoding) -> None:
    _, images, bundles, ref = user_case
    bundle = bundles[encoding]
    floor, ceiling = TOLERANCE[encoding]
    got = bundle.simulate(images)
    assert got.shape == ref.shape
    for c in range(len(SIZES)):
        err = np.linalg.norm(got[:, c] - ref[:, c]) / np.linalg.norm(ref[:, c])
        assert err <= ceiling, (encoding, SIZES[c], err)
    q = bundle.quality(images)
    assert min(q["fidelity"]) >= floor, q["fidelity"]
    assert 0 < q["total_efficiency"] < 0.05  # a few per mille per channel on a DMD
    # what a DMD shows: one bit per mirror, the levels' table of the ideal DMD
    assert bundle.fourier_levels is not None and set(np.unique(bundle.fourier_levels)) <= {0, 1}
    assert set(np.unique(bundle.fourier_masks.real)) <= {0.0, 1.0}
    assert bundle.meta["order"] == 2 and "iris" in bundle.meta


def _frame_gains(bundle) -> np.ndarray:
    """Least-squares factor between each frame's realised and ideal masks (F,) complex."""
    real = bundle.fourier_masks.astype(np.complex128)
    ideal = bundle.ideal_masks.astype(np.complex128)
    num = np.sum(np.conj(ideal) * real, axis=(1, 2))
    return num / np.sum(np.abs(ideal) ** 2, axis=(1, 2))


def test_lee_first_order_carries_m_over_pi(user_case) -> None:
    """Fourier series of the Lee hologram: the +1 order is exactly A e^{i phi} / pi (each
    frame's mask shown at peak modulus 1), so the projected gain of the pattern onto the
    wanted mask is 1 / (pi peak) (the other orders are orthogonal to it); the bundle's
    per-frame gains are those."""
    bundle = user_case[2]["lee"]
    gains = _frame_gains(bundle)
    peak = np.abs(bundle.ideal_masks).max(axis=(1, 2))
    np.testing.assert_allclose(gains * peak, 1 / np.pi, rtol=0.01)
    rel = np.abs(gains) / abs(complex(*bundle.meta["gain"]))
    np.testing.assert_allclose(bundle.arrays["frame_gain"], rel, rtol=1e-3)


def _window_power(bundle, fields, masks, tiles) -> np.ndarray:
    """Camera power in each channel's readout window (at ``tiles`` (C, 2) centres)."""
    e = bundle.system.forward(fields, masks=masks)  # (B, F, H, W)
    p = bundle.system.intensity(e)
    offs = bundle.arrays["window_offsets"]
    frame = bundle.arrays["channel_frame"]
    rows = tiles[:, 0][:, None] + offs[None, :]
    cols = tiles[:, 1][:, None] + offs[None, :]
    return p[:, frame[:, None, None], rows[:, :, None], cols[:, None, :]].sum(axis=(0, 2, 3))


@pytest.mark.parametrize(("encoding", "ceiling"), [("superpixel", 0.02), ("lee", 0.03)])
def test_readout_windows_are_clear_of_the_ghosts(user_case, encoding, ceiling) -> None:
    """The ghost light alone (the realised DMD mask minus its projection on the wanted mask:
    zero order, conjugate, higher orders, superpixel repeats, quantisation noise) puts only a
    few % of the wanted power in the readout windows (measured: superpixel <= 1.43 %, Lee <=
    2.08 %; ceilings were 3 % and 5 %), while a window at the zero order's image of the input
    block would get more ghost than wanted light."""
    _, images, bundles, _ = user_case
    bundle = bundles[encoding]
    gain = _frame_gains(bundle)[:, None, None]
    ideal = bundle.ideal_masks.astype(np.complex128)
    ghost = bundle.fourier_masks.astype(np.complex128) - gain * ideal
    fields = bundle.input_transmission(images) * bundle.input_amplitude
    tiles = bundle.arrays["tiles"][bundle.arrays["channel_tile"]]
    wanted = _window_power(bundle, fields, gain * ideal, tiles)
    stray = _window_power(bundle, fields, ghost, tiles)
    assert np.all(stray <= ceiling * wanted), stray / wanted
    # the same measurement at the unmodulated image of the block (camera pixel of -M c):
    # the check sees a ghost when one lands in a window
    system = bundle.system
    start = bundle.arrays["block_start"][0]
    block_px = bundle.meta["tiles"] * bundle.meta["period"] * bundle.meta["upsample"]
    c = (start - np.array(system.input_shape) // 2 + (block_px - 1) / 2) * system.input_pitch
    zero_px = np.round(-system.magnification * c / system.camera_pitch).astype(int)
    zero_px = zero_px + np.array(system.camera_shape) // 2
    at_zero = _window_power(bundle, fields, ghost, np.repeat(zero_px[None], len(tiles), 0))
    # measured 2.2 .. 4.0 x (superpixel), 4.3 .. 9.1 x (Lee); was > 1 x
    assert np.all(at_zero > 1.5 * wanted), at_zero / wanted


@pytest.mark.parametrize(("encoding", "ceiling"), [("superpixel", 0.1), ("lee", 0.2)])
def test_quick_sclc_compiles_and_reads_out_its_features(dmd, tmp_path, encoding, ceiling):
    """Measured: NRMSE 0.054 (superpixel) and 0.12 (Lee) against the model's own intensity
    features (quick architecture at 4 -> 4 channels: one frame per channel)."""
    from test_compiler_model import digits, saved_sclc

    model, run = saved_sclc(tmp_path, "intensity", (4, 4))
    bundle = compile_model(run, dmd, encoding=encoding)
    assert bundle.n_frames == 4
    x = digits(2)
    ref = model.features(x).detach().numpy()
    got = bundle.simulate(x.numpy())
    err = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
    assert err <= ceiling, err
    logits = bundle.head()(torch.as_tensor(got, dtype=torch.float32))
    agree = (logits.argmax(1) == model(x).argmax(1)).float().mean().item()
    assert agree == 1.0


def test_iris_that_cannot_hold_a_window_is_refused_with_numbers(dmd) -> None:
    k = np.ones((15, 15))
    for enc in ("superpixel", "lee"):
        with pytest.raises(ConfigError) as info:
            compile_kernels(k, dmd, image_size=40, detection="intensity", encoding=enc)
        msg = str(info.value)
        assert "\n" not in msg
        # period 40 + 15 - 1 = 54 px x 8 um, window + block image (1 + 3 periods) x f2/f1 0.8
        # + guards (2 x 2 px): 1.408 mm
        assert f"encoding {enc!r}: a readout window sees 1.408 mm" in msg
        assert "f1 >= " in msg and "Fourier SLM pitch <=" in msg
        fits = int(re.search(r"image period <= (\d+) px", msg).group(1))
        assert fits == {"superpixel": 44, "lee": 36}[enc]
    # what it says fits does fit: an image period of 44 px (30 + 15 - 1) on the superpixel iris
    compile_kernels(k, dmd, image_size=30, detection="intensity", encoding="superpixel")


def test_binary_encoding_needs_a_binary_slm(dmd) -> None:
    from fouroptics.compiler import SLMModel

    with pytest.raises(ConfigError, match="needs an SLM with binary modulation"):
        compile_kernels(np.ones((3, 3)), dmd, image_size=8, encoding="lee", slm=SLMModel())


def test_iris_geometry() -> None:
    """The superpixel iris is one cell of the superpixel grid (L / 4 wide at its carrier); the
    Lee iris keeps orders -3..3 out: no order's region (centre k c, half-width |k| (h - d), the
    zero order's 2 (h - d)) meets the iris, modulo L (brute force over the orders)."""
    centre, half = bn.iris("superpixel")
    assert tuple(centre) == bn.superpixel_carrier(4) and half == 1 / 8
    for margin in (0.0, 0.02, 0.05):
        c, h = bn.iris("lee", margin)
        light = h - margin
        for k in bn.LEE_ORDERS:
            spread = 2 * light if k == 0 else abs(k) * light
            gap = np.abs(((k * c - c) + 0.5) % 1.0 - 0.5)
            assert np.max(gap) >= h + spread - 1e-12, (margin, k)
    # the shrink needed is 1 exactly at the edge of the iris
    assert bn.iris_shrink_needed("superpixel", 1 / 8, 0.0) == pytest.approx(1.0)
    c, h = bn.iris("lee", 0.03)
    assert bn.iris_shrink_needed("lee", h, 0.03) == pytest.approx(1.0)


def test_cli_compiles_kernels_for_a_dmd(dmd, tmp_path) -> None:
    from fouroptics.cli import main

    kernels = tmp_path / "k.npy"
    np.save(kernels, np.random.default_rng(1).standard_normal((1, 5, 5)))
    system = ROOT / "examples" / "systems" / "dmd.yaml"
    out = tmp_path / "out"
    args = ["compile", "--kernels", str(kernels), "--image-size", "16", "--detection",
            "intensity", "--system", str(system), "--encoding", "superpixel", "--slm",
            "ti_dlp7000", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((out / "compile.json").read_text())
    assert summary["encoding"] == "superpixel" and summary["slm"]["modulation"] == "binary"
    assert "1/4 of its pixel band" in summary["iris"]["superpixel"]
    assert summary["channels"][0]["fidelity"] >= 0.98
