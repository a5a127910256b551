"""Bench YAML files: :func:`load_bench` builds a Bench (or SimulatedBench) from one.

A bench YAML (see examples/benches/)::

    name: ideal
    seed: 0                      # draws every hidden imperfection (simulated devices)
    system: ../systems/x.yaml    # or an inline FourFSystem mapping (paths relative to this file)
    laser: {power: 1 mW, beam_waist: 4 mm}       # beam_waist null: flat illumination
    splitter_ratio: 0.1          # share of light sent to fourier_camera, if any
    shutter: auto                # or manual, steer, {driver: ...}: devices/config/shutter.py
    imperfections:               # rms values of the hidden imperfections
      shift: 1.5                 # camera pixels        rotation_deg: 0.3
      scale: 0.005               # fraction             fourier_decentre: 0.5 (Fourier px)
      laser_power: 0.1           # fraction             beam_offset: 100 um
      focal_error: 0.003         # fraction per lens    aberration: 0.3 (rad per term)
      aberration_high: 0.1       # rad rms per coma, spherical, trefoil term (or {coma_x: 0.1})
      lut: {range_spread: 0.1, gamma_spread: 0.3}
      crosstalk: {spread: 0.2, asymmetry: 0.3, width: 0.5, domain: random}  # Fourier SLM
      camera: {gain: 0.05, quantum_efficiency: 0.05, read_noise: 0.1, dark_current: 0.3}
      noise: {flicker: 0.05 rad, stray_light: 0.1 %, dcnu: 0.5 e-/s, row_noise: 0.3 e-}
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
from pathlib import Path
from typing import Any

import numpy as np

from devices.config.drift_yaml import bench_drift, laser_rin
from devices.config.drivers import DeviceContext, build_device
from devices.config.fields import (
    ROLES,
    SLM_FIELDS,
    BenchConfigError,
    load_yaml_file,
    parse_fields,
    parse_length,
    parse_mapping,
    parse_number,
    parse_seed,
    parse_text,
    require_bench_units,
)
from devices.config.profile import section_over_profile
from devices.config.shutter import parse_shutter
from devices.interface import SLM, Bench, Camera
from devices.simulated.bench import Imperfections, SimulatedBench
from devices.simulated.camera import SimulatedCamera
from devices.simulated.flicker import Flicker
from devices.simulated.slm import SimulatedSLM
from devices.simulated.stray import StrayLight
from fouroptics.errors import ConfigError
from fouroptics.optics import FourFSystem
from fouroptics.optics.zernike import HIGH_TERMS
from fouroptics.units import UnitError, parse_quantity

BENCH_KEYS = {
    "name", "seed", "system", "laser", "splitter_ratio", "imperfections", "shutter", *ROLES
}  # fmt: skip
IMPERFECTION_KEYS = {
    "shift",
    "rotation_deg",
    "scale",
    "fourier_decentre",
    "laser_power",
    "beam_offset",
    "focal_error",
    "aberration",
    "aberration_high",
    "lut",
    "crosstalk",
    "camera",
    "drift",
    "noise",
}


def declared_slm(path: str | Path, role: str = "fourier_slm") -> dict[str, Any]:
    """What a bench YAML declares about one of its SLMs: its profile merged with the section's
    own fields (bit_depth, modulation, phase_range (rad), gamma, amplitude_min, fringing, name),
    the nominal values a lab knows, never the hidden truth a simulated bench draws from them.

    Raises:
        BenchConfigError: not a bench file, no such section, or a field out of range.
    """
    path = Path(path)
    cfg = load_yaml_file(path, "bench file")
    if not isinstance(cfg, dict) or not isinstance(cfg.get(role), dict):
        raise BenchConfigError(f"bench file {path}: no {role!r} section")
    section = cfg[role]
    merged, profile = section_over_profile(section, path.parent)
    if profile is not None:
        merged.setdefault("name", str(profile.get("model", section["profile"])))
    keep = ("bit_depth", "modulation", "phase_range", "gamma", "amplitude_min", "fringing", "name")
    out = parse_fields({k: v for k, v in merged.items() if k in keep}, SLM_FIELDS, f"bench.{role}")
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
        cfg = load_yaml_file(path, "bench file")
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
        require_bench_units(cfg)
    if "name" in cfg:
        parse_text(cfg["name"], "bench.name")
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

    imp = parse_mapping(cfg.get("imperfections"), "bench.imperfections")
    unknown = set(imp) - IMPERFECTION_KEYS
    if unknown:
        raise BenchConfigError(
            f"bench.imperfections: unknown {sorted(unknown, key=str)}; allowed: "
            f"{', '.join(sorted(IMPERFECTION_KEYS))}"
        )
    root = np.random.SeedSequence(
        parse_seed(cfg.get("seed"), "bench.seed") if seed is None else parse_seed(seed, "seed")
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
        bench = _assemble(cfg, system, built, imp, seqs["imperfections"], name)
        bench.shutter = parse_shutter(cfg.get("shutter"))  # how dark frames are made
        return bench
    except BaseException:
        _close_quietly(built)
        raise


def _aberration_high(v: Any) -> float | dict[str, float]:
    """``imperfections.aberration_high``: rad rms per higher Zernike term (a number), or a
    mapping from some of :data:`fouroptics.optics.zernike.HIGH_TERMS` to their rms."""
    name = "bench.imperfections.aberration_high"
    if not isinstance(v, dict):
        return _non_negative(parse_number(v, name), v, name)
    unknown = set(v) - set(HIGH_TERMS)
    if unknown:
        raise BenchConfigError(
            f"{name}: unknown term(s) {sorted(unknown, key=str)}; allowed: {', '.join(HIGH_TERMS)}"
        )
    return {
        k: _non_negative(parse_number(x, f"{name}.{k}"), x, f"{name}.{k}") for k, x in v.items()
    }


def _non_negative(x: float, raw: Any, name: str) -> float:
    if not (np.isfinite(x) and x >= 0):
        raise BenchConfigError(f"{name}: got {raw!r}; expected an rms in radians >= 0")
    return x


def _flicker_stray(
    built: dict[str, Any], system: FourFSystem, refresh_hz: float, imp_seq: np.random.SeedSequence
) -> tuple[Flicker | None, StrayLight | None]:
    """The Fourier SLM's flicker and the stray light (from its profile or
    ``imperfections.noise``), seeded from a child of the imperfections' seed spawned after
    every other draw (a seed's other hidden values stay)."""
    slm = built["fourier_slm"]
    flicker_seq, stray_seq = imp_seq.spawn(1)[0].spawn(2)
    rms, fraction = getattr(slm, "flicker_rms", 0.0), getattr(slm, "stray_light", 0.0)
    flicker = Flicker(rms, refresh_hz, flicker_seq) if rms else None
    shape = tuple(system.camera.shape)
    stray = StrayLight(fraction, shape, np.random.default_rng(stray_seq)) if fraction else None
    return flicker, stray


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
    laser = parse_mapping(cfg.get("laser"), "bench.laser")
    unknown = set(laser) - {"power", "beam_waist", "rin"}
    if unknown:
        raise BenchConfigError(
            f"bench.laser: unknown {sorted(unknown, key=str)}; allowed: power, beam_waist, rin"
        )
    try:
        power = parse_quantity(laser.get("power", 1e-3), "power", "bench.laser.power")
        waist = laser.get("beam_waist")
        waist = None if waist is None else parse_length(waist, "bench.laser.beam_waist")
        imp_rng = np.random.default_rng(imp_seq)
        imperfections = Imperfections.draw(
            imp_rng,
            shift=parse_number(imp.get("shift", 0), "bench.imperfections.shift"),
            rotation=np.deg2rad(
                parse_number(imp.get("rotation_deg", 0), "bench.imperfections.rotation_deg")
            ),
            scale=parse_number(imp.get("scale", 0), "bench.imperfections.scale"),
            fourier_decentre=parse_number(
                imp.get("fourier_decentre", 0), "bench.imperfections.fourier_decentre"
            ),
            laser_power=parse_number(imp.get("laser_power", 0), "bench.imperfections.laser_power"),
            beam_offset=parse_quantity(
                imp.get("beam_offset", 0),
                "length",
                "bench.imperfections.beam_offset",
                allow_zero=True,
            ),
            focal_error=parse_number(imp.get("focal_error", 0), "bench.imperfections.focal_error"),
            aberration=parse_number(imp.get("aberration", 0), "bench.imperfections.aberration"),
            aberration_high=_aberration_high(imp.get("aberration_high", 0)),
        )
        ratio = parse_number(cfg.get("splitter_ratio", 0.1), "bench.splitter_ratio")
        drift, refresh = bench_drift(imp, imp_rng, cfg)
        laser_noise = laser_rin(laser.get("rin", 0), imp_rng)
        flicker, stray = _flicker_stray(built, system, refresh[1], imp_seq)
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
            drift=drift,
            refresh_hz=refresh,
            laser_noise=laser_noise,
            flicker=flicker,
            stray=stray,
        )
    except ValueError as exc:
        raise BenchConfigError(str(exc) if "bench" in str(exc) else f"bench: {exc}") from exc
