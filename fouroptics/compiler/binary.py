"""Binary-amplitude (DMD) encodings of a complex field, each with the iris it needs.

* Lee hologram: ``b = [cos(2 pi f.r + phi) >= cos(pi w)]`` with ``w = arcsin(A) / pi``. As a
  Fourier series in ``theta = 2 pi f.r + phi``: ``b = sum_k c_k e^{i k theta}`` with
  ``c_0 = w`` and ``c_k = sin(k pi w) / (k pi)``, so the +1 order is exactly ``(A / pi)
  e^{i phi}`` on the carrier ``f`` (cycles/pixel); order ``k`` carries ``e^{i k phi}`` (for
  small ``A`` as strong as the first: ``c_k ~ A / pi``).
* Superpixel (Goorden, Bertolotti, Mosk, Opt. Express 22, 17999 (2014)): ``n x n`` pixels form
  a superpixel; with the iris at the carrier ``(1/n^2, 1/n)`` cycles/pixel (rows, columns) the
  pixels of a superpixel contribute the ``n^2`` phasors ``exp(-2 pi i k / n^2)``, and the subset
  whose sum is nearest the target is switched on (here also with the smallest first moment,
  so that the superpixel acts as a point at its centre: :func:`superpixel_pattern`). The iris
  passes a band of half-width ``1 / (2 n)`` around the carrier (one superpixel per resolved
  spot at most; fidelity rises with the spot).

In the 4f correlator (tiled compile). The camera plane is conjugate to the Fourier SLM: a
pattern component ``e^{2 pi i f.r}`` (``r`` in Fourier pixels) moves light by ``f L`` with
``L = lambda f2 / p_F`` (the camera-plane period of the DMD's sampling), so an iris at carrier
``f`` is a region of the camera plane, and the readout windows are the iris. :func:`iris`
gives it in units of ``L`` (centre, half-width); the layout keeps the *sight* of every window
(the mask positions ``p`` from which any input block's light can reach it: ``Y_o + M c_i`` give
or take the window, the block image and the guards, half-width ``sigma``) inside it.

* superpixel: the target ``m`` (light aimed inside the iris) is demodulated by the carrier and
  sampled at the superpixel pitch ``n p_F``: the DMD controls the field only over one cell of
  the camera plane, ``L / n`` wide (the band the DMD holds is ``1 / n`` of its pixel band, in
  the camera plane as well as in the mask's resolution ``n p_F``). Everything the pixels of a
  superpixel do besides their sum (zero order, conjugates, the superpixel grid's repeats every
  ``L / n``) lands in the other cells. What remains in the cell is the quantisation error and
  the superpixel's departure from a point (second order in the distance from the carrier):
  the compile reads one channel per frame, its window at the iris centre. Iris: centre
  ``(1/16, 1/4) L``, half-width ``L / 8``.
* lee: the tile ramps are the carrier (``b = [cos(phi) >= cos(pi w)]`` of the mask that aims at
  the tiles). The wanted light occupies the iris shrunk by the margin ``d = sigma - (kernel
  half-support)``; order ``k`` of it (all products ``sum n_j p_j`` with ``sum n_j = k``,
  ``sum |n_j| = |k|``) lies within ``k c +- |k| (h - d)`` (the zero order's difference terms
  within ``+- 2 (h - d)``), modulo ``L``. The half-width ``h`` is the largest that keeps orders
  ``k = -3 .. 3`` (:data:`LEE_ORDERS`) out: ``h <= (D_k + w_k d) / (w_k + 1)`` with ``D_k`` the
  wrapped distance ``(k - 1) c`` (largest axis) and ``w_k = |k|`` (2 for ``k = 0``). With the
  carrier ``c = (1/16, 1/4)``: ``h <= (L/4 + 3 d) / 4`` (order -3, which wraps to ``L/4`` from
  the carrier) and ``(L/4 + 2 d) / 3`` (orders 0, 2, -2). Higher orders (``|k| >= 4``, e.g.
  ``k = 5`` again ``L/4`` from the carrier with 5 times the spread) and the higher
  intermodulation products are spread over ``k^2`` the area and remain as the measured
  fidelity loss; each frame's mask is shown at peak modulus 1 (weak masks make strong orders).

:func:`fidelity` demodulates a pattern, applies the iris and measures the normalised overlap
with the target (1 = the same field up to one complex factor); :func:`efficiency` the power in
the iris relative to an all-on DMD.
"""

from __future__ import annotations

import numpy as np

#: Superpixel side used by the tiled compile (Goorden et al.: 4 x 4, 16 phasors).
SUPERPIXEL_N = 4
#: Carrier (rows, columns) of the Lee hologram's iris in cycles per Fourier pixel (the
#: superpixel's, so one DMD bench serves both).
LEE_CARRIER = (1.0 / 16, 1.0 / 4)
#: Orders of a Lee hologram kept out of its iris (the +1 order is the wanted light).
LEE_ORDERS = (0, -1, 2, -2, 3, -3)


def iris(encoding: str, margin: float = 0.0) -> tuple[np.ndarray, float]:
    """The iris of a binary encoding in the camera plane, in units of ``L = lambda f2 / p_F``.

    Args:
        encoding: "lee" or "superpixel".
        margin: ``d / L``, the window sight's half-width minus the light's (Lee only).

    Returns:
        (centre (2,) rows/columns, half-width), fractions of ``L``.
    """
    if encoding == "superpixel":
        return np.array(superpixel_carrier(SUPERPIXEL_N)), 1.0 / (2 * SUPERPIXEL_N)
    if encoding != "lee":
        raise ValueError(f"no iris for encoding {encoding!r}")
    half = min((d_k + w_k * margin) / (w_k + 1) for d_k, w_k in _lee_order_distances())
    return np.array(LEE_CARRIER), float(min(half, 0.25))


def iris_shrink_needed(encoding: str, sight: float, margin: float) -> float:
    """Factor by which all the light (``sight`` and ``margin``, fractions of ``L``) must shrink
    (a longer f1, a smaller image period, a finer DMD) for a window to fit the iris; <= 1 fits."""
    if encoding == "superpixel":
        return sight / iris(encoding)[1]
    return max((sight * (w_k + 1) - w_k * margin) / d_k for d_k, w_k in _lee_order_distances())


def _lee_order_distances() -> list[tuple[float, int]]:
    """(D_k, w_k) for :data:`LEE_ORDERS`: the wrapped distance (largest axis, fraction of L)
    between order k's centre and the carrier, and the order's spread in light half-widths."""
    c = np.array(LEE_CARRIER)
    out = []
    for k in LEE_ORDERS:
        off = (k - 1) * c
        d_k = float(np.max(np.abs((off + 0.5) % 1.0 - 0.5)))
        out.append((d_k, 2 if k == 0 else abs(k)))
    return out


def binary_pattern(encoding: str, m: np.ndarray) -> np.ndarray:
    """The DMD pattern (..., H, W) in {0, 1} for masks ``m`` (..., H, W), |m| <= 1, whose light
    is aimed inside the encoding's :func:`iris` (the compiled masks): Lee thresholds ``m``
    itself (its tile ramps are the carrier); superpixel demodulates ``m`` by its carrier first.
    Each frame is scaled on its own (Lee: peak modulus 1; superpixel: unit RMS, then one
    scale for the stack): a frame of weak kernels uses the DMD's whole range (the bundle
    records each frame's gain)."""
    m = np.asarray(m, dtype=np.complex128)
    peak = np.abs(m).max(axis=(-2, -1), keepdims=True)
    if encoding == "lee":
        return lee_hologram(m / np.where(peak > 0, peak, 1.0), (0.0, 0.0))
    fy, fx = superpixel_carrier(SUPERPIXEL_N)
    h, w = m.shape[-2:]
    base = m * np.exp(-2j * np.pi * np.add.outer(fy * np.arange(h), fx * np.arange(w)))
    rms = np.sqrt(np.mean(np.abs(base) ** 2, axis=(-2, -1), keepdims=True))
    return superpixel_pattern(base / np.where(rms > 0, rms, 1.0), SUPERPIXEL_N)


def lee_hologram(m: np.ndarray, carrier: tuple[float, float] = (0.0, 0.25)) -> np.ndarray:
    """Binary Lee hologram (..., H, W) of ``m`` (|m| <= 1) on ``carrier`` (cycles/pixel)."""
    m = np.asarray(m)
    h, w = m.shape[-2:]
    r = np.add.outer(carrier[0] * np.arange(h), carrier[1] * np.arange(w))
    width = np.arcsin(np.clip(np.abs(m), 0.0, 1.0)) / np.pi
    return (np.cos(2 * np.pi * r + np.angle(m)) >= np.cos(np.pi * width)).astype(np.float64)


def superpixel_carrier(n: int = 4) -> tuple[float, float]:
    """Carrier (rows, columns) in cycles/pixel that the superpixel iris sits on."""
    return (1.0 / n**2, 1.0 / n)


def superpixel_pattern(m: np.ndarray, n: int = 4, scale: float | None = None) -> np.ndarray:
    """Superpixel DMD patterns (..., H, W) for target fields ``m`` (..., H, W), H and W
    multiples of n, with one scale for the whole stack.

    Each superpixel is chosen to act as a point at its centre ``c`` over the iris: the light of
    pixel ``j`` (at ``d_j`` in the superpixel) at frequency ``f_c + delta`` is
    ``phi_j e^{-2 pi i delta (d_j - c)}``, so the superpixel contributes
    ``T - 2 pi i delta . M + O(delta^2)`` with ``T = sum b_j phi_j`` and the first moment
    ``M = sum b_j phi_j (d_j - c)``. The subset minimising
    ``|T - t|^2 + (2 pi delta_rms)^2 |M|^2`` (``delta_rms`` the target's RMS frequency) is
    switched on; the target is sampled at the superpixel centres after a low
    pass to the iris ``|f| < 1 / (2 n)`` (point-like superpixels need no hold-envelope
    compensation).

    Args:
        m: the wanted field (complex), sampled on the DMD pixels, at baseband (the pattern puts
            it on the carrier :func:`superpixel_carrier`).
        n: superpixel side (Goorden et al. use 4: 16 phasors, 65536 combinations).
        scale: RMS of the target in units of one pixel's contribution; default, per frame:
            the one of 0.08 .. 0.68 x the largest subset sum ``1 / sin(pi / n^2)`` with the
            smallest relative error (small values quantise coarsely, the brightest spots clip to the
            edge of the reachable disk; random speckle at 8x8 pixels per spot: fidelity 0.99,
            efficiency 3%, as Goorden et al. report 0.98).
    """
    from scipy.spatial import cKDTree

    m = np.asarray(m, dtype=np.complex128)
    h, w = m.shape[-2:]
    if h % n or w % n:
        raise ValueError(f"superpixel: mask {h}x{w} is not a multiple of {n}")
    spec = np.fft.fft2(m)
    fy, fx = np.fft.fftfreq(h), np.fft.fftfreq(w)
    spec = spec * ((np.abs(fy)[:, None] < 1 / (2 * n)) & (np.abs(fx)[None, :] < 1 / (2 * n)))
    power = np.abs(spec) ** 2
    total = power.sum()
    f2 = np.add.outer(fy**2, fx**2)
    delta_rms = float(np.sqrt((power * f2).sum() / total)) if total > 0 else 0.0
    # the value at each superpixel's centre ((n - 1) / 2 from its first pixel), exactly
    half = (n - 1) / 2
    spec = spec * np.outer(np.exp(2j * np.pi * fy * half), np.exp(2j * np.pi * fx * half))
    samples = np.fft.ifft2(spec)[..., ::n, ::n]
    fyc, fxc = superpixel_carrier(n)
    ys = np.arange(h // n)[:, None] * n
    xs = np.arange(w // n)[None, :] * n
    # the carrier's phase at each superpixel origin
    target = samples * np.exp(2j * np.pi * (fyc * ys + fxc * xs))
    rms = np.sqrt(np.mean(np.abs(target) ** 2))
    target = target / rms if rms > 0 else target * 0.0  # the stack's RMS: relative scales kept
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    phasors = np.exp(-2j * np.pi * (fyc * ii + fxc * jj)).ravel()  # (n^2,)
    offsets = np.stack([ii.ravel() - half, jj.ravel() - half], axis=1)  # (n^2, 2)
    combos = (np.arange(2 ** (n * n))[:, None] >> np.arange(n * n)[None, :]) & 1
    sums = combos @ phasors
    moments = 2 * np.pi * delta_rms * (combos @ (phasors[:, None] * offsets))  # (2^(n^2), 2)
    parts = [np.stack([sums.real, sums.imag], axis=1), moments.real, moments.imag]
    tree = cKDTree(np.concatenate(parts, 1))
    frames = target.reshape(-1, target.shape[-2] * target.shape[-1])  # (F, superpixels)

    def query(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wanted = np.zeros((values.size, tree.m))
        wanted[:, 0], wanted[:, 1] = values.real.ravel(), values.imag.ravel()
        dist, idx = tree.query(wanted)
        return dist.reshape(values.shape), idx.reshape(values.shape)

    if scale is None:
        # per frame, the RMS that minimises the relative error (quantisation of the small
        # values against clipping of the peaks at the edge of the reachable disk), on a sample
        # of superpixels
        edge = 1 / np.sin(np.pi / n**2)  # the largest subset sum
        cands = edge * np.array([0.08, 0.12, 0.17, 0.24, 0.3, 0.34, 0.4, 0.48, 0.58, 0.68])
        pick = np.random.default_rng(0).permutation(frames.shape[1])[:5000]
        sample = frames[:, pick]
        errs = np.stack([np.sum(query(s * sample)[0] ** 2, axis=1) / s**2 for s in cands])
        scales = cands[np.argmin(errs, axis=0)][:, None]  # (F, 1)
    else:
        scales = np.full((frames.shape[0], 1), float(scale))
    _, best = query(frames * scales)
    bits = combos[best].reshape(*m.shape[:-2], h // n, w // n, n, n)
    bits = np.swapaxes(bits, -3, -2)  # (..., H/n, n, W/n, n)
    return bits.reshape(m.shape).astype(np.float64)


def demodulate(pattern: np.ndarray, carrier: tuple[float, float], iris: float) -> np.ndarray:
    """The field behind the iris, brought back to baseband: ``pattern * exp(-2 pi i f.r)``
    low-passed to the open square band ``|f| < iris`` cycles/pixel."""
    h, w = pattern.shape[-2:]
    r = np.add.outer(carrier[0] * np.arange(h), carrier[1] * np.arange(w))
    spec = np.fft.fft2(pattern * np.exp(-2j * np.pi * r))
    fy, fx = np.fft.fftfreq(h), np.fft.fftfreq(w)
    keep = (np.abs(fy)[:, None] < iris) & (np.abs(fx)[None, :] < iris)
    return np.fft.ifft2(spec * keep)


def fidelity(realised: np.ndarray, target: np.ndarray) -> float:
    """Normalised overlap ``|<E, T>|^2 / (|E|^2 |T|^2)`` (1: equal up to a complex factor)."""
    num = np.abs(np.vdot(target, realised)) ** 2
    den = np.vdot(realised, realised).real * np.vdot(target, target).real
    return float(num / den) if den > 0 else 0.0


def efficiency(realised: np.ndarray, pattern_shape: tuple[int, int]) -> float:
    """Power behind the iris relative to an all-on DMD of the same size (whose light is all
    in the undiffracted order)."""
    return float(np.vdot(realised, realised).real / (pattern_shape[0] * pattern_shape[1]))


def random_target(shape: tuple[int, int], spot: int, seed: int = 0) -> np.ndarray:
    """A random complex field band-limited to ``spot x spot`` pixels per resolved spot (square
    band of half-width ``1 / (2 spot)`` cycles/pixel), peak modulus 1."""
    rng = np.random.default_rng(seed)
    h, w = shape
    spec = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    fy, fx = np.fft.fftfreq(h), np.fft.fftfreq(w)
    spec *= (np.abs(fy)[:, None] < 1 / (2 * spot)) & (np.abs(fx)[None, :] < 1 / (2 * spot))
    field = np.fft.ifft2(spec)
    return field / np.abs(field).max()
