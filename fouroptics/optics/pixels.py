"""Pixel apertures: the one home of SLM fill factor, gap light and pixel envelopes.

An SLM pixel of pitch ``p`` modulates a centred square of side ``a = sqrt(ff) p`` (``ff`` the
fill factor, an area fraction); the rest of its cell (the inter-pixel gap) transmits the
constant ``g`` (1 for an LCoS whose gaps reflect unmodulated light, 0 for absorbing gaps).

* Sampled at the pixel centres, a pixel showing ``m`` acts as the effective transmission
  ``t = ff m + (1 - ff) g`` (:func:`effective_transmission`); the compiler inverts it
  (:func:`compensate`) so that a wanted ``t`` is shown exactly.
* Integrated over its area, the aperture adds the envelope ``sinc(a nu)`` per axis on the far
  side of the next lens (:func:`aperture_envelope`): for the input SLM this multiplies the
  Fourier-plane field (:func:`input_envelope`), for the Fourier SLM the camera-plane field.

Used by the engine (``fourier_mask_terms``), :class:`~fouroptics.optics.FourFSystem`
(``input_envelope``, ``kernel_to_mask``), the compiler's compensation and the simulated SLM in
devices/. numpy arrays and torch tensors are accepted where noted.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def effective_transmission(mask: Any, fill_factor: float, gap: complex) -> Any:
    """Pixel-averaged transmission ``ff * mask + (1 - ff) * gap`` (numpy or torch, any shape).

    Args:
        mask: complex transmission of the active apertures, dimensionless.
        fill_factor: active area fraction, 0 < ff <= 1.
        gap: complex transmission of the inter-pixel area.
    """
    if fill_factor == 1.0 or gap == 0:
        return mask * fill_factor if fill_factor != 1.0 else mask
    return mask * fill_factor + (1.0 - fill_factor) * gap


def compensate(target: np.ndarray, fill_factor: float, gap: complex) -> np.ndarray:
    """The mask to display so that :func:`effective_transmission` equals ``target``.

    ``(target - (1 - ff) g) / ff``; its modulus may exceed 1 (the caller scales ``target``
    first, see :func:`max_passive_scale`).
    """
    return (np.asarray(target) - (1.0 - fill_factor) * gap) / fill_factor


def max_passive_scale(target: np.ndarray, fill_factor: float, gap: complex) -> float:
    """Largest ``s > 0`` such that ``|compensate(s * target)| <= 1`` everywhere.

    A sufficient bound: ``|s t - c| <= s |t| + |c| <= ff`` with ``c = (1 - ff) g``, i.e.
    ``s = (ff - |c|) / max|t|``. Returns ``inf`` for an all-zero target.

    Raises:
        ValueError: when the gap light alone exceeds what the pixels can cancel (|c| >= ff).
    """
    c = abs((1.0 - fill_factor) * gap)
    if c >= fill_factor:
        raise ValueError(
            f"gap light (1 - ff) |g| = {c:.3g} >= fill factor {fill_factor:.3g}: the pixels "
            "cannot cancel the unmodulated light"
        )
    peak = float(np.max(np.abs(target))) if np.size(target) else 0.0
    return np.inf if peak == 0 else (fill_factor - c) / peak


def aperture_envelope(aperture: float, freq: np.ndarray) -> np.ndarray:
    """Envelope ``sinc(a nu)`` (numpy's sinc, sin(pi t)/(pi t)) of a square aperture of side
    ``aperture`` metres at spatial frequencies ``freq`` (1/m), float64, shape of ``freq``."""
    return np.sinc(aperture * np.asarray(freq, dtype=np.float64))


def input_envelope_1d(aperture: float, fill_factor: float, freq: np.ndarray) -> np.ndarray:
    """One axis of :func:`input_envelope`: ``sqrt(ff) sinc(a nu)``, shape of ``freq``."""
    return np.sqrt(fill_factor) * aperture_envelope(aperture, freq)


def input_envelope(
    aperture: float, fill_factor: float, freq_y: np.ndarray, freq_x: np.ndarray
) -> np.ndarray:
    """Input-SLM pixel envelope on the Fourier grid, ``ff sinc(a nu_y) sinc(a nu_x)``.

    Each input pixel is a uniform square of side ``a = sqrt(ff) p_in`` (dark gaps): relative to
    point samples its spectrum is weighted by the aperture's area fraction and its sinc.

    Args:
        aperture: side of the active square, metres.
        fill_factor: active area fraction.
        freq_y, freq_x: input-plane spatial frequencies (1/m) of the Fourier pixels, (H_F,),
            (W_F,).

    Returns:
        (H_F, W_F) float64.
    """
    return np.outer(
        input_envelope_1d(aperture, fill_factor, freq_y),
        input_envelope_1d(aperture, fill_factor, freq_x),
    )


def quadrature_terms(
    mask: Any, fill_factor: float, gap: complex, pitch: float, quadrature: int
) -> list[tuple[str, Any]]:
    """Split a displayed Fourier mask into area-weighted terms for the engine.

    The active aperture (area ``a^2 = ff p^2``) transmits ``mask``, the rest of the cell
    transmits ``gap``. With one node per pixel both are evaluated at the pixel centre and
    combine into ``p^2 (ff m + (1 - ff) g)``; with Gauss-Legendre nodes the aperture and the
    whole cell are integrated separately: ``a^2 (m - g)`` over the aperture nodes plus
    ``p^2 g`` over the cell nodes.

    Returns:
        ``[(nodes, term), ...]`` with nodes "aperture" or "cell" (numpy or torch terms).
    """
    a2, c2 = fill_factor * pitch**2, pitch**2
    if fill_factor == 1.0 or gap == 0:
        return [("aperture", mask * a2)]
    if quadrature == 1:
        return [("aperture", effective_transmission(mask, fill_factor, gap) * c2)]
    return [("aperture", (mask - gap) * a2), ("cell", c2 * gap)]


def fringing_kernel(coupling: float) -> np.ndarray:
    """The nearest-neighbour crosstalk kernel (fringing field of each electrode leaking into its
    neighbours): ``outer(k, k)`` with ``k = [c, 1 - 2c, c]``, (3, 3) float64, sum 1. A pattern
    alternating at the pixel pitch along one axis is damped by ``1 - 4c``, a checkerboard by
    ``(1 - 4c)^2``.

    Args:
        coupling: ``c`` in [0, 0.25].
    """
    if not 0 <= coupling <= 0.25:
        raise ValueError(f"fringing coupling: got {coupling}; expected 0 <= c <= 0.25")
    k = np.array([coupling, 1.0 - 2.0 * coupling, coupling])
    return np.outer(k, k)


def axis_kernel(left: float, right: float, width: float = 0.0, taps: int = 5) -> np.ndarray:
    """One axis of a crosstalk kernel: ``(taps,)`` float64 summing to one.

    A pixel spreads ``left`` onto its neighbour at -1 and ``right`` onto the one at +1, and
    ``width`` times those onto the second neighbours (an exponential fall-off with distance:
    ``width**(|a| - 1)`` at distance ``|a|``); the rest stays on the pixel.

    Args:
        left, right: first-neighbour couplings, >= 0.
        width: fall-off ratio per pixel of distance, in [0, 1).
        taps: odd kernel length, 3..7.
    """
    r = taps // 2
    k = np.zeros(taps)
    for a in range(1, r + 1):  # a few taps, not pixels
        k[r - a] = left * width ** (a - 1)
        k[r + a] = right * width ** (a - 1)
    k[r] = 1.0 - k.sum()
    return k


def check_kernel(kernel: Any, name: str = "crosstalk kernel") -> np.ndarray:
    """``kernel`` as a (kh, kw) float64 array: odd sides up to 7, finite, sum 1 (to 1e-6).

    Raises:
        ValueError: naming ``name``, the shape or sum, and what is allowed.
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or any(n % 2 == 0 or n > 7 for n in k.shape):
        raise ValueError(f"{name}: shape {k.shape}; expected odd sides up to 7, e.g. (3, 3)")
    if not np.all(np.isfinite(k)) or abs(k.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name}: sum {k.sum():.6g}; expected finite taps summing to 1")
    return k


def crosstalk(values: Any, kernel: np.ndarray, adjoint: bool = False) -> Any:
    """Pixel crosstalk: ``values`` convolved with ``kernel`` on the last two axes, edges
    replicating the border pixel (``scipy.ndimage.convolve(..., mode="nearest")`` per image).

    ``kernel[r + a, s + b]`` (``(r, s)`` its centre) is the share of a pixel that lands on the
    pixel ``a`` rows below and ``b`` columns right of it. The kernel sums to one: uniform
    patterns are unchanged. A rank-one kernel (every separable one, e.g.
    :func:`fringing_kernel`) is applied as two 1-D passes.

    Args:
        values: ``(..., H, W)`` real numpy array or torch tensor (differentiable).
        kernel: (kh, kw) float, :func:`check_kernel`.
        adjoint: apply the adjoint instead, for gradients (numpy only): away from the border
            a correlation (the kernel flipped), at the border the replicated pixels' shares
            folded back onto the edge pixels.

    Returns:
        same shape; float32 stays float32, other numpy input becomes float64; torch keeps
        the tensor's dtype.
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.shape == (1, 1) or (k.size and np.count_nonzero(k) == 1 and _is_centre(k)):
        return values
    if isinstance(values, np.ndarray) or np.isscalar(values):
        out = np.asarray(values)
        out = out if out.dtype in (np.float32, np.float64) else out.astype(np.float64)
    else:
        out = values
    apply = _shift_add_adjoint if adjoint else _shift_add
    u, s, vt = np.linalg.svd(k)
    if s.size < 2 or s[1] <= 1e-12 * s[0]:  # separable: rows then columns
        ky, kx = u[:, 0] * np.sqrt(s[0]), vt[0] * np.sqrt(s[0])
        return apply(apply(out, ky[:, None]), kx[None, :])
    return apply(out, k)


def crosstalk_transfer(
    kernel: np.ndarray, freq_y: np.ndarray, freq_x: np.ndarray, pitch: float
) -> np.ndarray:
    """What :func:`crosstalk` does to a pattern's spatial frequencies, away from the border:
    ``H(nu_y, nu_x) = sum_ab kernel[r + a, s + b] exp(-2 pi i (nu_y a + nu_x b) pitch)``
    (the convention of :func:`crosstalk`: ``(a, b)`` rows below and columns right).

    Args:
        kernel: (kh, kw), :func:`check_kernel`.
        freq_y, freq_x: spatial frequencies (1/m), (H,), (W,).
        pitch: pixel pitch, metres.

    Returns:
        (H, W) complex128 (real for a symmetric kernel; 1 at zero frequency).
    """
    k = np.asarray(kernel, dtype=np.float64)
    ay = np.exp(-2j * np.pi * np.outer(freq_y, np.arange(k.shape[0]) - k.shape[0] // 2) * pitch)
    ax = np.exp(-2j * np.pi * np.outer(freq_x, np.arange(k.shape[1]) - k.shape[1] // 2) * pitch)
    return ay @ k @ ax.T


def fringing(values: Any, coupling: float) -> Any:
    """Nearest-neighbour crosstalk: :func:`crosstalk` with :func:`fringing_kernel` ``(c)``.

    Applied to what the liquid crystal realises before it becomes a field: the phase in radians
    (phase SLMs: unwrapped, wraps included, so a 2 pi jump is smoothed too) or the amplitude.

    Args:
        values: ``(..., H, W)`` real numpy array or torch tensor (differentiable).
        coupling: ``c`` in [0, 0.25]; 0 returns ``values`` unchanged.
    """
    kernel = fringing_kernel(coupling)
    return values if coupling == 0 else crosstalk(values, kernel)


#: Where crosstalk acts: on the drive (voltage) before the LUT, or on what the LUT realises.
DOMAINS = ("phase", "voltage")


def crosstalk_response(
    levels: np.ndarray, curve: np.ndarray, kernel: np.ndarray | None, domain: str = "phase"
) -> np.ndarray:
    """What an SLM with crosstalk realises from gray ``levels``: radians (phase SLM) or field
    amplitude, the one home of "where crosstalk acts".

    * ``"phase"``: ``K * curve[levels]`` (the fringing fields mix what the pixels realise);
    * ``"voltage"``: ``curve(K * levels)`` (they mix the drive; the response ``curve`` is
      interpolated linearly between levels).

    Args:
        levels: (..., H, W) integer gray levels, or float drive levels (voltage domain).
        curve: (L,) response per level (radians, unwrapped, or amplitude).
        kernel: (kh, kw) :func:`crosstalk` kernel, or None (no crosstalk).
        domain: "phase" or "voltage".

    Returns:
        (..., H, W) float64 (float32 when ``levels`` are float32 in the voltage domain).
    """
    curve = np.asarray(curve)
    if domain not in DOMAINS:
        raise ValueError(f"crosstalk domain: got {domain!r}; allowed: {', '.join(DOMAINS)}")
    if kernel is None:
        return interp_curve(curve, levels)
    if domain == "phase":
        return crosstalk(interp_curve(curve, levels), kernel)
    lv = np.asarray(levels)
    lv = lv if lv.dtype in (np.float32, np.float64) else lv.astype(np.float64)
    return interp_curve(curve, crosstalk(lv, kernel))


def interp_curve(curve: np.ndarray, x: np.ndarray, slope: bool = False) -> np.ndarray:
    """``curve`` (L,) at drive levels ``x`` (any shape), linear between levels, clamped to
    [0, L - 1]; integer ``x`` is a plain lookup. With ``slope``, the local slope d curve / dx
    (per level) instead."""
    x = np.asarray(x)
    if x.dtype.kind in "ui" and not slope:
        return np.asarray(curve)[x]
    n = len(curve)
    xc = np.clip(x, 0, n - 1)
    i = np.minimum(xc.astype(np.int64), n - 2)
    steps = np.diff(curve).astype(x.dtype if x.dtype == np.float32 else np.float64)
    if slope:
        return steps[i]
    base = np.asarray(curve, dtype=steps.dtype)[i]
    return base + (xc - i) * steps[i]


def _is_centre(k: np.ndarray) -> bool:
    return bool(k[k.shape[0] // 2, k.shape[1] // 2] == 1.0)


def _shift_add(x: Any, k: np.ndarray) -> Any:
    """``x`` convolved with the small kernel ``k`` (kh, kw) on its last two axes, borders
    replicated: one shifted add per non-zero tap (a few taps, never a loop over pixels)."""
    ry, rx = k.shape[0] // 2, k.shape[1] // 2
    padded = _pad_edge(x, ry, rx)
    h, w = x.shape[-2], x.shape[-1]
    out = None
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            if k[a, b] == 0:
                continue
            # the pixel (i - (a - ry), j - (b - rx)) spreads k[a, b] onto (i, j)
            part = padded[..., 2 * ry - a : 2 * ry - a + h, 2 * rx - b : 2 * rx - b + w]
            term = part * _scalar(k[a, b], x)
            out = term if out is None else out + term
    return out


def _shift_add_adjoint(g: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`_shift_add` (numpy): every output pixel's gradient sent back
    along the taps onto the padded grid, then the padding folded onto the border pixels."""
    ry, rx = k.shape[0] // 2, k.shape[1] // 2
    h, w = g.shape[-2], g.shape[-1]
    z = np.zeros((*g.shape[:-2], h + 2 * ry, w + 2 * rx), dtype=g.dtype)
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            if k[a, b] != 0:
                z[..., 2 * ry - a : 2 * ry - a + h, 2 * rx - b : 2 * rx - b + w] += g * _scalar(
                    k[a, b], g
                )
    if ry:
        z[..., ry, :] += z[..., :ry, :].sum(axis=-2)
        z[..., ry + h - 1, :] += z[..., ry + h :, :].sum(axis=-2)
    if rx:
        z[..., rx] += z[..., :rx].sum(axis=-1)
        z[..., rx + w - 1] += z[..., rx + w :].sum(axis=-1)
    return z[..., ry : ry + h, rx : rx + w]


def _scalar(v: float, like: Any) -> Any:
    return np.float32(v) if getattr(like, "dtype", None) == np.float32 else v


def _pad_edge(x: Any, ry: int, rx: int) -> Any:
    """``x`` with its last two axes padded by ``ry`` rows and ``rx`` columns of border pixels
    (numpy or torch)."""
    if isinstance(x, np.ndarray):
        pad = [(0, 0)] * (x.ndim - 2) + [(ry, ry), (rx, rx)]
        return np.pad(x, pad, mode="edge")
    import torch

    parts = [x[..., :1, :]] * ry + [x] + [x[..., -1:, :]] * ry
    x = torch.cat(parts, dim=-2) if ry else x
    parts = [x[..., :1]] * rx + [x] + [x[..., -1:]] * rx
    return torch.cat(parts, dim=-1) if rx else x
