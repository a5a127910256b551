"""CalibrationSet: every measured quantity of a bench, with the raw measurements, in one HDF5
file (format ``fouroptics.CalibrationSet``, written through :mod:`fouroptics.io.h5`).

Payload layout (plain data: the compiler and simulate may read it with
:func:`fouroptics.io.h5.read_h5` without importing this package):

* ``meta``: ``bench_name``, ``bench_path``, ``bench_sha256`` (of the bench YAML text),
  ``created`` (ISO 8601 UTC), ``bench`` (the fingerprint of the bench measured, see
  :func:`bench_fingerprint`; absent from files written before it existed);
* ``frames``: ``{routine: {"displayed": n, "captured": n}}``;
* ``camera``: ``gain`` (DN/e-), ``read_noise`` (e-), ``full_well`` (e-), ``dark_current``
  (e-/s), ``dsnu`` (e-), ``prnu`` (fraction), ``black_level`` (DN), ``hot_pixels`` (n, 2),
  ``dsnu_map`` / ``prnu_map`` (H, W), ``raw`` (photon-transfer data);
* ``lut/<slm role>``: ``modulation``, ``curve`` (L,) rad (relative to level 0) or relative
  amplitude, ``inverse`` (L,) gray levels (phase: nearest ``2 pi k / L``; amplitude: nearest
  ``k / (L - 1)``), ``raw``;
* ``registration``: ``affine`` (2, 3) camera (row, col) = affine @ (input row, col, 1),
  ``residual_px``, ``beam_profile`` (H_in, W_in) relative intensity, ``beam_centre_px``,
  ``beam_waist_px``, ``raw``;
* ``fourier``: ``centre_px`` (row, col of the optical axis on the Fourier SLM), ``scale``
  (true f1 / nominal f1), ``rotation_rad``, ``peaks_px``, ``raw``.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from calibration.errors import CalibrationWarning
from fouroptics.errors import ConfigError, FileFormatError
from fouroptics.io.h5 import read_h5, write_h5

FORMAT = "fouroptics.CalibrationSet"
VERSION = 1
SECTIONS = ("camera", "lut", "registration", "fourier")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (the bench YAML)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
    cfg = _bench_yaml(bench_path)
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
    cfg = _bench_yaml(path)
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


def _bench_yaml(path: str | Path | None) -> dict[str, Any] | None:
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


@dataclass
class CalibrationSet:
    """Measured calibration of one bench (see the module docstring for the layout)."""

    bench_name: str
    bench_path: str = ""
    bench_sha256: str = ""
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    sections: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, dict[str, int]] = field(default_factory=dict)
    system_yaml: str = ""
    #: :func:`bench_fingerprint` of the bench measured; empty in files older than it
    fingerprint: dict[str, Any] = field(default_factory=dict)
    _source: str = field(default="", init=False, repr=False, compare=False)

    # -- plain-data accessors ---------------------------------------------------------------
    def _section(self, name: str) -> dict[str, Any]:
        if name not in self.sections:
            raise FileFormatError(
                f"calibration of bench {self.bench_name!r} has no {name!r} section (measured: "
                f"{', '.join(sorted(self.sections)) or 'none'}); run fouroptics calibrate "
                f"--only {name}"
            )
        return self.sections[name]

    def inverse_lut(self, slm: str) -> np.ndarray:
        """(L,) gray levels that linearise ``slm`` ("input_slm" or "fourier_slm")."""
        luts = self._section("lut")
        if slm not in luts:
            raise FileFormatError(f"calibration has no LUT for {slm!r}; it has {sorted(luts)}")
        return np.asarray(luts[slm]["inverse"])

    def lut(self, slm: str) -> np.ndarray:
        """(L,) measured response of ``slm``: radians relative to level 0, or amplitude."""
        self.inverse_lut(slm)
        return np.asarray(self.sections["lut"][slm]["curve"])

    @property
    def registration(self) -> np.ndarray:
        """(2, 3) affine: camera (row, col) = M @ (input row, col, 1)."""
        return np.asarray(self._section("registration")["affine"])

    @property
    def beam_profile(self) -> np.ndarray:
        """(H_in, W_in) relative beam intensity on the input SLM."""
        return np.asarray(self._section("registration")["beam_profile"])

    @property
    def fourier(self) -> dict[str, Any]:
        """``{"centre_px": (row, col), "scale": float, "rotation_rad": float}``."""
        f = self._section("fourier")
        return {
            "centre_px": tuple(float(v) for v in f["centre_px"]),
            "scale": float(f["scale"]),
            "rotation_rad": float(f["rotation_rad"]),
        }

    @property
    def camera_gain(self) -> float:
        """System gain K, DN per electron."""
        return float(self._section("camera")["gain"])

    @property
    def camera_offset(self) -> float:
        """Black level (mean dark signal at the shortest exposure), DN."""
        return float(self._section("camera")["black_level"])

    # -- files -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write atomically (a crash never leaves half a file)."""
        payload = {
            "meta": {
                "bench_name": self.bench_name,
                "bench_path": self.bench_path,
                "bench_sha256": self.bench_sha256,
                "created": self.created,
                **({"bench": self.fingerprint} if self.fingerprint else {}),
            },
            "frames": {k: dict(v) for k, v in self.frames.items()},
            **self.sections,
        }
        return write_h5(path, FORMAT, VERSION, payload, system_yaml=self.system_yaml)

    @classmethod
    def load(
        cls,
        path: str | Path,
        bench: Any = None,
        bench_path: str | Path | None = None,
        seed: int | None = None,
    ) -> CalibrationSet:
        """Read a calibration; with ``bench`` (a Bench, or a bench YAML), check that it was
        measured on that bench (:meth:`check_bench`).

        Raises:
            FileFormatError: not a CalibrationSet, newer version, corrupt.
            ConfigError: measured on another bench (:meth:`check_bench`).
        """
        payload, attrs = read_h5(path, FORMAT, VERSION)
        meta = payload.pop("meta", {})
        frames = payload.pop("frames", {})
        fingerprint = meta.get("bench", {})
        cal = cls(
            bench_name=str(meta.get("bench_name", "")),
            bench_path=str(meta.get("bench_path", "")),
            bench_sha256=str(meta.get("bench_sha256", "")),
            created=str(meta.get("created", attrs.get("created", ""))),
            sections={k: v for k, v in payload.items() if k in SECTIONS},
            frames=frames,
            system_yaml=str(attrs.get("system", "")),
            fingerprint=fingerprint if isinstance(fingerprint, dict) else {},
        )
        cal._source = str(path)
        if bench is not None:
            cal.check_bench(bench, bench_path=bench_path, seed=seed)
        return cal

    def check_bench(
        self, bench: Any, bench_path: str | Path | None = None, seed: int | None = None
    ) -> list[str]:
        """Refuse this calibration on a bench it was not measured on; warn about the doubts.

        Args:
            bench: the Bench it is about to be used with (``devices.config.load_bench``), or
                the path of a bench YAML (then only what the YAML declares is compared:
                ``compile`` never opens devices).
            bench_path: the YAML ``bench`` was loaded from (its seed, drivers, profiles and
                hash are compared too).
            seed: the seed ``bench`` was loaded with, when it overrode the YAML's.

        Returns:
            the warnings issued (:class:`CalibrationWarning`): a YAML edited after the
            calibration, a file that does not record the seed.

        Raises:
            ConfigError: one line naming the first quantity that differs (bench name, seed,
                a device's shape, pitch, bit depth, modulation, driver or profile) with both
                values.
        """
        refusals, notes = self.differences(bench, bench_path, seed)
        src = f"calibration {self._source}" if self._source else "calibration"
        if refusals:
            where = bench if isinstance(bench, str | Path) else bench_path
            more = len(refusals) - 1
            also = f" (and {more} other difference{'s' * (more > 1)})" if more else ""
            raise ConfigError(
                f"{src}: {refusals[0]}{also}: recalibrate this bench (fouroptics calibrate "
                f"--bench {where or '<bench YAML>'} --out DIR)"
            )
        for note in notes:
            warnings.warn(f"{src}: {note}", CalibrationWarning, stacklevel=3)
        return notes

    def differences(
        self, bench: Any, bench_path: str | Path | None = None, seed: int | None = None
    ) -> tuple[list[str], list[str]]:
        """``(refusals, warnings)`` of this calibration on ``bench`` (see :meth:`check_bench`),
        without raising or warning."""
        if isinstance(bench, str | Path):
            path: Path | None = Path(bench)
            cfg = _bench_yaml(path) or {}
            name = str(cfg.get("name", path.stem))
            current = yaml_fingerprint(path, seed)
        else:
            path = None if bench_path is None else Path(bench_path)
            name = str(getattr(bench, "name", "bench"))
            current = bench_fingerprint(bench, path, seed)
        refusals, notes = compare_fingerprints(self.bench_name, self.fingerprint, name, current)
        if not refusals and path is not None:
            notes += self._yaml_changed(path)
        return refusals, notes

    def mismatches(self, bench: Any, seed: int | None = None) -> list[str]:
        """Every reason, refusal or warning, this calibration may not fit ``bench`` (a Bench or
        a bench YAML); empty if it fits."""
        refusals, notes = self.differences(bench, seed=seed)
        return refusals + notes

    def _yaml_changed(self, path: Path) -> list[str]:
        """A warning when the bench YAML differs from the one calibrated (same bench)."""
        if not self.bench_sha256 or file_sha256(path) == self.bench_sha256:
            return []
        changed = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        try:
            when = datetime.fromisoformat(self.created)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None and changed > when:
            return [
                f"older than the bench YAML {path}: measured {self.created}, the YAML "
                f"changed {changed.isoformat(timespec='seconds')}; recalibrate"
            ]
        return [f"bench YAML {path} differs from the one calibrated"]
