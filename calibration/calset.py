"""CalibrationSet: every measured quantity of a bench, with the raw measurements, in one HDF5
file (format ``fouroptics.CalibrationSet``, written through :mod:`fouroptics.io.h5`).

Payload layout (plain data: the compiler and simulate may read it with
:func:`fouroptics.io.h5.read_h5` without importing this package):

* ``meta``: ``bench_name``, ``bench_path``, ``bench_sha256`` (of the bench YAML text),
  ``created`` (ISO 8601 UTC);
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
from fouroptics.errors import FileFormatError
from fouroptics.io.h5 import read_h5, write_h5

FORMAT = "fouroptics.CalibrationSet"
VERSION = 1
SECTIONS = ("camera", "lut", "registration", "fourier")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (the bench YAML)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
            },
            "frames": {k: dict(v) for k, v in self.frames.items()},
            **self.sections,
        }
        return write_h5(path, FORMAT, VERSION, payload, system_yaml=self.system_yaml)

    @classmethod
    def load(cls, path: str | Path, bench: str | Path | None = None) -> CalibrationSet:
        """Read a calibration; with ``bench`` (a bench YAML), warn if it was measured on another
        bench or before the YAML last changed (:class:`CalibrationWarning`, with the reason).

        Raises:
            FileFormatError: not a CalibrationSet, newer version, corrupt.
        """
        payload, attrs = read_h5(path, FORMAT, VERSION)
        meta = payload.pop("meta", {})
        frames = payload.pop("frames", {})
        cal = cls(
            bench_name=str(meta.get("bench_name", "")),
            bench_path=str(meta.get("bench_path", "")),
            bench_sha256=str(meta.get("bench_sha256", "")),
            created=str(meta.get("created", attrs.get("created", ""))),
            sections={k: v for k, v in payload.items() if k in SECTIONS},
            frames=frames,
            system_yaml=str(attrs.get("system", "")),
        )
        if bench is not None:
            for reason in cal.mismatches(bench):
                warnings.warn(f"calibration {path}: {reason}", CalibrationWarning, stacklevel=2)
        return cal

    def mismatches(self, bench: str | Path) -> list[str]:
        """Reasons this calibration may not fit the bench YAML ``bench`` (empty if it fits)."""
        import yaml

        path = Path(bench)
        reasons = []
        try:
            text = path.read_text()
        except OSError as exc:
            return [f"cannot read bench file {path} ({exc.strerror})"]
        cfg = yaml.safe_load(text)
        name = str(cfg.get("name", path.stem)) if isinstance(cfg, dict) else path.stem
        if name != self.bench_name:
            reasons.append(f"measured on bench {self.bench_name!r}, not on {name!r} ({path})")
        elif self.bench_sha256 and file_sha256(path) != self.bench_sha256:
            changed = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            when = datetime.fromisoformat(self.created)
            if changed > when:
                reasons.append(
                    f"older than the bench YAML {path}: measured {self.created}, the YAML "
                    f"changed {changed.isoformat(timespec='seconds')}; recalibrate"
                )
            else:
                reasons.append(f"bench YAML {path} differs from the one calibrated")
        return reasons
