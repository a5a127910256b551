"""A simulated 4f bench: simulated SLMs and cameras wired through the physics model, with
hidden imperfections (misalignment, decentring, LUT curves, laser, camera) drawn from a seed.

Longer than 500 lines because the bench wires the optics, its clock and each temporal source
(flicker, RIN, stray light: frame by frame and for the batched capture) to its devices in one
place; the sources' physics lives in their own modules (flicker.py, stray.py, temporal.py).

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
from devices.simulated.flicker import Flicker, combine, drive_depth
from devices.simulated.imperfections import Imperfections
from devices.simulated.optics import TrueOptics
from devices.simulated.slm import SimulatedSLM
from devices.simulated.stray import StrayLight
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
        flicker: the Fourier SLM's phase flicker (:mod:`devices.simulated.flicker`), or None.
        stray: the stray light reaching the camera (:mod:`devices.simulated.stray`), or None.
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
        flicker: Flicker | None = None,
        stray: StrayLight | None = None,
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
        self.flicker = flicker if flicker is not None and flicker.rms else None
        self.stray = stray if stray is not None and stray.fraction else None
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
        self.device: str | None = None
        self._true = self._build_optics(self._base)
        self._optics_at = 0.0
        self.laser_on = True
        camera.wavelength = system.wavelength
        temporal = self.laser_noise is not None or self.flicker is not None
        camera.set_source(self._exposed_power if temporal else self.ideal_power)
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
        optics = TrueOptics(
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
        optics.device = self.device
        return optics

    def use_device(self, device: str | None) -> None:
        """Compute :meth:`camera_powers` in torch on ``device`` (``cpu``, ``cuda``, ``cuda:K``:
        :mod:`devices.simulated.torch_path`), or on the numpy path (None). The same numbers
        (float32 rounding apart); the camera's noise stays numpy's.

        Raises:
            ValueError: one line naming the device when torch cannot use it.
        """
        if device is not None:
            from devices.simulated.torch_path import check_device

            check_device(device)
        self.device = device
        self._true.device = device

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
        power = self._with_stray(optics.camera_power())
        power.flags.writeable = False
        self._cache["camera"] = (key, power)
        return power

    def _with_stray(self, power: np.ndarray, pixels: np.ndarray | None = None, scale=1.0):
        """``power`` (..., H, W), or (..., P) at flat ``pixels``, plus the stray light's
        background (W, for the laser's true power times ``scale``): a new array."""
        if self.stray is None:
            return power
        bg = self.stray.background(self.laser_power * self._imperfections.power_factor * scale)
        return power + (bg if pixels is None else bg.ravel()[pixels])

    def _flickered_power(self, sign: int) -> np.ndarray:
        """Camera power (H, W) W of the displayed patterns with the Fourier SLM's flicker
        phase at ``sign * delta`` (cached per display)."""
        optics = self._optics
        key = (self.input_slm.version, self.fourier_slm.version, sign)
        hit = self._cache.get(f"flicker{sign}")
        if hit is not None and hit[0] == key:
            return hit[1]
        field = self.fourier_slm.field(fill_factor=False) * self._flicker_factor(
            self.fourier_slm.pattern, sign
        )
        power = self._with_stray(optics.camera_power(field))
        self._cache[f"flicker{sign}"] = (key, power)
        return power

    def _flicker_factor(self, levels: np.ndarray, sign: int) -> np.ndarray:
        """``exp(i sign delta g / (L - 1))`` for Fourier-SLM levels (..., H, W)."""
        depth = drive_depth(levels, self.fourier_slm.levels)
        return np.exp(1j * sign * self.flicker.delta * depth)

    def _exposed_power(self) -> np.ndarray:
        """What the camera integrates in one capture: :meth:`ideal_power` with the Fourier
        SLM's flicker integrated over the exposure window that starts now
        (:mod:`devices.simulated.flicker`), times the laser's power factor of that exposure
        (:mod:`devices.simulated.temporal`)."""
        power = self.ideal_power()
        if self.flicker is not None and self.laser_on:
            m, q = self.flicker.window(np.array([self.clock.t]), self.camera.exposure)
            w = self.flicker.weights(m, q)[:, 0]
            stack = np.stack([power, self._flickered_power(1), self._flickered_power(-1)])
            power = combine(stack, w)
        if self.laser_noise is not None:
            power = power * self.laser_noise.factors(())
        return power

    def flicker_masks(self, bundle: Any) -> np.ndarray:
        """(3 F, H_F, W_F) complex64: the bundle's realised masks with the flicker phase at
        ``0``, ``+delta`` and ``-delta`` (:mod:`devices.simulated.flicker`), cached."""
        base = self.realised_masks(bundle)
        hit = self._cache.get("flicker_masks")
        if hit is not None and hit[0] is base:
            return hit[1]
        if bundle.fourier_levels is None:
            fields = np.asarray(bundle.fourier_masks, dtype=np.complex128)
            depth = np.mod(np.angle(fields), 2 * np.pi) / (2 * np.pi)
            plus = np.exp(1j * self.flicker.delta * depth)
            minus = np.conj(plus)
        else:
            fields = self.fourier_slm.fields(bundle.fourier_levels, fill_factor=False)
            plus = self._flicker_factor(bundle.fourier_levels, 1)
            minus = self._flicker_factor(bundle.fourier_levels, -1)
        optics = self._optics
        out = np.concatenate(
            [base, optics.realised_masks(fields * plus), optics.realised_masks(fields * minus)]
        )
        self._cache["flicker_masks"] = (base, out)
        return out

    def exposure_starts(self, n_images: int, n_frames: int, n_average: int = 1) -> np.ndarray:
        """(B, F) seconds on the bench's clock at which the frame-by-frame capture of
        ``n_images`` images under ``n_frames`` bundle frames starts each exposure (bundle frame
        outer, image inner: a Fourier refresh, then per image an input refresh and the
        exposures), from now (:meth:`advance_batch` moves the clock past them all)."""
        cam = self.camera
        i = np.arange(n_frames)[None, :] * n_images + np.arange(n_images)[:, None]
        fi = np.arange(n_frames)[None, :]
        return (
            self.clock.t
            + (fi + 1) / self.refresh_hz[1]
            + (i + 1) / self.refresh_hz[0]
            + i * n_average * (cam.exposure + cam.readout_time)
        )

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
        out = self._optics.camera_powers(
            levels, masks, power_scale, exact=exact, pixels=pixels, first=first
        )
        if self.stray is None:
            return out
        if pixels is None:
            return self._with_stray(out, scale=power_scale)
        pw, frame0 = out
        frame0 = None if frame0 is None else self._with_stray(frame0, scale=power_scale)
        return self._with_stray(pw, np.asarray(pixels), power_scale), frame0

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
            flicker=self.flicker,
            stray=self.stray,
        )

    # -- the temporal noise sources (sweeps: devices/simulated/sources.py) ------------------
    def temporal(self) -> dict[str, float]:
        """The temporal sources' values now (:func:`devices.simulated.sources.values`)."""
        from devices.simulated.sources import values

        return values(self)

    def set_temporal(self, **changes: float | None) -> None:
        """Set some temporal sources' values, their seeds kept
        (:func:`devices.simulated.sources.set_values`: a sweep's points)."""
        from devices.simulated.sources import set_values

        set_values(self, **changes)
        temporal = self.laser_noise is not None or self.flicker is not None
        self.camera.set_source(self._exposed_power if temporal else self.ideal_power)
        self._cache.clear()

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
        ``laser_rin`` (fraction rms), ``flicker`` (None, or the Fourier SLM's ``rms_rad``,
        ``refresh_hz``, ripple amplitude, per-frame rms and ripple phase) and
        ``stray_light`` (None, or its ``fraction``, ``centre_px``, ``radius_px``); the camera's
        DCNU and row/column offsets are in ``camera``.
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
            "flicker": None
            if self.flicker is None
            else {
                "rms_rad": self.flicker.rms,
                "refresh_hz": self.flicker.refresh_hz,
                "ripple_amplitude_rad": self.flicker.amplitude,
                "frame_rms_rad": self.flicker.frame_rms,
                "ripple_phase_rad": self.flicker.theta,
            },
            "stray_light": None if self.stray is None else self.stray.describe(),
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
    out = {
        "registration": np.asarray(t["registration"]),
        "input_inverse_lut": inverse,
        "beam": {"centre_px": centre, "waist_px": np.inf if waist is None else waist / pitch},
        "source": "truth (by hand)",
    }
    if t["input_slm"].get("modulation") == "phase":
        out.update(_phase_input_truth(t["input_slm"], len(resp)))
    return out


def _phase_input_truth(truth: dict[str, Any], levels: int) -> dict[str, Any]:
    """A phase-only input SLM's truth as its phase-contrast calibration gives it: the phase
    response from level 0 (``input_curve``, radians), its inverse (the first cycle's level
    nearest each ``2 pi k / L``) and the panel map's fit (``input_panel``), where the
    amplitude inverse LUT of :func:`truth_calibration` means nothing (its amplitude is flat:
    the double-phase run read it as levels 0..L-1 for 0..2 pi, 0.79 rms off the twin's input
    field, low-passed, on two_phase seed 4451)."""
    from fouroptics.optics.panel import fit_panel, panel_coords

    resp = np.asarray(truth["response"])
    curve = np.unwrap(np.angle(resp)) if np.iscomplexobj(resp) else resp.astype(np.float64)
    curve = curve - curve[0]
    first = curve[: max(int(np.searchsorted(np.abs(curve), 2 * np.pi, side="right")), 2)]
    bins = 2 * np.pi * np.arange(levels) / levels
    out: dict[str, Any] = {
        "input_curve": curve,
        "input_inverse_lut": np.abs(np.abs(first)[None, :] - bins[:, None]).argmin(axis=1),
    }
    panel = truth.get("panel")
    if panel is not None and np.ndim(panel) == 2:
        m = np.asarray(panel, dtype=np.float64)
        out["input_panel"] = fit_panel(*np.broadcast_arrays(*panel_coords(m.shape)), m, ridge=0.0)
    return out
