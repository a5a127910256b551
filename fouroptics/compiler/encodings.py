"""Encodings: a complex mask (|m| <= 1) -> what a restricted SLM can show.

Each encoding returns the realised complex transmission per pixel (what the optics multiplies
by), the drive levels (None for the ideal ``complex`` encoding) and the SLM used; the compiler
measures its fidelity and efficiency against the ideal complex mask on the same system. The
"iris" an encoding needs is where its unwanted light goes; :func:`ghosts_for` tells the layout
so that no readout window receives it (the camera plane is this 4f system's filter plane).

* ``complex``: ideal (or two SLMs); no ghosts.
* ``phase``: phase only, amplitude dropped (the error spreads; fidelity reported).
* ``double-phase`` / ``double-phase-3pi``: ``A e^{i phi} = (e^{i(phi+a)} + e^{i(phi-a)}) / 2``
  with ``a = arccos A`` on a checkerboard; the checkerboard's error is the mask modulated at the
  Fourier SLM's Nyquist frequency, i.e. a copy of all light shifted by half the camera-plane
  period ``lambda f2 / (2 p_F)`` in both axes (the low pass: tiles kept clear of it). ``-3pi``:
  an SLM with a 3 pi stroke (its default LUT).
* ``phase-multi``: phase only, several tiles per frame: the drive is optimised through the
  SLM model against every tile's readout region at once, each tile up to its own phase
  (:mod:`fouroptics.compiler.multiplex`); the error light goes where no window looks.
* ``amplitude``: amplitude SLM with bias: ``a = 1/2 + Re(m)/2`` carries ``m / 4``; the bias is
  unmodulated light (zero order) and ``conj(m) / 4`` a mirrored copy (tiles kept clear of both).
* ``lee`` and ``superpixel`` (binary DMDs): the light sits on a carrier and the readout
  windows are the iris; :func:`iris_for` gives it (derivation in
  :mod:`fouroptics.compiler.binary`): the layout keeps every window's sight inside it, so the
  zero order, the conjugate, the other orders and the superpixel grid's repeats stay out.

On an SLM with fringing (pixel crosstalk) the phase encodings' drive is then optimised through
the crosstalk (:mod:`fouroptics.compiler.refine`): a checkerboard alone is damped by
``(1 - 4c)^2``.
"""

from __future__ import annotations

import numpy as np

from fouroptics.compiler import binary
from fouroptics.compiler.slm import SLMModel
from fouroptics.errors import ConfigError
from fouroptics.optics import FourFSystem

ENCODINGS = (
    "complex",
    "phase",
    "phase-multi",
    "double-phase",
    "double-phase-3pi",
    "amplitude",
    "lee",
    "superpixel",
)

#: Real bias added before double-phase encoding (relative to |m| <= 1).
DOUBLE_PHASE_BIAS = 0.05

#: Refinement steps of the phase encodings on an SLM with fringing (its pre-compensation).
REFINE_STEPS = 100

_MODULATION = {
    "complex": "complex",
    "phase": "phase",
    "phase-multi": "phase",
    "double-phase": "phase",
    "double-phase-3pi": "phase",
    "amplitude": "amplitude",
    "lee": "binary",
    "superpixel": "binary",
}


def ghosts_for(encoding: str, system: FourFSystem) -> list[tuple[tuple[float, float], bool]]:
    """Copies of the light an encoding adds: [(camera-plane shift (m), kind), ...] with kind
    False (the light aimed at the tiles, shifted), True (its conjugate) or "zero" (the
    unmodulated image of the blocks, shifted)."""
    half = system.wavelength * system.f2 / system.fourier_pitch / 2
    if encoding.startswith("double-phase"):
        return [((half, half), False), ((half, half), "zero")]
    if encoding == "amplitude":
        return [((0.0, 0.0), True)]
    if encoding in ("lee", "superpixel"):
        return []  # everything they add lies outside their iris (see iris_for)
    return []


def modulation_of(encoding: str) -> str:
    """The SLM modulation an encoding needs: "complex", "phase", "amplitude" or "binary"."""
    if encoding not in _MODULATION:
        raise ConfigError(f"encoding: got {encoding!r}; allowed: {', '.join(ENCODINGS)}")
    return _MODULATION[encoding]


def iris_for(
    encoding: str, system: FourFSystem, margin_m: float = 0.0
) -> tuple[np.ndarray, np.ndarray] | None:
    """The camera-plane iris of a binary encoding: (centre (2,), half-width (2,)), metres, or
    None for the other encodings.

    Args:
        encoding: the encoding.
        system: the 4f system (``L = lambda f2 / p_F``).
        margin_m: a window sight's half-width minus the light's, camera plane, metres (Lee's
            iris depends on it; see :func:`fouroptics.compiler.binary.iris`).
    """
    if _MODULATION.get(encoding) != "binary":
        return None
    period = system.wavelength * system.f2 / system.fourier_pitch
    centre, half = binary.iris(encoding, margin_m / period)
    return centre * period, np.full(2, half * period)


def default_slm(encoding: str) -> SLMModel | None:
    """The SLM an encoding assumes when none is given (8-bit linear LUTs)."""
    modulation = _MODULATION[encoding]
    if modulation == "complex":
        return None
    if modulation == "binary":
        return SLMModel(bit_depth=1, modulation="binary", name="ideal DMD")
    if encoding == "double-phase-3pi":
        lv = np.arange(256)
        return SLMModel(
            8, "phase", response=np.exp(3j * np.pi * lv / 256), name="linear 3 pi stroke"
        )
    return SLMModel(8, modulation, name=f"linear 8-bit {modulation}")


def encode(
    encoding: str, displayed: np.ndarray, slm: SLMModel | None
) -> tuple[np.ndarray, np.ndarray | None, SLMModel | None]:
    """Encode masks ``displayed`` (F, H, W) complex, |m| <= 1, pixel by pixel (the phase
    encodings are then refined through the SLM's fringing by :mod:`fouroptics.compiler.refine`
    when the compiler is asked to).

    Returns:
        (realised (F, H, W) complex128, the SLM's fringing included; levels (F, H, W) uint16
        or None; the SLM used).

    Raises:
        ConfigError: unknown encoding, or an SLM whose modulation does not fit it.
    """
    if encoding not in ENCODINGS:
        raise ConfigError(f"encoding: got {encoding!r}; allowed: {', '.join(ENCODINGS)}")
    slm = slm if slm is not None else default_slm(encoding)
    wanted_mod = _MODULATION[encoding]
    if slm is not None and slm.modulation != wanted_mod:
        raise ConfigError(
            f"encoding {encoding!r} needs an SLM with {wanted_mod} modulation; the SLM "
            f"{slm.name!r} is "
            f"{slm.modulation}"
        )
    m = np.asarray(displayed, dtype=np.complex128)
    if encoding == "complex":
        if slm is None:
            return m.copy(), None, None
        levels, _ = slm.quantise(m)
        return slm.realise(levels), levels, slm
    if encoding in ("phase", "phase-multi"):  # phase-multi: the kinoform, then optimised
        wanted = np.exp(1j * np.angle(m))
    elif encoding.startswith("double-phase"):
        # a small real bias fixes the phase where the mask vanishes: the checkerboard's error
        # there is then unmodulated light (a compact ghost) instead of speckle
        wanted = double_phase((m + DOUBLE_PHASE_BIAS) / (1 + DOUBLE_PHASE_BIAS))
    elif encoding == "amplitude":
        wanted = 0.5 + 0.5 * m.real + 0j
    else:  # binary: lee or superpixel, light aimed inside the iris
        wanted = binary.binary_pattern(encoding, m) + 0j
    levels, _ = slm.quantise(wanted)
    return slm.realise(levels), levels, slm


#: most refinement steps accepted: a bound on the work, 1,000 times the default
#: :data:`REFINE_STEPS`; 10**12 would run for ever
MAX_REFINE_STEPS = 100_000


def refine_steps(
    encoding: str, slm: SLMModel | None, refine: int | None, floor: bool = False
) -> int:
    """Steps of the drive refinement: ``refine`` when given, else :data:`REFINE_STEPS` for the
    phase encodings on an SLM with fringing (its pre-compensation; 4 times as many when an
    input ``floor`` lights the whole panel: the zero order's neighbourhood is then held too),
    else 0."""
    if refine is not None:
        if isinstance(refine, bool) or not isinstance(refine, int):
            raise ConfigError(f"refine: got {refine!r}; allowed integers >= 0")
        if not 0 <= refine <= MAX_REFINE_STEPS:
            raise ConfigError(
                f"refine: got {refine}; allowed integers from 0 to {MAX_REFINE_STEPS:,}"
            )
        if refine and _MODULATION.get(encoding) != "phase":
            raise ConfigError(
                f"refine: applies to the phase encodings (phase, double-phase*), not {encoding!r}"
            )
        return refine
    if _MODULATION.get(encoding) == "phase" and slm is not None and slm.has_crosstalk:
        return REFINE_STEPS * (4 if floor else 1)
    return 0


def double_phase(m: np.ndarray) -> np.ndarray:
    """Checkerboard double-phase hologram of ``m`` (..., H, W), |m| <= 1: unit-modulus."""
    amp = np.clip(np.abs(m), 0.0, 1.0)
    phi = np.angle(m)
    a = np.arccos(amp)
    h, w = m.shape[-2:]
    checker = (np.add.outer(np.arange(h), np.arange(w)) % 2).astype(bool)
    return np.exp(1j * np.where(checker, phi - a, phi + a))
