"""Bench YAML files and the driver registry: ``driver: simulated`` or ``slmsuite:<Class>``.

A bench YAML (see examples/benches/)::

    name: ideal
    seed: 0                      # draws every hidden imperfection (simulated devices)
    system: ../systems/x.yaml    # or an inline FourFSystem mapping (paths relative to this file)
    laser: {power: 1 mW, beam_waist: 4 mm}       # beam_waist null: flat illumination
    splitter_ratio: 0.1          # share of light sent to fourier_camera, if any
    imperfections:               # rms values of the hidden imperfections
      shift: 1.5                 # camera pixels        rotation_deg: 0.3
      scale: 0.005               # fraction             fourier_decentre: 0.5 (Fourier px)
      laser_power: 0.1           # fraction             beam_offset: 100 um
      focal_error: 0.003         # fraction per lens    aberration: 0.3 (rad per term)
      lut: {range_spread: 0.1, gamma_spread: 0.3}
      camera: {gain: 0.05, quantum_efficiency: 0.05, read_noise: 0.1, dark_current: 0.3}
    input_slm:   {driver: simulated, profile: holoeye_pluto2, modulation: amplitude}
    fourier_slm: {driver: simulated, profile: holoeye_pluto2}
    camera:      {driver: simulated, profile: sony_imx174_cmos, exposure: 1 ms}
    fourier_camera: {driver: simulated, profile: sony_imx250_cmos}   # optional

Simulated devices take their grid (shape, pitch) from the system and every other field from
the profile, then from their own section (the section wins). A real device
(``driver: slmsuite:Basler``, constructor keywords under ``args``; ``"@input_slm"`` etc. refers
to a device built before it) must match the system's grid. A bench is all simulated (a
SimulatedBench) or all real (a Bench): mixing them is refused, since a simulated device acts
only on simulated light.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from devices.interface.base import SLM, Camera
from devices.interface.bench import Bench
from devices.interface.errors import DeviceError, InvalidSetting
from devices.simulated.bench import Imperfections, SimulatedBench
from devices.simulated.camera import SimulatedCamera
from devices.simulated.slm import SimulatedSLM
from devices.simulated.slm_response import draw_curve
from fouroptics.errors import ConfigError
from fouroptics.io.yaml_load import load_yaml
from fouroptics.optics import FourFSystem, PixelGrid
from fouroptics.units import UnitError, parse_quantity, require_unit

PROFILE_DIR = Path(__file__).parent / "profiles"
ROLES = {"input_slm": "slm", "fourier_slm": "slm", "camera": "camera", "fourier_camera": "camera"}
META_KEYS = {"kind", "model", "source", "notes", "frame_rate"}  # frame_rate: spec, for estimates


class BenchConfigError(ConfigError):
    """A bench YAML or profile field is missing, unknown or has a bad value."""


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


# -- profiles ------------------------------------------------------------------------------
def list_profiles() -> list[str]:
    """Names of the bundled profiles (devices/config/profiles/*.yaml)."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name: str | Path, base: Path | None = None) -> dict[str, Any]:
    """A device profile by bundled name or by path (relative to ``base``)."""
    if not isinstance(name, str | Path):
        raise BenchConfigError(
            f"profile: got {name!r}; expected a profile name ({', '.join(list_profiles())}) "
            "or a path to a .yaml file"
        )
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{name}.yaml"
    elif not path.is_absolute() and base is not None:
        path = base / path
    if not path.exists():
        raise BenchConfigError(
            f"profile {name!r}: no file {path}; bundled profiles: {', '.join(list_profiles())}"
        )
    data = _load(path, "profile")
    if not isinstance(data, dict) or "kind" not in data or "source" not in data:
        raise BenchConfigError(f"profile {path}: expected a mapping with 'kind' and 'source'")
    _require_units(data, f"profile {path.stem}")
    return data


def _load(path: Path, what: str) -> Any:
    """A YAML file through the project's one loader, errors as BenchConfigError."""
    try:
        return load_yaml(path, what)
    except ConfigError as exc:
        raise BenchConfigError(str(exc)) from exc


#: Fields of device sections and profiles that need a unit in a YAML.
_UNIT_FIELDS = {
    "pitch": "length",
    "exposure": "time",
    "exposure_limits": "time",
    "readout_time": "time",
    "timeout": "time",
    "frame_rate": "frequency",
}


def _require_units(section: dict[str, Any], where: str) -> None:
    """Refuse bare numbers for the dimensioned fields of a YAML-sourced section."""
    try:
        for key, dimension in _UNIT_FIELDS.items():
            value = section.get(key)
            for v in value if isinstance(value, list | tuple) else [value]:
                require_unit(v, dimension, f"{where}.{key}")
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc


def _require_bench_units(cfg: dict[str, Any]) -> None:
    """Refuse bare numbers for the dimensioned fields of a bench YAML (the system's lengths
    are checked by ``FourFSystem.from_dict(..., require_units=True)``)."""
    for role in ROLES:
        if isinstance(cfg.get(role), dict):
            _require_units(cfg[role], f"bench.{role}")
    laser = cfg.get("laser") if isinstance(cfg.get("laser"), dict) else {}
    imp = cfg.get("imperfections") if isinstance(cfg.get("imperfections"), dict) else {}
    try:
        require_unit(laser.get("power"), "power", "bench.laser.power")
        require_unit(laser.get("beam_waist"), "length", "bench.laser.beam_waist")
        require_unit(imp.get("beam_offset"), "length", "bench.imperfections.beam_offset")
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc


def _mapping(v: Any, name: str) -> dict[str, Any]:
    """``v`` as a dict (None is empty); anything else is a BenchConfigError naming ``name``."""
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise BenchConfigError(f"{name}: got {v!r}; expected a mapping of fields")
    return dict(v)


def _seed(v: Any, name: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
        raise BenchConfigError(f"{name}: got {v!r}; expected an integer >= 0 (or none)")
    return int(v)


# -- field parsing --------------------------------------------------------------------------
def _length(v: Any, name: str) -> float:
    return parse_quantity(v, "length", name)


def _time(v: Any, name: str) -> float:
    return parse_quantity(v, "time", name)


def _number(v: Any, name: str, allow_zero: bool = True) -> float:
    return parse_quantity(v, "dimensionless", name, allow_zero=allow_zero)


def _int(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        raise BenchConfigError(f"{name}: got {v!r}; expected an integer")
    return int(v)


def _shape(v: Any, name: str) -> tuple[int, int]:
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise BenchConfigError(f"{name}: got {v!r}; expected [rows, columns]")
    return (_int(v[0], name), _int(v[1], name))


def _text(v: Any, name: str) -> str:
    if not isinstance(v, str):
        raise BenchConfigError(f"{name}: got {v!r}; expected text")
    return v


def _complex(v: Any, name: str) -> complex:
    real = (int, float, np.integer, np.floating)
    if (
        isinstance(v, list | tuple)
        and len(v) == 2
        and all(isinstance(x, real) and not isinstance(x, bool) for x in v)
    ):
        return complex(float(v[0]), float(v[1]))
    if isinstance(v, int | float) and not isinstance(v, bool):
        return complex(v)
    raise BenchConfigError(f"{name}: got {v!r}; expected a number or [real, imag]")


def _limits(v: Any, name: str) -> tuple[float, float]:
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise BenchConfigError(f"{name}: got {v!r}; expected [shortest, longest] times")
    return (_time(v[0], name), _time(v[1], name))


SLM_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "shape": _shape,
    "pitch": _length,
    "bit_depth": _int,
    "modulation": _text,
    "fill_factor": _number,
    "fringing": _number,
    "phase_range": _number,
    "gamma": _number,
    "amplitude_min": _number,
    "dead_space": _complex,
    "name": _text,
}
CAMERA_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "shape": _shape,
    "pitch": _length,
    "bit_depth": _int,
    "quantum_efficiency": _number,
    "gain": _number,
    "read_noise": _number,
    "dark_current": _number,
    "full_well": _number,
    "black_level": _number,
    "dsnu": _number,
    "prnu": _number,
    "exposure": _time,
    "exposure_limits": _limits,
    "readout_time": _time,
    "timeout": _time,
    "name": _text,
}


def _parse(section: dict[str, Any], fields: dict[str, Callable], where: str) -> dict[str, Any]:
    out = {}
    for key, value in section.items():
        if key not in fields:
            raise BenchConfigError(
                f"{where}.{key}: unknown field (value {value!r}); allowed: "
                f"{', '.join(sorted(fields))}"
            )
        try:
            out[key] = fields[key](value, f"{where}.{key}")
        except UnitError as exc:
            raise BenchConfigError(str(exc)) from exc
    return out


def _section_over_profile(
    section: dict[str, Any], base: Path | None, between: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A device section's raw fields over its profile's (``between`` in the middle), and the
    profile (None without one): the one merge of profile and bench YAML."""
    merged: dict[str, Any] = {}
    profile = None
    if "profile" in section:
        profile = load_profile(section["profile"], base)
        merged.update({k: v for k, v in profile.items() if k not in META_KEYS})
    merged.update(between or {})
    merged.update({k: v for k, v in section.items() if k not in ("driver", "profile")})
    return merged, profile


def _merged(section: dict[str, Any], ctx: DeviceContext, fields: dict, base: Path | None):
    # simulated devices live on the system's grid
    grid = None if ctx.grid is None else {"shape": list(ctx.grid.shape), "pitch": ctx.grid.pitch}
    merged, _ = _section_over_profile(section, base, grid)
    return _parse(merged, fields, f"bench.{ctx.role}")


# -- simulated drivers ------------------------------------------------------------------------
def _simulated_slm(section: dict[str, Any], ctx: DeviceContext, base: Path | None = None):
    kw = _merged(section, ctx, SLM_FIELDS, base)
    modulation = kw.get("modulation", "phase")
    bit_depth = kw.get("bit_depth", 1 if modulation == "binary" else 8)
    kw["bit_depth"] = bit_depth
    lut = _mapping(ctx.spreads.get("lut"), "bench.imperfections.lut")
    unknown = set(lut) - {"range_spread", "gamma_spread"}
    if unknown:
        raise BenchConfigError(
            f"bench.imperfections.lut: unknown {sorted(unknown, key=str)}; allowed: "
            "range_spread, gamma_spread"
        )
    try:
        spreads = {
            k: _number(lut.get(k, 0.0), f"bench.imperfections.lut.{k}")
            for k in ("range_spread", "gamma_spread")
        }
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc
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
    kw.setdefault("name", ctx.role)
    try:
        return SimulatedSLM(response=curve, **kw)
    except ValueError as exc:
        raise BenchConfigError(f"bench.{ctx.role}: {exc}") from exc


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


def _simulated_camera(section: dict[str, Any], ctx: DeviceContext, base: Path | None = None):
    kw = _merged(section, ctx, CAMERA_FIELDS, base)
    spreads = _mapping(ctx.spreads.get("camera"), "bench.imperfections.camera")
    unknown = set(spreads) - set(_CAMERA_SPREADS)
    if unknown:
        raise BenchConfigError(
            f"bench.imperfections.camera: unknown {sorted(unknown, key=str)}; "
            f"allowed: {', '.join(_CAMERA_SPREADS)}"
        )
    draw_seq, noise_seq = ctx.seed.spawn(2)
    rng = np.random.default_rng(draw_seq)
    for key in _CAMERA_SPREADS:  # fractional rms spread around the profile value
        try:
            spread = _number(spreads.get(key, 0.0), f"bench.imperfections.camera.{key}")
        except UnitError as exc:
            raise BenchConfigError(str(exc)) from exc
        if spread and key in kw:
            kw[key] = kw[key] * max(1.0 + rng.standard_normal() * spread, 0.05)
    if "quantum_efficiency" in kw:
        kw["quantum_efficiency"] = min(kw["quantum_efficiency"], 1.0)
    kw.setdefault("name", ctx.role)
    try:
        return SimulatedCamera(seed=noise_seq, wavelength=ctx.wavelength, **kw)
    except ValueError as exc:
        raise BenchConfigError(f"bench.{ctx.role}: {exc}") from exc


# -- slmsuite drivers -------------------------------------------------------------------------
def _slmsuite_device(kind: str, class_name: str, section: dict[str, Any], ctx: DeviceContext):
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
    args = _mapping(section.get("args"), f"bench.{ctx.role}.args")
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
            pitch=None if pitch is None else _length(pitch, f"bench.{ctx.role}.pitch"),
            exposure_limits=None
            if limits is None
            else _limits(limits, f"bench.{ctx.role}.exposure_limits"),
            msb_aligned=bool(section.get("msb_aligned", False)),
            timeout=_time(section.get("timeout", 5.0), f"bench.{ctx.role}.timeout"),
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
            cam.exposure = _time(section["exposure"], f"bench.{ctx.role}.exposure")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                cam.close()
            if isinstance(exc, UnitError | InvalidSetting):
                raise BenchConfigError(f"{where}: {exc}") from exc
            raise
    return cam


register_driver("slm", "simulated", _simulated_slm)
register_driver("camera", "simulated", _simulated_camera)


def build_device(section: dict[str, Any], ctx: DeviceContext, base: Path | None = None):
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


BENCH_KEYS = {"name", "seed", "system", "laser", "splitter_ratio", "imperfections", *ROLES}
IMPERFECTION_KEYS = {
    "shift",
    "rotation_deg",
    "scale",
    "fourier_decentre",
    "laser_power",
    "beam_offset",
    "focal_error",
    "aberration",
    "lut",
    "camera",
}


def declared_slm(path: str | Path, role: str = "fourier_slm") -> dict[str, Any]:
    """What a bench YAML declares about one of its SLMs: its profile merged with the section's
    own fields (bit_depth, modulation, phase_range (rad), gamma, amplitude_min, fringing, name),
    the nominal values a lab knows, never the hidden truth a simulated bench draws from them.

    Raises:
        BenchConfigError: not a bench file, no such section, or a field out of range.
    """
    path = Path(path)
    cfg = _load(path, "bench file")
    if not isinstance(cfg, dict) or not isinstance(cfg.get(role), dict):
        raise BenchConfigError(f"bench file {path}: no {role!r} section")
    section = cfg[role]
    merged, profile = _section_over_profile(section, path.parent)
    if profile is not None:
        merged.setdefault("name", str(profile.get("model", section["profile"])))
    keep = ("bit_depth", "modulation", "phase_range", "gamma", "amplitude_min", "fringing", "name")
    out = _parse({k: v for k, v in merged.items() if k in keep}, SLM_FIELDS, f"bench.{role}")
    out.setdefault("modulation", "phase")
    out.setdefault("bit_depth", 1 if out["modulation"] == "binary" else 8)
    out.setdefault("name", role)
    return out


def load_bench(source: str | Path | dict[str, Any], seed: int | None = None) -> Bench:
    """Build a bench from a YAML file (or its parsed mapping).

    Args:
        source: path to a bench YAML, or the mapping itself.
        seed: overrides the file's ``seed``.

    Returns:
        a :class:`SimulatedBench` when every device is simulated, else a :class:`Bench`.

    Raises:
        BenchConfigError: naming the field, its value and what is allowed.
    """
    base: Path | None = None
    from_file = not isinstance(source, dict)
    if not from_file:
        cfg = source
    else:
        path = Path(source)
        base = path.parent
        cfg = _load(path, "bench file")
        if not isinstance(cfg, dict):
            raise BenchConfigError(
                f"bench file {path}: expected a mapping of fields, got {type(cfg).__name__}"
            )
    unknown = set(cfg) - BENCH_KEYS
    if unknown:
        raise BenchConfigError(
            f"bench: unknown field(s) {sorted(unknown, key=str)}; allowed: "
            f"{', '.join(sorted(BENCH_KEYS))}"
        )
    if from_file:  # YAML lengths, times and powers need units; the Python API takes SI
        _require_bench_units(cfg)
    if "name" in cfg:
        _text(cfg["name"], "bench.name")
    for key in ("system", "input_slm", "fourier_slm", "camera"):
        if cfg.get(key) is None:
            raise BenchConfigError(f"bench: missing field {key!r}")
    system_cfg = cfg["system"]
    try:
        if isinstance(system_cfg, str):
            sys_path = Path(system_cfg)
            system = FourFSystem.from_yaml(sys_path if base is None else base / sys_path)
        else:
            system = FourFSystem.from_dict(system_cfg, require_units=from_file)
    except ConfigError as exc:
        raise BenchConfigError(f"bench.system: {exc}") from exc

    imp = _mapping(cfg.get("imperfections"), "bench.imperfections")
    unknown = set(imp) - IMPERFECTION_KEYS
    if unknown:
        raise BenchConfigError(
            f"bench.imperfections: unknown {sorted(unknown, key=str)}; allowed: "
            f"{', '.join(sorted(IMPERFECTION_KEYS))}"
        )
    root = np.random.SeedSequence(
        _seed(cfg.get("seed"), "bench.seed") if seed is None else _seed(seed, "seed")
    )
    seqs = dict(zip(["imperfections", *ROLES], root.spawn(1 + len(ROLES)), strict=True))
    grids = {
        "input_slm": system.input_slm,
        "fourier_slm": system.fourier_slm,
        "camera": system.camera,
        "fourier_camera": None,
    }
    built: dict[str, SLM | Camera] = {}
    try:
        for role in ROLES:
            section = cfg.get(role)
            if section is None:
                continue
            simulated = isinstance(section, dict) and section.get("driver") == "simulated"
            ctx = DeviceContext(
                role,
                grids[role] if simulated else None,
                system.wavelength,
                seqs[role],
                imp,
                built,
                source="<mapping>" if base is None else str(source),
            )
            built[role] = build_device(section, ctx, base)
    except BaseException:
        _close_quietly(built)
        raise

    name = str(cfg.get("name", "bench" if base is None else Path(source).stem))
    try:
        return _assemble(cfg, system, built, imp, seqs["imperfections"], name)
    except BaseException:
        _close_quietly(built)
        raise


def _close_quietly(built: dict[str, Any]) -> None:
    """Close devices built before an error, keeping that error the one reported."""
    for dev in built.values():
        with contextlib.suppress(Exception):
            dev.close()


def _assemble(
    cfg: dict[str, Any],
    system: FourFSystem,
    built: dict[str, Any],
    imp: dict[str, Any],
    imp_seq: np.random.SeedSequence,
    name: str,
) -> Bench:
    """The Bench (or SimulatedBench when every device is simulated) from built devices.

    Raises:
        BenchConfigError: simulated and real devices mixed. A simulated SLM modulates only
            the simulation's light and a simulated camera sees only it, so on a real bench
            they would do nothing (and real devices cannot take part in a simulation).
    """
    simulated = {
        role: isinstance(dev, SimulatedSLM | SimulatedCamera) for role, dev in built.items()
    }
    sims = all(simulated.values())
    if any(simulated.values()) and not sims:
        sim_roles = [role for role, flag in simulated.items() if flag]
        real_roles = [role for role, flag in simulated.items() if not flag]
        raise BenchConfigError(
            f"bench {name!r}: {', '.join(sim_roles)} use driver 'simulated' but "
            f"{', '.join(real_roles)} are real devices; a simulated device only acts on "
            "simulated light, so on a real bench it would modulate or see nothing. Use "
            "driver: simulated for every device, or a real driver for every device"
        )
    if not sims:
        return Bench(
            system,
            built["input_slm"],
            built["fourier_slm"],
            built["camera"],
            built.get("fourier_camera"),
            name=name,
        )
    laser = _mapping(cfg.get("laser"), "bench.laser")
    unknown = set(laser) - {"power", "beam_waist"}
    if unknown:
        raise BenchConfigError(
            f"bench.laser: unknown {sorted(unknown, key=str)}; allowed: power, beam_waist"
        )
    try:
        power = parse_quantity(laser.get("power", 1e-3), "power", "bench.laser.power")
        waist = laser.get("beam_waist")
        waist = None if waist is None else _length(waist, "bench.laser.beam_waist")
        imperfections = Imperfections.draw(
            np.random.default_rng(imp_seq),
            shift=_number(imp.get("shift", 0), "bench.imperfections.shift"),
            rotation=np.deg2rad(
                _number(imp.get("rotation_deg", 0), "bench.imperfections.rotation_deg")
            ),
            scale=_number(imp.get("scale", 0), "bench.imperfections.scale"),
            fourier_decentre=_number(
                imp.get("fourier_decentre", 0), "bench.imperfections.fourier_decentre"
            ),
            laser_power=_number(imp.get("laser_power", 0), "bench.imperfections.laser_power"),
            beam_offset=parse_quantity(
                imp.get("beam_offset", 0),
                "length",
                "bench.imperfections.beam_offset",
                allow_zero=True,
            ),
            focal_error=_number(imp.get("focal_error", 0), "bench.imperfections.focal_error"),
            aberration=_number(imp.get("aberration", 0), "bench.imperfections.aberration"),
        )
        ratio = _number(cfg.get("splitter_ratio", 0.1), "bench.splitter_ratio")
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc
    try:
        return SimulatedBench(
            system,
            built["input_slm"],
            built["fourier_slm"],
            built["camera"],
            built.get("fourier_camera"),
            laser_power=power,
            beam_waist=waist,
            imperfections=imperfections,
            splitter_ratio=ratio,
            name=name,
        )
    except ValueError as exc:
        raise BenchConfigError(str(exc) if "bench" in str(exc) else f"bench: {exc}") from exc
