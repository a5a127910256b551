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


def fringing(values: Any, coupling: float) -> Any:
    """Nearest-neighbour pixel crosstalk (the fringing field of each electrode leaks into its
    neighbours): the separable 3-tap kernel ``[c, 1 - 2c, c]`` along each of the last two axes,
    edges replicating the border pixel. The kernel sums to one (uniform patterns unchanged); a
    pattern alternating at the pixel pitch along one axis is damped by ``1 - 4c``, a
    checkerboard by ``(1 - 4c)^2``.

    Applied to what the liquid crystal realises before it becomes a field: the phase in radians
    (phase SLMs: unwrapped, wraps included, so a 2 pi jump is smoothed too) or the amplitude.

    Args:
        values: ``(..., H, W)`` real numpy array or torch tensor (differentiable).
        coupling: ``c`` in [0, 0.25]; 0 returns ``values`` unchanged.

    Returns:
        same shape; float32 stays float32, other numpy input becomes float64; torch keeps
        the tensor's dtype.
    """
    if not 0 <= coupling <= 0.25:
        raise ValueError(f"fringing coupling: got {coupling}; expected 0 <= c <= 0.25")
    if coupling == 0:
        return values
    if isinstance(values, np.ndarray) or np.isscalar(values):
        out = np.asarray(values)
        out = out if out.dtype in (np.float32, np.float64) else out.astype(np.float64)
        cat = np.concatenate
    else:  # torch
        import torch

        out = values

        def cat(parts: list[Any], axis: int) -> Any:
            return torch.cat(parts, dim=axis)

    for ax in (-2, -1):
        n = out.shape[ax]
        first = _take(out, ax, 0, 1)
        last = _take(out, ax, n - 1, n)
        before = cat([first, _take(out, ax, 0, n - 1)], axis=ax)
        after = cat([_take(out, ax, 1, n), last], axis=ax)
        out = (1 - 2 * coupling) * out + coupling * (before + after)
    return out


def _take(x: Any, axis: int, start: int, stop: int) -> Any:
    """``x[..., start:stop, :]`` (axis -2) or ``x[..., start:stop]`` (axis -1)."""
    return x[..., start:stop, :] if axis == -2 else x[..., start:stop]
