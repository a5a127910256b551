"""A phase-only input SLM lights its whole panel (#22): the light the Fourier SLM leaves
undeflected (its gap light, here all of it, as if nothing cancelled it) images the whole panel
onto the camera, so ``compile --input-encoding double-phase`` must put the readout windows off
that image. Checked by a direct 4f sum (explicit DFT matrices over the input, Fourier-SLM and
camera pixel centres; nothing of the package's optics): the undeflected light in the windows
against the bundle's own signal there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from fouroptics.cli import main
from fouroptics.compiler import MaskBundle, input_phase

#: a two-phase-SLM bench like examples/benches/two_phase_slms.yaml at half its size
BENCH = {
    "name": "tiny_two_phase",
    "seed": 7,
    "shutter": "manual",
    "system": {
        "wavelength": "532 nm",
        "f1": "25 mm",
        "f2": "25 mm",
        "input_slm": {"shape": [128, 128], "pitch": "8 um"},
        "fourier_slm": {
            "shape": [256, 256],
            "pitch": "8 um",
            "fill_factor": 0.93,
            "gap_transmission": 1.0,
        },  # fmt: skip
        "camera": {"shape": [256, 256], "pitch": "5.86 um"},
    },
    "laser": {"power": "1 uW", "beam_waist": None},
    "input_slm": {"driver": "simulated", "modulation": "phase"},
    "fourier_slm": {"driver": "simulated", "modulation": "phase"},
    "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
}

KERNELS = np.array(
    [
        [[0.2, 0.5, 0.1], [0.4, 1.0, 0.3], [0.0, 0.6, 0.2]],
        [[1.0, 0.0, 0.0], [0, 0.5, 0], [0, 0, 0.8]],
    ]
)


def _axis(n: int, pitch: float) -> np.ndarray:
    """Pixel centres (m) about the axis pixel ``n // 2``."""
    return (np.arange(n) - n // 2) * pitch


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> MaskBundle:
    tmp = tmp_path_factory.mktemp("lit_panel")
    return compile_cli(BENCH, tmp)


def compile_cli(bench_dict: dict, tmp: Path) -> MaskBundle:
    """``fouroptics compile`` (double-phase, intensity, no refinement) of :data:`KERNELS` on
    ``bench_dict`` written to ``tmp``; the bundle it wrote."""
    bench = tmp / "bench.yaml"
    bench.write_text(yaml.safe_dump(bench_dict))
    np.save(tmp / "k.npy", KERNELS)
    rc = main(
        ["compile", "--kernels", str(tmp / "k.npy"), "--image-size", "8", "--system",
         str(bench), "--detection", "intensity", "--encoding", "double-phase", "--refine",
         "0", "--no-progress", "--out", str(tmp / "out")]
    )  # fmt: skip
    assert rc == 0
    return MaskBundle.load(tmp / "out" / "bundle.h5")


def test_windows_see_little_of_the_lit_panels_undeflected_light(compiled: MaskBundle) -> None:
    """Direct sum: ``E_F = A E_in A^T`` (lens 1 onto the Fourier pixel centres), ``E_cam = B
    (T E_F) B^T`` (lens 2 onto the camera pixel centres), for the double-phase field of random
    images; ``T`` the per-pixel transmission ``ff^2 m + g (1 - ff^2)`` (the bundle's masks
    ``m`` and the gap light) or the gap light alone (the undeflected light). In every frame's
    window the undeflected light's power is under 0.5 % of the signal's (5e-4 to 1e-3 here)
    and under 1 % of the panel image's mean per pixel; the layout that kept only the image
    blocks clear put the window on the panel image's edge: 0.4-0.7 of the signal (on seed 4422
    of two_phase_slms.yaml: 9.5 % optical). In a window-sized box at the panel image's centre
    the same light is comparable to the signal (the check sees it where it is)."""
    b = compiled
    s = b.system
    assert b.meta["input_encoding"] == "double-phase"
    lam = s.wavelength
    x_in = _axis(s.input_shape[0], s.input_pitch)
    u = _axis(s.fourier_shape[0], s.fourier_pitch)
    y = _axis(s.camera_shape[0], s.camera.pitch)
    a = np.exp(-2j * np.pi * np.outer(u, x_in) / (lam * s.f1))
    bm = np.exp(-2j * np.pi * np.outer(y, u) / (lam * s.f2))
    ff, g = s.fourier_slm.fill_factor, s.fourier_slm.gap_transmission
    gap = g * (1 - ff**2)
    x = np.random.default_rng(0).random((2, *b.image_shape))
    fields = input_phase.double_phase_field(b.input_transmission(x)).astype(np.complex128)
    windows = b.window_mask()
    half = np.array(s.input_shape) * s.input_pitch * s.magnification / 2  # the panel's image
    inside = (np.abs(y)[:, None] < 0.8 * half[0]) & (np.abs(y)[None, :] < 0.8 * half[1])
    centre = np.array(s.camera_shape) // 2
    for e_in in fields:
        e_f = a @ e_in @ a.T
        undeflected = np.abs(bm @ (gap * e_f) @ bm.T) ** 2
        panel = undeflected[inside].mean()
        for f, masks in enumerate(b.fourier_masks):
            signal = np.abs(bm @ ((ff**2 * masks + gap) * e_f) @ bm.T) ** 2
            w = windows[f]
            assert undeflected[w].sum() < 5e-3 * signal[w].sum()
            assert undeflected[w].max() < 1e-2 * panel
            box = np.roll(w, tuple(centre - np.argwhere(w).mean(axis=0).astype(int)), (0, 1))
            assert undeflected[box].sum() > 0.05 * signal[w].sum()


def test_surround_grating_keeps_the_panels_light_out_of_the_windows(tmp_path) -> None:
    """On a bench whose input Nyquist frequency lies 3 pixels inside the Fourier SLM's edge
    (f = 30 mm here; 7 pixels on two_phase_slms.yaml), a zero's checkerboard around the image
    blocks puts most of the panel's light there; the edge truncates it and spreads it into the
    windows beside the panel's image. Direct sum (as above) of the light of the pixels
    outside the blocks against the blocks' own in each window: the bundle's surround grating
    (input_phase.surround: 1/3 cycle per pixel) under 1 %, the checkerboard
    0.14-0.40."""
    d = {**BENCH, "system": {**BENCH["system"], "f1": "30 mm", "f2": "30 mm"}}
    b = compile_cli(d, tmp_path)
    s = b.system
    a = np.exp(
        -2j
        * np.pi
        * np.outer(
            _axis(s.fourier_shape[0], s.fourier_pitch), _axis(s.input_shape[0], s.input_pitch)
        )
        / (s.wavelength * s.f1)
    )
    bm = np.exp(
        -2j
        * np.pi
        * np.outer(
            _axis(s.camera_shape[0], s.camera.pitch), _axis(s.fourier_shape[0], s.fourier_pitch)
        )
        / (s.wavelength * s.f2)
    )
    ff, g = s.fourier_slm.fill_factor, s.fourier_slm.gap_transmission
    t = b.input_transmission(np.random.default_rng(0).random((2, *b.image_shape)))
    outside = input_phase.surround(b)[0]
    windows = b.window_mask()
    ratio = {}
    for name, surround in (("grating", input_phase.surround(b)), ("checkerboard", None)):
        fields = input_phase.double_phase_field(t, 1.0, None, surround).astype(np.complex128)
        got = []
        for e_in in fields:
            own = a @ np.where(outside, 0, e_in) @ a.T
            rest = a @ np.where(outside, e_in, 0) @ a.T
            for f, masks in enumerate(b.fourier_masks):
                tr = ff * masks + (1 - ff) * g
                sig = np.abs(bm @ (tr * own) @ bm.T) ** 2
                bg = np.abs(bm @ (tr * rest) @ bm.T) ** 2
                got.append(bg[windows[f]].sum() / sig[windows[f]].sum())
        ratio[name] = max(got)
    assert ratio["grating"] < 0.01, ratio
    assert ratio["checkerboard"] > 0.1, ratio


def test_carrier_stop_cancels_the_gap_light_there(compiled: MaskBundle) -> None:
    """On the carrier's cells the pair of levels is the double phase of the compensated zero:
    the pixels' mean field cancels the gap light, ``ff m + (1 - ff) g = 0`` (direct sum of the
    two levels' table values; 0.004 here, the 8-bit levels' rounding), where a pair half a wave
    apart (mean 0) left all of it, ``(1 - ff) |g| = 0.07`` of the carrier's field."""
    g = compiled.system.fourier_slm
    stop = input_phase.carrier_stop(compiled.system, input_phase.band_cycles(compiled))
    board = input_phase.checkerboard(stop.shape) > 0
    table = np.asarray(compiled.slm_table).reshape(-1)
    for lv in compiled.fourier_levels:
        (a,), (b,) = np.unique(lv[stop & board]), np.unique(lv[stop & ~board])
        mean = (table[a] + table[b]) / 2
        assert abs(g.fill_factor * mean + (1 - g.fill_factor) * g.gap_transmission) < 0.01


def test_no_room_beside_the_lit_panel_is_one_line_exit_2(tmp_path, capsys) -> None:
    """A camera that the panel's image nearly fills (1.17 mm against 1.02 mm) has no room for
    a window beside it at any upsampling: one line naming what would fit, exit 2."""
    d = {
        **BENCH,
        "system": {**BENCH["system"], "camera": {"shape": [200, 200], "pitch": "5.86 um"}},
    }
    bench = tmp_path / "bench.yaml"
    bench.write_text(yaml.safe_dump(d))
    np.save(tmp_path / "k.npy", KERNELS)
    rc = main(
        ["compile", "--kernels", str(tmp_path / "k.npy"), "--image-size", "8", "--system",
         str(bench), "--encoding", "double-phase", "--refine", "0", "--out", str(tmp_path / "o")]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert "input panel's unmodulated image" in err and "a larger camera or a shorter f2" in err
    assert not (tmp_path / "o").exists()


def test_finetune_recompiles_a_phase_input_as_compile_did(tmp_path) -> None:
    """finetune --kernels recompiles after each epoch: the bundle keeps its double-phase input
    (the carrier stop, the checkerboard's drive) and its windows off the lit panel's image."""
    from fouroptics.commands.compile_input import apply_input_encoding
    from fouroptics.commands.finetune import _recompile
    from fouroptics.compiler import compile_model
    from fouroptics.nn.models import build_model, sclc_config
    from fouroptics.nn.train import TrainConfig, save_model
    from fouroptics.optics import FourFSystem

    system = FourFSystem.from_dict(BENCH["system"])
    cfg = sclc_config(resolution=8, channels=(2,), detection="intensity", pool=2, hidden=8)
    model = build_model(cfg, seed=0)
    (tmp_path / "m").mkdir()
    save_model(tmp_path / "m", model, cfg, {}, TrainConfig())
    bundle = compile_model(
        tmp_path / "m", system, encoding="double-phase", lit_panel=True, upsample=2, refine=0
    )
    apply_input_encoding(bundle, "double-phase", np.full((1, *bundle.image_shape), 0.5), 0.05)
    new = _recompile(model, cfg, bundle, tmp_path / "r")
    assert new.meta["input_encoding"] == "double-phase"
    assert new.meta["input_checkerboard_gain"] == pytest.approx(
        bundle.meta["input_checkerboard_gain"]
    )
    assert np.array_equal(new.arrays["tiles"], bundle.arrays["tiles"])
    assert np.array_equal(new.fourier_levels, bundle.fourier_levels)  # the same kernels


def test_predistorted_drive_blurs_into_the_double_phase() -> None:
    """A digit-like image changing from pixel to pixel, shown through an LCoS whose fringing
    (c = 0.05) blurs its drive (scipy.ndimage.convolve with the outer product of
    [c, 1 - 2c, c], edges replicated: an independent reference): the predistorted drive
    blurs into the pair pi +- arccos(t) to 1e-4 rad; the checkerboard driven 1 / (1 - 4c)^2
    harder, right only where t is uniform, misses it by 0.1 rad rms and more."""
    from scipy import ndimage

    c = 0.05
    k1 = np.array([c, 1 - 2 * c, c])
    t = (np.random.default_rng(4).random((40, 40)) > 0.6).astype(np.float32)
    want = input_phase.double_phase(t)
    kernel = np.outer(k1, k1)
    drive = input_phase.predistort(want, kernel)
    got = ndimage.convolve(drive.astype(np.float64), kernel, mode="nearest")
    assert np.abs(got - want).max() < 1e-4
    gain = ndimage.convolve(
        input_phase.double_phase(t, input_phase.checkerboard_gain(c)).astype(np.float64),
        kernel,
        mode="nearest",
    )
    assert np.sqrt(np.mean((gain - want) ** 2)) > 0.1


def test_surround_grating_keeps_its_light_out_of_the_band_through_fringing(
    compiled: MaskBundle,
) -> None:
    """The surround's grating through the input SLM's fringing (its phases blurred by
    scipy.ndimage.convolve), its field's power by a direct DFT: the share inside the kernels'
    band (which the masks pass into the windows) is under 1e-3 with the bundle's predistorted
    drive (here the 2-level grating: the band reaches past 1/3), under 3 % through a fringing
    20 % stronger than believed (c = 0.06); a wrapped
    blazed grating (0.378 cycles per pixel, the surround before), whose 2 pi jumps the blur
    smooths, leaves over 10 % there."""
    from scipy import ndimage

    from fouroptics.optics.pixels import fringing_kernel

    mask, phase = input_phase.surround(compiled)
    assert mask.any()
    band = input_phase.band_cycles(compiled)
    h, w = phase.shape
    rows, cols = np.indices((h, w))
    wrapped = np.mod(2 * np.pi * 0.378 * (rows + cols), 2 * np.pi)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    inband = (np.abs(fy) <= band) & (np.abs(fx) <= band)
    dft_y = np.exp(-2j * np.pi * np.outer(np.arange(h), np.arange(h)) / h)
    dft_x = np.exp(-2j * np.pi * np.outer(np.arange(w), np.arange(w)) / w)

    def share(drive: np.ndarray, c: float) -> float:
        field = np.exp(1j * ndimage.convolve(drive.astype(np.float64), fringing_kernel(c),
                                             mode="nearest"))  # fmt: skip
        power = np.abs(dft_y @ field @ dft_x.T) ** 2
        return float(power[inband].sum() / power.sum())

    drive = input_phase.predistort(phase, fringing_kernel(0.05))
    assert share(drive, 0.05) < 1e-3
    assert share(drive, 0.06) < 0.03  # 0.023: the checkerboard's pair a little short
    assert share(wrapped, 0.05) > 0.1
