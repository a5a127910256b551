"""Where the Fourier SLM really sits: the measured frame the compiler designs its masks in.

A bench's Fourier SLM is rarely where the system YAML says: its pixels sit off the optical axis
(the axis crosses it at ``centre_px``, not at pixel ``n // 2``), the lens before it has a focal
length ``scale`` times the nominal one (the spectrum is ``scale`` times larger on the SLM) and
the path to it adds a wavefront ``W(u)`` (radians). Calibration measures all three
(``calibrate``'s ``fourier`` and ``aberration`` routines). The compiler then evaluates each
wanted mask at the spatial frequency every real pixel sees,

    nu(u) = (u - d) / (lambda * scale * f1),   d = (centre_px - n // 2) * p_F,

and multiplies it by ``exp(-i W)`` (the conjugate phase), so the light meets the filter the
model asked for. The camera-plane shifts that place each channel on its tile are phase ramps in
``u_eff = (u - d) / scale``: in the input plane's units they move the image as designed, and the
registration (input -> camera, measured with the same true lenses) finds them there.

The bundle's noise-free twin must see the same device-frame masks as the bench: it is the
believed system with both focal lengths times ``scale`` (same magnification; the ramps land
where designed), a tilt on the input that makes lens 1 deliver ``U(u - d)`` to pixel ``u``, and
the believed wavefront ``exp(i W)`` on the mask (:meth:`FourierFrame.twin_system`,
:meth:`input_tilt`, :meth:`twin_masks`).

Rotation of the Fourier SLM about the axis is measured too; the mask synthesis is separable per
axis, so a rotation is applied only as far as it matters: below :data:`ROTATION_TOLERANCE_PX`
of displacement at the SLM's edge it is recorded and said to be negligible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError

#: The largest displacement (Fourier pixels, at the SLM's edge) a measured rotation may cause
#: before the compiler refuses to ignore it: five times the ``fourier`` routine's noise (on a
#: bench with no rotation it measured 0.5-2e-4 rad on four seeds, 0.01-0.05 px at a 512-px
#: SLM's edge; 0.05 px refused seed 2032 of misaligned_noisy.yaml for its noise).
ROTATION_TOLERANCE_PX = 0.25


@dataclass(frozen=True)
class FourierFrame:
    """The Fourier SLM as calibration found it (plain data; identity by default).

    Args:
        offset_px: (rows, columns) Fourier-SLM pixels from pixel ``n // 2`` to where the
            optical axis crosses the SLM (calibration's ``centre_px - n // 2``).
        scale: true f1 / nominal f1 (the spectrum's size on the SLM relative to the model).
        rotation: radians, the SLM's rotation about the axis (measured; see the module note).
        wavefront: (H_F, W_F) radians, the Fourier path's aberration at the SLM's pixels, or
            None.
        source: where it came from ("nominal", or the calibration file).
    """

    offset_px: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0
    rotation: float = 0.0
    wavefront: np.ndarray | None = field(default=None, repr=False, compare=False)
    source: str = "nominal"

    def __post_init__(self) -> None:
        vals = (*self.offset_px, self.scale, self.rotation)
        if not all(np.isfinite(v) for v in vals) or not 0.5 < self.scale < 2.0:
            raise ConfigError(
                f"fourier frame ({self.source}): offset {self.offset_px}, scale {self.scale}, "
                f"rotation {self.rotation}; expected finite values and 0.5 < scale < 2"
            )
        if self.wavefront is not None and not np.all(np.isfinite(self.wavefront)):
            raise ConfigError(f"fourier frame ({self.source}): the wavefront is not finite")

    @property
    def is_nominal(self) -> bool:
        """No displacement, no scale and no wavefront (the system YAML's frame)."""
        return (
            self.offset_px == (0.0, 0.0)
            and self.scale == 1.0
            and self.rotation == 0.0
            and self.wavefront is None
        )

    @classmethod
    def from_calibration(
        cls,
        fourier: dict[str, Any] | None,
        shape: tuple[int, int],
        wavefront: np.ndarray | None = None,
        source: str = "calibration",
    ) -> FourierFrame:
        """From a CalibrationSet's ``fourier`` section (``centre_px``, ``scale``,
        ``rotation_rad``) for a Fourier SLM of ``shape``, and the aberration's phase map."""
        if fourier is None:
            return cls(wavefront=wavefront, source=source)
        centre = np.asarray(fourier["centre_px"], dtype=np.float64)
        off = (float(centre[0] - shape[0] // 2), float(centre[1] - shape[1] // 2))
        frame = cls(
            offset_px=off,
            scale=float(fourier["scale"]),
            rotation=float(fourier.get("rotation_rad", 0.0)),
            wavefront=wavefront,
            source=source,
        )
        frame.check_rotation(shape)
        return frame

    @classmethod
    def from_description(
        cls, description: dict[str, Any] | None, wavefront: np.ndarray | None = None
    ) -> FourierFrame:
        """Back from :meth:`describe` (a bundle's ``meta["fourier_frame"]``; None: nominal) and
        the wavefront array stored beside it."""
        if description is None:
            return cls()
        return cls(
            offset_px=tuple(float(v) for v in description["offset_px"]),
            scale=float(description["scale"]),
            rotation=float(description["rotation_rad"]),
            wavefront=None if wavefront is None else np.asarray(wavefront, dtype=np.float64),
            source=str(description["source"]),
        )

    def check_rotation(self, shape: tuple[int, int]) -> None:
        """Refuse a rotation the separable synthesis would misplace by more than
        :data:`ROTATION_TOLERANCE_PX` at the SLM's edge."""
        edge = abs(self.rotation) * max(shape) / 2
        if edge > ROTATION_TOLERANCE_PX:
            raise ConfigError(
                f"fourier frame ({self.source}): the Fourier SLM is rotated by "
                f"{np.degrees(self.rotation):.3g} deg ({edge:.2g} px at its edge); the compiler "
                f"ignores rotations up to {ROTATION_TOLERANCE_PX} px there and cannot apply a "
                "larger one (its synthesis is separable per axis): re-seat the SLM"
            )

    def coords(self, system: Any) -> tuple[np.ndarray, np.ndarray]:
        """Effective Fourier coordinates ``u_eff = (u - d) / scale`` (H_F,), (W_F,), metres:
        where each pixel sits relative to the axis, in the nominal system's units."""
        p = system.fourier_pitch
        return tuple(
            (u - o * p) / self.scale
            for u, o in zip(system.fourier_coords(), self.offset_px, strict=True)
        )

    def twin_system(self, system: Any) -> Any:
        """The believed system as the bench realises this frame: f1 and f2 times ``scale``."""
        if self.scale == 1.0:
            return system
        return system.with_options(f1=system.f1 * self.scale, f2=system.f2 * self.scale)

    def input_tilt(self, system: Any) -> tuple[np.ndarray, np.ndarray] | None:
        """Separable input-plane tilt (H_in,), (W_in,) complex128 that makes lens 1 of
        :meth:`twin_system` deliver ``U(u - d)`` to Fourier pixel ``u``, or None."""
        if self.offset_px == (0.0, 0.0):
            return None
        lam_f = system.wavelength * system.f1 * self.scale
        p = system.fourier_pitch
        return tuple(
            np.exp(2j * np.pi * system.input_slm.coords(axis) * o * p / lam_f)
            for axis, o in enumerate(self.offset_px)
        )

    def twin_masks(self, masks: np.ndarray) -> np.ndarray:
        """Masks (F, H_F, W_F) as the light meets them: times the believed ``exp(i W)``."""
        if self.wavefront is None:
            return masks
        return (masks * np.exp(1j * self.wavefront)).astype(masks.dtype)

    def conjugate(self) -> np.ndarray | None:
        """``exp(-i W)`` (H_F, W_F) complex128 for the designed masks, or None."""
        return None if self.wavefront is None else np.exp(-1j * self.wavefront)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (the wavefront as its rms, radians)."""
        return {
            "source": self.source,
            "offset_px": [float(v) for v in self.offset_px],
            "scale": float(self.scale),
            "rotation_rad": float(self.rotation),
            "rotation_applied": False,
            "wavefront_rms_rad": None
            if self.wavefront is None
            else float(np.sqrt(np.mean(self.wavefront**2))),
        }
