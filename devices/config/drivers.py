"""The driver registry: ``driver: simulated``, ``driver: slmsuite:<Class>`` or any registered
name, and :func:`build_device`, which builds one device from its bench YAML section.

Simulated devices take their grid (shape, pitch) from the system and every other field from
the profile, then from their own section (the section wins), and draw their hidden
imperfections from the bench's ``imperfections`` spreads. A real device
(``driver: slmsuite:Basler``, constructor keywords under ``args``; ``"@input_slm"`` etc. refers
to a device built before it) must match the system's grid.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from devices.config.fields import (
    CAMERA_FIELDS,
    ROLES,
    SLM_FIELDS,
    BenchConfigError,
    parse_fields,
    parse_length,
    parse_limits,
    parse_mapping,
    parse_number,
    parse_time,
)
from devices.config.noise_yaml import CAMERA_NOISE, parse_noise, parse_stray
from devices.config.profile import section_over_profile
from devices.interface import SLM, Camera, DeviceError, InvalidSetting
from devices.interface.camera import DATASHEET_KEYS
from devices.simulated.camera import SimulatedCamera
from devices.simulated.slm import SimulatedSLM
from devices.simulated.slm_response import (
    CROSSTALK_DOMAINS,
    draw_crosstalk,
    draw_curve,
    draw_panel,
    draw_phase_coupling,
)
from fouroptics.optics import PixelGrid
from fouroptics.units import UnitError


@dataclass
class DeviceContext:
    """What a driver factory gets besides its YAML section.

    Attributes:
        role: ``input_slm``, ``fourier_slm``, ``camera`` or ``fourier_camera``.
        grid: the system's grid for this role (None for the Fourier camera).
        wavelength: metres.
        seed: a SeedSequence for this device (simulated drivers draw from it).
        spreads: the bench's ``imperfections`` mapping.
        built: devices built so far, by role.
        source: where the section comes from, for messages (the bench YAML's path).
    """

    role: str
    grid: PixelGrid | None
    wavelength: float
    seed: np.random.SeedSequence
    spreads: dict[str, Any] = field(default_factory=dict)
    built: dict[str, SLM | Camera] = field(default_factory=dict)
    source: str = "<mapping>"


Factory = Callable[[dict[str, Any], DeviceContext], SLM | Camera]
_DRIVERS: dict[tuple[str, str], Factory] = {}


def register_driver(kind: str, name: str, factory: Factory) -> None:
    """Make ``driver: <name>`` build devices of ``kind`` ("slm" or "camera") with ``factory``."""
    if kind not in ("slm", "camera"):
        raise ValueError(f"register_driver: kind {kind!r}; expected 'slm' or 'camera'")
    _DRIVERS[(kind, name)] = factory


def drivers() -> list[str]:
    """Registered driver names as ``kind:name`` (plus the slmsuite prefix)."""
    return sorted(f"{k}:{n}" for k, n in _DRIVERS) + ["slmsuite:<ClassName>"]


def _merged(
    section: dict[str, Any], ctx: DeviceContext, fields: dict, base: Path | None
) -> dict[str, Any]:
    # simulated devices live on the system's grid
    grid = None if ctx.grid is None else {"shape": list(ctx.grid.shape), "pitch": ctx.grid.pitch}
    merged, _ = section_over_profile(section, base, grid)
    return parse_fields(merged, fields, f"bench.{ctx.role}")


# -- simulated drivers ------------------------------------------------------------------------
def _simulated_slm(
    section: dict[str, Any], ctx: DeviceContext, base: Path | None = None
) -> SimulatedSLM:
    kw = _merged(section, ctx, SLM_FIELDS, base)
    modulation = kw.get("modulation", "phase")
    bit_depth = kw.get("bit_depth", 1 if modulation == "binary" else 8)
    kw["bit_depth"] = bit_depth
    lut = parse_mapping(ctx.spreads.get("lut"), "bench.imperfections.lut")
    lut_keys = ("range_spread", "gamma_spread", "panel_spread", "coupling_spread")
    unknown = set(lut) - set(lut_keys)
    if unknown:
        raise BenchConfigError(
            f"bench.imperfections.lut: unknown {sorted(unknown, key=str)}; allowed: "
            f"{', '.join(lut_keys)}"
        )
    try:
        spreads = {
            k: parse_number(lut.get(k, 0.0), f"bench.imperfections.lut.{k}") for k in lut_keys
        }
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc
    for k in ("panel_spread", "coupling_spread"):  # rms fractions, drawn as 1 + s N
        if not 0 <= spreads[k] <= 0.5:
            raise BenchConfigError(
                f"bench.imperfections.lut.{k}: got {lut.get(k)!r}; expected an rms fraction "
                "in [0, 0.5]"
            )
    coupling = kw.pop("phase_coupling", 0.0)
    rng = np.random.default_rng(ctx.seed)
    try:
        curve, _ = draw_curve(
            rng,
            1 << bit_depth,
            modulation,
            range_spread=spreads["range_spread"],
            gamma_spread=spreads["gamma_spread"],
            phase_range=kw.pop("phase_range", 2 * np.pi * 1.05),
            gamma=kw.pop("gamma", 1.0),
            amplitude_min=kw.pop("amplitude_min", 0.0),
        )
    except ValueError as exc:
        raise BenchConfigError(f"bench.{ctx.role}: {exc}") from exc
    # after every earlier draw of this SLM's seed: the LUT (and all else) stays as it was. The
    # Fourier SLM's (the crosstalk compile believes in and calibration measures); the input
    # SLM keeps its profile's fringing (an asymmetric kernel there shifts the registration's
    # dots, and nothing measures or compensates it yet)
    xt = _crosstalk_spreads(ctx.spreads.get("crosstalk"))
    if xt is not None and ctx.role == "fourier_slm" and kw.get("fringing", 0.0) > 0:
        try:
            kernel, domain, _ = draw_crosstalk(rng, kw["fringing"], **xt)
        except ValueError as exc:
            raise BenchConfigError(f"bench.{ctx.role}: {exc}") from exc
        kw.update(crosstalk=kernel, crosstalk_domain=domain)
    # after those: how the response varies across the panel, and an amplitude SLM's phase
    # coupling (a seed's earlier values do not move)
    panel, _ = draw_panel(rng, tuple(kw["shape"]), spreads["panel_spread"])
    phase, _ = draw_phase_coupling(rng, 1 << bit_depth, coupling, spreads["coupling_spread"])
    if phase is not None and modulation == "phase":
        raise BenchConfigError(
            f"bench.{ctx.role}.phase_coupling: {coupling:g} rad on a phase SLM; it applies to "
            "amplitude SLMs (an LCoS between polarisers)"
        )
    kw.update(panel=panel, phase_coupling=phase)
    kw.setdefault("name", ctx.role)
    # temporal noise (the bench applies it): the profile's values, imperfections.noise's over them
    noise = parse_noise(ctx.spreads.get("noise")) if ctx.role == "fourier_slm" else {}
    flicker = noise.get("flicker", kw.pop("flicker", 0.0))
    stray = noise.get("stray_light", parse_stray(kw.pop("stray_light", 0.0),
                                                   f"bench.{ctx.role}.stray_light"))  # fmt: skip
    try:
        slm = SimulatedSLM(response=curve, **kw)
    except ValueError as exc:
        raise BenchConfigError(f"bench.{ctx.role}: {exc}") from exc
    slm.flicker_rms, slm.stray_light = float(flicker), float(stray)
    return slm


def _crosstalk_spreads(section: Any) -> dict[str, Any] | None:
    """``imperfections.crosstalk: {spread, asymmetry, width, domain}`` parsed (None: absent,
    the true crosstalk is the profile's nominal fringing)."""
    if section is None:
        return None
    where = "bench.imperfections.crosstalk"
    xt = parse_mapping(section, where)
    allowed = ("spread", "asymmetry", "width", "domain")
    unknown = set(xt) - set(allowed)
    if unknown:
        raise BenchConfigError(
            f"{where}: unknown {sorted(unknown, key=str)}; allowed: {', '.join(allowed)}"
        )
    out: dict[str, Any] = {}
    try:
        for key, high in (("spread", 1.0), ("asymmetry", 0.9), ("width", 0.9)):
            v = parse_number(xt.get(key, 0.0), f"{where}.{key}")
            if not 0 <= v <= high:
                raise BenchConfigError(f"{where}.{key}: got {v!r}; expected 0 <= {key} <= {high}")
            out[key] = v
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc
    domain = xt.get("domain", "phase")
    if domain not in CROSSTALK_DOMAINS:
        raise BenchConfigError(
            f"{where}.domain: got {domain!r}; allowed: {', '.join(CROSSTALK_DOMAINS)}"
        )
    out["domain"] = domain
    return out


_CAMERA_SPREADS = (
    "quantum_efficiency",
    "gain",
    "read_noise",
    "dark_current",
    "full_well",
    "dsnu",
    "prnu",
    "black_level",
)


def _simulated_camera(
    section: dict[str, Any], ctx: DeviceContext, base: Path | None = None
) -> SimulatedCamera:
    kw = _merged(section, ctx, CAMERA_FIELDS, base)
    spreads = parse_mapping(ctx.spreads.get("camera"), "bench.imperfections.camera")
    unknown = set(spreads) - set(_CAMERA_SPREADS)
    if unknown:
        raise BenchConfigError(
            f"bench.imperfections.camera: unknown {sorted(unknown, key=str)}; "
            f"allowed: {', '.join(_CAMERA_SPREADS)}"
        )
    draw_seq, noise_seq = ctx.seed.spawn(2)
    rng = np.random.default_rng(draw_seq)
    # the spec sheet (profile and YAML): what the lab believes; the truth deviates below
    kw["datasheet"] = {k: kw[k] for k in DATASHEET_KEYS if k in kw}
    for key in _CAMERA_SPREADS:  # fractional rms spread around the profile value
        try:
            spread = parse_number(spreads.get(key, 0.0), f"bench.imperfections.camera.{key}")
        except UnitError as exc:
            raise BenchConfigError(str(exc)) from exc
        if spread and key in kw:
            kw[key] = kw[key] * max(1.0 + rng.standard_normal() * spread, 0.05)
    if "quantum_efficiency" in kw:
        kw["quantum_efficiency"] = min(kw["quantum_efficiency"], 1.0)
    if ctx.role == "camera":  # imperfections.noise over the profile's DCNU, row/column noise
        noise = parse_noise(ctx.spreads.get("noise"))
        kw.update({k: v for k, v in noise.items() if k in CAMERA_NOISE})
    kw.setdefault("name", ctx.role)
    try:
        return SimulatedCamera(seed=noise_seq, wavelength=ctx.wavelength, **kw)
    except ValueError as exc:
        raise BenchConfigError(f"bench.{ctx.role}: {exc}") from exc


# -- slmsuite drivers -------------------------------------------------------------------------
def _slmsuite_device(
    kind: str, class_name: str, section: dict[str, Any], ctx: DeviceContext
) -> SLM | Camera:
    from devices.hardware import slmsuite_adapter as ad

    allowed = (
        {"driver", "args", "name", "modulation"}
        if kind == "slm"
        else {
            "driver",
            "args",
            "name",
            "pitch",
            "exposure_limits",
            "msb_aligned",
            "timeout",
            "exposure",
        }
    )
    unknown = set(section) - allowed
    if unknown:
        raise BenchConfigError(
            f"bench.{ctx.role}: unknown field(s) {sorted(unknown, key=str)} for "
            f"driver slmsuite:{class_name}; allowed: {', '.join(sorted(allowed))}"
        )
    args = parse_mapping(section.get("args"), f"bench.{ctx.role}.args")
    for key, value in args.items():  # "@role" refers to a device built before
        if isinstance(value, str) and value.startswith("@"):
            ref = ctx.built.get(value[1:])
            if ref is None:
                raise BenchConfigError(
                    f"bench.{ctx.role}.args.{key}: {value!r} names no device "
                    f"built before it; built: {sorted(ctx.built)}"
                )
            args[key] = getattr(ref, "slmsuite", ref)
    where = f"bench.{ctx.role} (driver slmsuite:{class_name}, {ctx.source})"
    try:
        if kind == "slm":
            return ad.make_slm(
                class_name,
                modulation=section.get("modulation", "phase"),
                name=section.get("name"),
                **args,
            )
        pitch = section.get("pitch")
        limits = section.get("exposure_limits")
        cam = ad.make_camera(
            class_name,
            pitch=None if pitch is None else parse_length(pitch, f"bench.{ctx.role}.pitch"),
            exposure_limits=None
            if limits is None
            else parse_limits(limits, f"bench.{ctx.role}.exposure_limits"),
            msb_aligned=bool(section.get("msb_aligned", False)),
            timeout=parse_time(section.get("timeout", 5.0), f"bench.{ctx.role}.timeout"),
            name=section.get("name"),
            **args,
        )
    except UnitError as exc:
        raise BenchConfigError(f"{where}: {exc}") from exc
    except (InvalidSetting, TypeError) as exc:  # a wrong argument (ours or slmsuite's)
        raise BenchConfigError(f"{where}: {exc}") from exc
    except DeviceError as exc:  # it could not be opened: say which YAML section
        raise type(exc)(f"{where}: {exc.device}", exc.problem, exc.action) from exc
    if "exposure" in section:
        try:
            cam.exposure = parse_time(section["exposure"], f"bench.{ctx.role}.exposure")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                cam.close()
            if isinstance(exc, UnitError | InvalidSetting):
                raise BenchConfigError(f"{where}: {exc}") from exc
            raise
    return cam


register_driver("slm", "simulated", _simulated_slm)
register_driver("camera", "simulated", _simulated_camera)


def build_device(
    section: dict[str, Any], ctx: DeviceContext, base: Path | None = None
) -> SLM | Camera:
    """Build one device from its YAML section via the registry."""
    kind = ROLES[ctx.role]
    if not isinstance(section, dict) or "driver" not in section:
        raise BenchConfigError(
            f"bench.{ctx.role}: expected a mapping with a 'driver' field "
            f"(one of {', '.join(drivers())})"
        )
    driver = section["driver"]
    if not isinstance(driver, str):
        raise BenchConfigError(
            f"bench.{ctx.role}.driver: got {driver!r}; allowed: {', '.join(drivers())}"
        )
    if driver.startswith("slmsuite:"):
        return _slmsuite_device(kind, driver.split(":", 1)[1], section, ctx)
    factory = _DRIVERS.get((kind, driver))
    if factory is None:
        raise BenchConfigError(
            f"bench.{ctx.role}.driver: unknown {kind} driver {driver!r}; "
            f"allowed: {', '.join(drivers())}"
        )
    if factory in (_simulated_slm, _simulated_camera):
        return factory(section, ctx, base)
    return factory(section, ctx)
