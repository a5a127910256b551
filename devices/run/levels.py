"""Images to input-SLM gray levels: the bundle's transmission through the calibration's inverse
LUT, or the SLM's believed LUT."""

from __future__ import annotations

from typing import Any

import numpy as np

from devices.run.calibration import RunCalibration
from fouroptics.compiler import input_phase
from fouroptics.errors import ConfigError


def input_levels(
    bench: Any,
    transmission: np.ndarray,
    cal: RunCalibration,
    support: tuple[slice, slice] | None = None,
    flat: np.ndarray | None = None,
    floor: float = 0.0,
    encoding: str = "amplitude",
    checkerboard_gain: float = 1.0,
    surround: input_phase.Surround | None = None,
    kernel: np.ndarray | None = None,
) -> np.ndarray:
    """Input-SLM gray levels for transmissions in [0, 1] (B, H_in, W_in): the calibration's
    inverse LUT when given, else the SLM's believed LUT (``levels_for``).

    ``support``: a box outside which every transmission is 0 (:func:`support_box`); the levels
    are looked up there only, the rest takes the level of 0 (the lookup is per pixel).

    ``flat``: (H_in, W_in) factors that divide the measured beam out
    (:func:`beam_flattening`), applied before the lookup to the image's part of a transmission
    that stands on the SLM's ``floor`` (``a + (1 - a) t`` becomes ``a + (1 - a) t flat``).

    ``encoding``: the bundle's ``input_encoding``; "double-phase" (a phase-only input SLM)
    shows each transmission as the checkerboard of phases ``+-arccos(t)``
    (:mod:`fouroptics.compiler.input_phase`), through the calibration's inverse phase LUT
    when measured, over the whole panel (a zero transmission is a checkerboard too), its
    checkerboard driven ``1 / checkerboard_gain`` harder (the bundle's belief of how much the
    SLM's fringing damps it; with ``kernel``, the bundle's believed crosstalk, the drive
    predistorted for it instead: :func:`fouroptics.compiler.input_phase.predistort`), the
    pixels outside the image blocks the bundle's blazed grating
    (``surround``: :func:`fouroptics.compiler.input_phase.surround`), each pixel's phase
    divided by the measured panel map ``m`` (the panel shows ``m curve(l)``) when the
    calibration has one."""
    if flat is not None:
        transmission = floor + (np.asarray(transmission) - np.float32(floor)) * flat
    if encoding == "double-phase":
        slm = bench.input_slm
        if slm.modulation != "phase":
            raise ConfigError(
                f"bundle encodes images as double-phase for a phase-only input SLM, but bench "
                f"{bench.name!r}'s input SLM ({slm.label}) modulates {slm.modulation}; "
                "recompile with --input-encoding amplitude"
            )
        inv = cal.input_inverse_lut
        phase = input_phase.double_phase(transmission, checkerboard_gain, surround, kernel)
        scale = cal.input_exponent(tuple(slm.shape))  # a phase panel's m: it shows m curve(l)
        if scale is not None:
            phase = (phase / scale).astype(np.float32)
        if inv is None and slm.lut is not None:  # the believed LUT: the nearest level
            return slm.levels_for(phase)
        if cal.input_curve is not None and len(cal.input_curve) == slm.levels:
            return input_phase.first_cycle_levels(phase, cal.input_curve).astype(slm.dtype)
        return input_phase.phase_to_levels(phase, slm.levels, inv).astype(slm.dtype)
    exponent = cal.input_exponent(tuple(bench.input_slm.shape))
    if exponent is not None:  # the panel shows A ** m: ask each pixel for t ** (1 / m)
        t = np.clip(np.asarray(transmission), 0, 1)
        transmission = (t ** (1.0 / exponent)).astype(t.dtype, copy=False)
    if support is not None:
        t = np.asarray(transmission)
        dark = _levels(bench, np.zeros((1,) * t.ndim, dtype=t.dtype), cal).reshape(())
        out = np.full(t.shape, dark, dtype=dark.dtype)
        out[(..., *support)] = _levels(bench, t[(..., *support)], cal)
        return out
    return _levels(bench, transmission, cal)


def _levels(bench: Any, transmission: np.ndarray, cal: RunCalibration) -> np.ndarray:
    slm = bench.input_slm
    if cal.input_inverse_lut is not None:
        inv = np.asarray(cal.input_inverse_lut)
        if inv.shape != (slm.levels,):
            raise ConfigError(
                f"calibration input_slm inverse LUT has {inv.shape} entries; the input SLM "
                f"{slm.label} has {slm.levels} levels"
            )
        k = np.rint(np.clip(transmission, 0, 1) * (slm.levels - 1)).astype(np.int64)
        return inv[k].astype(slm.dtype)
    if slm.lut is None and slm.modulation == "amplitude":  # linear: nearest level, ties down
        return np.ceil(np.clip(transmission, 0, 1) * (slm.levels - 1) - 0.5).astype(slm.dtype)
    return slm.levels_for(np.clip(transmission, 0, 1), clip=True)


def beam_flattening(
    cal: RunCalibration,
    shape: tuple[int, int],
    support: tuple[slice, slice] | None,
    leak_block: bool = False,
) -> np.ndarray | None:
    """(H_in, W_in) float32 factors ``a_min / a(x)`` over the support (0 elsewhere) that divide
    a measured beam (:meth:`RunCalibration.beam_amplitude`) out of the displayed images, so the
    input field is flat as the compiled kernels assume, at the cost of the light above
    ``a_min`` (the beam's weakest amplitude there; the photometry absorbs the common factor).
    None without a measured beam, and for a bundle whose leak block cancels its input SLM's
    floor (``leak_block``): the floor's light follows the beam, and its cancellation assumes
    the image's light does too."""
    beam = cal.beam_amplitude(shape)
    if beam is None or leak_block:
        return None
    box = support if support is not None else (slice(None), slice(None))
    flat = np.zeros(shape, dtype=np.float32)
    flat[box] = beam[box].min() / beam[box]
    return flat


def support_box(bundle: Any) -> tuple[slice, slice]:
    """The box of input-SLM pixels where the bundle's transmission can be non-zero (its
    blocks: a full-scale image shows there, and only there)."""
    full = np.full((1, *bundle.image_shape), bundle.meta["image_scale"], dtype=np.float32)
    t = bundle.input_transmission(full)[0]
    rows, cols = np.nonzero(t > bundle.meta.get("input_leak", 0.0))  # above the SLM's floor
    if not len(rows):
        return slice(0, 0), slice(0, 0)
    return slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
