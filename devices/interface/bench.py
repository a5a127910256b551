"""A Bench: input SLM + Fourier SLM + camera (+ optional Fourier-plane camera) and its optics.

The same object drives a simulated bench (:class:`devices.simulated.bench.SimulatedBench`) or
real hardware (devices from slmsuite or any other driver); a bench YAML chooses which
(:func:`devices.config.load_bench`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from devices.interface.camera import Camera
from devices.interface.device import ClosesOnExit
from devices.interface.errors import DeviceError
from devices.interface.slm import SLM

try:  # the physics core; only its FourFSystem type is needed here
    from fouroptics.optics import FourFSystem
except ImportError:  # pragma: no cover
    FourFSystem = Any  # type: ignore[misc,assignment]


class Bench(ClosesOnExit):
    """Devices of one 4f correlator plus the optics model the lab believes describes it.

    Args:
        system: the (believed) :class:`fouroptics.optics.FourFSystem`.
        input_slm, fourier_slm: SLMs whose shapes and pitches match the system's grids.
        camera: camera matching the system's camera grid.
        fourier_camera: optional camera in the Fourier plane (behind a beam splitter).
        name: label.

    Raises:
        DeviceError: a device's shape or pitch disagrees with the system.
    """

    def __init__(
        self,
        system: FourFSystem,
        input_slm: SLM,
        fourier_slm: SLM,
        camera: Camera,
        fourier_camera: Camera | None = None,
        name: str = "bench",
    ) -> None:
        self.system = system
        self.input_slm = input_slm
        self.fourier_slm = fourier_slm
        self.camera = camera
        self.fourier_camera = fourier_camera
        self.name = name
        for role, dev, grid in (
            ("input_slm", input_slm, system.input_slm),
            ("fourier_slm", fourier_slm, system.fourier_slm),
            ("camera", camera, system.camera),
        ):
            if tuple(dev.shape) != tuple(grid.shape):
                raise DeviceError(
                    f"bench {name!r}",
                    f"{role} {dev.label} has shape {dev.shape} "
                    f"but the system's {role} grid is {grid.shape}",
                    "make the system YAML and the device agree",
                )
            if not np.isclose(dev.pitch, grid.pitch, rtol=1e-6, atol=0):
                raise DeviceError(
                    f"bench {name!r}",
                    f"{role} {dev.label} has pitch "
                    f"{dev.pitch:.4g} m but the system's is {grid.pitch:.4g} m",
                    "make the system YAML and the device agree",
                )

    @property
    def devices(self) -> dict[str, SLM | Camera]:
        """The devices by role."""
        out: dict[str, SLM | Camera] = {
            "input_slm": self.input_slm,
            "fourier_slm": self.fourier_slm,
            "camera": self.camera,
        }
        if self.fourier_camera is not None:
            out["fourier_camera"] = self.fourier_camera
        return out

    def display(
        self, input_levels: np.ndarray | None = None, fourier_levels: np.ndarray | None = None
    ) -> None:
        """Show gray levels on either or both SLMs (None leaves one unchanged)."""
        if input_levels is not None:
            self.input_slm.display(input_levels)
        if fourier_levels is not None:
            self.fourier_slm.display(fourier_levels)

    def capture(
        self, n_frames: int = 1, average: bool = False, timeout: float | None = None
    ) -> np.ndarray:
        """Frames from the output camera (see :meth:`devices.interface.camera.Camera.capture`)."""
        return self.camera.capture(n_frames, average=average, timeout=timeout)

    def capture_fourier(
        self, n_frames: int = 1, average: bool = False, timeout: float | None = None
    ) -> np.ndarray:
        """Frames from the Fourier-plane camera."""
        if self.fourier_camera is None:
            raise DeviceError(
                f"bench {self.name!r}",
                "has no Fourier-plane camera",
                "add a fourier_camera section to the bench YAML",
            )
        return self.fourier_camera.capture(n_frames, average=average, timeout=timeout)

    #: a simulated bench (batched capture, noise streams, hidden truth) overrides these
    simulated = False
    simulates_complex_masks = False

    def capture_bundle(
        self,
        bundle: Any,
        levels: np.ndarray,
        n_average: int = 1,
        *,
        pixels: np.ndarray | None = None,
        first: bool = True,
        windows: np.ndarray | None = None,
        **options: Any,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
        """Camera frames of a compiled bundle, frame by frame through the devices: the Fourier
        SLM shows each bundle frame once, each image's input levels (B, H_in, W_in) are shown
        on the input SLM and captured (``n_average`` frames averaged).

        Returns:
            DN frames (B, F, H_cam, W_cam) float64; with ``pixels`` (flat camera pixel
            indices), ``(DN there (B, F, P), the first image's frames (F, H, W) or None)``.
            ``windows`` (the readout's pixels) is a hint a batched bench may use; here every
            pixel is captured anyway.

        Raises:
            ConfigError: the bundle has no drive levels (``complex``), or an option only a
                simulated bench has (``noise``, ``power_scale``, ``adc_bits``): a real bench
                draws its own noise (``rng`` is ignored).
        """
        from fouroptics.errors import ConfigError

        unknown = sorted(set(options) - {"rng"})
        if unknown:
            raise ConfigError(
                f"bench {self.name!r}: {', '.join(unknown)} only act on a simulated bench"
            )
        if bundle.fourier_levels is None:
            raise ConfigError(
                f"bundle encoding {bundle.encoding!r} has no drive levels for the Fourier SLM; "
                "compile with --encoding double-phase, phase or amplitude"
            )
        b = len(levels)
        out = np.empty((b, bundle.n_frames, *self.camera.shape), dtype=np.float64)
        for f in range(bundle.n_frames):
            self.fourier_slm.display(bundle.fourier_levels[f])
            for i in range(b):
                self.input_slm.display(levels[i])
                out[i, f] = self.camera.capture(n_average, average=True)
        if pixels is None:
            return out
        vals = out.reshape(*out.shape[:2], -1)[:, :, np.asarray(pixels)]
        return vals, (out[0].copy() if first else None)

    def describe(self) -> dict[str, Any]:
        """Plain-data summary: the system and each device."""
        return {
            "name": self.name,
            "system": self.system.to_dict(),
            **{role: dev.describe() for role, dev in self.devices.items()},
        }

    def close(self) -> None:
        """Close every device (each close is harmless twice); raises the first failure after
        trying them all (a device whose close failed stays open, so close() can be retried)."""
        first: BaseException | None = None
        for dev in self.devices.values():
            try:
                dev.close()
            except Exception as exc:  # close the others anyway
                first = first or exc
        if first is not None:
            raise first

    @property
    def label(self) -> str:
        """How errors name this bench."""
        return f"bench {self.name!r}"
