"""The Fourier SLM's pixel crosstalk (kernel and domain), measured from grating diffraction.

A 4-pixel bright spot on the input SLM lights the Fourier SLM with a broad, smooth field. A
grating of period P pixels on the Fourier SLM (constant along the other axis) splits the spot's
camera image into copies at ``m / P`` cycles per pixel, ``lambda f2 / p_F`` camera-plane metres
per cycle/pixel from the zero order. The power of copy ``m`` is ``E_m(P) |c_m|^2``: ``c_m`` the
m-th DFT coefficient of one period of what the pixels realise, ``exp(i phi)`` with ``phi`` the
crosstalk-mixed phase, and ``E_m(P)`` whatever else weighs that place (the pixel aperture's
envelope, the camera, the beam), the same for every grating of that period. Each copy's power
is summed in a small window less the local background of a ring around it (the image of the
input SLM's leak, spread over the whole input, is as bright there as a weak order).

Per axis and period a set of gratings is shown: two-level ones of several depths and drive
offsets (voltage-domain crosstalk mixes the drive before the nonlinear LUT, so equal phase steps
at different drives diffract differently), blazed ramps both ways and a three-level staircase
both ways (a left/right imbalance of the kernel changes each one's orders differently from its
mirror's). The model ``|c_m|^2`` (through the measured LUT) with a common scale per copy's place
is fitted by least squares for the kernel of that axis: first-neighbour couplings left and
right and an exponential fall-off to the second neighbours, in each domain; the domain with the
smaller residual is taken. The 2-D kernel is the outer product of the two axes' kernels.
When the two domains fit about equally well (:data:`HEDGE_RATIO`), the gratings cannot tell them
apart and the other domain's kernel is kept too (:func:`hedge_domain`): the compiler then
refines its drive through both (:class:`fouroptics.compiler.refine.DriveModel`).

Only display, capture and exposure are used (and the measured Fourier LUT).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from calibration.errors import CalibrationError
from calibration.limits import LIMITS
from calibration.session import Session
from fouroptics.optics.pixels import DOMAINS, axis_kernel, crosstalk_response

#: Grating periods (Fourier-SLM pixels) and the taps of each measured axis kernel.
PERIODS = (2, 3, 4, 5, 6, 8)
TAPS = 5
#: Half-size (camera px) of the window summed around each copy, and of the search for it.
WINDOW = 7
SEARCH = 12
#: The README's limit on :func:`double_phase_field_error` of the measured crosstalk.
CROSSTALK_LIMIT = LIMITS["crosstalk"].value
#: Radius (Fourier px) of the centre where a ramp of this period across the gratings' axis
#: dumps the input SLM's leak away from the measured copies.
DUMP_RADIUS = 10
DUMP_PERIOD = 4
#: The other domain is kept as a hedge when its fit's summed squared residual is within this
#: factor of the chosen one's. On misaligned_noisy.yaml (domain drawn at random): the wrong domain
#: was chosen at ratios 1.004 (seed 2033, an earlier calibration) and 1.015 (2037); the right
#: one at 1.002 (2033) and 1.44 (2038).
HEDGE_RATIO = 1.1


@dataclass
class CrosstalkResult:
    """Measured crosstalk of the Fourier SLM.

    Attributes:
        kernel: (TAPS, TAPS) float64, sum 1: ``kernel[r + a, s + b]`` is the share of a pixel
            that lands ``a`` rows and ``b`` columns away (see
            :func:`fouroptics.optics.pixels.crosstalk`).
        domain: "phase" or "voltage".
        axes: per axis ("rows", "columns"): fitted ``left``, ``right``, ``width`` and the
            relative rms residual in each domain.
        raw: gratings (levels), the copies' places and the measured powers.
    """

    kernel: np.ndarray
    domain: str
    axes: dict[str, dict[str, float]]
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        return {
            "kernel": np.asarray(self.kernel, np.float64),
            "domain": self.domain,
            "axes": {k: dict(v) for k, v in self.axes.items()},
            "raw": dict(self.raw),
        }


def hedge_domain(axes: dict[str, dict[str, float]]) -> str | None:
    """The domain the compiler should also refine through, or None: the one not chosen when its
    fit's summed squared relative residual over the axes (``axes[a]["residual_<domain>"]``, as
    :func:`measure_crosstalk` stores them) is within :data:`HEDGE_RATIO` of the chosen one's."""
    cost = {d: sum(a.get(f"residual_{d}", np.inf) ** 2 for a in axes.values()) for d in DOMAINS}
    best, other = sorted(DOMAINS, key=cost.get)
    if not np.isfinite(cost[other]) or cost[other] > HEDGE_RATIO * max(cost[best], 1e-300):
        return None
    return other


def gratings(period: int, curve: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """The gray-level periods shown at ``period`` pixels: (G, period) int.

    Two-level ones (half low, half high) at several drive pairs, blazed ramps up and down
    through the measured ``inverse`` LUT, and a three-level staircase up and down.
    """
    n = len(curve)
    top = n - 1
    q = n // 4
    low = period // 2
    pairs = [(0, q), (0, 2 * q), (0, 3 * q), (0, top), (q, 3 * q), (2 * q, top), (q, top)]
    out = []
    for a, b in pairs:
        out.append([a] * low + [b] * (period - low))
    ramp = inverse[(np.arange(period) * n // period) % n]
    if period > 2:
        out += [list(ramp), list(ramp[::-1])]
        stair = np.round(np.linspace(0, 0.8 * top, period) ** 1.0).astype(int)
        stair[1:-1] = np.round(stair[1:-1] * 0.6).astype(int)
        out += [list(stair), list(stair[::-1])]
    return np.array(out, dtype=np.int64)


def predicted_orders(
    levels: np.ndarray, curve: np.ndarray, kernel_1d: np.ndarray, domain: str
) -> np.ndarray:
    """``|c_m|^2`` (G, P) of the periodic gratings ``levels`` (G, P) realised through the
    response ``curve`` with crosstalk ``kernel_1d`` along the grating in ``domain``."""
    g, p = levels.shape
    reps = 2 * (TAPS // 2 + p - 1) // p + 3
    row = np.tile(levels, reps)[:, None, :]
    phase = crosstalk_response(row, curve, kernel_1d[None, :], domain)[:, 0]
    mid = (reps // 2) * p
    field_ = np.exp(1j * phase[:, mid : mid + p])
    return np.abs(np.fft.fft(field_, axis=1) / p) ** 2


def measure_crosstalk(
    session: Session, curve: np.ndarray, inverse: np.ndarray, n_frames: int = 2
) -> CrosstalkResult:
    """Measure the Fourier SLM's crosstalk kernel and domain (see the module docstring).

    Args:
        session: the bench.
        curve: (L,) the Fourier SLM's measured phase per level, radians (``lut`` routine).
        inverse: (L,) the measured inverse LUT (levels per phase 2 pi k / L).
        n_frames: frames averaged per grating.

    Frames: about (1 + n_frames) per grating, 2 x 78 gratings, plus exposure and dark frames.
    """
    session.start("crosstalk")
    bench = session.bench
    if bench.fourier_slm.modulation != "phase":
        raise CalibrationError("crosstalk: measures a phase Fourier SLM only")
    in_slm = bench.input_slm
    if in_slm.modulation == "phase":
        raise CalibrationError(
            "crosstalk: the input SLM is phase-only, so a spot on it does not show on the "
            "camera; this routine needs an amplitude (or binary) input SLM"
        )
    curve = np.asarray(curve, dtype=np.float64)
    sys_ = bench.system
    cam_shape = np.array(session.camera_shape)
    hf, wf = session.fourier_shape
    affine = sys_.imaging_affine()
    # camera px per cycle/pixel of a Fourier-SLM grating, the same along both axes
    step = sys_.wavelength * sys_.f2 / (sys_.fourier_pitch * sys_.camera_pitch)
    # the spot images at a fifth of the camera from its low edges: copies to its high side fit
    target = 0.2 * cam_shape
    spot_in = np.linalg.solve(affine[:, :2], target - affine[:, 2])
    h, w = session.input_shape
    r0 = int(np.clip(round(spot_in[0]) - 2, 0, h - 4))
    c0 = int(np.clip(round(spot_in[1]) - 2, 0, w - 4))
    spot = np.zeros((h, w), dtype=np.int64)
    spot[r0 : r0 + 4, c0 : c0 + 4] = in_slm.levels - 1
    flat = np.zeros((hf, wf), dtype=np.int64)
    session.display(spot, flat)
    session.auto_expose(target=0.5, percentile=100.0)  # one small spot: its peak
    dark = session.dark_frame(4)
    zero = session.capture(n_frames) - dark
    guess = affine @ np.r_[r0 + 1.5, c0 + 1.5, 1.0]
    centre = _peak(zero, guess, SEARCH)

    # the input SLM's leak (its dark level over the whole panel) is focused near the Fourier
    # centre; a blazed ramp there sends its image away from the copies' row (or column)
    yy, xx = np.mgrid[:hf, :wf]
    dump = (yy - hf // 2) ** 2 + (xx - wf // 2) ** 2 <= DUMP_RADIUS**2
    n_lv = len(curve)
    ramps = [np.asarray(inverse)[((c * n_lv) // DUMP_PERIOD) % n_lv] for c in (xx, yy)]
    raw: dict[str, np.ndarray] = {"spot_camera_px": centre}
    axes: dict[str, dict[str, float]] = {}
    fits: dict[str, dict[str, tuple[np.ndarray, float]]] = {}
    for axis, name in enumerate(("rows", "columns")):
        groups = []
        for period in PERIODS:
            shown = gratings(period, curve, inverse)
            places = _places(period, centre, axis, step, cam_shape)
            if not places:
                continue
            frames = []
            for seq in shown:
                if axis == 0:
                    pattern = np.repeat(np.resize(seq, hf)[:, None], wf, axis=1)
                else:
                    pattern = np.repeat(np.resize(seq, wf)[None, :], hf, axis=0)
                pattern[dump] = ramps[axis][dump]
                session.display(None, pattern)
                frames.append(session.capture(n_frames) - dark)
            frames = np.array(frames)
            total = frames.sum(axis=0)
            for m, where in places:
                at = _peak(total, where, SEARCH)
                power = _window_sums(frames, at, WINDOW)
                groups.append((shown, m, power))
                raw[f"{name}_P{period}_m{m}_power"] = power
                raw[f"{name}_P{period}_m{m}_place"] = at
            raw[f"{name}_P{period}_levels"] = shown
        if len(groups) < 4:
            raise CalibrationError(
                f"crosstalk: too few grating orders land on the camera along the {name}; "
                "a larger camera or a longer f2 is needed"
            )
        fits[name] = {d: _fit_axis(groups, curve, d) for d in DOMAINS}
    cost = {d: sum(fits[a][d][1] ** 2 for a in fits) for d in DOMAINS}
    domain = min(cost, key=cost.get)
    ky, kx = (axis_kernel(*fits[a][domain][0], TAPS) for a in ("rows", "columns"))
    for d in DOMAINS:  # both domains' kernels, for a compile that hedges between them
        raw[f"kernel_{d}"] = np.outer(
            *(axis_kernel(*fits[a][d][0], TAPS) for a in ("rows", "columns"))
        )
    for a in fits:
        left, right, width = fits[a][domain][0]
        axes[a] = {"left": float(left), "right": float(right), "width": float(width)}
        axes[a].update({f"residual_{d}": float(fits[a][d][1]) for d in DOMAINS})
    return CrosstalkResult(np.outer(ky, kx), domain, axes, raw)


def _places(
    period: int, centre: np.ndarray, axis: int, step: float, cam_shape: np.ndarray
) -> list[tuple[int, np.ndarray]]:
    """``(m, camera px)`` of each grating order (and its alias one cycle/pixel on) that lands
    on the camera, clear of its edges."""
    out = []
    margin = WINDOW + SEARCH + 10
    for m in range(1, period):
        for f in (m / period, m / period - 1.0):
            where = centre.astype(np.float64).copy()
            where[axis] += f * step
            if np.all(where >= margin) and np.all(where <= cam_shape - 1 - margin):
                out.append((m, where))
    return out


def _peak(image: np.ndarray, guess: np.ndarray, half: int) -> np.ndarray:
    """The brightest pixel (row, col) of ``image`` within ``half`` px of ``guess``."""
    y0, x0 = (int(round(v)) for v in guess)
    ys, xs = max(y0 - half, 0), max(x0 - half, 0)
    box = image[ys : y0 + half + 1, xs : x0 + half + 1]
    if box.size == 0:
        raise CalibrationError("crosstalk: the input spot's image is off the camera")
    r, c = np.unravel_index(np.argmax(box), box.shape)
    return np.array([ys + r, xs + c], dtype=np.float64)


def _window_sums(frames: np.ndarray, at: np.ndarray, half: int) -> np.ndarray:
    """(G,) sums of each frame over the (2 half + 1)^2 window centred on ``at``, less the
    local background: the median of a ring 3..8 px outside the window, per pixel (the image
    of the input SLM's leak, the tails of other copies: smooth on the window's scale)."""
    y, x = (int(v) for v in at)
    outer = half + 8
    box = frames[:, y - outer : y + outer + 1, x - outer : x + outer + 1]
    yy, xx = np.mgrid[-outer : outer + 1, -outer : outer + 1]
    cheb = np.maximum(np.abs(yy), np.abs(xx))
    inner = cheb <= half
    ring = cheb >= half + 3
    background = np.median(box[:, ring], axis=1)
    return box[:, inner].sum(axis=1) - background * inner.sum()


def _fit_axis(
    groups: list[tuple[np.ndarray, int, np.ndarray]], curve: np.ndarray, domain: str
) -> tuple[np.ndarray, float]:
    """Least-squares ``(left, right, width)`` of one axis in ``domain`` and its relative rms
    residual: measured copy amplitudes (sqrt of power) against ``s |c_m|`` with one free
    scale ``s`` per copy's place (solved in closed form)."""
    obs = [np.sqrt(np.maximum(p, 0.0)) for _, _, p in groups]
    norms = [max(float(o.max()), 1e-12) for o in obs]

    def residual(theta: np.ndarray) -> np.ndarray:
        k = axis_kernel(theta[0], theta[1], theta[2], TAPS)
        out = []
        for (shown, m, _), o, nrm in zip(groups, obs, norms, strict=True):
            model = np.sqrt(predicted_orders(shown, curve, k, domain)[:, m])
            s = float(model @ o) / max(float(model @ model), 1e-30)
            out.append((o - s * model) / nrm)
        return np.concatenate(out)

    best = None
    for start in ((0.05, 0.05, 0.2), (0.1, 0.1, 0.5), (0.02, 0.02, 0.0)):
        fit = optimize.least_squares(
            residual, start, bounds=([0.0, 0.0, 0.0], [0.24, 0.24, 0.9]), x_scale=0.05
        )
        if best is None or fit.cost < best.cost:
            best = fit
    rms = float(np.sqrt(np.mean(best.fun**2)))
    return best.x, rms


def double_phase_field_error(
    curve: np.ndarray,
    model: tuple[np.ndarray | None, str],
    reference: tuple[np.ndarray | None, str],
    shape: tuple[int, int] = (128, 128),
    seed: int = 0,
) -> float:
    """RMS difference between the fields a random double-phase pattern realises through two
    crosstalk models (``(kernel, domain)`` each, through the same response ``curve``), after the
    best common phase: a grading that does not depend on how the kernels are parameterised.

    The pattern encodes a smooth random complex mask (|m| <= 1) as a checkerboard of
    ``arg m +- arccos |m|``, each pixel at the level whose phase is nearest (modulo 2 pi).

    Returns:
        the rms of ``|f_model - e^{i psi} f_reference|`` over the pixels (fields of modulus 1).
    """
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((2, *shape))
    m = ndimage.gaussian_filter(noise[0], 3) + 1j * ndimage.gaussian_filter(noise[1], 3)
    m /= np.abs(m).max()
    checker = (np.add.outer(np.arange(shape[0]), np.arange(shape[1])) % 2).astype(bool)
    phase = np.angle(m) + np.where(checker, 1, -1) * np.arccos(np.abs(m))
    curve = np.asarray(curve, dtype=np.float64)
    wrapped = np.angle(np.exp(1j * (curve[None, :] - phase.reshape(-1, 1))))
    levels = np.argmin(np.abs(wrapped), axis=1).reshape(shape)
    fa = np.exp(1j * crosstalk_response(levels, curve, *model))
    fb = np.exp(1j * crosstalk_response(levels, curve, *reference))
    psi = np.angle(np.vdot(fb, fa))
    return float(np.sqrt(np.mean(np.abs(fa - np.exp(1j * psi) * fb) ** 2)))
