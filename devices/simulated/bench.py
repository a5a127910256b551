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
   change). Light beyond the SLM edge is lost. The lens stop and an aberration ``exp(i W(u))``
   (defocus, astigmatism, coma, spherical, trefoil: :mod:`fouroptics.optics.zernike`, W in
   radians on the distance from the axis over the Fourier SLM's half-width) are
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

The chain is computed by :class:`devices.simulated.optics.TrueOptics`; the bench wires it to
the devices and exposes one public forward model, :meth:`SimulatedBench.camera_powers` (and
:meth:`SimulatedBench.capture_bundle`, the camera's noise on top). Nothing here is read by
calibration code: the hidden values are only in :meth:`SimulatedBench.truth`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from devices.interface.bench import Bench
from devices.interface.errors import DeviceError
from devices.simulated.camera import SimulatedCamera
from devices.simulated.clock import BenchClock
from devices.simulated.drift import Drift
from devices.simulated.imperfections import Imperfections
from devices.simulated.optics import TrueOptics
from devices.simulated.slm import SimulatedSLM
from devices.simulated.temporal import LaserNoise
from fouroptics.optics import FourFSystem, PixelGrid

__all__ = ["Imperfections", "SimulatedBench", "truth_calibration"]

#: a drifting bench's imperfections are evaluated at its clock rounded down to this many
#: seconds (the optics are rebuilt when it moves on): at 0.5 px/h a minute moves 0.008 px
DRIFT_STEP_S = 60.0
#: SLM refresh rate (Hz) when none is given (devices/config/rates.py's assumed rate)
DEFAULT_REFRESH_HZ = 60.0


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
        imperfections: the hidden values at t = 0 (default: none).
        drift: how they drift with the bench's clock (:mod:`devices.simulated.drift`), or
            None (a bench frozen in time).
        refresh_hz: (input SLM, Fourier SLM) refresh rates, Hz: each display takes a period
            of the bench's clock (:mod:`devices.simulated.clock`).
        laser_noise: the laser's relative intensity noise per exposure
            (:class:`devices.simulated.temporal.LaserNoise`), or None.
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
        drift: Drift | None = None,
        refresh_hz: tuple[float, float] = (DEFAULT_REFRESH_HZ, DEFAULT_REFRESH_HZ),
        laser_noise: LaserNoise | None = None,
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
        self._base = imperfections or Imperfections()
        self.drift = drift
        self.refresh_hz = (float(refresh_hz[0]), float(refresh_hz[1]))
        self.laser_noise = laser_noise if laser_noise is not None and laser_noise.rin else None
        cams = [camera] + ([fourier_camera] if fourier_camera is not None else [])
        self.clock = BenchClock(
            [(input_slm, self.refresh_hz[0]), (fourier_slm, self.refresh_hz[1])], cams
        )
        fcam_grid = None
        if fourier_camera is not None:
            if not isinstance(fourier_camera, SimulatedCamera):
                raise DeviceError(
                    f"bench {name!r}",
                    "fourier_camera is not a SimulatedCamera",
                    "use driver: simulated for it",
                )
            fourier_camera.wavelength = system.wavelength
            fcam_grid = PixelGrid(
                shape=fourier_camera.shape, pitch=fourier_camera.pitch, name="fourier_slm"
            )
        self._fcam_grid = fcam_grid
        self._true = self._build_optics(self._base)
        self._optics_at = 0.0
        self.laser_on = True
        camera.wavelength = system.wavelength
        camera.set_source(self.ideal_power if self.laser_noise is None else self._exposed_power)
        if fourier_camera is not None:
            fourier_camera.set_source(self.ideal_fourier_power)
        self._cache: dict[str, tuple[Any, Any]] = {}

    def answer_manual_shutter(self, blocked: bool) -> None:
        """The simulated user of a ``shutter: manual`` bench: blocks (``blocked``) or unblocks
        the beam when a calibration asks (simulated benches only; a real bench's user answers
        on the terminal)."""
        self.laser_on = not blocked

    # -- time --------------------------------------------------------------------------------
    def _build_optics(self, imperfections: Imperfections) -> TrueOptics:
        return TrueOptics(
            self.system,
            self.input_slm,
            self.fourier_slm,
            self.camera.shape,
            imperfections,
            self.laser_power,
            self.beam_waist,
            self.splitter_ratio,
            self._fcam_grid,
        )

    @property
    def time(self) -> float:
        """The bench's clock, seconds since it was built (:mod:`devices.simulated.clock`)."""
        return self.clock.t

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of idle time pass (a drifting bench drifts meanwhile)."""
        self.clock.advance(seconds)

    def advance_batch(self, n_images: int, n_frames: int, n_average: int = 1) -> None:
        """Advance the clock by what a frame-by-frame capture of ``n_images`` images under
        ``n_frames`` bundle frames takes (:meth:`devices.interface.bench.Bench.
        capture_bundle`): ``n_frames`` Fourier refreshes, ``n_images * n_frames`` input
        refreshes and exposures of ``n_average`` frames each (a batched capture is evaluated
        at the time it starts: it is short against the drift)."""
        cam = self.camera
        exposures = n_images * n_frames * n_average * (cam.exposure + cam.readout_time)
        refreshes = n_frames / self.refresh_hz[1] + n_images * n_frames / self.refresh_hz[0]
        self.clock.advance(exposures + refreshes)

    @property
    def _optics(self) -> TrueOptics:
        """The optics at the clock's time (rebuilt, and the caches dropped, when a drifting
        bench's clock moved past another :data:`DRIFT_STEP_S`)."""
        if self.drift is not None:
            t = np.floor(self.clock.t / DRIFT_STEP_S) * DRIFT_STEP_S
            if t != self._optics_at:
                self._true = self._build_optics(self.drift.at(self._base, t))
                self._optics_at = t
                self._cache.clear()
        return self._true

    @property
    def _imperfections(self) -> Imperfections:
        """The hidden imperfections now."""
        return self._optics.imperfections

    # -- the light on the cameras (truth: tests and reports) ---------------------------------
    def ideal_power(self) -> np.ndarray:
        """Noiseless optical power per camera pixel in W, shape camera.shape, of the displayed
        patterns (truth: for tests and reports only). Zero while :attr:`laser_on` is False."""
        if not self.laser_on:
            return np.zeros(self.camera.shape, np.float32)
        optics = self._optics  # first: a drifted bench drops its caches
        key = (self.input_slm.version, self.fourier_slm.version)
        hit = self._cache.get("camera")
        if hit is not None and hit[0] == key:
            return hit[1]
        power = optics.camera_power()
        power.flags.writeable = False
        self._cache["camera"] = (key, power)
        return power

    def _exposed_power(self) -> np.ndarray:
        """What the camera integrates in one capture: :meth:`ideal_power` times the laser's
        power factor of that exposure (:mod:`devices.simulated.temporal`)."""
        return self.ideal_power() * self.laser_noise.factors(())

    def ideal_fourier_power(self) -> np.ndarray:
        """Noiseless power per Fourier-camera pixel in W (truth: tests and reports only)."""
        if self.fourier_camera is None:
            raise DeviceError(
                f"bench {self.name!r}",
                "has no Fourier-plane camera",
                "add a fourier_camera section to the bench YAML",
            )
        if not self.laser_on:
            return np.zeros(self.fourier_camera.shape, np.float32)
        optics = self._optics
        key = (self.input_slm.version,)
        hit = self._cache.get("fourier")
        if hit is not None and hit[0] == key:
            return hit[1]
        power = optics.fourier_camera_power(self.fourier_camera.pitch)
        power.flags.writeable = False
        self._cache["fourier"] = (key, power)
        return power

    # -- the forward model of the batched run -----------------------------------------------
    #: a batched run may show a ``complex`` bundle's masks (an ideal complex modulator)
    simulates_complex_masks = True
    simulated = True

    def realised_masks(self, bundle: Any) -> np.ndarray:
        """(F, H_F, W_F) complex64 masks the bench realises for a bundle's frames (true LUT,
        fringing; stop and aberration folded in); cached per bundle and Fourier-SLM state."""
        optics = self._optics
        # identities, with the objects held (an id alone may be reused once they are freed)
        key = (bundle, bundle.fourier_levels, bundle.fourier_masks, self.fourier_slm.version)
        hit = self._cache.get("masks")
        if hit is not None and all(a is b for a, b in zip(hit[0][:3], key[:3], strict=True)):
            if hit[0][3] == key[3]:
                return hit[1]
        if bundle.fourier_levels is None:
            fields = np.asarray(bundle.fourier_masks, dtype=np.complex128)
        else:
            fields = self.fourier_slm.fields(bundle.fourier_levels, fill_factor=False)
        masks = optics.realised_masks(fields)
        self._cache["masks"] = (key, masks)
        return masks

    def camera_powers(
        self,
        levels: np.ndarray,
        masks: np.ndarray,
        *,
        power_scale: float = 1.0,
        exact: bool = True,
        pixels: np.ndarray | None = None,
        first: bool = True,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
        """The bench's public forward model: noiseless camera power (W, float32) for input
        levels (B, H_in, W_in) under each realised Fourier mask (F, H_F, W_F)
        (:meth:`realised_masks`): (B, F, H_cam, W_cam), or with ``pixels`` (flat camera pixel
        indices) ``((B, F, P), the first image's full frames (F, H, W) or None)``. Dark while
        :attr:`laser_on` is False. ``power_scale`` multiplies the laser power; ``exact`` (see
        :meth:`devices.simulated.optics.TrueOptics.camera_powers`) rounds as the frame-by-frame
        capture does. The camera's noise is added by :meth:`capture_bundle`."""
        if not self.laser_on:
            n, f, shape = len(levels), len(masks), tuple(self.camera.shape)
            if pixels is None:
                return np.zeros((n, f, *shape), np.float32)
            return np.zeros((n, f, len(pixels)), np.float32), (
                np.zeros((f, *shape), np.float32) if first else None
            )
        return self._optics.camera_powers(
            levels, masks, power_scale, exact=exact, pixels=pixels, first=first
        )

    def capture_bundle(self, bundle: Any, levels: np.ndarray, **options: Any) -> Any:
        """The interface's capture of a bundle (:meth:`devices.interface.bench.Bench.
        capture_bundle`), batched: many images per FFT call, with the same numbers
        (:func:`devices.simulated.batched.capture`, which lists the simulation's options)."""
        from devices.simulated.batched import capture

        return capture(self, bundle, levels, **options)

    def with_imperfections(self, imperfections: Imperfections) -> SimulatedBench:
        """The same devices on a bench with other hidden imperfections (sweeps); the devices'
        light sources follow the new bench until another one takes them."""
        return SimulatedBench(
            self.system,
            self.input_slm,
            self.fourier_slm,
            self.camera,
            self.fourier_camera,
            laser_power=self.laser_power,
            beam_waist=self.beam_waist,
            imperfections=imperfections,
            splitter_ratio=self.splitter_ratio or 0.1,
            name=self.name,
            drift=self.drift,
            refresh_hz=self.refresh_hz,
            laser_noise=self.laser_noise,
        )

    # -- the truth ----------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        """Every hidden value (for tests and reports; calibration code must not call this).

        Keys: ``imperfections`` (see :class:`Imperfections`), ``fourier_centre_px`` (row,
        column: where the optical axis crosses the Fourier SLM, in its pixel indices),
        ``fourier_scale`` (true f1 / nominal f1: the Fourier plane's scale factor),
        ``registration`` ((2, 3) affine: camera (row, col) = M @ (input row, col, 1)),
        ``camera_affine`` (``matrix`` A and ``offset`` b, camera pixel = A @ ideal pixel + b),
        ``laser_power`` (true, W), ``aberration`` (the Fourier-path wavefront: ``coefficients``
        rad by term name, ``centre_px`` where its basis is centred (the axis), ``radius_px``
        its normalising radius, Fourier pixels),
        ``beam_waist`` (m), ``beam_centre`` (m), ``system`` (the true FourFSystem as a dict),
        ``input_slm`` / ``fourier_slm`` / ``camera`` / ``fourier_camera`` (device truths),
        ``splitter_ratio``, ``clock_s`` (the bench's clock, s), ``drift`` (None, or the
        ``rates`` (SI per second), the seeded ``directions`` and ``offsets`` now: see
        :mod:`devices.simulated.drift`); the values above are those at ``clock_s``.
        """
        imp = self._imperfections
        a, b = imp.camera_affine(self.camera.shape)
        true = self._optics.true_system
        hf, wf = self.system.fourier_shape
        return {
            "fourier_centre_px": (
                hf // 2 - imp.fourier_decentre[0],
                wf // 2 - imp.fourier_decentre[1],
            ),
            "fourier_scale": true.f1 / self.system.f1,
            "registration": self._optics.registration(),
            "imperfections": asdict(imp),
            "camera_affine": {"matrix": a, "offset": b},
            "laser_power": self.laser_power * imp.power_factor,
            "aberration": {
                "coefficients": imp.zernike,
                "centre_px": (hf // 2 - imp.fourier_decentre[0], wf // 2 - imp.fourier_decentre[1]),
                "radius_px": max(hf, wf) / 2,
            },
            "beam_waist": self.beam_waist,
            "beam_centre": imp.beam_offset,
            "system": true.to_dict(),
            "input_slm": self.input_slm.truth(),
            "fourier_slm": self.fourier_slm.truth(),
            "camera": self.camera.truth(),
            "fourier_camera": None if self.fourier_camera is None else self.fourier_camera.truth(),
            "splitter_ratio": self.splitter_ratio,
            "clock_s": self.clock.t,
            "laser_rin": 0.0 if self.laser_noise is None else self.laser_noise.rin,
            "drift": None if self.drift is None else self.drift.describe(self._optics_at),
        }


def truth_calibration(bench: SimulatedBench) -> dict[str, Any]:
    """A calibration "by hand" from ``bench.truth()`` (tests and reports only, a stand-in until
    a measured CalibrationSet is at hand): the registration affine and the input SLM's inverse
    LUT (level whose true relative amplitude is nearest ``k / (L - 1)``) and the beam's centre
    and waist."""
    t = bench.truth()
    resp = np.asarray(t["input_slm"]["response"], dtype=np.float64)
    rel = resp / resp.max()
    want = np.arange(len(resp)) / (len(resp) - 1)
    inverse = np.abs(rel[None, :] - want[:, None]).argmin(axis=1)
    pitch = bench.system.input_pitch
    centre = [
        n // 2 + b / pitch for n, b in zip(bench.system.input_shape, t["beam_centre"], strict=True)
    ]
    waist = t["beam_waist"]
    return {
        "registration": np.asarray(t["registration"]),
        "input_inverse_lut": inverse,
        "beam": {"centre_px": centre, "waist_px": np.inf if waist is None else waist / pitch},
        "source": "truth (by hand)",
    }
