"""What every routine touches: a bench seen only through display, capture and exposure, with
the frames each routine displayed and captured counted (on hardware a frame costs time: an
LCoS SLM settles at 60-1,440 Hz).

A :class:`Session` never reads ``bench.truth()``. Dark frames need the light blocked, as the
bench's ``shutter`` says (:mod:`calibration.shutter`: its ``laser_on``, a shutter driver, the
user's hand, or the Fourier SLM steering the light away).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from calibration.errors import CalibrationError
from calibration.shutter import blocked, dark_frame_at
from devices.interface.errors import DeviceError


class Session:
    """A bench plus per-routine frame counts.

    Args:
        bench: a :class:`devices.interface.bench.Bench` (simulated or hardware).
        progress: optional callable ``progress(n_frames)`` called after each capture (the CLI
            advances its tqdm bar with it).
    """

    def __init__(self, bench: Any, progress: Any = None) -> None:
        self.bench = bench
        self.progress = progress
        self.routine = "setup"
        self.frames: dict[str, dict[str, int]] = {}
        self._dark_cache: dict[float, np.ndarray] = {}
        #: ``answer(blocked: bool)`` for a ``shutter: manual`` bench (None: the simulated
        #: bench's own, else the terminal); the steps it took, by routine
        self.answerer: Any = None
        self.manual_steps: dict[str, int] = {}

    # -- bookkeeping ----------------------------------------------------------------------
    def start(self, routine: str) -> None:
        """Count the following displays and captures under ``routine``."""
        self.routine = routine
        self.frames.setdefault(routine, {"displayed": 0, "captured": 0})

    def _count(self, key: str, n: int) -> None:
        self.frames.setdefault(self.routine, {"displayed": 0, "captured": 0})[key] += n

    @property
    def total_frames(self) -> int:
        """Frames displayed plus captured over all routines."""
        return sum(v["displayed"] + v["captured"] for v in self.frames.values())

    # -- devices --------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int]:
        return tuple(self.bench.input_slm.shape)

    @property
    def fourier_shape(self) -> tuple[int, int]:
        return tuple(self.bench.fourier_slm.shape)

    @property
    def camera_shape(self) -> tuple[int, int]:
        return tuple(self.bench.camera.shape)

    def display(
        self, input_levels: np.ndarray | None = None, fourier_levels: np.ndarray | None = None
    ) -> None:
        """Show gray levels (each SLM that changes counts one displayed frame)."""
        for levels, slm in ((input_levels, "input_slm"), (fourier_levels, "fourier_slm")):
            if levels is None:
                continue
            shape = getattr(self.bench, slm).shape
            if np.shape(levels) != tuple(shape):
                raise CalibrationError(
                    f"pattern of shape {np.shape(levels)} does not fit the {slm} {tuple(shape)}: "
                    "use a bench whose SLM is large enough for this routine"
                )
            self._count("displayed", 1)
        try:
            self.bench.display(input_levels, fourier_levels)
        except DeviceError as exc:
            raise CalibrationError(f"{self.routine}: the SLM refused a pattern ({exc})") from exc

    def capture(self, n_frames: int = 1) -> np.ndarray:
        """Mean of ``n_frames`` camera frames, float64 DN, shape camera.shape."""
        cam = self.bench.camera
        timeout = max(cam.timeout, 2.0 * n_frames * cam.exposure + 1.0)
        frame = self.bench.capture(n_frames, average=True, timeout=timeout)
        self._count("captured", n_frames)
        if self.progress is not None:
            self.progress(n_frames)
        return np.asarray(frame, dtype=np.float64)

    def capture_fourier(self, n_frames: int = 1) -> np.ndarray:
        """Mean of ``n_frames`` Fourier-camera frames, float64 DN (counted as captures)."""
        cam = self.bench.fourier_camera
        timeout = max(cam.timeout, 2.0 * n_frames * cam.exposure + 1.0)
        frame = self.bench.capture_fourier(n_frames, average=True, timeout=timeout)
        self._count("captured", n_frames)
        if self.progress is not None:
            self.progress(n_frames)
        return np.asarray(frame, dtype=np.float64)

    def capture_stack(self, n_frames: int) -> np.ndarray:
        """``(n_frames, H, W)`` float64 frames (for temporal statistics)."""
        cam = self.bench.camera
        timeout = max(cam.timeout, 2.0 * n_frames * cam.exposure + 1.0)
        frames = self.bench.capture(n_frames, average=False, timeout=timeout)
        self._count("captured", n_frames)
        if self.progress is not None:
            self.progress(n_frames)
        frames = np.asarray(frames, dtype=np.float64)
        return frames[None] if frames.ndim == 2 else frames

    @property
    def max_dn(self) -> int:
        return int(self.bench.camera.max_value)

    @property
    def exposure_limits(self) -> tuple[float, float]:
        return tuple(self.bench.camera.exposure_limits)

    def set_exposure(self, seconds: float) -> float:
        """Set the camera exposure; an out-of-range request is a :class:`CalibrationError`."""
        lo, hi = self.exposure_limits
        if not lo <= seconds <= hi:
            raise CalibrationError(
                f"{self.routine}: needs an exposure of {seconds:.3g} s, outside the camera's "
                f"[{lo:g}, {hi:g}] s: "
                + (
                    "attenuate the laser (the camera saturates)"
                    if seconds < lo
                    else "raise the laser power or check the beam path (too little light)"
                )
            )
        return self.bench.camera.set_exposure(seconds)

    @contextmanager
    def dark(self) -> Iterator[None]:
        """Block the light for dark frames (the bench's ``shutter``:
        :func:`calibration.shutter.blocked`), then restore it."""
        with blocked(self):
            yield

    def dark_frame(self, n_frames: int = 4) -> np.ndarray:
        """Mean dark frame at the current exposure (cached per exposure), float64 DN
        (:func:`calibration.shutter.dark_frame_at`)."""
        t = float(self.bench.camera.exposure)
        if t not in self._dark_cache:
            self._dark_cache[t] = dark_frame_at(self, t, n_frames)
        return self._dark_cache[t]

    def auto_expose(
        self, target: float = 0.6, percentile: float = 99.95, max_steps: int = 12
    ) -> float:
        """Set the exposure so the ``percentile`` of the (dark-subtracted) frame is ``target``
        of the ADC range above the black level; returns it.

        Raises:
            CalibrationError: saturated at the shortest exposure, or no light at the longest.
        """
        lo, hi = self.exposure_limits
        t = float(np.clip(self.bench.camera.exposure, lo, hi))
        for _ in range(max_steps):
            t = self.set_exposure(t)
            frame = self.capture(1)
            dark = self.dark_frame(2)  # at this exposure: dark current grows with it
            black = float(np.median(dark))
            noise = max(1.0, float(np.std(dark)))
            span = self.max_dn - black
            level = float(np.percentile(frame - dark, percentile))
            if level >= 0.98 * span:  # saturated: shorten a lot
                if t <= lo:
                    raise CalibrationError(
                        f"{self.routine}: the camera saturates at its shortest exposure "
                        f"({lo:g} s): attenuate the laser or add a neutral density filter"
                    )
                t = max(lo, t / 8)
                continue
            if level < 8 * noise:
                if t >= hi:
                    raise CalibrationError(
                        f"{self.routine}: no light reaches the camera even at its longest "
                        f"exposure ({hi:g} s): check the laser, the beam path and the SLMs"
                    )
                t = min(hi, t * 16)
                continue
            new = float(np.clip(t * target * span / level, lo, hi))
            if abs(new / t - 1) < 0.05:
                return self.set_exposure(new)
            t = new
        return self.set_exposure(t)
