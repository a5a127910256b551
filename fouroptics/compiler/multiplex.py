"""Many output tiles per frame on a phase-only SLM: one drive pattern that realises every tile's
kernel at once (the ``phase-multi`` encoding).

A frame's wanted mask is the sum of its tiles' terms ``m = sum_t m_t``, each kernel aimed at its
own camera tile by a phase ramp (:mod:`fouroptics.compiler.synthesis`). The camera plane is the
mask's Fourier transform, so each tile's light occupies its own part of the readout region ``W``
(:func:`fouroptics.compiler.refine.readout_region`): every bin of ``W`` is labelled with the tile
whose light (for some source block) lies nearest (:func:`tile_labels`). A phase-only SLM cannot
show ``m``, but intensity detection (and the +-R and +/- pairs, whose terms share a tile) reads
each tile up to its own phase, and light outside ``W`` reaches no window. So the drive ``d``
minimises, per frame, with ``P_t = IFFT W_t FFT``, ``f = exp(i r(d))`` what the SLM realises
through its crosstalk and LUT (:class:`fouroptics.compiler.refine.DriveModel`) and ``w`` the
input's Fourier-plane power (as :mod:`fouroptics.compiler.refine` weighs the error):

    L = || sqrt(w) (P f - g sum_t e^{i psi_t} P_t m) ||^2 / (g^2 || sqrt(w) sum_t ... ||^2)

with each ``psi_t`` at its closed-form best ``arg <P_t m, w P f>`` and the gain ``g`` common to
all tiles (free per frame in a first stage, then common to all frames: the readout has one
power scale). The start is a Gerchberg-Saxton projection (the region's spectrum replaced by the
target with the best tile phases, the rest of the camera plane left free) from the kinoform of
the tiles' sum with random tile phases; then Adam on the continuous drive, the loss taken over
a few crosstalk kernels around the believed one (:func:`crosstalk_variants`: the off-centre
coupling scaled by ``1 -+ spread``), each weighted by its share of the loss, so that the drive
holds on a device whose crosstalk differs from the belief. Six FFTs per model and step, whatever
the number of tiles.

An amplitude input SLM's contrast floor lights the whole panel; DC-free kernels pass none of
it, but a phase-only drive has ``|f| = 1`` at the axis and shed light everywhere, and the
panel's 2 mm image, convolved with that light, reaches every window: on misaligned_noisy.yaml
with a measured calibration it took a quick MNIST SCLC's check from 0.986 / 0.973 (mean / worst
fidelity, floor off) to 0.59 / 0.25. The floor term (:class:`FloorTerm`) adds its exact window
light ``V FFT(s f)`` to the loss (four FFTs more per model and step).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.fft

from fouroptics.compiler.refine import GAIN_SLACK, DriveModel, adam_step, share_weighted
from fouroptics.compiler.slm import SLMModel

#: Relative spread of the crosstalk's off-centre coupling the drive is made robust to (0.2:
#: ``c = 0.05 +- 0.01`` for a profile's nearest-neighbour fringing).
ROBUST_SPREAD = 0.2

#: Optimisation steps (a third with the gain free) and Gerchberg-Saxton iterations of the start.
MULTIPLEX_STEPS = 300
START_ITERS = 60

#: Camera pixels kept clear around each readout window beyond the region a window sees through
#: the blocks (the run resamples each window from the pixels around it). 0: the twin's field 6
#: pixels around each window is as faithful as inside it already (0.992 on
#: misaligned_noisy.yaml); 8 cost a third of the small test system's tiles.
READOUT_GUARD_PX = 0

#: Frames optimised together (memory: a dozen (F, H, W) complex arrays per crosstalk model).
_CHUNK = 2


def crosstalk_variants(slm: SLMModel, spread: float) -> list[tuple[float, SLMModel]]:
    """The believed SLM and, when it has crosstalk and ``spread > 0``, two variants whose
    off-centre coupling is scaled by ``1 - spread`` and ``1 + spread`` (kernel ``delta +
    alpha (K - delta)``: same sum, same shape, the coupling alpha times as strong).

    Returns:
        [(alpha, SLMModel)], the belief (alpha 1) first.
    """
    out = [(1.0, slm)]
    kernel = slm.kernel
    if not spread or not slm.has_crosstalk or kernel is None:
        return out
    delta = np.zeros_like(kernel)
    delta[kernel.shape[0] // 2, kernel.shape[1] // 2] = 1.0
    for alpha in (1.0 - spread, 1.0 + spread):
        k = delta + alpha * (kernel - delta)
        if k.min() < 0:  # the coupling cannot exceed the pixel's own share
            continue
        out.append((alpha, dataclasses.replace(slm, crosstalk=k / k.sum())))
    return out


def cluster_bins(
    ramps: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """DFT bins (K, 2) (row, column) of the mask spectrum where each ramp's light lands: the peak
    of each factor's 1-D FFT (``ramps``: the (H,), (W,) factors of
    :meth:`fouroptics.optics.FourFSystem.shift_ramp_factors`, one per tile and source block)."""
    out = np.zeros((len(ramps), 2), dtype=np.float64)
    for k, (ry, rx) in enumerate(ramps):  # a handful of tiles x blocks, 1-D FFTs
        out[k] = [np.argmax(np.abs(scipy.fft.fft(r))) for r in (ry, rx)]
    return out


def tile_labels(region: np.ndarray, bins: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Which tile each bin of the readout region serves: (F, H, W) int32, -1 outside it.

    Args:
        region: (F, H, W) bool, unshifted DFT layout.
        bins: (K, 2) DFT bins of the light clusters (:func:`cluster_bins`).
        owner: (K,) tile of each cluster.
    """
    _, h, w = region.shape
    iy = np.arange(h, dtype=np.float32)[:, None]
    ix = np.arange(w, dtype=np.float32)[None, :]
    best = np.full((h, w), np.inf, dtype=np.float32)
    label = np.zeros((h, w), dtype=np.int32)
    for (by, bx), t in zip(bins, owner, strict=True):  # a loop over clusters, not pixels
        dy = np.abs(iy - np.float32(by))
        dx = np.abs(ix - np.float32(bx))
        d2 = np.minimum(dy, h - dy) ** 2 + np.minimum(dx, w - dx) ** 2
        closer = d2 < best
        best = np.where(closer, d2, best)
        label = np.where(closer, np.int32(t), label)
    return np.where(region, label[None], -1).astype(np.int32)


@dataclasses.dataclass
class _Target:
    """The wanted spectra of a chunk of frames and the index of each region bin's tile."""

    spec: np.ndarray  # (F, H, W) complex64, FFT of the wanted masks, 0 outside the region
    region: np.ndarray  # (F, H, W) bool
    sel: np.ndarray  # flat indices of the region's bins in (F, H, W)
    lab: np.ndarray  # (len(sel),) frame * tiles + tile
    tiles: int

    @classmethod
    def of(cls, masks: np.ndarray, region: np.ndarray, labels: np.ndarray, tiles: int) -> _Target:
        spec = scipy.fft.fft2(masks.astype(np.complex64), workers=-1) * region
        sel = np.flatnonzero(region)
        frame = sel // region[0].size
        lab = frame * tiles + labels.ravel()[sel]
        return cls(spec.astype(np.complex64), region, sel, lab, tiles)

    def overlaps(self, x_spec: np.ndarray) -> np.ndarray:
        """Per frame and tile ``sum_{W_t} conj(M) X`` (F, T) complex128."""
        prod = np.conj(self.spec.ravel()[self.sel]) * x_spec.ravel()[self.sel]
        n = len(self.spec) * self.tiles
        re = np.bincount(self.lab, prod.real, n)
        im = np.bincount(self.lab, prod.imag, n)
        return (re + 1j * im).reshape(len(self.spec), self.tiles)

    def phased(self, phase: np.ndarray) -> np.ndarray:
        """``sum_t e^{i psi_t} P_t m`` (F, H, W) complex64 for tile phasors ``phase`` (F, T)."""
        phi = np.zeros(self.spec.size, dtype=np.complex64)
        phi[self.sel] = phase.ravel()[self.lab]
        return scipy.fft.ifft2(phi.reshape(self.spec.shape) * self.spec, workers=-1)


@dataclasses.dataclass(frozen=True)
class FloorTerm:
    """An input SLM's contrast floor, which lights the whole panel: its Fourier-plane field
    ``s`` (concentrated within a few pixels of the axis: the panel's transform) and the DFT
    bins ``V`` of the readout windows. Its light in the windows is ``V FFT(s f)`` exactly (the
    panel's whole image, convolved with the mask's transform), held to the wanted masks'
    ``V FFT(s g b)`` (DC-free kernels: about none). A weighted mask-plane error cannot say
    this: a phase-only mask has ``|f| = 1`` on every pixel, and only the *local average* of
    ``f`` that ``s`` takes must vanish where its light would reach a window.

    Attributes:
        field: (H, W) complex64, ``s`` scaled so that ``|s|^2`` is in the images' weight units.
        windows: (H, W) bool, ``V``.
        offset: the Fourier SLM's unmodulated light relative to its pixels' (gap light
            ``(1 - ff) g / ff``): the device shows ``f + offset`` (up to ``ff``), and the
            floor's light through the gaps, the panel's image, reaches every window unless the
            drive's local average near the axis cancels it.
    """

    field: np.ndarray
    windows: np.ndarray
    offset: complex = 0.0


def window_bins(shape: tuple[int, int], bins: np.ndarray, half: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the DFT bins within ``half`` (rows, cols) of any of ``bins`` (K, 2),
    wrapped (the readout windows, for light from a source on the axis)."""
    h, w = shape
    iy = np.arange(h)[:, None]
    ix = np.arange(w)[None, :]
    out = np.zeros(shape, dtype=bool)
    for by, bx in np.rint(bins).astype(int):  # a handful of windows
        dy = np.abs(iy - by)
        dx = np.abs(ix - bx)
        out |= (np.minimum(dy, h - dy) <= half[0]) & (np.minimum(dx, w - dx) <= half[1])
    return out


def _unit(z: np.ndarray) -> np.ndarray:
    mag = np.abs(z)
    return np.where(mag > 0, z / np.where(mag > 0, mag, 1.0), 1.0)


def objective(
    d: np.ndarray,
    target: _Target,
    weight: np.ndarray,
    model: DriveModel,
    gain: float | None = None,
    with_grad: bool = True,
    floor: FloorTerm | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per frame: weighted fidelity, gain magnitude, and the gradient of the summed loss.

    With ``a = P f`` (``f = exp(i r(d))``) and ``b = sum_t e^{i psi_t} P_t m`` at the best tile
    phases, inner products weighted by ``weight``: with ``gain`` None the loss is
    ``1 - <b, a>^2 / (|a|^2 |b|^2)``; with a gain ``g`` it is ``|a - g b|^2 / (g^2 |b|^2)``
    (the tile phases at their optimum: their gradient vanishes). With a floor term
    (:class:`FloorTerm`) its window light ``a_f = V FFT(s (f + o)) / sqrt(N)`` against
    ``b_f = V FFT(s b) / sqrt(N)`` is added to every inner product and norm (the tile phases
    stay the images' best).

    Args:
        d: (F, H, W) float32 drive (:class:`DriveModel`).
        target: the wanted spectra and tile labels.
        weight: (H, W) float32 >= 0.
        model: the drive model.
        gain: the common gain magnitude, or None.
        with_grad: False skips the gradient.
        floor: the input floor's term, or None.

    Returns:
        (fidelity (F,), gain magnitude <b, a> / |b|^2 (F,), dL/dd (F, H, W) float32 or None).
    """
    r = model.phase(d)
    f = np.empty(d.shape, dtype=np.complex64)
    f.real = np.cos(r)
    f.imag = np.sin(r)
    region = target.region
    a = scipy.fft.ifft2(scipy.fft.fft2(f, workers=-1) * region, workers=-1, overwrite_x=True)
    wa = a * weight
    n = a[0].size
    s_t = target.overlaps(scipy.fft.fft2(wa, workers=-1)) / n  # <P_t m, w a> per tile
    b = target.phased(_unit(s_t).astype(np.complex64))
    s = np.abs(s_t).sum(axis=1)
    b2 = _power(b, weight)
    a2 = _power(a, weight)
    if floor is not None:  # the floor's light in the windows, unitary FFT
        root = np.float32(np.sqrt(n))
        v = floor.windows
        a_f = scipy.fft.fft2((f + np.complex64(floor.offset)) * floor.field, workers=-1)
        a_f *= v / root
        b_f = scipy.fft.fft2(b * floor.field, workers=-1) * v / root
        s = s + np.einsum("fij,fij->f", np.conj(b_f), a_f).real
        b2 = b2 + _power(b_f, 1.0)
        a2 = a2 + _power(a_f, 1.0)
    b2 = np.maximum(b2, 1e-30)
    a2 = np.maximum(a2, 1e-30)
    s = np.maximum(s, 1e-30)
    fid = s**2 / (a2 * b2)
    achieved = s / b2
    if not with_grad:
        return fid, achieved, None
    if gain is None:
        ca, cw = fid / a2, s / (a2 * b2)
    else:
        ca, cw = 1.0 / (gain**2 * b2), 1.0 / (gain * b2)
    ca = ca.astype(np.float32)[:, None, None]
    cw = cw.astype(np.float32)[:, None, None]
    g = wa * ca
    g -= (b * weight) * cw
    g_f = scipy.fft.ifft2(scipy.fft.fft2(g, workers=-1) * region, workers=-1, overwrite_x=True)
    if floor is not None:  # the adjoint of x -> V FFT(s x) / sqrt(N): conj(s) sqrt(N) IFFT(V .)
        e = scipy.fft.ifft2(a_f * ca - b_f * cw, workers=-1)
        g_f += np.conj(floor.field) * e * root
    return fid, achieved, model.adjoint(d, (g_f * np.conj(f)).imag * np.float32(2.0))


def _power(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted sum of |x|^2 over the last two axes (float64)."""
    return np.sum((x.real**2 + x.imag**2) * weight, axis=(1, 2), dtype=np.float64)


def start_phase(target: _Target, iters: int, seed: int) -> np.ndarray:
    """A Gerchberg-Saxton phase (F, H, W) float32: from the kinoform of the tiles' sum with random
    tile phases, ``iters`` times: the spectrum inside the region replaced by ``g e^{i psi_t} M``
    (best tile phases, least-squares ``g``), the rest left free, then the phase kept."""
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random((len(target.spec), target.tiles)))
    f = target.phased(phase.astype(np.complex64))
    m2 = np.maximum(target.overlaps(target.spec).real.sum(axis=1), 1e-30)  # sum |M|^2
    for _ in range(iters):  # Gerchberg-Saxton iterations (two FFTs each)
        f = np.exp(1j * np.angle(f)).astype(np.complex64)
        spec = scipy.fft.fft2(f, workers=-1)
        s_t = target.overlaps(spec)
        g = np.abs(s_t).sum(axis=1) / m2
        phi = np.zeros(spec.size, dtype=np.complex64)
        phi[target.sel] = (_unit(s_t) * g[:, None]).ravel()[target.lab]
        inside = target.region.ravel()
        flat = spec.ravel()
        flat[inside] = (phi * target.spec.ravel())[inside]
        f = scipy.fft.ifft2(spec, workers=-1, overwrite_x=True)
    return np.angle(f).astype(np.float32)


def optimise(
    masks: np.ndarray,
    slm: SLMModel,
    region: np.ndarray,
    labels: np.ndarray,
    tiles: int,
    weight: np.ndarray,
    *,
    spread: float = ROBUST_SPREAD,
    iters: int = MULTIPLEX_STEPS,
    start_iters: int = START_ITERS,
    step: float = 0.1,
    seed: int = 0,
    floor: tuple[np.ndarray, np.ndarray, complex] | None = None,
) -> tuple[np.ndarray, dict]:
    """The drive levels of a phase SLM that realise every tile of each frame at once.

    Args:
        masks: (F, H, W) complex wanted masks (compensated, |m| <= 1: the scale is free).
        slm: the phase SLM (LUT, crosstalk, levels).
        region: (F, H, W) bool readout region (:func:`fouroptics.compiler.refine.readout_region`).
        labels: (F, H, W) int32 tile of each region bin (:func:`tile_labels`).
        tiles: tiles per frame (T).
        weight: (H, W) input Fourier-plane power.
        spread: the crosstalk variants' relative coupling spread (:func:`crosstalk_variants`).
        iters: Adam steps (a third with the gain free per frame, then common).
        start_iters: Gerchberg-Saxton iterations of the start.
        step: Adam step, in units of the drive (radians, or levels x the mean phase step).
        seed: the start's random tile phases.
        floor: ``(field (H, W) complex, windows (H, W) bool, gap offset)`` of an input SLM's
            contrast
            floor, which lights the whole panel (``field`` its Fourier-plane field, in the
            units whose square ``weight`` is; :class:`FloorTerm`): its light in the windows
            is held to the wanted masks' (DC-free kernels: about none).

    Returns:
        (levels (F, H, W) uint16, info: per frame "fidelity_start", "fidelity_end" (weighted,
        the belief's, before quantisation), "gain"; "alphas" of the crosstalk variants and
        "fidelity_variants" (variant, frame), the other crosstalk domain's last when
        "hedge_domain" is not None).
    """
    variants = crosstalk_variants(slm, spread)
    models = [DriveModel.of(s) for _, s in variants]
    hedge = DriveModel.hedged(slm)[1:]  # the other crosstalk domain, when it was not ruled out
    if hedge:  # every model then driven by the level
        models = [dataclasses.replace(m, by_level=True) for m in models] + hedge
    belief = models[0]
    top = max(float(weight.max()), 1e-300)
    w = (weight / top).astype(np.float32)
    w_f = None
    if floor is not None:
        field = (floor[0] / np.sqrt(top)).astype(np.complex64)
        w_f = FloorTerm(field, floor[1].astype(bool), complex(floor[2]))
    lo, hi = belief.bounds()
    chunks = [slice(k, k + _CHUNK) for k in range(0, len(masks), _CHUNK)]
    targets = [_Target.of(masks[sl], region[sl], labels[sl], tiles) for sl in chunks]
    drives = []
    for t in targets:
        levels0, _ = slm.quantise(np.exp(1j * start_phase(t, start_iters, seed)))
        drives.append(belief.start(levels0))
    first = max(iters // 3, 1) if iters else 0
    info: dict = {"fidelity_start": [], "gain_free": [], "alphas": [a for a, _ in variants]}
    for d, t in zip(drives, targets, strict=True):
        fids, gains = _adam(d, t, w, models, (lo, hi), first, step, None, w_f)
        info["fidelity_start"] += fids[0]
        info["gain_free"] += gains
    common = GAIN_SLACK * float(min(info["gain_free"])) if iters else 1.0
    info.update(gain=common, fidelity_end=[], fidelity_variants=[[] for _ in models])
    for d, t in zip(drives, targets, strict=True):
        _adam(d, t, w, models, (lo, hi), iters - first, step, common, w_f)
        for k, model in enumerate(models):
            fid, _, _ = objective(d, t, w, model, with_grad=False, floor=w_f)
            info["fidelity_variants"][k] += fid.tolist()
    info["fidelity_end"] = list(info["fidelity_variants"][0])
    info["hedge_domain"] = slm.hedge_domain  # the last of fidelity_variants, when not None
    return belief.levels(np.concatenate(drives), slm), info


def _adam(
    d: np.ndarray,
    target: _Target,
    weight: np.ndarray,
    models: list[DriveModel],
    bounds: tuple[float, float],
    iters: int,
    step: float,
    gain: float | None,
    floor: FloorTerm | None = None,
) -> tuple[list[list[float]], list[float]]:
    """Adam on the drive ``d`` (F, H, W), in place, over ``models``: per frame the gradient of
    ``sum_k L_k^2 / sum_k L_k`` (each model's gradient weighted by its share of the loss, the
    shares held fixed: a soft minimax, so the drive does not trade the worst variant away).

    Returns:
        ([the belief's fidelity at the start, at the end] per frame, its gain per frame).
    """
    m1 = np.zeros_like(d)
    m2 = np.zeros_like(d)
    fids: list[list[float]] = []
    for it in range(iters + 1):  # optimiser steps
        last = it == iters
        parts = []
        for k, model in enumerate(models):  # the belief and its variants
            fid, g, gr = objective(
                d, target, weight, model, gain=gain, with_grad=not last, floor=floor
            )
            if k == 0:
                fid0, g0 = fid, g
                if last or it == 0:
                    fids.append(fid.tolist())
            parts.append((1.0 - fid, gr))
        if last:
            break
        adam_step(d, share_weighted(parts), m1, m2, it + 1, step, bounds)
    del fid0
    return fids, g0.tolist()
