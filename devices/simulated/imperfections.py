"""The hidden imperfections of a simulated bench, drawn from a seed (rms values in a bench
YAML's ``imperfections`` section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fouroptics.optics.zernike import HIGH_TERMS, LOW_TERMS


@dataclass(frozen=True)
class Imperfections:
    """Concrete hidden imperfections of one bench.

    Attributes:
        camera_shift: (dy, dx) camera pixels, image displacement on the camera.
        camera_rotation: radians, image rotation on the camera (row/column index frame).
        camera_scale: fractional magnification error (image is ``1 + s`` times larger).
        fourier_decentre: (dy, dx) Fourier-SLM pixels by which the mask sits off the axis.
        power_factor: actual laser power / nominal.
        beam_offset: (y, x) metres, beam centre on the input SLM.
        focal_error: (e1, e2) fractional errors of f1 and f2 (true f = nominal * (1 + e)).
        aberration: (defocus, astig_0, astig_45) radians: Fourier-plane wavefront
            ``W = a_d (2 r^2 - 1) + a_0 (x^2 - y^2) + a_45 (2 x y)`` with (x, y) the distance
            from the optical axis over the Fourier SLM's half-width (Zernike-like, unnormalised).
        aberration_high: (coma_x, coma_y, spherical, trefoil_0, trefoil_30) radians: the higher
            terms of the same wavefront (:mod:`fouroptics.optics.zernike`, same normalisation).
    """

    camera_shift: tuple[float, float] = (0.0, 0.0)
    camera_rotation: float = 0.0
    camera_scale: float = 0.0
    fourier_decentre: tuple[float, float] = (0.0, 0.0)
    power_factor: float = 1.0
    beam_offset: tuple[float, float] = (0.0, 0.0)
    focal_error: tuple[float, float] = (0.0, 0.0)
    aberration: tuple[float, float, float] = (0.0, 0.0, 0.0)
    aberration_high: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        shift: float = 0.0,
        rotation: float = 0.0,
        scale: float = 0.0,
        fourier_decentre: float = 0.0,
        laser_power: float = 0.0,
        beam_offset: float = 0.0,
        focal_error: float = 0.0,
        aberration: float = 0.0,
        aberration_high: float | Mapping[str, float] = 0.0,
    ) -> Imperfections:
        """Draw Gaussian imperfections with the given rms values.

        Args:
            shift: camera pixels rms per axis. rotation: radians rms. scale: fraction rms.
            fourier_decentre: Fourier pixels rms per axis. laser_power: fraction rms.
            beam_offset: metres rms per axis. focal_error: fraction rms per lens.
            aberration: radians rms per term (defocus, two astigmatisms).
            aberration_high: radians rms per higher term (coma, spherical, trefoil), or a
                mapping from those terms' names to their rms (missing terms: 0).

        The first ten draws are those of earlier versions (same seed, same misalignment); the
        focal errors and aberrations come after them, and the higher aberration terms after
        those (a seed's other hidden values do not move).
        """
        if isinstance(aberration_high, Mapping):
            high_rms = np.array([float(aberration_high.get(k, 0.0)) for k in HIGH_TERMS])
        else:
            high_rms = np.full(len(HIGH_TERMS), float(aberration_high))
        n = rng.standard_normal(10)
        m = rng.standard_normal(5)
        h = rng.standard_normal(len(HIGH_TERMS))
        return cls(
            camera_shift=(float(n[0] * shift), float(n[1] * shift)),
            camera_rotation=float(n[2] * rotation),
            camera_scale=float(n[3] * scale),
            fourier_decentre=(float(n[4] * fourier_decentre), float(n[5] * fourier_decentre)),
            power_factor=float(max(1.0 + n[6] * laser_power, 0.05)),
            beam_offset=(float(n[7] * beam_offset), float(n[8] * beam_offset)),
            focal_error=(float(m[0] * focal_error), float(m[1] * focal_error)),
            aberration=(
                float(m[2] * aberration),
                float(m[3] * aberration),
                float(m[4] * aberration),
            ),
            aberration_high=tuple(float(v) for v in h * high_rms),
        )

    @property
    def zernike(self) -> dict[str, float]:
        """The Fourier-path wavefront's coefficients (radians) by term name
        (:data:`fouroptics.optics.zernike.TERMS`)."""
        return dict(
            zip(LOW_TERMS + HIGH_TERMS, (*self.aberration, *self.aberration_high), strict=True)
        )

    def camera_affine(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)`` with camera pixel ``p = A q + b`` for ideal-image pixel ``q``."""
        c = np.array([shape[0] // 2, shape[1] // 2], dtype=np.float64)
        th = self.camera_rotation
        rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        a = (1.0 + self.camera_scale) * rot
        b = c + np.asarray(self.camera_shift) - a @ c
        return a, b

    @property
    def is_ideal(self) -> bool:
        return self == Imperfections()
