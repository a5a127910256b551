"""Images on a phase-only input SLM: the double-phase (checkerboard) encoding.

A transmission ``t`` in [0, 1] (the amplitude the compiled kernels expect on the input plane)
is shown as the phase ``+arccos(t)`` on the pixels where ``row + col`` is even and
``-arccos(t)`` where it is odd. Each pixel's field is ``t + i s sqrt(1 - t^2)`` with
``s = (-1)^(row + col)``: the wanted ``t`` plus a term carried by the checkerboard, whose
spectrum sits at the input's Nyquist corner ``(1/2, 1/2)`` cycles per pixel, that is
``lambda f1 / (2 p_in)`` from the axis along both Fourier axes. Behind a low-pass that keeps
the kernels' band (an SCLC's spectral pooling: a quarter cycle per pixel for MNIST at one
input pixel per image pixel) and stops the corner, the field is ``t`` up to the carrier's
spectral tail inside the band (Hsueh & Sawchuk's double-phase hologram); the compiled masks'
zero-target pixels there are a pure checkerboard on a double-phase Fourier SLM and send that
light ``lambda f2 / (2 p_F)`` off the axis on the camera. Efficiency: the share of the
light in the wanted term, ``mean(t^2)``; everything else is the carrier's.

The fidelity the compile reports (:func:`double_phase_fidelity`) is computed independently of
the bundle's optics: a direct FFT of the encoded field, an ideal square low-pass of the
image band, an inverse FFT, against the target amplitude.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: the bundle meta key and its values
META_KEY = "input_encoding"
ENCODINGS = ("amplitude", "double-phase")

#: (mask (H, W) bool: the input pixels outside every image block, phases (H, W) radians)
Surround = tuple[np.ndarray, np.ndarray]


def checkerboard(shape: tuple[int, int]) -> np.ndarray:
    """(H, W) float32: +1 where ``row + col`` is even, -1 where odd."""
    r, c = np.indices(shape)
    return np.where((r + c) % 2 == 0, 1.0, -1.0).astype(np.float32)


def double_phase(
    transmission: np.ndarray,
    gain: float = 1.0,
    surround: Surround | None = None,
    kernel: np.ndarray | None = None,
) -> np.ndarray:
    """Input-SLM phases (radians, float32, same shape (..., H, W)) showing ``transmission``
    (clipped to [0, 1]) by the double-phase checkerboard ``pi +- arccos(t) / gain`` (the
    field ``-t``: a global sign): ``gain`` is how much the SLM's believed fringing damps a
    checkerboard (``(1 - 4c)^2`` for a coupling ``c``,
    :func:`fouroptics.optics.pixels.fringing_kernel`), divided out in advance. The pair sits
    about mid-range, ``pi``, so neither wraps (``|offset| <= pi`` for ``gain >= 1/2``): an
    LCoS's fringing blurs its drive, not the phase modulo 2 pi, and a pair about 0 would be
    drawn to ``pi`` by it (a checkerboard of levels at both ends of the range).

    ``surround``: (mask (H, W) bool, phases (H, W)): the pixels outside the image blocks
    show the blazed grating of :func:`surround` instead (their transmission is 0).

    ``kernel``: the SLM's believed crosstalk (phase domain,
    :func:`fouroptics.optics.pixels.crosstalk`); when given it replaces ``gain``: the drive
    is the one whose blur by ``kernel`` is the pair ``pi +- arccos(t)`` on every image pixel
    and the surround's grating on the others (:func:`predistort`), not only where ``t`` is
    uniform: the gain's ``(1 - 4c)^2`` holds for a checkerboard of one amplitude, and a digit
    at one input pixel per image pixel changes its amplitude from pixel to pixel."""
    t = np.clip(np.asarray(transmission, dtype=np.float32), 0.0, 1.0)
    g = np.float32(1.0 if kernel is not None else gain)
    offset = np.arccos(t) / g * checkerboard(t.shape[-2:])
    theta = (np.float32(np.pi) + offset).astype(np.float32)
    if surround is not None:
        mask, phase = surround
        theta[..., mask] = phase[mask]
    if kernel is not None:
        theta = predistort(theta, kernel)
    return theta


#: fixed-point steps of :func:`predistort` (0.38 of the error left per step at c = 0.05: 12
#: steps leave ~1e-5 of it)
PREDISTORT_STEPS = 12


def predistort(theta: np.ndarray, kernel: np.ndarray, steps: int = PREDISTORT_STEPS) -> np.ndarray:
    """The drive ``d`` (..., H, W) float32 whose crosstalk ``K * d``
    (:func:`fouroptics.optics.pixels.crosstalk`) is the phases ``theta`` (which must not
    wrap: a 2 pi jump no drive keeps through the blur): ``d <- d + (theta - K * d)``, clipped
    to ``[0, 2 pi]`` (one cycle of the response). A contraction where the kernel's centre
    exceeds half of it (``(1 - 2c)^2`` for :func:`fringing_kernel`: factor 0.38 a step at
    c = 0.05)."""
    from fouroptics.optics import pixels

    target = np.asarray(theta, dtype=np.float32)
    d = target.copy()
    for _ in range(steps):
        d += target - pixels.crosstalk(d, kernel)
        np.clip(d, 0.0, np.float32(2 * np.pi), out=d)
    return d


def surround(bundle: Any) -> Surround:
    """The input SLM's pixels outside the bundle's image blocks and the blazed grating they
    show: ``P`` levels ``pi + (2 pi / P) (k - (P - 1) / 2)``, ``k = (row + col) mod P``, a
    pure tone at ``1 / P`` cycles per pixel on both axes (:func:`surround_cycles`: ``P = 3``,
    0.333, for an MNIST SCLC at one input pixel per image pixel on two_phase_slms.yaml;
    ``P = 2``, the double phase of a zero, where the kernels' band reaches 1/3). A zero
    transmission's checkerboard there put most of the panel's light on the Fourier SLM's
    corners, a few pixels from its edges, whose truncation spread it over the camera beside
    the panel's image, where the windows are (the run against its twin: 0.57 -> 0.22 rms in
    the features on two_phase seed 4431); the grating's light lies well inside the Fourier
    SLM, on the carrier's cells (:func:`carrier_stop`), which send it off the windows.

    Its levels span ``(P - 1) 2 pi / P`` about ``pi`` without a wrap, so a drive predistorted
    for the SLM's fringing (:func:`predistort`) keeps the tone through the blur: a wrapped
    grating (0.378 cycles per pixel, before) lost 22 % of its light to the blur of its 2 pi
    jumps, inside the kernels' band, through the masks into every window (the twin's
    features 0.98 rms from the model's on two_phase seed 4451; 0.15 with the surround
    dark)."""
    h, w = bundle.system.input_shape
    m = bundle.meta
    size = m["period"] * m["upsample"] * m["tiles"]
    mask = np.ones((h, w), dtype=bool)
    for r, c in np.asarray(bundle.arrays["block_start"]):
        mask[r : r + size, c : c + size] = False
    period = int(round(1.0 / surround_cycles(bundle.system, band_cycles(bundle))))
    rows, cols = np.indices((h, w))
    k = np.mod(rows + cols, period) - (period - 1) / 2
    phase = (np.pi + 2 * np.pi / period * k).astype(np.float32)
    return mask, phase


#: the surround's tones, cycles per input pixel: blazes of 3 and 2 levels (no wrap)
SURROUND_TONES = (1.0 / 3.0, 0.5)


def surround_cycles(system: Any, band: float) -> float:
    """The surround grating's frequency (cycles per input pixel, both axes): of
    :data:`SURROUND_TONES` above ``band``, the farthest, in the Fourier plane, from the
    kernels' band and from the Fourier SLM's edges, for its order and the order's copy one
    cycle away (the input pixels' grid): an order a few pixels from an edge is truncated there
    and spreads its light over the camera. The SLM's half extent in those units is
    ``e = (N_F p_F / 2) p_in / (lambda f1)``; on two_phase_slms.yaml (``e = 0.513``,
    ``band = 0.268``) 1/3 (0.065 from the band, 0.18 from the edges), where the checkerboard
    (1/2) lies 7 Fourier pixels from the edges. 1/2 when the band reaches 1/3."""
    half = min(system.fourier_shape) * system.fourier_pitch / 2
    e = half * system.input_pitch / (system.wavelength * system.f1)
    nu = np.array([v for v in SURROUND_TONES if v > band] or [0.5])
    score = np.minimum(np.minimum(np.abs(nu - e), np.abs(1.0 - nu - e)), nu - band)
    return float(nu[int(np.argmax(score))])


def double_phase_field(
    transmission: np.ndarray,
    gain: float = 1.0,
    kernel: np.ndarray | None = None,
    surround: Surround | None = None,
) -> np.ndarray:
    """The encoded field ``exp(i theta)`` (..., H, W) complex64, unit amplitude, with the
    phases ``theta`` of :func:`double_phase` (``surround``: see there; predistorted for
    ``kernel``) blurred by the SLM's believed crosstalk ``kernel`` (phase domain) when
    given."""
    theta = double_phase(transmission, gain, surround, kernel)
    if kernel is not None:
        from fouroptics.optics import pixels

        theta = pixels.crosstalk(theta, kernel)
    return np.exp(1j * theta).astype(np.complex64)


def checkerboard_gain(coupling: float) -> float:
    """How much a fringing coupling ``c`` damps a checkerboard: ``(1 - 4c)^2``."""
    return float((1.0 - 4.0 * coupling) ** 2)


def checkerboard_coupling(gain: float) -> float:
    """The fringing coupling ``c`` in [0, 1/4] of a checkerboard ``gain``: the inverse of
    :func:`checkerboard_gain`."""
    return float((1.0 - np.sqrt(gain)) / 4.0)


def phase_to_levels(phase: np.ndarray, levels: int, inverse_lut: np.ndarray | None) -> np.ndarray:
    """Gray levels (int64) of phases (radians, any range): the bin ``2 pi k / L`` nearest each
    phase modulo 2 pi, through a measured inverse LUT (``(L,)`` levels per bin) when given,
    else the level ``k`` itself (a nominal linear 2 pi range)."""
    k = np.floor(np.mod(np.asarray(phase) / (2 * np.pi), 1.0) * levels + 0.5).astype(np.int64)
    k %= levels
    return k if inverse_lut is None else np.asarray(inverse_lut, dtype=np.int64)[k]


def band_cycles(bundle: Any) -> float:
    """The compiled kernels' band, cycles per input-SLM pixel: the largest DFT bin of the
    band (``arrays["band"]``, bins of the image period) over the period in input pixels."""
    m = bundle.meta
    return float(np.abs(bundle.arrays["band"]).max() + 0.5) / (m["period"] * m["upsample"])


def first_cycle_levels(phase: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Gray levels (int64) of phases in [0, 2 pi] (no wrap) on the first cycle of a measured
    monotone response ``curve`` (L,) (radians from level 0): the level whose phase is nearest,
    among those whose phase is at most ``2 pi`` above level 0's (a panel whose range passes
    2 pi has two levels for a phase; the double-phase pair must straddle the range's middle
    so the SLM's fringing, which blurs its drive, draws both towards it)."""
    c = np.asarray(curve, np.float64) - float(curve[0])
    top = int(np.searchsorted(c, 2 * np.pi + 0.5 * (c[1] - c[0]), side="right"))
    c = c[: max(top, 2)]
    grid = np.linspace(0, 2 * np.pi, 1025)
    table = np.abs(c[None, :] - grid[:, None]).argmin(axis=1)
    k = np.rint(np.clip(np.asarray(phase, np.float64), 0, 2 * np.pi) / (2 * np.pi) * 1024)
    return table[k.astype(np.int64)]


def double_phase_fidelity(transmission: np.ndarray, band: float) -> dict[str, float]:
    """How well the double-phase field, low-passed to the kernels' band, shows
    ``transmission``.

    Args:
        transmission: (B, H, W) in [0, 1], the bundle's input transmissions.
        band: the band the masks pass, cycles per input pixel (:func:`band_cycles`; the
            low-pass keeps ``|nu| <= band`` on both axes).

    Returns:
        ``nrmse``: rms of (low-passed encoded field - low-passed target) over rms of the
        low-passed target; ``carrier_leak``: the carrier's power left inside the band, over
        the target's; ``efficiency``: the share of the encoded light in the wanted term.
    """
    t = np.clip(np.asarray(transmission, dtype=np.float64), 0.0, 1.0)
    h, w = t.shape[-2:]
    fy = np.abs(np.fft.fftfreq(h))[:, None]
    fx = np.abs(np.fft.fftfreq(w))[None, :]
    band = (fy <= band) & (fx <= band)
    enc = np.fft.fft2(np.exp(1j * np.arccos(t) * checkerboard((h, w))))
    tgt = np.fft.fft2(t)
    got = np.fft.ifft2(enc * band)
    want = np.fft.ifft2(tgt * band)
    nrmse = float(np.sqrt(np.mean(np.abs(got - want) ** 2) / np.mean(np.abs(want) ** 2)))
    leak = float(np.sum(np.abs((enc - tgt) * band) ** 2) / np.sum(np.abs(tgt * band) ** 2))
    return {
        "nrmse": nrmse,
        "carrier_leak": leak,
        "efficiency": float(np.mean(t**2)),
    }


def carrier_stop(system: Any, band: float) -> np.ndarray:
    """(H_F, W_F) bool: the Fourier-SLM pixels about the double-phase carrier's centres, the
    half-integer frequencies ``(1/2 + m, 1/2 + n)`` cycles per input pixel, out to the
    kernels' band (``|nu - (1/2 + m)| < 1/2 - band`` on both axes, ``band`` in cycles per
    input pixel; the nominal axis at ``(H_F // 2, W_F // 2)``)."""
    scale = system.wavelength * system.f1 / (system.input_pitch * system.fourier_pitch)
    hf, wf = system.fourier_shape
    half = 0.5 - band

    def near_half(n: int) -> np.ndarray:
        nu = (np.arange(n) - n // 2) / scale
        return np.abs(np.mod(nu, 1.0) - 0.5) < half

    return near_half(hf)[:, None] & near_half(wf)[None, :]


def stop_carrier(bundle: Any) -> int:
    """Keep the double-phase carrier's light out of the readout: on the carrier's cells
    (:func:`carrier_stop`) the bundle's masks become the compensated zero
    (:func:`fouroptics.optics.pixels.compensate`: the pixels cancel the Fourier SLM's gap
    light there, as the compiled masks do elsewhere; complex masks) or, on a phase Fourier
    SLM, its double phase: a checkerboard of two levels ``phi +- a`` (``cos a = |m0|``, ``phi``
    its phase, ``a`` driven harder by the believed fringing) that throws the rest of that light
    ``lambda f2 / (2 p_F)`` off the axis on the camera. The realised masks (the twin's)
    follow. Returns the number of Fourier pixels changed per frame."""
    from fouroptics.optics.pixels import compensate

    stop = carrier_stop(bundle.system, band_cycles(bundle))
    grid = bundle.system.fourier_slm
    m0 = complex(compensate(0.0, grid.fill_factor, grid.gap_transmission))
    if bundle.fourier_levels is None:
        bundle.fourier_masks[:, stop] = m0
        return int(stop.sum())
    resp = np.asarray(bundle.slm_table, dtype=np.complex128).reshape(-1)
    gain = checkerboard_gain(float((bundle.slm or {}).get("fringing", 0.0)))
    amp = min(np.arccos(min(abs(m0), 1.0)) / gain, np.pi)  # fringing damps the checkerboard
    # phi +- amp from level 0 (phi = pi for no gap light: mid-range), both on the response's
    # first cycle (see double_phase): a panel whose range passes 2 pi has a second level for
    # a phase near 0, and a pair drawn from both ends of the cycle (levels a few dozen apart)
    # is what its fringing, which blurs the drive, smooths into undeflected light (0.9 of the
    # field on two_phase seed 4432)
    curve = np.unwrap(np.angle(resp))
    sign = 1.0 if curve[-1] >= curve[0] else -1.0  # a response falling with the level
    curve = sign * (curve - curve[0])
    centre = np.angle(m0) - np.angle(resp[0]) if abs(m0) > 1e-9 else np.pi
    want = np.mod(sign * (centre + np.array([amp, -amp])), 2 * np.pi)
    pair = [int(v) for v in first_cycle_levels(want, curve)]
    board = checkerboard(stop.shape) > 0
    lv = np.where(board, pair[0], pair[1]).astype(bundle.fourier_levels.dtype)
    bundle.fourier_levels[:, stop] = lv[stop]
    bundle.fourier_masks[:, stop] = resp[lv[stop]].astype(bundle.fourier_masks.dtype)
    return int(stop.sum())
