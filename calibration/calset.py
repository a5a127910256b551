"""CalibrationSet: every measured quantity of a bench, with the raw measurements, in one HDF5
file (format ``fouroptics.CalibrationSet``, written through :mod:`fouroptics.io.h5`).

Payload layout (plain data: the compiler and simulate may read it with
:func:`fouroptics.io.h5.read_h5` without importing this package):

* ``meta``: ``bench_name``, ``bench_path``, ``bench_sha256`` (of the bench YAML text),
  ``created`` (ISO 8601 UTC), ``bench`` (the fingerprint of the bench measured, see
  :func:`bench_fingerprint`; absent from files written before it existed),
  ``out_of_limits`` (the quantities outside their limits when measured,
  :func:`calibration.limits.out_of_limits`; absent: none, or a file older than the check);
* ``frames``: ``{routine: {"displayed": n, "captured": n}}``;
* ``camera``: ``gain`` (DN/e-), ``read_noise`` (e-), ``full_well`` (e-), ``dark_current``
  (e-/s), ``dsnu`` (e-), ``prnu`` (fraction), ``black_level`` (DN), ``hot_pixels`` (n, 2),
  ``dsnu_map`` / ``prnu_map`` (H, W), ``raw`` (photon-transfer data);
* ``lut/<slm role>``: ``modulation``, ``curve`` (L,) rad (relative to level 0) or relative
  amplitude, ``inverse`` (L,) gray levels (phase: nearest ``2 pi k / L``; amplitude: nearest
  ``k / (L - 1)``, with ``coupling`` the complex field nearest it), ``raw``; optional ``panel``
  (6,) coefficients of the map of how the response varies across the panel
  (:mod:`fouroptics.optics.panel`: ``m curve`` for phase, ``curve ** m`` for amplitude) and
  ``coupling`` (L,) rad (an amplitude SLM's phase per level, relative to its top level);
* ``crosstalk``: the Fourier SLM's ``kernel`` (k, k) (share of a pixel landing a rows and b
  columns away, sum 1), ``domain`` ("phase" or "voltage"), ``axes`` (fitted couplings per
  axis), ``raw`` (gratings and order powers);
* ``registration``: ``affine`` (2, 3) camera (row, col) = affine @ (input row, col, 1),
  ``residual_px``, ``beam_profile`` (H_in, W_in) relative intensity, ``beam_centre_px``,
  ``beam_waist_px``, ``raw``;
* ``fourier``: ``centre_px`` (row, col of the optical axis on the Fourier SLM), ``scale``
  (true f1 / nominal f1), ``rotation_rad``, ``peaks_px``, ``raw``;
* ``aberration``: the Fourier path's wavefront ``W = sum_k coefficients[k] Z_k`` (radians;
  :mod:`fouroptics.optics.zernike`): ``terms`` (names), ``coefficients`` (n,) rad,
  ``centre_px`` (row, col where the basis is centred: the measured axis), ``radius_px`` (its
  normalising radius, Fourier pixels), ``raw`` (sharpness probes); the compiler displays
  ``exp(-i W)`` (:meth:`CalibrationSet.aberration_phase`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from calibration.crosstalk import hedge_domain
from calibration.errors import CalibrationWarning
from calibration.fingerprint import (
    bench_fingerprint,
    bench_yaml,
    compare_fingerprints,
    yaml_fingerprint,
)
from fouroptics.errors import ConfigError, FileFormatError
from fouroptics.io.digest import file_sha256
from fouroptics.io.h5 import read_h5, write_h5
from fouroptics.optics.zernike import aberration_phase

FORMAT = "fouroptics.CalibrationSet"
VERSION = 1
SECTIONS = ("camera", "lut", "crosstalk", "registration", "fourier", "aberration")


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
    #: :func:`calibration.limits.out_of_limits` when measured: using the file warns
    out_of_limits: list[dict[str, Any]] = field(default_factory=list)
    _source: str = field(default="", init=False, repr=False, compare=False)
    #: a mismatch of benches warns instead of refusing (``--allow-other-bench``)
    allow_other_bench: bool = field(default=False, repr=False, compare=False)

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

    def panel(self, slm: str) -> np.ndarray | None:
        """(6,) coefficients of how ``slm``'s response varies across its panel
        (:mod:`fouroptics.optics.panel`), or None (not measured)."""
        self.inverse_lut(slm)
        c = self.sections["lut"][slm].get("panel")
        return None if c is None else np.asarray(c, np.float64)

    def coupling(self, slm: str) -> np.ndarray | None:
        """(L,) radians an amplitude ``slm``'s levels add to their field, relative to its top
        level, or None (not measured)."""
        self.inverse_lut(slm)
        c = self.sections["lut"][slm].get("coupling")
        return None if c is None else np.asarray(c, np.float64)

    def crosstalk(self) -> dict[str, Any]:
        """The Fourier SLM's measured crosstalk: ``{"kernel": (k, k) float64, "domain": str,
        "other": None or {"kernel", "domain"}}``, ``other`` the domain the gratings could not
        rule out and its kernel (:func:`calibration.crosstalk.hedge_domain`)."""
        x = self._section("crosstalk")
        out = {"kernel": np.asarray(x["kernel"], np.float64), "domain": str(x["domain"])}
        other = hedge_domain(x.get("axes") or {})
        kernel = (x.get("raw") or {}).get(f"kernel_{other}")
        out["other"] = (
            None
            if other is None or kernel is None
            else {"kernel": np.asarray(kernel, np.float64), "domain": other}
        )
        return out

    @property
    def registration(self) -> np.ndarray:
        """(2, 3) affine: camera (row, col) = M @ (input row, col, 1)."""
        return np.asarray(self._section("registration")["affine"])

    @property
    def beam_profile(self) -> np.ndarray:
        """(H_in, W_in) relative beam intensity on the input SLM."""
        return np.asarray(self._section("registration")["beam_profile"])

    def beam(self) -> dict[str, Any]:
        """The Gaussian fit of the beam on the input SLM: ``{"centre_px": (row, col),
        "waist_px": 1/e^2 intensity radius}`` in input pixels (inf: flat)."""
        r = self._section("registration")
        return {
            "centre_px": tuple(float(v) for v in r["beam_centre_px"]),
            "waist_px": float(r["beam_waist_px"]),
        }

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
    def aberration(self) -> dict[str, Any]:
        """``{"coefficients": {term: rad}, "centre_px": (row, col), "radius_px": float}``: the
        measured Fourier-path wavefront (:mod:`fouroptics.optics.zernike`)."""
        a = self._section("aberration")
        terms = [t.decode() if isinstance(t, bytes) else str(t) for t in a["terms"]]
        return {
            "coefficients": dict(zip(terms, map(float, a["coefficients"]), strict=True)),
            "centre_px": tuple(float(v) for v in a["centre_px"]),
            "radius_px": float(a["radius_px"]),
        }

    def aberration_phase(self, shape: tuple[int, int]) -> np.ndarray:
        """The measured Fourier-path wavefront ``W`` (H_F, W_F) radians on a Fourier SLM of
        ``shape``; displaying ``exp(-i W)`` times the mask undoes it."""
        return aberration_phase(self._section("aberration"), shape)

    @property
    def camera_gain(self) -> float:
        """System gain K, DN per electron."""
        return float(self._section("camera")["gain"])

    @property
    def camera_offset(self) -> float:
        """Black level (mean dark signal at the shortest exposure), DN."""
        return float(self._section("camera")["black_level"])

    def camera_response(self) -> dict[str, float]:
        """The measured camera as the run uses it: ``gain`` (DN/e-), ``black_level`` (DN),
        ``full_well`` (e-)."""
        cam = self._section("camera")
        return {k: float(np.asarray(cam[k])) for k in ("gain", "black_level", "full_well")}

    def limits_note(self) -> str:
        """One line naming the quantities that were out of their limits when measured."""
        from calibration.limits import describe

        src = f"calibration {self._source}" if self._source else "calibration"
        items = "; ".join(describe(i) for i in self.out_of_limits)
        return (
            f"{src}: measured out of its limits ({items}); its results may be wrong: fix the "
            "bench and recalibrate"
        )

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
                **({"out_of_limits": self.out_of_limits} if self.out_of_limits else {}),
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
        allow_other_bench: bool = False,
    ) -> CalibrationSet:
        """Read a calibration; with ``bench`` (a Bench, or a bench YAML), check that it was
        measured on that bench (:meth:`check_bench`). ``allow_other_bench``: a lab that moved
        a device on purpose; a mismatch warns instead of refusing, now and in every later
        :meth:`check_bench` of this object.

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
            out_of_limits=list(meta.get("out_of_limits") or []),
        )
        cal._source = str(path)
        cal.allow_other_bench = bool(allow_other_bench)
        if cal.out_of_limits:
            warnings.warn(cal.limits_note(), CalibrationWarning, stacklevel=2)
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
                values; unless :attr:`allow_other_bench`, then each difference warns.
        """
        refusals, notes = self.differences(bench, bench_path, seed)
        src = f"calibration {self._source}" if self._source else "calibration"
        if refusals and self.allow_other_bench:
            notes = [f"{r} (used anyway: --allow-other-bench)" for r in refusals] + notes
        elif refusals:
            where = bench if isinstance(bench, str | Path) else bench_path
            more = len(refusals) - 1
            also = f" (and {more} other difference{'s' * (more > 1)})" if more else ""
            raise ConfigError(
                f"{src}: {refusals[0]}{also}: recalibrate this bench (fouroptics calibrate "
                f"--bench {where or '<bench YAML>'} --out DIR), or pass --allow-other-bench "
                "if the bench was changed on purpose"
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
            cfg = bench_yaml(path) or {}
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
