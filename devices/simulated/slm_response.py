"""SLM gray-level responses (LUT curves) and pixel crosstalk (fringing), as pure functions.

A response maps each gray level ``g = 0 .. L-1`` to the phase (radians) or field amplitude a
pixel produces. Real LCoS curves are nonlinear and their range is rarely exactly 2 pi; the
gamma-like family here, ``offset + range * (g / (L-1))**gamma``, captures both.
"""

from __future__ import annotations

import numpy as np

from fouroptics.optics.pixels import fringing


def gamma_phase_curve(
    levels: int, phase_range: float = 2 * np.pi, gamma: float = 1.0, offset: float = 0.0
) -> np.ndarray:
    """Phase in radians per gray level: ``offset + phase_range * (g / (levels-1))**gamma``.

    Returns:
        shape ``(levels,)``, float64.
    """
    if levels < 2 or gamma <= 0 or not np.isfinite(phase_range):
        raise ValueError(
            f"phase curve: got levels={levels}, gamma={gamma}, phase_range={phase_range}; "
            "need levels >= 2, gamma > 0 and a finite range"
        )
    x = np.arange(levels) / (levels - 1)
    return offset + phase_range * x**gamma


def gamma_amplitude_curve(levels: int, gamma: float = 1.0, minimum: float = 0.0) -> np.ndarray:
    """Field amplitude per gray level: ``minimum + (1 - minimum) * (g / (levels-1))**gamma``.

    ``minimum`` is the leakage of the darkest level (1 / sqrt(contrast ratio) in field).
    """
    if levels < 2 or gamma <= 0 or not 0 <= minimum < 1:
        raise ValueError(
            f"amplitude curve: got levels={levels}, gamma={gamma}, minimum={minimum}; need "
            "levels >= 2, gamma > 0 and 0 <= minimum < 1"
        )
    x = np.arange(levels) / (levels - 1)
    return minimum + (1.0 - minimum) * x**gamma


def draw_curve(
    rng: np.random.Generator,
    levels: int,
    modulation: str,
    range_spread: float = 0.1,
    gamma_spread: float = 0.3,
    phase_range: float = 2 * np.pi,
    gamma: float = 1.0,
    amplitude_min: float = 0.0,
) -> tuple[np.ndarray, dict[str, float]]:
    """Draw a device-specific response around a nominal gamma curve.

    Phase: range ``phase_range * (1 + U(-range_spread/2, range_spread))`` (so never exactly
    the nominal), gamma ``gamma * exp(U(-gamma_spread, gamma_spread))``. Amplitude: gamma as
    above and dark leakage ``amplitude_min + U(0, range_spread / 2)``; binary keeps gamma 1.
    Zero spreads give the nominal curve.

    Returns:
        the curve ``(levels,)`` and the drawn parameters.
    """
    g = float(gamma * np.exp(rng.uniform(-gamma_spread, gamma_spread))) if gamma_spread else gamma
    if modulation == "phase":
        scale = 1.0 + rng.uniform(-range_spread / 2, range_spread) if range_spread else 1.0
        params = {"phase_range": float(phase_range * scale), "gamma": g}
        return gamma_phase_curve(levels, **params), params
    leak = amplitude_min + (float(rng.uniform(0.0, range_spread / 2)) if range_spread else 0.0)
    params = {"gamma": 1.0 if modulation == "binary" else g, "minimum": min(leak, 0.5)}
    return gamma_amplitude_curve(levels, **params), params


def apply_fringing(values: np.ndarray, coupling: float) -> np.ndarray:
    """Nearest-neighbour crosstalk ``[c, 1-2c, c]`` per axis (numpy, float64).

    The physics lives in :func:`fouroptics.optics.pixels.fringing` (the compiler's
    pre-compensation models the same kernel); this is the devices-side name for it.
    """
    return fringing(values, coupling)


#: Where a drawn crosstalk acts ("random": drawn with even odds).
CROSSTALK_DOMAINS = ("phase", "voltage", "random")


def draw_crosstalk(
    rng: np.random.Generator,
    coupling: float,
    spread: float = 0.0,
    asymmetry: float = 0.0,
    width: float = 0.0,
    domain: str = "phase",
) -> tuple[np.ndarray, str, dict[str, float]]:
    """Draw an SLM's true crosstalk kernel around the nominal nearest-neighbour ``coupling``.

    Per axis (rows, columns, independently): the first-neighbour coupling
    ``c exp(spread N)``, split ``(1 + a, 1 - a)`` between the two sides with
    ``a = clip(asymmetry N, -0.9, 0.9)``, and second neighbours at ``q`` times the first with
    ``q = width U(0, 1)`` (an exponential fall-off); the kernel is the outer product of the two
    axes' 5 taps (3 when ``width`` is 0), sum 1. The domain is ``domain``, or for "random"
    voltage or phase with even odds. Always 7 draws, so later draws do not depend on these
    options. Zero spreads give the nominal :func:`fouroptics.optics.pixels.fringing_kernel`.

    Returns:
        kernel (k, k) float64, domain, and the drawn parameters.
    """
    from fouroptics.optics.pixels import axis_kernel

    if domain not in CROSSTALK_DOMAINS:
        raise ValueError(
            f"crosstalk domain: got {domain!r}; allowed: {', '.join(CROSSTALK_DOMAINS)}"
        )
    n = rng.standard_normal(4)
    u = rng.random(3)
    taps = 5 if width else 3
    params: dict[str, float] = {}
    axes = []
    for i, axis in enumerate(("rows", "columns")):
        c = coupling * float(np.exp(spread * n[i]))
        a = float(np.clip(asymmetry * n[2 + i], -0.9, 0.9))
        q = float(width * u[i])
        params.update({f"{axis}_coupling": c, f"{axis}_asymmetry": a, f"{axis}_width": q})
        axes.append(axis_kernel(c * (1 + a), c * (1 - a), q, taps))
    if domain == "random":
        domain = "voltage" if u[2] < 0.5 else "phase"
    kernel = np.outer(axes[0], axes[1])
    if kernel.min() < 0:
        raise ValueError(f"crosstalk: drawn coupling too large (centre tap {kernel.max():.3g})")
    return kernel, domain, params


def draw_panel(
    rng: np.random.Generator, shape: tuple[int, int], spread: float
) -> tuple[np.ndarray | None, dict[str, float]]:
    """Draw how an SLM's response varies across its panel (cell-gap non-uniformity).

    The map is ``1 + spread * s(y, x) / rms(s)`` over the panel's pixels (y, x in [-1, 1]):
    ``s`` a tilt ``n0 y + n1 x``, a bowl ``n2 ((y - a)^2 + (x - b)^2)`` about a drawn centre
    and a broad Gaussian bump ``n3 exp(-((y - c)^2 + (x - d)^2) / (2 w^2))`` (w in 0.6..1.0),
    its mean removed: so the map's rms deviation from 1 is ``spread``. Phase SLMs realise
    ``map * phase(l)``, amplitude SLMs ``amplitude(l) ** map`` (the gamma varies). Always 9
    draws (the same later draws whatever the spread); None for a zero spread.

    Returns:
        (H, W) float64 map or None, and the drawn parameters.
    """
    n = rng.standard_normal(4)
    u = rng.random(5)
    if not spread:
        return None, {}
    h, w = shape
    y = np.linspace(-1.0, 1.0, h)[:, None]
    x = np.linspace(-1.0, 1.0, w)[None, :]
    a, b, c, d = u[0] - 0.5, u[1] - 0.5, 1.2 * (u[2] - 0.5), 1.2 * (u[3] - 0.5)
    width = 0.6 + 0.4 * u[4]
    s = n[0] * y + n[1] * x + n[2] * ((y - a) ** 2 + (x - b) ** 2)
    s = s + n[3] * np.exp(-((y - c) ** 2 + (x - d) ** 2) / (2 * width**2))
    s = s - s.mean()
    rms = float(np.sqrt(np.mean(s**2)))
    params = {"tilt_y": n[0], "tilt_x": n[1], "bowl": n[2], "bump": n[3], "bump_width": width}
    return 1.0 + spread * s / max(rms, 1e-12), {k: float(v) for k, v in params.items()}


def draw_phase_coupling(
    rng: np.random.Generator, levels: int, size: float, spread: float = 0.0
) -> tuple[np.ndarray | None, dict[str, float]]:
    """Draw an amplitude LCoS's phase coupling: the phase (radians) each gray level adds to its
    field ``A(l) exp(i phi_c(l))`` (the liquid crystal between polarisers retards as it turns).

    ``phi_c(l) = c x^q + b sin(pi x)``, ``x = l / (L - 1)``: size ``c = size (1 + spread N)``,
    shape ``q = exp(0.5 N)`` and a bow ``b = 0.2 c N``. Always 3 draws; None for a zero size.

    Returns:
        (L,) float64 radians or None, and the drawn parameters.
    """
    n = rng.standard_normal(3)
    if not size:
        return None, {}
    c = size * (1.0 + spread * n[0])
    q = float(np.exp(0.5 * n[1]))
    bow = 0.2 * c * n[2]
    x = np.arange(levels) / (levels - 1)
    curve = c * x**q + bow * np.sin(np.pi * x)
    return curve, {"size": float(c), "exponent": q, "bow": float(bow)}
