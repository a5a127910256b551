"""What ``fouroptics compile`` believes about a bench: the Fourier SLM's levels, LUT and
crosstalk (from a device profile, a bench YAML's declarations or a calibration), the input SLM's
floor and phase coupling, and the Fourier SLM's frame (centre, scale, wavefront), as the
compiler's plain data (the compiler itself never imports devices/ or calibration/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError


def slm_from_profile(name: str) -> Any:
    """The compiler's SLMModel from a device profile (LUT from its response curve)."""
    from devices.config import load_profile

    prof = load_profile(name)
    if prof.get("kind") != "slm":
        raise ConfigError(f"--slm {name}: profile kind {prof.get('kind')!r}; expected an slm")
    return _slm_model(prof, str(prof.get("model", name)), "profile")


def _slm_model(d: dict[str, Any], name: str, source: str) -> Any:
    """SLMModel from declared values (bit_depth, modulation, phase_range, gamma,
    amplitude_min, fringing): the gamma-curve LUT of :mod:`devices.simulated.slm_response`."""
    from devices.simulated.slm_response import gamma_amplitude_curve, gamma_phase_curve
    from fouroptics.compiler import SLMModel

    mod = d.get("modulation", "phase")
    bits = int(d.get("bit_depth", 1 if mod == "binary" else 8))
    levels = 2**bits
    if mod == "phase":
        curve = gamma_phase_curve(
            levels, float(d.get("phase_range", 2 * np.pi)), float(d.get("gamma", 1.0))
        )
        table = np.exp(1j * curve)
    else:
        gamma = 1.0 if mod == "binary" else float(d.get("gamma", 1.0))
        table = gamma_amplitude_curve(levels, gamma, float(d.get("amplitude_min", 0.0))) + 0j
    return SLMModel(
        bits,
        mod,
        response=table,
        name=name,
        source=source,
        fringing=float(d.get("fringing", 0.0)),
    )


def slm_from_bench(path: Path) -> Any:
    """The compiler's SLMModel for the Fourier SLM a bench YAML declares (profile and
    overrides: bit depth, LUT curve, fringing), or None when ``path`` is a plain system YAML."""
    from devices.config import declared_slm
    from fouroptics.io.yaml_load import load_yaml

    cfg = load_yaml(path, "system file")
    if not (isinstance(cfg, dict) and "system" in cfg and "fourier_slm" in cfg):
        return None
    d = declared_slm(path, "fourier_slm")
    try:
        return _slm_model(d, str(d["name"]), "bench")
    except ConfigError as exc:
        raise ConfigError(f"{path}: fourier_slm: {exc}") from None


def slm_from_calibration(
    path: Path,
    base: Any,
    system_yaml: Path,
    allow_other_bench: bool = False,
) -> tuple[Any, Any]:
    """The compiler's SLMModel with the Fourier SLM's measured response and, when the
    calibration has a ``crosstalk`` section, its measured crosstalk (kernel and domain; else the
    profile's nominal fringing stays the belief), and the CalibrationSet (checked against the
    bench; see :func:`fourier_frame` and :func:`input_leak` for what else compile takes from
    it).

    Args:
        path: calibration.h5 (``fouroptics calibrate``), with a ``lut`` section for
            ``fourier_slm``.
        base: the profile's SLMModel (bit depth, modulation), or None for an 8-bit phase SLM.
        system_yaml: the --system file; when it is a bench YAML, a calibration measured on
            another bench (name, seed, grids, drivers, profiles, the Fourier SLM's bit depth
            or modulation) is refused (warns with ``allow_other_bench``); one older than the
            YAML warns.

    Raises:
        FileFormatError: not a CalibrationSet, or it holds no Fourier-SLM LUT.
        ConfigError: measured on another bench; the measured table does not match the SLM's
            levels.
    """
    from calibration.calset import CalibrationSet
    from fouroptics.compiler import SLMModel
    from fouroptics.io.yaml_load import load_yaml

    cfg = load_yaml(system_yaml, "system file")
    bench = system_yaml if isinstance(cfg, dict) and "system" in cfg else None
    cal = CalibrationSet.load(path, bench=bench, allow_other_bench=allow_other_bench)
    curve = np.asarray(cal.lut("fourier_slm"), dtype=np.float64)
    base = base or SLMModel()
    if curve.shape != (base.levels,):
        raise ConfigError(
            f"--calibration {path}: the Fourier SLM's measured LUT has {curve.size} levels, the "
            f"SLM {base.name!r} has {base.levels}"
        )
    if base.modulation == "phase":
        table = np.exp(1j * curve)  # radians relative to level 0: a global phase is free
    elif base.modulation == "amplitude":
        table = np.clip(curve / max(float(curve.max()), 1e-12), 0.0, 1.0) + 0j
    else:
        raise ConfigError(
            f"--calibration {path}: a measured LUT applies to phase or amplitude SLMs, not "
            f"{base.modulation!r}"
        )
    name = f"{base.name} (calibrated: {Path(path).name})"
    measured = cal.crosstalk() if "crosstalk" in cal.sections else None
    panel = cal.panel("fourier_slm") if base.modulation == "phase" else None
    if panel is not None:  # the response by region: the map over the Fourier SLM's pixels
        from fouroptics.optics import FourFSystem
        from fouroptics.optics.panel import panel_map

        panel = panel_map(panel, FourFSystem.from_yaml(system_yaml).fourier_shape)
    crosstalk = {}
    if measured is not None:
        other = measured.get("other")
        crosstalk = {
            "crosstalk": measured["kernel"],
            "crosstalk_domain": measured["domain"],
            "crosstalk_source": "calibration",
            "crosstalk_hedge": None if other is None else other["kernel"],
        }
    try:
        slm = SLMModel(
            base.bit_depth,
            base.modulation,
            response=table,
            name=name,
            source="calibration",
            fringing=base.fringing,
            panel=panel,
            **crosstalk,
        )
    except ConfigError as exc:  # a measured quantity the model refuses: name the file
        raise ConfigError(f"--calibration {path}: {exc}") from None
    return slm, cal


def input_leak(cal: Any) -> float:
    """The input SLM's floor from a CalibrationSet: its measured amplitude LUT's darkest level
    relative to its brightest (0 for a phase-only input SLM or no input LUT)."""
    lut = cal.sections.get("lut", {}).get("input_slm")
    if lut is None or str(lut.get("modulation", "amplitude")) == "phase":
        return 0.0
    curve = np.asarray(lut["curve"], dtype=np.float64)
    return float(np.clip(curve.min() / max(float(curve.max()), 1e-12), 0.0, 0.5))


def input_coupling(cal: Any) -> np.ndarray | None:
    """(L,) radians: the input SLM's measured phase coupling at the level its inverse LUT shows
    for each transmission ``k / (L - 1)``, relative to the top level; None when not measured."""
    lut = cal.sections.get("lut", {}).get("input_slm")
    if lut is None or lut.get("coupling") is None:
        return None
    phi = np.asarray(cal.coupling("input_slm"), dtype=np.float64)
    return phi[np.asarray(cal.inverse_lut("input_slm"))] - phi[-1]


def fourier_frame(cal: Any, path: Path, shape: tuple[int, int]) -> Any:
    """The Fourier SLM's frame (of ``shape`` pixels) from a loaded CalibrationSet: its
    ``fourier`` section (centre, scale, rotation) and, when measured, the ``aberration``
    section's wavefront."""
    from fouroptics.compiler.fourier_frame import FourierFrame

    fourier = cal.fourier if "fourier" in cal.sections else None
    wavefront = None
    if "aberration" in cal.sections:
        wavefront = np.asarray(cal.aberration_phase(shape), dtype=np.float64)
    return FourierFrame.from_calibration(fourier, shape, wavefront, source=Path(path).name)


def declared_input_slm(path: Path) -> dict[str, Any] | None:
    """What a bench YAML declares about its input SLM (:func:`devices.config.declared_slm`:
    modulation, fringing, ...); None for a plain system YAML or a bench without one."""
    from devices.config import declared_slm
    from fouroptics.io.yaml_load import load_yaml

    cfg = load_yaml(path, "system file")
    if not (isinstance(cfg, dict) and "system" in cfg and "input_slm" in cfg):
        return None
    return declared_slm(path, "input_slm")


def input_crosstalk(path: Path) -> np.ndarray | None:
    """The input SLM's crosstalk kernel that a bench YAML declares (its profile's fringing, or
    the section's override), when the input SLM modulates amplitude: what the compiler divides
    out of the masks. None for a plain system YAML, a phase-only input SLM or no fringing."""
    from fouroptics.optics.pixels import fringing_kernel

    d = declared_input_slm(path)
    if d is None:
        return None
    c = float(d.get("fringing", 0.0))
    if d.get("modulation", "amplitude") == "phase" or not c:
        return None
    return fringing_kernel(c)
