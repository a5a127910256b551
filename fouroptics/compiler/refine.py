"""Refine a phase SLM's drive so that what it realises, crosstalk included, matches the mask where
the readout looks.

A phase SLM realises ``f = exp(i K phi(l))``: ``phi`` its gray-level response (radians, unwrapped)
and ``K`` the pixels' crosstalk (:func:`fouroptics.optics.pixels.crosstalk`: the profile's
nearest-neighbour fringing, or a measured kernel); when the crosstalk acts on the drive voltage,
``f = exp(i phi(K l))`` instead (:func:`fouroptics.optics.pixels.crosstalk_response`).
Fringing smooths exactly what a double-phase checkerboard relies on: its
pixel-to-pixel phase alternation is damped by ``(1 - 4c)^2`` (0.64 at the 5 % coupling of an
8 um LCoS), so the realised amplitude ``cos(0.64 arccos A)`` is far from ``A`` (a wanted zero
becomes 0.54), and no per-pixel lookup can undo it where the phase wraps.

What matters is only the light that reaches the readout windows. The camera plane is the mask's
Fourier transform (the filter plane of this 4f system), and a window sees the input blocks
through the displacements ``window - block``: the readout region ``W``, the support of the wanted
mask's transform (its DC bin, the compensated gap light, excluded) dilated by the half-extent of a
block plus a window. Light outside ``W`` is free: the freedom a double-phase hologram uses (its
error goes to the checkerboard's ghost), here used wherever it helps. Inside, the error a window
receives is the region-passed mask error ``P (f - g m)`` (``P = IFFT W FFT``) times the input's
Fourier-plane field, so it is weighed by the input's Fourier-plane power ``w`` (a periodic input
puts it on the lattice of its harmonics, a positive image most of all on the axis):

    L = || sqrt(w) (P f - g e^{i psi} P m) ||^2 / (g^2 || sqrt(w) P m ||^2)

per frame (``psi`` each frame's best phase; ``g`` free in a first stage, then common to all
frames). The gradient is analytic (``P`` is self-adjoint, ``K``'s adjoint the flipped kernel);
Adam steps on the continuous drive (the phase, or in the voltage domain the level in units of
the mean phase step) within the SLM's range, then each pixel takes the nearest gray level.

When the calibration could not tell whether the crosstalk mixes the phase or the voltage
(:attr:`SLMModel.crosstalk_hedge`), the drive is the level for both (:meth:`DriveModel.hedged`)
and the loss is both models' (each model's gradient weighted by its share of the loss, as the
multiplexed frames' crosstalk variants are: :func:`share_weighted`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.fft
from scipy import ndimage

from fouroptics.compiler.slm import SLMModel
from fouroptics.optics.pixels import crosstalk, fringing_kernel, interp_curve


@dataclass(frozen=True)
class DriveModel:
    """How a continuous drive ``d`` becomes the realised phase ``r`` (radians).

    Attributes:
        kernel: crosstalk kernel (kh, kw), or None.
        domain: "phase": ``d`` is the drive phase and ``r = K d``; "voltage": ``d`` is the
            drive level times ``step`` and ``r = curve(K d / step)``.
        curve: (L,) unwrapped phase per level (voltage domain).
        step: radians per level of ``d``'s scale (voltage domain).
        panel: (H, W) the SLM's map across its panel (:attr:`SLMModel.panel`), or None: the
            drive phase of level l at pixel (y, x) is ``panel * curve[l]`` (phase domain), and
            the voltage domain's realised phase is ``panel * curve(K d / step)``.
        by_level: in the phase domain, ``d`` is the level times ``step`` as in the voltage
            domain, and ``r = K (panel * curve(d / step))``: a drive two domains share
            (:meth:`hedged`).
    """

    kernel: np.ndarray | None
    domain: str = "phase"
    curve: np.ndarray | None = None
    step: float = 1.0
    panel: np.ndarray | None = None
    by_level: bool = False

    @classmethod
    def of(cls, slm: SLMModel) -> DriveModel:
        """The drive model of a phase SLM (its kernel, domain, response and panel map)."""
        curve = slm.phase_curve()
        step = float(abs(curve[-1] - curve[0]) / (len(curve) - 1)) or 1.0
        kernel = slm.kernel if slm.has_crosstalk else None
        panel = None if slm.panel is None else slm.panel.astype(np.float32)
        return cls(kernel, slm.crosstalk_domain, curve, step, panel)

    @classmethod
    def hedged(cls, slm: SLMModel) -> list[DriveModel]:
        """The models a phase SLM's drive is refined through: its own (:meth:`of`), and with a
        :attr:`SLMModel.crosstalk_hedge` the other domain's too, both driven by the level."""
        own = cls.of(slm)
        if slm.crosstalk_hedge is None or own.kernel is None:
            return [own]
        other = cls(slm.crosstalk_hedge, slm.hedge_domain, own.curve, own.step, own.panel)
        return [replace(m, by_level=True) for m in (own, other)]

    @property
    def voltage(self) -> bool:
        """Whether the drive is a level (the crosstalk mixes the voltage, or :attr:`by_level`)."""
        return self.kernel is not None and (self.domain == "voltage" or self.by_level)

    def phase(self, d: np.ndarray) -> np.ndarray:
        """Realised phase (F, H, W) of the drive ``d``."""
        if self.kernel is None:
            return d
        if self.domain == "phase":
            return crosstalk(self._level_phase(d) if self.by_level else d, self.kernel)
        v = crosstalk(d, self.kernel) * np.float32(1.0 / self.step)
        r = interp_curve(self.curve, v)
        return r if self.panel is None else r * self.panel

    def _level_phase(self, d: np.ndarray, slope: bool = False) -> np.ndarray:
        """The drive phase ``panel * curve(d / step)`` of a level drive (or its slope in d)."""
        r = interp_curve(self.curve, d * np.float32(1.0 / self.step), slope=slope)
        if slope:
            r = r * np.float32(1.0 / self.step)
        return r if self.panel is None else r * self.panel

    def adjoint(self, d: np.ndarray, g: np.ndarray) -> np.ndarray:
        """dL/dd from dL/dr (``g``) at the drive ``d``."""
        if self.kernel is None:
            return g
        if self.domain == "phase":
            back = crosstalk(g, self.kernel, adjoint=True)
            return back * self._level_phase(d, slope=True) if self.by_level else back
        v = crosstalk(d, self.kernel) * np.float32(1.0 / self.step)
        slope = interp_curve(self.curve, v, slope=True) * np.float32(1.0 / self.step)
        if self.panel is not None:
            slope = slope * self.panel
        return crosstalk(g * slope, self.kernel, adjoint=True)

    def start(self, levels: np.ndarray) -> np.ndarray:
        """The drive (float32) of gray ``levels``."""
        if self.voltage:
            return (np.asarray(levels) * self.step).astype(np.float32)
        d = self.curve[np.asarray(levels)].astype(np.float32)
        return d if self.panel is None else d * self.panel

    def bounds(self) -> tuple[float | np.ndarray, float | np.ndarray]:
        """The drive's range: numbers, or per pixel (H, W) with a panel (phase domain)."""
        if self.voltage:
            return 0.0, (len(self.curve) - 1) * self.step
        lo, hi = float(self.curve.min()), float(self.curve.max())
        if self.panel is None:
            return lo, hi
        return lo * self.panel, hi * self.panel

    def levels(self, d: np.ndarray, slm: SLMModel) -> np.ndarray:
        """The gray levels (uint16) nearest the drive ``d``."""
        if self.voltage:
            top = len(self.curve) - 1
            return np.clip(np.rint(d / self.step), 0, top).astype(np.uint16)
        return slm.nearest_phase_level(d if self.panel is None else d / self.panel)


#: The common gain magnitude of the second stage, relative to the weakest frame's free gain.
GAIN_SLACK = 0.9


def readout_region(
    masks: np.ndarray, half_bins: tuple[int, int], floor: float = 1e-4, zero_order: bool = False
) -> np.ndarray:
    """Where each mask's light must be right: (F, H, W) bool in the unshifted DFT layout.

    Args:
        masks: (F, H, W) complex wanted masks.
        half_bins: dilation half-widths (rows, columns) in DFT bins: a block's half-extent
            plus a readout window's, in camera-plane bins of ``lambda f2 / (N p_F)``.
        floor: relative power below which a bin of the wanted transform is not support.
        zero_order: keep the zero-order bin (the mask's mean) and its neighbourhood: an input
            lit everywhere (an input SLM's contrast floor) images the whole panel through it,
            onto windows within the panel's image of the axis.
    """
    spec = np.abs(scipy.fft.fft2(masks, workers=-1)) ** 2
    spec[:, 0, 0] = 0.0  # the compensated gap light: unmodulated, lands on the zero order
    support = spec > floor * spec.max(axis=(1, 2), keepdims=True)
    support[:, 0, 0] |= zero_order
    size = (1, 2 * half_bins[0] + 1, 2 * half_bins[1] + 1)
    region = ndimage.maximum_filter(support, size=size, mode="wrap")
    region[:, 0, 0] = zero_order
    return region


def refine_phase_levels(
    masks: np.ndarray,
    levels: np.ndarray,
    slm: SLMModel,
    region: np.ndarray,
    weight: np.ndarray,
    iters: int = 100,
    step: float = 0.1,
    floor: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[str, list[float]]]:
    """Optimise a phase SLM's levels so that the realised mask, seen through the readout region,
    equals the wanted one where the input's light falls.

    The error that reaches a camera window is the band-limited mask error times the input's
    Fourier-plane field, so the loss weighs the mask-plane error with ``weight`` (the input's
    Fourier-plane power: a periodic input concentrates it on the lattice of its harmonics, and
    a positive image most of all on the axis). Two stages: a third of the steps maximise each
    frame's weighted fidelity with its gain free; then every frame is held to one gain
    magnitude (:data:`GAIN_SLACK` times the weakest frame's: each frame's channels come out in
    the same units; a phase per frame is free, cameras see intensities).

    Args:
        masks: (F, H, W) complex wanted masks (|m| <= 1).
        levels: (F, H, W) the starting gray levels (e.g. the double-phase encoding's).
        slm: a phase SLM; its crosstalk (kernel and domain) and response table are the model
            optimised through.
        region: (F, H, W) bool, :func:`readout_region`.
        weight: (H, W) >= 0, the input's Fourier-plane power on the SLM's pixels.
        iters: Adam steps.
        step: Adam step size, radians.
        floor: ``(region, weight)`` of a second input that lights the whole input SLM (an
            amplitude SLM's contrast floor): its region (F, H, W) reaches as far as the panel's
            image (the zero order included) and its weight (H, W) is its own Fourier-plane
            power, in ``weight``'s units. Its error is added to the images' (one loss, one gain
            and phase per frame), so the images keep the freedom of their own region.

    Returns:
        (levels (F, H, W) uint16, {"fidelity_start", "fidelity_end", "gain_free", "gain_end"}
        per frame, weighted, before quantisation of the end point; "gain" the common one).
    """
    models = DriveModel.hedged(slm)
    model = models[0]
    bounds = model.bounds()
    d = model.start(levels)
    top = max(float(weight.max()), 1e-300)
    terms = [(region, weight)] + ([floor] if floor is not None else [])
    first = max(iters // 3, 1) if iters else 0
    hist: dict[str, list[float]] = {"fidelity_start": [], "gain_free": []}
    chunks = [slice(k, k + _CHUNK) for k in range(0, len(masks), _CHUNK)]

    def term(sl: slice) -> list[Term]:
        m = masks[sl].astype(np.complex64)
        return [(_project(m, r[sl]), (w / top).astype(np.float32), r[sl]) for r, w in terms]

    for sl in chunks:  # a few frames at a time: cache-friendly
        fid, gain = _adam(d[sl], term(sl), models, bounds, first, step, None)
        hist["fidelity_start"] += fid[0]
        hist["gain_free"] += gain
    common = GAIN_SLACK * float(min(hist["gain_free"])) if iters else 1.0
    hist.update(fidelity_end=[], gain_end=[], gain=[common])
    for sl in chunks:
        fid, gain = _adam(d[sl], term(sl), models, bounds, iters - first, step, common)
        hist["fidelity_end"] += fid[-1]
        hist["gain_end"] += gain
    return model.levels(d, slm), hist


#: Frames optimised together.
_CHUNK = 4

#: One part of the loss: (wanted mask already projected (F, H, W) complex64, weight (H, W)
#: float32, region (F, H, W) bool).
Term = tuple[np.ndarray, np.ndarray, np.ndarray]


def _project(x: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``IFFT(region FFT(x))`` per frame: the part of a mask the readout region passes."""
    return scipy.fft.ifft2(scipy.fft.fft2(x, workers=-1) * region, workers=-1, overwrite_x=True)


def _adam(
    d: np.ndarray,
    terms: list[Term],
    models: list[DriveModel],
    bounds: tuple[float | np.ndarray, float | np.ndarray],
    iters: int,
    step: float,
    gain: float | None,
) -> tuple[list[list[float]], list[float]]:
    """Adam on the drive ``d`` (F, H, W) in place, through every model (:func:`share_weighted`).

    Returns:
        ([fidelity at the start, at the end] per frame, the gain magnitude per frame at the end),
        each the models' mean.
    """
    m1 = np.zeros_like(d)
    m2 = np.zeros_like(d)
    fids: list[list[float]] = []
    for it in range(iters + 1):
        parts = [objective(d, terms, c=m, gain=gain, with_grad=it < iters) for m in models]
        fid = np.mean([p[0] for p in parts], axis=0)
        if it == 0:
            fids.append(fid.tolist())
        if it == iters:
            break
        grad = share_weighted([(1.0 - p[0], p[2]) for p in parts])
        adam_step(d, grad, m1, m2, it + 1, step, bounds)
    fids.append(fid.tolist())
    return fids, np.mean([p[1] for p in parts], axis=0).tolist()


def share_weighted(parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The gradient of ``sum_k L_k^2 / sum_k L_k`` over models k (shares held fixed): each
    model's gradient (F, H, W) weighted per frame by its share of the summed loss (F,), so the
    drive does not trade the worst model away (a soft minimax); one model: its gradient."""
    if len(parts) == 1:
        return parts[0][1]
    loss = np.maximum(np.stack([p[0] for p in parts]), 1e-12)  # (K, F)
    share = (loss / loss.sum(axis=0)).astype(np.float32)
    grad = np.zeros_like(parts[0][1])
    for (_, gr), wk in zip(parts, share, strict=True):
        grad += gr * wk[:, None, None]
    return grad


def adam_step(
    d: np.ndarray,
    grad: np.ndarray,
    m1: np.ndarray,
    m2: np.ndarray,
    t: int,
    step: float,
    bounds: tuple[float | np.ndarray, float | np.ndarray],
) -> None:
    """One Adam step (beta 0.9, 0.999) on the drive ``d`` in place, ``t`` counting from 1, its
    moments ``m1``, ``m2`` updated in place, then ``d`` clipped to ``bounds``."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m1 *= beta1
    m1 += (1 - beta1) * grad
    m2 *= beta2
    m2 += (1 - beta2) * grad * grad
    d -= (step / (1 - beta1**t)) * m1 / (np.sqrt(m2 / (1 - beta2**t)) + eps)
    np.clip(d, *bounds, out=d)


def objective(
    d: np.ndarray,
    wanted: np.ndarray | list[Term],
    weight: np.ndarray | None = None,
    region: np.ndarray | None = None,
    c: float | DriveModel = 0.0,
    gain: float | None = None,
    with_grad: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per frame: weighted fidelity, gain magnitude, and the gradient of the summed loss.

    With ``a = P f`` the realised mask ``f = exp(i r(d))`` (:class:`DriveModel`) through the
    region's projector ``P = IFFT region FFT`` and ``b`` the wanted one (already projected),
    inner products weighted by ``weight``: with ``gain`` None the loss is
    ``1 - |<b, a>|^2 / (|a|^2 |b|^2)``; with a gain ``g`` it is
    ``|a - g e^{i psi} b|^2 / (g^2 |b|^2)``, ``psi`` each frame's best phase. With several
    terms (each its own region and weight) the inner products and norms are their sums.

    Args:
        d: (F, H, W) float32 drive phase, radians.
        wanted: (F, H, W) complex64, ``b``; or a list of terms ``(b, weight, region)`` (then
            ``weight`` and ``region`` are not given).
        weight: (H, W) float32 >= 0.
        region: (F, H, W) bool.
        c: the drive model, or a nearest-neighbour fringing coupling (phase domain).
        gain: the common gain magnitude, or None.
        with_grad: False skips the gradient (returns None).

    Returns:
        (fidelity (F,), gain magnitude |<b, a>| / |b|^2 (F,), dL/dd (F, H, W) float32 or None).
    """
    model = c if isinstance(c, DriveModel) else DriveModel(fringing_kernel(c) if c else None)
    terms = wanted if isinstance(wanted, list) else [(wanted, weight, region)]
    r = model.phase(d)
    f = np.empty(d.shape, dtype=np.complex64)
    f.real = np.cos(r)
    f.imag = np.sin(r)
    proj = [(_project(f, reg), b, w, reg) for b, w, reg in terms]
    s = sum(np.einsum("fij,fij->f", np.conj(b), a * w) for a, b, w, _ in proj)
    b2 = np.maximum(sum(_power(b, w) for _, b, w, _ in proj), 1e-30)
    a2 = np.maximum(sum(_power(a, w) for a, _, w, _ in proj), 1e-30)
    s_abs = np.maximum(np.abs(s), 1e-30)
    fid = s_abs**2 / (a2 * b2)
    achieved = s_abs / b2
    if not with_grad:
        return fid, achieved, None
    # dL/da* (Wirtinger) = w (a ca - b cw); dL/df* = P dL/da* (P self-adjoint); f = exp(i r):
    # dL/dr = 2 Im(dL/df* conj f); dL/dd = K^T dL/dr (phase domain), with the LUT's slope
    # between (voltage domain)
    if gain is None:  # L = 1 - |s|^2 / (a2 b2)
        ca = fid / a2
        cw = s / (a2 * b2)
    else:  # L = a2 / (g^2 b2) - 2 |s| / (g b2) + 1
        ca = 1.0 / (gain**2 * b2)
        cw = (s / s_abs) / (gain * b2)
    g_f = np.zeros_like(f)
    for a, b, w, reg in proj:
        g = (a * w) * ca.astype(np.float32)[:, None, None]
        g -= (b * w) * cw.astype(np.complex64)[:, None, None]
        g_f += _project(g, reg)
    grad = model.adjoint(d, (g_f * np.conj(f)).imag * np.float32(2.0))
    return fid, achieved, grad


def _power(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted sum of |x|^2 over the last two axes."""
    return np.einsum("fij,ij->f", x.real**2 + x.imag**2, weight)
