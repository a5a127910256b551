"""``compile --input-encoding``: how the bundle shows images on the input SLM, and the
encoding's fidelity for compile.json (:mod:`fouroptics.compiler.input_phase`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.commands.compile_beliefs import declared_input_slm
from fouroptics.compiler import input_phase
from fouroptics.errors import ConfigError


def declared_input_modulation(path: Path) -> str | None:
    """The input SLM's modulation a bench YAML declares; None for a plain system YAML."""
    d = declared_input_slm(path)
    return None if d is None else str(d.get("modulation", "amplitude"))


def choose_input_encoding(path: Path, asked: str) -> str:
    """``auto``: double-phase when the bench YAML's input SLM is phase-only, else amplitude.

    Raises:
        ConfigError: an amplitude encoding asked for a bench whose input SLM is phase-only.
    """
    declared = declared_input_modulation(path)
    if asked == "auto":
        return "double-phase" if declared == "phase" else "amplitude"
    if asked == "amplitude" and declared == "phase":
        raise ConfigError(
            f"--input-encoding amplitude: bench {path}'s input SLM is phase-only and cannot "
            "show amplitude images; use --input-encoding double-phase (or auto)"
        )
    return asked


#: input-SLM pixels per image pixel a double-phase input tries, first that compiles, when
#: --upsample is not given (the carrier's tail in a band of 1/(2 s): MNIST digits' fidelity
#: nrmse 0.009 at 4, 0.016 at 3, 0.045 at 2; at 1 an SCLC's band of a quarter cycle, 0.11)
DOUBLE_PHASE_UPSAMPLE = (4, 3, 2, 1)


def compile_with_upsample(
    compile_fn: Callable[[int | None], Any], encoding: str, asked: int | None
) -> Any:
    """``compile_fn(upsample)`` with the upsampling ``encoding`` needs: ``asked``, or for a
    double-phase input the first of :data:`DOUBLE_PHASE_UPSAMPLE` that compiles (the
    compiler's own refusal of a layout that does not fit the input SLM or the camera is the
    test; the last one's refusal is raised).

    Raises:
        ConfigError: the compiler's refusal at the smallest upsampling tried.
    """
    if encoding != "double-phase" or asked is not None:
        return compile_fn(asked)
    for s in DOUBLE_PHASE_UPSAMPLE:
        try:
            return compile_fn(s)
        except ConfigError:
            if s == DOUBLE_PHASE_UPSAMPLE[-1]:
                raise
    raise AssertionError("unreachable")


def declared_input_fringing(path: Path) -> float:
    """The input SLM's fringing coupling a bench YAML declares (its profile's, or the
    section's); 0 for a plain system YAML."""
    d = declared_input_slm(path)
    return 0.0 if d is None else float(d.get("fringing", 0.0))


def apply_input_encoding(
    bundle: Any, encoding: str, samples: np.ndarray, fringing: float = 0.0
) -> dict[str, Any]:
    """Record ``encoding`` in the bundle (``meta["input_encoding"]``) and return its
    compile.json section: for double-phase, the fidelity of the encoded field through an ideal
    low-pass of the image band on ``samples`` (B, C, n, n) images (the images' own
    transmissions, the whole input SLM). ``fringing``: the input SLM's believed coupling: the
    checkerboard is driven ``1 / (1 - 4c)^2`` harder and the twin blurs its phases by it."""
    bundle.meta[input_phase.META_KEY] = encoding
    if encoding != "double-phase":
        return {"encoding": encoding}
    stopped = input_phase.stop_carrier(bundle)
    bundle.meta["input_checkerboard_gain"] = input_phase.checkerboard_gain(fringing)
    if fringing:
        from fouroptics.optics.pixels import fringing_kernel

        bundle.arrays["input_crosstalk"] = fringing_kernel(fringing)
    t = bundle.input_transmission(samples)
    fid = input_phase.double_phase_fidelity(t, input_phase.band_cycles(bundle))
    return {
        "encoding": encoding,
        "band_cycles": input_phase.band_cycles(bundle),
        "checkerboard_gain": bundle.meta["input_checkerboard_gain"],
        **fid,
        "carrier_stop_pixels": stopped,
        "notes": "nrmse: rms of the double-phase field low-passed to the kernels' band (|nu| <= "
        "band_cycles per input pixel, ideal square filter) minus the target "
        "transmission low-passed alike, over the latter's rms; carrier_leak: the checkerboard "
        "term's power left in that band over the target's; efficiency: the wanted term's share "
        "of the light; carrier_stop_pixels: Fourier-SLM pixels per mask set to the double-phase "
        "of zero where the carrier crosses (its light sent off the camera)",
    }
