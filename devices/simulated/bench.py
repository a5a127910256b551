"""A simulated 4f bench: simulated SLMs and cameras wired through the physics model, with
hidden imperfections (misalignment, decentring, LUT curves, laser, camera) drawn from a seed.

The optical chain for a capture (numpy fast path, complex64):

1. laser: Gaussian beam of power ``P`` and 1/e^2 radius ``w`` (or flat over the SLM), centred
   at ``beam_offset``: ``E0 = sqrt(2 P / (pi w^2)) exp(-r^2 / w^2)`` in sqrt(W)/m;
2. input SLM: ``E = E0 * input_slm.field()`` (true LUT, fringing, fill factor);
3. Fourier SLM displaced by ``fourier_decentre`` = (dy, dx) pixels: pixel k's centre sits at
   ``u_k + d p_F`` from the optical axis, so it samples the incident field there. Exact, with
   public :class:`FourFSystem` API: a tilt ``exp(-2 pi i x . d p_F / (lambda f1))`` on the input
   makes lens 1 deliver ``U(u_k + d p_F)`` to pixel k, and lens 2 from the displaced centres adds
   only the phase ``exp(-2 pi i y . d p_F / (lambda f2))`` to the camera field (no intensity
   change). Light beyond the SLM edge is lost. The lens stop and a low-order aberration
   ``exp(i W(u))`` (defocus, astigmatism; W in radians over the Fourier SLM's half-width) are
   fixed to the optical axis, so they are evaluated at the displaced centres ``u_k + d p_F`` and
   folded into the displayed mask (pixel aperture and gap light by the physics model);
4. ``FourFSystem.forward`` + ``intensity`` on the camera grid with the true focal lengths
   (``f * (1 + focal_error)``), times ``1 - splitter_ratio`` when a Fourier camera takes its
   share;
5. camera misalignment: the ideal image point ``q`` (pixel indices) lands at
   ``p = c + t + (1 + s) R(theta) (q - c)`` with ``c = (H // 2, W // 2)`` (the camera
   field resampled at the displaced pixel centres, Lanczos, then squared; power conserved);
6. the EMVA 1288 camera.

The optional Fourier-plane camera sees lens 1's field (true f1) through the same lens stop,
times ``splitter_ratio``. ``laser_on = False`` (a shutter) darkens both cameras.

Nothing here is read by calibration code: the hidden values are only in :meth:`truth`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from devices.interface.bench import Bench
from devices.interface.errors import DeviceError
from devices.run.loop import apply_sparse, resampling_matrix
from devices.simulated.camera import SimulatedCamera
from devices.simulated.slm import SimulatedSLM
from fouroptics.optics import FourFSystem, PixelGrid


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
    """

    camera_shift: tuple[float, float] = (0.0, 0.0)
    camera_rotation: float = 0.0
    camera_scale: float = 0.0
    fourier_decentre: tuple[float, float] = (0.0, 0.0)
    power_factor: float = 1.0
    beam_offset: tuple[float, float] = (0.0, 0.0)
    focal_error: tuple[float, float] = (0.0, 0.0)
    aberration: tuple[float, float, float] = (0.0, 0.0, 0.0)

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
    ) -> Imperfections:
        """Draw Gaussian imperfections with the given rms values.

        Args:
            shift: camera pixels rms per axis. rotation: radians rms. scale: fraction rms.
            fourier_decentre: Fourier pixels rms per axis. laser_power: fraction rms.
            beam_offset: metres rms per axis. focal_error: fraction rms per lens.
            aberration: radians rms per term (defocus, two astigmatisms).

        The first ten draws are those of earlier versions (same seed, same misalignment); the
        focal errors and aberrations come after them.
        """
        n = rng.standard_normal(10)
        m = rng.standard_normal(5)
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


#: Lanczos radius of the misaligned camera's field resampling (the camera field's band is about
#: 0.18 cycles per pixel on the examples: radius 2 is within ~1 % there, 3 within ~0.5 %).
FIELD_RADIUS = 2


class SimulatedBench(Bench):
    """Simulated devices + the physics model + hidden imperfections.

    Args:
        system: the believed :class:`FourFSystem` (what a lab's system YAML says). The true
            physics uses it with the Fourier SLM's true fill factor and gap reflectance.
        input_slm, fourier_slm: :class:`SimulatedSLM` matching the system's grids.
        camera: :class:`SimulatedCamera` matching the camera grid.
        fourier_camera: optional :class:`SimulatedCamera` in the Fourier plane.
        laser_power: nominal laser power in W (the true one is ``power_factor`` times it).
        beam_waist: 1/e^2 intensity radius in metres; None for flat illumination of the SLM.
        imperfections: the hidden values (default: none).
        splitter_ratio: fraction of the Fourier-plane power sent to the Fourier camera.
        name: label.

    Attributes:
        laser_on: the simulated laser shutter (a lab's shutter or beam block): while False the
            cameras see darkness (dark frames for calibration).
    """

    def __init__(
        self,
        system: FourFSystem,
        input_slm: SimulatedSLM,
        fourier_slm: SimulatedSLM,
        camera: SimulatedCamera,
        fourier_camera: SimulatedCamera | None = None,
        *,
        laser_power: float = 1e-3,
        beam_waist: float | None = None,
        imperfections: Imperfections | None = None,
        splitter_ratio: float = 0.1,
        name: str = "simulated bench",
    ) -> None:
        super().__init__(system, input_slm, fourier_slm, camera, fourier_camera, name=name)
        for role, dev, cls in (
            ("input_slm", input_slm, SimulatedSLM),
            ("fourier_slm", fourier_slm, SimulatedSLM),
            ("camera", camera, SimulatedCamera),
        ):
            if not isinstance(dev, cls):
                raise DeviceError(
                    f"bench {name!r}",
                    f"{role} is a {type(dev).__name__}",
                    f"a SimulatedBench needs a {cls.__name__}",
                )
        if not (np.isfinite(laser_power) and laser_power > 0):
            raise ValueError(f"bench.laser.power: got {laser_power!r}; expected W > 0")
        if beam_waist is not None and not (np.isfinite(beam_waist) and beam_waist > 0):
            raise ValueError(f"bench.laser.beam_waist: got {beam_waist!r}; expected m > 0")
        if not 0 < splitter_ratio < 1:
            raise ValueError(f"bench.splitter_ratio: got {splitter_ratio!r}; expected (0, 1)")
        self.laser_power = float(laser_power)
        self.beam_waist = beam_waist
        self.splitter_ratio = float(splitter_ratio) if fourier_camera is not None else 0.0
        self._imperfections = imperfections or Imperfections()
        fgrid = replace(
            system.fourier_slm,
            fill_factor=fourier_slm.fill_factor,
            gap_transmission=fourier_slm.dead_space,
        )
        e1, e2 = self._imperfections.focal_error
        f1, f2 = system.f1 * (1.0 + e1), system.f2 * (1.0 + e2)
        # the stop is applied by _mask at the displaced pixel centres, not by the model
        self._true_system = system.with_options(fourier_slm=fgrid, f1=f1, f2=f2, lens_aperture=None)
        self.laser_on = True
        self._beam = self._beam_field()
        self._mask_factor = self._fourier_factor()
        camera.wavelength = system.wavelength
        camera.set_source(self.ideal_power)
        self._fourier_system: FourFSystem | None = None
        if fourier_camera is not None:
            if not isinstance(fourier_camera, SimulatedCamera):
                raise DeviceError(
                    f"bench {name!r}",
                    "fourier_camera is not a SimulatedCamera",
                    "use driver: simulated for it",
                )
            fourier_camera.wavelength = system.wavelength
            grid = PixelGrid(
                shape=fourier_camera.shape, pitch=fourier_camera.pitch, name="fourier_slm"
            )
            self._fourier_system = system.with_options(fourier_slm=grid, f1=f1)
            fourier_camera.set_source(self.ideal_fourier_power)
        self._cache: dict[str, tuple[Any, np.ndarray]] = {}

    # -- the optical chain ------------------------------------------------------------------
    def _beam_field(self) -> np.ndarray:
        grid = self.system.input_slm
        y = grid.coords(0)[:, None] - self._imperfections.beam_offset[0]
        x = grid.coords(1)[None, :] - self._imperfections.beam_offset[1]
        power = self.laser_power * self._imperfections.power_factor
        if self.beam_waist is None:
            area = grid.shape[0] * grid.shape[1] * grid.pitch**2
            return np.full(grid.shape, np.sqrt(power / area))
        w = self.beam_waist
        return np.sqrt(2 * power / (np.pi * w**2)) * np.exp(-(y**2 + x**2) / w**2)

    def _decentre_m(self) -> tuple[float, float]:
        """Displacement (y, x) of the Fourier SLM from the optical axis, metres."""
        dy, dx = self._imperfections.fourier_decentre
        p = self.system.fourier_slm.pitch
        return dy * p, dx * p

    def _input_field(self, tilt: bool = True) -> np.ndarray:
        """Field leaving the input SLM, sqrt(W)/m; with ``tilt`` the decentring ramp (step 3
        of the module docstring) that makes lens 1 sample the displaced Fourier pixels."""
        field = self._illumination(tilt) * self.input_slm.field(fill_factor=self._input_mix)
        return field.astype(np.complex64)

    @property
    def _input_mix(self) -> bool:
        # With input_pixel_model="aperture" the physics model applies the input pixel's fill
        # factor (its envelope, fouroptics.optics.pixels); mixing it in here too would apply it
        # twice (ff^2): only the "point" model mixes it into the field.
        return self.system.input_pixel_model != "aperture"

    def _illumination(self, tilt: bool = True) -> np.ndarray:
        """Beam on the input SLM (H_in, W_in), sqrt(W)/m, times the decentring tilt."""
        field = self._beam
        dy, dx = self._decentre_m()
        if tilt and (dy or dx):
            grid, lam_f = self.system.input_slm, self._true_system.wavelength * self._true_system.f1
            field = field * np.outer(
                np.exp(-2j * np.pi * grid.coords(0) * dy / lam_f),
                np.exp(-2j * np.pi * grid.coords(1) * dx / lam_f),
            )
        return field

    def _fourier_factor(self) -> np.ndarray | None:
        """Lens stop x exp(i W) at the displaced Fourier pixel centres (H_F, W_F), or None."""
        grid = self.system.fourier_slm
        dy, dx = self._decentre_m()
        y = grid.coords(0)[:, None] + dy
        x = grid.coords(1)[None, :] + dx
        factor = None
        stop = self.system.lens_aperture
        if stop is not None:
            factor = (y**2 + x**2 <= (stop / 2) ** 2).astype(np.complex128)
        a_d, a_0, a_45 = self._imperfections.aberration
        if a_d or a_0 or a_45:
            half = max(grid.shape) * grid.pitch / 2
            yn, xn = y / half, x / half
            w = a_d * (2 * (xn**2 + yn**2) - 1) + a_0 * (xn**2 - yn**2) + a_45 * 2 * xn * yn
            factor = np.exp(1j * w) if factor is None else factor * np.exp(1j * w)
        return factor

    def _mask(self, mask: np.ndarray | None = None) -> np.ndarray:
        """The displayed mask with the axis-fixed factor folded in: the model evaluates
        ``a^2 m + (p^2 - a^2) g`` per pixel (aperture + gap light), so ``m' = A m + (A - 1) g
        (p^2 - a^2) / a^2`` makes it ``A (a^2 m + (p^2 - a^2) g)``: the stop and aberration act on
        the gap light too. ``mask``: pixel reflectances (..., H_F, W_F) instead of the displayed
        pattern's (the batched run)."""
        if mask is None:
            mask = self.fourier_slm.field(fill_factor=False)
        a = self._mask_factor
        if a is None:
            return mask.astype(np.complex64)
        grid = self._true_system.fourier_slm
        gap = grid.gap_transmission * (1.0 - grid.fill_factor) / grid.fill_factor
        return (a * mask + (a - 1.0) * gap).astype(np.complex64)

    def ideal_power(self) -> np.ndarray:
        """Noiseless optical power per camera pixel in W, shape camera.shape (truth: for
        tests and reports only). Zero while :attr:`laser_on` is False."""
        if not self.laser_on:
            return np.zeros(self.camera.shape, np.float32)
        key = (self.input_slm.version, self.fourier_slm.version)
        hit = self._cache.get("camera")
        if hit is not None and hit[0] == key:
            return hit[1]
        sys_ = self._true_system
        field = self._misalign(sys_.forward(self._input_field(), self._mask()))
        power = sys_.intensity(field)
        if self.splitter_ratio:
            power = power * (1.0 - self.splitter_ratio)
        power = np.asarray(power, dtype=np.float32)
        power.flags.writeable = False
        self._cache["camera"] = (key, power)
        return power

    def misalign_matrix(self) -> Any:
        """Sparse (N, N) map of the camera misalignment on the camera field (None when the
        camera sits where it should): the field at the displaced pixel centres, Lanczos
        interpolated (radius :data:`FIELD_RADIUS`; the field is band-limited well below the
        pixel pitch: within ~1 %, where interpolating the power, of twice the bandwidth,
        bilinearly is off by ~10 %), times ``1 / (1 + s)`` so that the power scales as the
        pixel area ``1 / (1 + s)^2``."""
        imp = self._imperfections
        if imp.camera_shift == (0.0, 0.0) and imp.camera_rotation == 0 and imp.camera_scale == 0:
            return None
        shape = tuple(self.camera.shape)
        key = (imp.camera_shift, imp.camera_rotation, imp.camera_scale, shape)
        hit = self._cache.get("misalign")
        if hit is None or hit[0] != key:
            a, b = imp.camera_affine(shape)
            inv = np.linalg.inv(a)
            m = resampling_matrix(shape, shape, inv, -inv @ b, radius=FIELD_RADIUS)
            m = m / (1.0 + imp.camera_scale)
            hit = (key, m)
            self._cache["misalign"] = hit
        return hit[1]

    def _misalign(self, field: np.ndarray) -> np.ndarray:
        """Camera field (H, W) -> the field the displaced camera samples."""
        m = self.misalign_matrix()
        return field if m is None else apply_sparse(m, field, field.shape)

    def ideal_fourier_power(self) -> np.ndarray:
        """Noiseless power per Fourier-camera pixel in W (truth: tests and reports only)."""
        if self._fourier_system is None or self.fourier_camera is None:
            raise DeviceError(
                f"bench {self.name!r}",
                "has no Fourier-plane camera",
                "add a fourier_camera section to the bench YAML",
            )
        if not self.laser_on:
            return np.zeros(self.fourier_camera.shape, np.float32)
        key = (self.input_slm.version,)
        hit = self._cache.get("fourier")
        if hit is not None and hit[0] == key:
            return hit[1]
        u = self._fourier_system.fourier_plane(self._input_field(tilt=False))
        pitch = self.fourier_camera.pitch
        power = (u.real**2 + u.imag**2) * (pitch**2 * self.splitter_ratio)
        stop = self._fourier_system.pupil()  # the lens stop blocks this light too
        if stop is not None:
            power = power * stop
        power.flags.writeable = False
        self._cache["fourier"] = (key, power)
        return power

    # -- running a bundle ------------------------------------------------------------------------
    #: the batched run may show a ``complex`` bundle's masks (an ideal complex modulator)
    simulates_complex_masks = True

    def run(self, bundle: Any, images: Any, calibration: Any = None, **options: Any):
        """Features of ``images`` through a MaskBundle, batched (:mod:`devices.simulated.batched`);
        the same numbers as :meth:`devices.interface.bench.Bench.run` (see :func:`devices.run.loop.run_bundle`)."""
        from devices.run.loop import run_bundle
        from devices.simulated.batched import capture_batched

        return run_bundle(self, bundle, images, calibration, capture=capture_batched, **options)

    # -- the truth ----------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        """Every hidden value (for tests and reports; calibration code must not call this).

        Keys: ``imperfections`` (see :class:`Imperfections`), ``fourier_centre_px`` (row,
        column: where the optical axis crosses the Fourier SLM, in its pixel indices),
        ``fourier_scale`` (true f1 / nominal f1: the Fourier plane's scale factor),
        ``registration`` ((2, 3) affine: camera (row, col) = M @ (input row, col, 1)),
        ``camera_affine`` (``matrix`` A and ``offset`` b, camera pixel = A @ ideal pixel + b),
        ``laser_power`` (true, W),
        ``beam_waist`` (m), ``beam_centre`` (m), ``system`` (the true FourFSystem as a dict),
        ``input_slm`` / ``fourier_slm`` / ``camera`` / ``fourier_camera`` (device truths),
        ``splitter_ratio``.
        """
        imp = self._imperfections
        a, b = imp.camera_affine(self.camera.shape)
        true = self._true_system
        hf, wf = self.system.fourier_shape
        return {
            "fourier_centre_px": (
                hf // 2 - imp.fourier_decentre[0],
                wf // 2 - imp.fourier_decentre[1],
            ),
            "fourier_scale": true.f1 / self.system.f1,
            "registration": self._registration_truth(a, b),
            "imperfections": asdict(imp),
            "camera_affine": {"matrix": a, "offset": b},
            "laser_power": self.laser_power * imp.power_factor,
            "beam_waist": self.beam_waist,
            "beam_centre": imp.beam_offset,
            "system": self._true_system.to_dict(),
            "input_slm": self.input_slm.truth(),
            "fourier_slm": self.fourier_slm.truth(),
            "camera": self.camera.truth(),
            "fourier_camera": None if self.fourier_camera is None else self.fourier_camera.truth(),
            "splitter_ratio": self.splitter_ratio,
        }

    def _registration_truth(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(2, 3) affine from input-SLM pixel (row, col) to camera pixel: the ideal image
        (inverted, magnified by the true f2 / f1) followed by the camera misalignment."""
        true = self._true_system
        k = -(true.f2 / true.f1) * self.system.input_pitch / self.system.camera_pitch
        c_in = np.array([s // 2 for s in self.system.input_shape], dtype=np.float64)
        c_cam = np.array([s // 2 for s in self.system.camera_shape], dtype=np.float64)
        lin = k * a
        off = a @ c_cam - lin @ c_in + b
        return np.column_stack([lin, off])
