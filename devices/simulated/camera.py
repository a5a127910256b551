"""A simulated camera: the EMVA 1288 linear model (:mod:`devices.simulated.emva`) behind the
Camera API."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from devices.interface import Camera
from devices.interface.checks import is_real_number
from devices.interface.errors import DeviceTimeout, InvalidSetting
from devices.simulated.emva import (
    HC,
    EmvaParameters,
    expose_frames,
    extra_pattern,
    fixed_pattern,
    mean_dn,
    photons_from_power,
)

PowerSource = Callable[[], np.ndarray]


class SimulatedCamera(Camera):
    """A camera that turns optical power per pixel into EMVA 1288 frames.

    Args:
        shape: ``(rows, columns)``.
        pitch: pixel pitch in metres.
        quantum_efficiency: electrons per photon at ``wavelength``.
        gain: system gain K, DN per electron.
        read_noise: electrons rms.
        dark_current: electrons per second per pixel.
        full_well: electrons.
        bit_depth: ADC bits (frames hold ``0 .. 2**bit_depth - 1``).
        black_level: DN offset.
        dsnu: electrons rms, fixed pattern drawn from ``seed``.
        prnu: fraction rms, fixed pattern drawn from ``seed``.
        dcnu: dark-current non-uniformity, e-/s rms across pixels (fixed pattern, drawn after
            DSNU/PRNU): the dark signal's spatial rms grows as ``dcnu * exposure``.
        row_offset, column_offset: e- rms of a fixed offset per sensor row / column.
        row_noise: e- rms of a temporal offset per row and frame.
        exposure: initial exposure in seconds.
        seed: seeds the fixed pattern and the temporal noise stream (int, SeedSequence or
            None for fresh entropy). Same seed: same DSNU/PRNU maps and the same frames.
        wavelength: metres, to convert optical power to photons.
        exposure_limits: ``(shortest, longest)`` seconds.
        readout_time: seconds per frame on top of the exposure; a capture whose
            ``n_frames * (exposure + readout_time)`` exceeds the timeout raises DeviceTimeout.
        timeout: default capture timeout in seconds.
        name: label used in messages.
    """

    blocking_hooks = False  # the hooks compute and never block: run them in the caller's thread

    def __init__(
        self,
        shape: Sequence[int] = (1024, 1024),
        pitch: float = 5.5e-6,
        quantum_efficiency: float = 0.6,
        gain: float = 0.25,
        read_noise: float = 5.0,
        dark_current: float = 10.0,
        full_well: float = 10_000.0,
        bit_depth: int = 12,
        black_level: float = 64.0,
        dsnu: float = 2.0,
        prnu: float = 0.01,
        dcnu: float = 0.0,
        row_offset: float = 0.0,
        column_offset: float = 0.0,
        row_noise: float = 0.0,
        exposure: float = 1e-3,
        seed: int | np.random.SeedSequence | None = None,
        wavelength: float = 532e-9,
        exposure_limits: tuple[float, float] = (1e-5, 10.0),
        readout_time: float = 0.0,
        timeout: float = 5.0,
        name: str | None = None,
        datasheet: Mapping[str, float] | None = None,
    ) -> None:
        if datasheet is None:  # built by hand: the lab believes what the camera is
            datasheet = {
                "quantum_efficiency": quantum_efficiency,
                "gain": gain,
                "full_well": full_well,
                "black_level": black_level,
            }
        super().__init__(
            shape,
            pitch,
            bit_depth=bit_depth,
            exposure_limits=exposure_limits,
            timeout=timeout,
            name=name,
            datasheet=datasheet,
        )
        try:
            self.params = EmvaParameters(
                quantum_efficiency=quantum_efficiency,
                gain=gain,
                read_noise=read_noise,
                dark_current=dark_current,
                full_well=full_well,
                bit_depth=bit_depth,
                black_level=black_level,
                dsnu=dsnu,
                prnu=prnu,
                dcnu=dcnu,
                row_offset=row_offset,
                column_offset=column_offset,
                row_noise=row_noise,
            )
        except (TypeError, ValueError) as exc:
            raise InvalidSetting(
                self.label, str(exc), "see devices.simulated.emva for the ranges"
            ) from exc
        if not (is_real_number(wavelength) and 1e-7 < wavelength < 2e-5):
            raise InvalidSetting(
                self.label, f"wavelength {wavelength!r} m", "expected 100 nm-20 um"
            )
        self.wavelength = float(wavelength)
        if not (is_real_number(readout_time) and 0 <= readout_time < math.inf):
            raise InvalidSetting(self.label, f"readout_time {readout_time!r} s", "expected >= 0")
        self.readout_time = float(readout_time)
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        pattern_seq, noise_seq = seq.spawn(2)
        pattern_rng = np.random.default_rng(pattern_seq)
        self._dsnu_map, self._prnu_map = fixed_pattern(self.shape, self.params, pattern_rng)
        # DCNU and row/column offsets: drawn after DSNU/PRNU (a seed keeps those maps)
        self._dark_map, self._rowcol_map = extra_pattern(self.shape, self.params, pattern_rng)
        self._offset_map = self._dsnu_map + self._rowcol_map
        self._rng = np.random.default_rng(noise_seq)
        self._mean_maps: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        self._exposure = 0.0
        self.set_exposure(exposure)
        self._source: np.ndarray | PowerSource | None = None
        #: seconds of exposure (and readout) captured so far: a bench clock counts them
        self.exposed_s = 0.0

    # -- the scene ------------------------------------------------------------------------
    def set_source(self, power: np.ndarray | float | PowerSource | None) -> None:
        """What the sensor sees: optical power per pixel in W, shape :attr:`shape` or scalar.

        A callable is evaluated at each capture (the simulated bench uses this), ``None``
        means darkness.
        """
        if power is None or callable(power):
            self._source = power
            return
        self._source = self._check_power(power)

    def _check_power(self, power: np.ndarray | float) -> np.ndarray:
        arr = np.asarray(power, dtype=np.float64)
        if arr.ndim and arr.shape != self.shape:
            raise InvalidSetting(
                self.label, f"power map has shape {arr.shape}", f"expected {self.shape} or scalar"
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise InvalidSetting(
                self.label,
                "power map has NaN, inf or negative values",
                "optical power per pixel must be finite and >= 0 W",
            )
        return arr

    def power(self) -> np.ndarray:
        """Current optical power per pixel in W, shape :attr:`shape` (zeros in the dark)."""
        src = self._source
        if src is None:
            return np.zeros(self.shape)
        if callable(src):
            return np.broadcast_to(self._check_power(src()), self.shape)
        return np.broadcast_to(src, self.shape)

    # -- the model on its own -----------------------------------------------------------
    def expose(self, mean_photons: np.ndarray | float, n_frames: int | None = None) -> np.ndarray:
        """EMVA 1288 frames for mean photons per pixel arriving during the current exposure.

        Args:
            mean_photons: scalar or ``(H, W)`` map of mean photons per pixel (>= 0).
            n_frames: ``None`` for one ``(H, W)`` frame, else ``(n_frames, H, W)``.

        Returns:
            integer DN, dtype :attr:`dtype`.
        """
        photons = np.asarray(mean_photons, dtype=np.float64)
        if photons.ndim and photons.shape != self.shape:
            raise InvalidSetting(
                self.label,
                f"photon map has shape {photons.shape}",
                f"expected {self.shape} or a scalar",
            )
        if not np.all(np.isfinite(photons)) or np.any(photons < 0):
            raise InvalidSetting(
                self.label,
                "photon map has NaN, inf or negative values",
                "mean photons must be finite and >= 0",
            )
        frames = self._frames(photons, 1 if n_frames is None else n_frames)
        return frames[0] if n_frames is None else frames

    def _frames(self, photons: np.ndarray, n_frames: int) -> np.ndarray:
        """``(n_frames, H, W)`` DN frames for mean photons per pixel (scalar or (H, W))."""
        return expose_frames(
            photons,
            self.params,
            self._exposure,
            self._offset_map,
            self._prnu_map,
            self._rng,
            n_frames,
            dark_map=self._dark_map,
        )

    # -- many exposures at once (the batched run) ------------------------------------------
    def mean_dn(self, power: np.ndarray, pixels: np.ndarray | None = None) -> np.ndarray:
        """Mean DN (float32, unrounded) for optical power (..., H, W) W, or (..., P) at the flat
        camera ``pixels``, at the current exposure: fixed pattern, dark signal, full well and
        ADC range kept; no temporal noise (:func:`devices.simulated.emva.mean_dn`)."""
        if self._mean_maps is None:
            qe = (self.params.quantum_efficiency * (1.0 + self._prnu_map)).astype(np.float32)
            dark = None if self._dark_map is None else self._dark_map.astype(np.float32)
            self._mean_maps = (qe, self._offset_map.astype(np.float32), dark)
        qe_map, dsnu, dark = self._mean_maps
        if pixels is not None:
            qe_map, dsnu = qe_map.ravel()[pixels], dsnu.ravel()[pixels]
            dark = None if dark is None else dark.ravel()[pixels]
        photons = power * np.float32(self._exposure * self.wavelength / HC)
        return mean_dn(photons, self.params, self._exposure, qe_map, dsnu, dark)

    def dark_dn(self) -> np.ndarray:
        """(H, W) rounded mean DN without light (dark signal and DSNU), float32."""
        return np.rint(self.mean_dn(np.zeros(self.shape, np.float32)))

    def draw(
        self,
        mean_photons: np.ndarray,
        rng: np.random.Generator | None = None,
        pixels: np.ndarray | None = None,
    ) -> np.ndarray:
        """One noisy frame per row of ``mean_photons`` (N, H, W), or (N, P) at the flat camera
        ``pixels``: integer DN (N, ...), from ``rng`` (default: the camera's own stream)."""
        dsnu, prnu, dark = self._offset_map, self._prnu_map, self._dark_map
        rows = None
        if pixels is not None:
            dsnu, prnu = dsnu.ravel()[pixels], prnu.ravel()[pixels]
            dark = None if dark is None else dark.ravel()[pixels]
            rows = np.asarray(pixels) // self.shape[1]
        gen = self._rng if rng is None else rng
        return expose_frames(
            mean_photons, self.params, self._exposure, dsnu, prnu, gen, len(mean_photons),
            dark_map=dark, row_index=rows,
        )  # fmt: skip

    def truth(self) -> dict[str, Any]:
        """Hidden parameters and fixed-pattern maps (for tests and reports, not calibration)."""
        return {
            **self.params.as_dict(),
            "wavelength": self.wavelength,
            "dsnu_map": self._dsnu_map.copy(),
            "prnu_map": self._prnu_map.copy(),
            "dark_current_map": None if self._dark_map is None else self._dark_map.copy(),
            "row_column_offsets": self._rowcol_map.copy(),
        }

    # -- hooks -----------------------------------------------------------------------------
    def _capture_hw(self, n_frames: int, timeout: float) -> np.ndarray:
        needed = n_frames * (self._exposure + self.readout_time)
        if needed > timeout:
            raise DeviceTimeout(
                self.label,
                f"{n_frames} frame(s) take {needed:g} s, longer than the {timeout:g} s timeout",
                "shorten the exposure or pass a longer timeout",
            )
        photons = photons_from_power(self.power(), self._exposure, self.wavelength)
        self.exposed_s += needed
        return self._frames(photons, n_frames)

    def _get_exposure_hw(self) -> float:
        return self._exposure

    def _set_exposure_hw(self, seconds: float) -> None:
        self._exposure = seconds
