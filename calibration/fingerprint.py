"""The bench a calibration was measured on, as plain data, and how it compares with another.

A fingerprint holds the bench's name, whether it is simulated, the seed its hidden truth was
drawn with (None on hardware), and for each device its shape, pitch, bit depth, modulation,
driver, profile and class. :func:`compare_fingerprints` turns two of them into refusals (a
quantity that differs) and warnings (one the file does not record).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError

#: the devices a fingerprint describes, and how messages name them
DEVICES = {"input_slm": "input SLM", "fourier_slm": "Fourier SLM", "camera": "camera"}
#: the fields of a device's fingerprint, in the order a mismatch is reported
DEVICE_FIELDS = ("shape", "pitch", "bit_depth", "modulation", "driver", "profile", "class")


def bench_fingerprint(
    bench: Any, bench_path: str | Path | None = None, seed: int | None = None
) -> dict[str, Any]:
    """What identifies the bench a calibration is measured on, as plain data.

    ``simulated``; ``seed``: the seed its hidden imperfections were drawn with (``seed``, the
    ``--seed`` override, else the YAML's; None on hardware; absent when unknown: a simulated
    bench without ``bench_path`` or ``seed``); per device (``input_slm``, ``fourier_slm``,
    ``camera``): ``shape``, ``pitch`` (m), ``bit_depth``, ``modulation`` (SLMs), ``class``
    and, from the YAML, ``driver`` and ``profile`` ("" for none).

    Args:
        bench: a Bench (simulated or hardware), as :func:`devices.config.load_bench` built it.
        bench_path: the bench YAML it was built from, if any.
        seed: the seed passed to ``load_bench``, if any.
    """
    simulated = bool(getattr(bench, "simulated", False))
    cfg = bench_yaml(bench_path)
    fp: dict[str, Any] = {"simulated": simulated}
    if not simulated:
        fp["seed"] = None
    elif seed is not None:
        fp["seed"] = int(seed)
    elif cfg is not None:
        fp["seed"] = _yaml_seed(cfg)
    for role in DEVICES:
        dev = getattr(bench, role, None)
        if dev is None:
            continue
        d: dict[str, Any] = {
            "shape": [int(n) for n in dev.shape],
            "pitch": float(dev.pitch),
            "bit_depth": int(dev.bit_depth),
            "class": type(dev).__name__,
        }
        if role != "camera":
            d["modulation"] = str(dev.modulation)
        if cfg is not None:
            d.update(_yaml_device(cfg, role))
        fp[role] = d
    return fp


def yaml_fingerprint(bench_path: str | Path, seed: int | None = None) -> dict[str, Any]:
    """The part of :func:`bench_fingerprint` a bench YAML declares without building its
    devices (``compile`` never opens hardware): the seed, the grids of the system, each
    device's driver and profile, the Fourier SLM's bit depth and modulation.

    Raises:
        ConfigError: not a readable bench YAML.
    """
    from devices.config import declared_slm
    from fouroptics.optics import FourFSystem

    path = Path(bench_path)
    cfg = bench_yaml(path)
    if cfg is None or not isinstance(cfg.get("system"), dict | str):
        raise ConfigError(f"bench file {path}: no 'system' field")
    sys_cfg = cfg["system"]
    if isinstance(sys_cfg, str):
        system = FourFSystem.from_yaml(path.parent / sys_cfg)
    else:
        system = FourFSystem.from_dict(sys_cfg, require_units=True)
    simulated = all(
        isinstance(cfg.get(role), dict) and cfg[role].get("driver") == "simulated"
        for role in DEVICES
    )
    fp: dict[str, Any] = {"simulated": simulated}
    fp["seed"] = (int(seed) if seed is not None else _yaml_seed(cfg)) if simulated else None
    for role in DEVICES:
        grid = getattr(system, role)
        fp[role] = {"shape": [int(n) for n in grid.shape], "pitch": float(grid.pitch)}
        fp[role].update(_yaml_device(cfg, role))
    slm = declared_slm(path, "fourier_slm")
    fp["fourier_slm"].update(bit_depth=int(slm["bit_depth"]), modulation=str(slm["modulation"]))
    return fp


def bench_yaml(path: str | Path | None) -> dict[str, Any] | None:
    from fouroptics.io.yaml_load import load_yaml

    if path is None:
        return None
    cfg = load_yaml(Path(path), "bench file")
    if not isinstance(cfg, dict):
        raise ConfigError(f"bench file {path}: expected a mapping of fields")
    return cfg


def _yaml_seed(cfg: dict[str, Any]) -> int | None:
    seed = cfg.get("seed")
    return int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else None


def _yaml_device(cfg: dict[str, Any], role: str) -> dict[str, str]:
    section = cfg.get(role)
    section = section if isinstance(section, dict) else {}
    return {"driver": str(section.get("driver", "")), "profile": str(section.get("profile", ""))}


def _bench_label(name: str, fp: dict[str, Any]) -> str:
    seed = fp.get("seed")
    return f"bench {name!r}" + ("" if seed is None else f" seed {seed}")


def _shown(key: str, value: Any) -> str:
    if key == "pitch":
        return f"{value * 1e6:.6g} um"
    if key == "shape":
        return str(tuple(value))
    if isinstance(value, str):
        return repr(value) if value else "none"
    return str(value)


def _same(key: str, a: Any, b: Any) -> bool:
    if key == "pitch":
        return bool(np.isclose(float(a), float(b), rtol=1e-6, atol=0.0))
    if key == "shape":
        return list(a) == list(b)
    return a == b


def compare_fingerprints(
    measured_name: str, measured: dict[str, Any], name: str, current: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """``(refusals, warnings)`` of a calibration measured on bench ``measured_name`` with
    fingerprint ``measured`` (empty: a file older than fingerprints), used on bench ``name``
    with fingerprint ``current``. Only the fields both know are compared."""
    refusals: list[str] = []
    notes: list[str] = []
    seeds_known = "seed" in measured and "seed" in current
    if measured_name != name or (seeds_known and measured["seed"] != current["seed"]):
        refusals.append(
            f"measured on {_bench_label(measured_name, measured)}, not on "
            f"{_bench_label(name, current)}"
        )
    elif not measured:
        notes.append(
            "the file does not record the seed nor the devices of the bench it was measured on "
            "(written before fouroptics recorded them): only the bench name was checked; "
            "recalibrate to be sure"
        )
    elif "seed" not in measured and current.get("simulated"):
        notes.append(
            "the file does not record the seed of the bench it was measured on (calibrated "
            f"without its YAML), so it may be another draw of bench {name!r}; recalibrate to "
            "be sure"
        )
    elif "seed" not in current and measured.get("simulated"):
        notes.append(
            f"the seed bench {name!r} was drawn with is not known here (pass its YAML or "
            "seed), so only its name and devices were checked"
        )
    elif current.get("simulated") and current["seed"] is None:
        notes.append(
            f"simulated bench {name!r} has no seed: each load draws other imperfections, so "
            "no calibration fits it; set a seed in its YAML"
        )
    for role, label in DEVICES.items():
        a, b = measured.get(role) or {}, current.get(role) or {}
        for key in DEVICE_FIELDS:
            if key in a and key in b and not _same(key, a[key], b[key]):
                what = key.replace("_", " ")
                refusals.append(
                    f"{label} {what} {_shown(key, a[key])} measured, bench has "
                    f"{_shown(key, b[key])}"
                )
    return refusals, notes
