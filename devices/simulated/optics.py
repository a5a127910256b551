"""The hidden optical chain of a simulated bench: beam, true SLM fields, true lenses, the
Fourier SLM's displacement, stop and aberration, and the camera misalignment.

:class:`TrueOptics` holds the bench's truth and computes, on its own path, what the camera and
the Fourier camera receive (the chain is listed in :mod:`devices.simulated.bench`). Its one
batched entry point, :meth:`TrueOptics.camera_powers`, gives the noiseless power at chosen
camera pixels for many input patterns and many Fourier masks at once (numpy / pyFFTW fast
path); the single-pattern :meth:`TrueOptics.camera_power` is the same model for one displayed
pair.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import sparse

from devices.simulated.imperfections import Imperfections
from fouroptics.optics import FourFSystem, PixelGrid
from fouroptics.optics.system import pixel_window
from fouroptics.optics.zernike import wavefront

#: The misaligned camera: the true field is evaluated on a grid ``OVERSAMPLE`` times finer than
#: the camera's (exact: the lens transform onto that grid) and interpolated at the displaced pixel
#: centres with a Kaiser-Bessel windowed sinc of radius ``TAP_RADIUS`` fine pixels and shape
#: ``KAISER_BETA``. The field reaches 0.5 cycles per camera pixel (a full-band Fourier plane on a
#: camera matched to it: the zero order, gap light, double-phase ghosts): 0.25 per fine pixel,
#: where this kernel is within about 0.3 % in power (1-D, random phases). Its own numerics: the
#: readout's registration (Lanczos on powers, :mod:`fouroptics.optics.resample`) is not used.
OVERSAMPLE = 2
TAP_RADIUS = 3
KAISER_BETA = 5.0


class TrueOptics:
    """What the light does on a simulated bench (hidden truth; never read by calibration).

    Args:
        system: the believed system (the system YAML).
        input_slm, fourier_slm: the bench's :class:`devices.simulated.slm.SimulatedSLM` (their
            true responses are used through their public ``fields``).
        camera_shape: camera (rows, columns).
        imperfections: the hidden values.
        laser_power: nominal W (the true one is ``power_factor`` times it).
        beam_waist: 1/e^2 intensity radius, m, or None (flat illumination).
        splitter_ratio: share of the Fourier-plane power sent to a Fourier camera (0: none).
        fourier_camera_grid: the Fourier camera's PixelGrid, or None.
    """

    def __init__(
        self,
        system: FourFSystem,
        input_slm: Any,
        fourier_slm: Any,
        camera_shape: tuple[int, int],
        imperfections: Imperfections,
        laser_power: float,
        beam_waist: float | None,
        splitter_ratio: float,
        fourier_camera_grid: PixelGrid | None = None,
    ) -> None:
        self.system = system
        self.input_slm = input_slm
        self.fourier_slm = fourier_slm
        self.camera_shape = tuple(camera_shape)
        self.imperfections = imperfections
        self.laser_power = laser_power
        self.beam_waist = beam_waist
        self.splitter_ratio = splitter_ratio
        fgrid = replace(
            system.fourier_slm,
            fill_factor=fourier_slm.fill_factor,
            gap_transmission=fourier_slm.dead_space,
        )
        e1, e2 = imperfections.focal_error
        f1, f2 = system.f1 * (1.0 + e1), system.f2 * (1.0 + e2)
        # the stop is applied by realised_masks at the displaced pixel centres, not by the model
        self.true_system = system.with_options(fourier_slm=fgrid, f1=f1, f2=f2, lens_aperture=None)
        self.fourier_system: FourFSystem | None = None
        if fourier_camera_grid is not None:
            self.fourier_system = system.with_options(fourier_slm=fourier_camera_grid, f1=f1)
        self.beam = self._beam_field()
        self.mask_factor = self._fourier_factor()
        self.misalignment = self._misalignment()
        # the lens transform onto the fine grid the misaligned camera is interpolated from
        self.camera_system = self.true_system
        if self.misalignment is not None:
            h, w = self.camera_shape
            fine = replace(
                system.camera, shape=(OVERSAMPLE * h, OVERSAMPLE * w),
                pitch=system.camera.pitch / OVERSAMPLE,
            )  # fmt: skip
            self.camera_system = self.true_system.with_options(camera=fine)
        self._plans: dict[bytes, tuple] = {}
        self._maps: dict[str, sparse.csr_matrix] = {}
        self._memo = _PowerMemo()
        #: torch device of :meth:`camera_powers` (:mod:`devices.simulated.torch_path`), or
        #: None for the numpy path; that module's tensors of these optics, per device
        self.device: str | None = None
        self.torch_cache: dict[str, Any] = {}

    # -- the light on the input SLM ------------------------------------------------------------
    def _beam_field(self) -> np.ndarray:
        grid = self.system.input_slm
        y = grid.coords(0)[:, None] - self.imperfections.beam_offset[0]
        x = grid.coords(1)[None, :] - self.imperfections.beam_offset[1]
        power = self.laser_power * self.imperfections.power_factor
        if self.beam_waist is None:
            area = grid.shape[0] * grid.shape[1] * grid.pitch**2
            return np.full(grid.shape, np.sqrt(power / area))
        w = self.beam_waist
        return np.sqrt(2 * power / (np.pi * w**2)) * np.exp(-(y**2 + x**2) / w**2)

    def decentre_m(self) -> tuple[float, float]:
        """Displacement (y, x) of the Fourier SLM from the optical axis, metres."""
        dy, dx = self.imperfections.fourier_decentre
        p = self.system.fourier_slm.pitch
        return dy * p, dx * p

    @property
    def input_mix(self) -> bool:
        """Whether the input SLM's gap mix goes into its field: with
        ``input_pixel_model="aperture"`` the physics model applies the input pixel's fill
        factor (its envelope, :mod:`fouroptics.optics.pixels`); mixing it in too would apply it
        twice (ff^2): only the "point" model mixes it into the field."""
        return self.system.input_pixel_model != "aperture"

    def illumination(self, tilt: bool = True) -> np.ndarray:
        """Beam on the input SLM (H_in, W_in), sqrt(W)/m; with ``tilt`` times the decentring
        ramp that makes lens 1 deliver the field at the displaced Fourier pixels."""
        field = self.beam
        dy, dx = self.decentre_m()
        if tilt and (dy or dx):
            grid = self.system.input_slm
            lam_f = self.true_system.wavelength * self.true_system.f1
            field = field * np.outer(
                np.exp(-2j * np.pi * grid.coords(0) * dy / lam_f),
                np.exp(-2j * np.pi * grid.coords(1) * dx / lam_f),
            )
        return field

    def input_field(self, tilt: bool = True) -> np.ndarray:
        """Field leaving the input SLM's displayed pattern (H_in, W_in), sqrt(W)/m, complex64."""
        field = self.illumination(tilt) * self.input_slm.field(fill_factor=self.input_mix)
        return field.astype(np.complex64)

    def input_fields(
        self, levels: np.ndarray, light: np.ndarray, exact: bool, real: bool
    ) -> np.ndarray:
        """Fields leaving the input SLM (B, H, W), complex64 (float32 when ``real``), for
        levels (B, H, W) under the illumination ``light`` (H, W).

        ``exact``: the product in complex128, then complex64 (as :meth:`input_field`). Where
        every image shows one level (outside the box that holds the others: a bundle's blocks)
        the field is the illumination times that level's field, computed once."""
        slm = self.input_slm
        lv = slm.checked_levels(levels)
        dtype = np.complex128 if exact else np.complex64
        table = slm.level_table(self.input_mix, dtype)
        box = None if table is None or not lv.size else _box(lv)
        out_dtype = np.float32 if real and not exact else np.complex64
        if box is None:
            t = slm.fields(lv, self.input_mix, dtype)
            return (light * (t.real if real and not exact else t)).astype(out_dtype, copy=False)
        if real and not exact:
            table = table.real
        out = np.empty(lv.shape, dtype=out_dtype)
        out[:] = light * table[lv.flat[0]]
        out[(..., *box)] = light[box] * table[lv[(..., *box)]]
        return out

    # -- the Fourier plane -------------------------------------------------------------------------
    def _fourier_factor(self) -> np.ndarray | None:
        """Lens stop x exp(i W) at the displaced Fourier pixel centres (H_F, W_F), or None.

        ``W``: :func:`fouroptics.optics.zernike.wavefront` of the hidden coefficients, on the
        distance from the optical axis over the Fourier SLM's half-width."""
        grid = self.system.fourier_slm
        dy, dx = self.decentre_m()
        y = grid.coords(0)[:, None] + dy
        x = grid.coords(1)[None, :] + dx
        factor = None
        stop = self.system.lens_aperture
        if stop is not None:
            factor = (y**2 + x**2 <= (stop / 2) ** 2).astype(np.complex128)
        coefficients = self.imperfections.zernike
        if any(coefficients.values()):
            half = max(grid.shape) * grid.pitch / 2
            w = wavefront(coefficients, y / half, x / half)
            factor = np.exp(1j * w) if factor is None else factor * np.exp(1j * w)
        return factor

    def realised_masks(self, reflectance: np.ndarray) -> np.ndarray:
        """Pixel reflectances (..., H_F, W_F) with the axis-fixed stop and aberration folded in,
        complex64. The model evaluates ``a^2 m + (p^2 - a^2) g`` per pixel (aperture + gap
        light), so ``m' = A m + (A - 1) g (p^2 - a^2) / a^2`` makes it ``A (a^2 m + (p^2 - a^2)
        g)``: the stop and aberration act on the gap light too."""
        a = self.mask_factor
        if a is None:
            return np.asarray(reflectance).astype(np.complex64)
        grid = self.true_system.fourier_slm
        gap = grid.gap_transmission * (1.0 - grid.fill_factor) / grid.fill_factor
        return (a * reflectance + (a - 1.0) * gap).astype(np.complex64)

    # -- the camera ------------------------------------------------------------------------------
    def _misalignment(self) -> sparse.csr_matrix | None:
        """(N_cam, N_fine) sparse map from the true field on the fine grid to the field at the
        displaced camera pixel centres (None when the camera sits where it should), times
        ``1 / (1 + s)`` so that the power scales as the pixel area ``1 / (1 + s)^2``.

        Camera pixel ``p`` sees the ideal image at ``q = A^-1 (p - b)`` (camera pixel units,
        :meth:`Imperfections.camera_affine`), fine index ``j = S (q - c) + c_f`` with ``c`` and
        ``c_f`` the axis pixels ``n // 2`` of both grids."""
        imp = self.imperfections
        if imp.camera_shift == (0.0, 0.0) and imp.camera_rotation == 0 and imp.camera_scale == 0:
            return None
        a, b = imp.camera_affine(self.camera_shape)
        h, w = self.camera_shape
        hf, wf = OVERSAMPLE * h, OVERSAMPLE * w
        p = np.indices((h, w)).reshape(2, -1).astype(np.float64)
        q = np.linalg.solve(a, p - np.asarray(b, float)[:, None])
        c = np.array([[h // 2], [w // 2]], float)
        j = OVERSAMPLE * (q - c) + np.array([[hf // 2], [wf // 2]], float)
        taps = np.arange(-TAP_RADIUS + 1, TAP_RADIUS + 1)
        iy = np.floor(j[0]).astype(np.int64)[:, None] + taps  # (P, 2R)
        ix = np.floor(j[1]).astype(np.int64)[:, None] + taps
        wy = _kaiser_sinc(j[0][:, None] - iy) * ((iy >= 0) & (iy < hf))
        wx = _kaiser_sinc(j[1][:, None] - ix) * ((ix >= 0) & (ix < wf))
        weights = (wy[:, :, None] * wx[:, None, :]) / (1.0 + imp.camera_scale)
        cols = np.clip(iy, 0, hf - 1)[:, :, None] * wf + np.clip(ix, 0, wf - 1)[:, None, :]
        # one row per camera pixel, its taps in ascending columns; taps clipped onto the edge
        # weigh 0 and are dropped, so the CSR arrays are the tap arrays themselves
        indptr = np.arange(h * w + 1, dtype=np.int64) * weights[0].size
        m = sparse.csr_matrix(
            (weights.reshape(-1), cols.reshape(-1), indptr), shape=(h * w, hf * wf)
        )
        m.eliminate_zeros()
        return m

    def _displace(self, e: np.ndarray) -> np.ndarray:
        """Fields (..., H_f, W_f) on the fine grid -> (..., H, W) at the displaced pixel centres
        (the map in the fields' precision, cached per dtype)."""
        real = np.float32 if e.dtype == np.complex64 else np.float64
        key = np.dtype(real).str
        if key not in self._maps:
            self._maps[key] = self.misalignment.astype(real)
        out = _real_map(self._maps[key], e.reshape(-1, e.shape[-2] * e.shape[-1]))
        return out.reshape(*e.shape[:-2], *self.camera_shape)

    def _to_camera(self, e: np.ndarray) -> np.ndarray:
        """Power per camera pixel (..., H, W) float32 of camera fields on
        :attr:`camera_system`'s grid (the fine grid when misaligned): the displaced pixel
        centres, intensity, the splitter's share."""
        if self.misalignment is not None:
            e = self._displace(e)
        p = self.true_system.intensity(e).astype(np.float32)
        keep = 1.0 - self.splitter_ratio
        if keep != 1.0:
            p *= np.float32(keep)
        return p

    def camera_power(self, fourier_field: np.ndarray | None = None) -> np.ndarray:
        """Noiseless power per camera pixel (H, W) W, float32, of the displayed patterns (or of
        the input SLM's pattern under another Fourier-SLM ``fourier_field``, (H_F, W_F), its
        pixel reflectance without the gap mix)."""
        if fourier_field is None:
            fourier_field = self.fourier_slm.field(fill_factor=False)
        masks = self.realised_masks(fourier_field)
        field = self.camera_system.forward(self.input_field(), masks)
        if self.misalignment is not None:
            field = self._displace(field)
        power = self.true_system.intensity(field)
        if self.splitter_ratio:
            power = power * (1.0 - self.splitter_ratio)
        return np.asarray(power, dtype=np.float32)

    def camera_powers(
        self,
        levels: np.ndarray,
        masks: np.ndarray,
        power_scale: float = 1.0,
        chunk: int = 32,
        exact: bool = True,
        pixels: np.ndarray | None = None,
        first: bool = True,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
        """Noiseless camera power (B, F, H_cam, W_cam) W, float32, for input levels (B, H, W)
        and realised Fourier masks (F, H_F, W_F) (:meth:`realised_masks`).

        ``exact``: round the input field as :meth:`camera_power` does (complex128 product,
        then complex64), so that a seeded camera draws the frame-by-frame path's noise;
        otherwise complex64 throughout, and a real field (flat or Gaussian beam without
        decentring tilt, amplitude SLM) goes through the real-input transforms.

        ``pixels``: flat camera pixel indices: returns the power there only, (B, F, P), and
        the first image's full frames (F, H, W) (None unless ``first``): the intensity and the
        misalignment are evaluated where they are read."""
        if not exact:  # a sweep's points measure the same images at other powers
            key = (*_PowerMemo.key(levels, masks, pixels, first), self.laser_power, self.beam_waist)
            hit = self._memo.get(key, masks)
            if hit is None:
                hit = self._powers(levels, masks, 1.0, chunk, False, pixels, first)
                self._memo.put(key, masks, hit)
            return _scaled(hit, power_scale)
        return self._powers(levels, masks, power_scale, chunk, exact, pixels, first)

    def _powers(self, levels, masks, power_scale, chunk, exact, pixels, first):
        """:meth:`_camera_powers` on the numpy path, or in torch on :attr:`device`."""
        if self.device is None:
            return self._camera_powers(levels, masks, power_scale, chunk, exact, pixels, first)
        from devices.simulated.torch_path import camera_powers

        return camera_powers(
            self, levels, masks, power_scale, device=self.device, pixels=pixels, first=first,
            exact=exact, chunk=chunk,
        )  # fmt: skip

    def _camera_powers(self, levels, masks, power_scale, chunk, exact, pixels, first):
        sys_ = self.camera_system
        shape = self.camera_shape
        n_f = len(masks)
        # bounded memory: about 400 MB of complex64 fields per forward call, in the Fourier
        # plane (every mask on every image) or on the camera grid (full frames)
        n_px = int(np.prod(sys_.fourier_shape))
        if pixels is None:
            n_px = max(n_px, int(np.prod(sys_.camera_shape)))
        chunk = max(1, min(chunk, int(4e8 // (n_f * n_px * 8))))
        if pixels is not None:
            out = np.empty((len(levels), n_f, len(pixels)), dtype=np.float32)
            frame0 = np.zeros((n_f, *shape), dtype=np.float32) if first else None
            src, tap, window, at = self.gather_plan(np.asarray(pixels))
        else:
            out = np.empty((len(levels), n_f, *shape), dtype=np.float32)
        light = self.illumination() * np.sqrt(power_scale)
        slm = self.input_slm
        real = not np.iscomplexobj(light) and not slm.complex_field
        if not exact:
            light = light.astype(np.float32 if real else np.complex64)
        keep = np.float32(1.0 - self.splitter_ratio)
        for i in range(0, len(levels), chunk):
            fields = self.input_fields(levels[i : i + chunk], light, exact, real)
            if pixels is None:
                out[i : i + chunk] = self._to_camera(sys_.forward(fields, masks=masks))
                continue
            if i == 0 and frame0 is not None:
                frame0[:] = self._to_camera(sys_.forward(fields[:1], masks=masks)[0])
            e = sys_.forward(fields, masks=masks, window=window)  # the source pixels' rows/cols
            es = e.reshape(*e.shape[:2], -1)[..., at]
            if tap is not None:  # the misaligned field at the read pixels: (P, S) on (B F, S)
                es = _real_map(tap, es.reshape(-1, len(src))).reshape(*e.shape[:2], tap.shape[0])
            ps = self.true_system.intensity(es).astype(np.float32)
            if keep != 1.0:
                ps *= keep
            out[i : i + chunk] = ps
        return out if pixels is None else (out, frame0)

    def gather_plan(self, pixels: np.ndarray) -> tuple:
        """(source pixels S of :attr:`camera_system`'s grid, the sparse (P, S) map onto the camera
        ``pixels`` or None, the window (rows, cols) that holds S, S's flat indices in it) to
        evaluate the misaligned field at ``pixels`` only; cached per pixel set."""
        key = pixels.tobytes()
        if key not in self._plans:
            mis = self.misalignment
            if mis is None:
                self._plans[key] = (pixels, None, *pixel_window(pixels, self.camera_shape[1]))
            else:
                rows = mis[pixels]
                src = np.unique(rows.indices)  # the fine field pixels the read pixels draw on
                tap = rows[:, src].tocsr().astype(np.float32)
                width = self.camera_system.camera_shape[1]
                self._plans[key] = (src, tap, *pixel_window(src, width))
        return self._plans[key]

    # -- the Fourier camera ---------------------------------------------------------------------
    def fourier_camera_power(self, pitch: float) -> np.ndarray:
        """Noiseless power per Fourier-camera pixel (W) of the displayed input pattern: lens
        1's field (true f1, no decentring tilt: the camera is on the axis) through the stop."""
        u = self.fourier_system.fourier_plane(self.input_field(tilt=False))
        power = (u.real**2 + u.imag**2) * (pitch**2 * self.splitter_ratio)
        stop = self.fourier_system.pupil()  # the lens stop blocks this light too
        if stop is not None:
            power = power * stop
        return power

    def registration(self) -> np.ndarray:
        """(2, 3) affine from input-SLM pixel (row, col) to camera pixel: the geometric image
        of the true system (inverted, magnified by the true f2 / f1) followed by the camera
        misalignment ``p = A q + b``."""
        a, b = self.imperfections.camera_affine(self.camera_shape)
        m0 = self.true_system.imaging_affine()
        return np.column_stack([a @ m0[:, :2], a @ m0[:, 2] + b])


class _PowerMemo:
    """The last noiseless powers of :meth:`TrueOptics.camera_powers` (unit power scale), up to
    :attr:`BUDGET` bytes: keyed on a digest of the input levels, the masks' identity (held,
    compared by ``is``), the pixels and ``first``. The optics hold no other state that
    changes the light (a bench's drift would have to enter the key)."""

    BUDGET = 256 * 2**20

    def __init__(self) -> None:
        self._held: list[tuple[tuple, np.ndarray, Any]] = []

    @staticmethod
    def key(levels: np.ndarray, masks: np.ndarray, pixels: np.ndarray | None, first: bool):
        lv = np.ascontiguousarray(levels)
        digest = hashlib.blake2b(lv.view(np.uint8), digest_size=16).digest()
        px = None
        if pixels is not None:
            flat = np.ascontiguousarray(pixels, dtype=np.int64).view(np.uint8)
            px = hashlib.blake2b(flat, digest_size=16).digest()
        return (lv.shape, str(lv.dtype), digest, px, bool(first), masks.shape)

    def get(self, key: tuple, masks: np.ndarray) -> Any:
        for k, m, value in self._held:
            if k == key and m is masks:
                return value
        return None

    def put(self, key: tuple, masks: np.ndarray, value: Any) -> None:
        if _nbytes(value) > self.BUDGET:
            return
        self._held.append((key, masks, value))
        while sum(_nbytes(v) for _, _, v in self._held) > self.BUDGET:
            self._held.pop(0)


def _nbytes(value: Any) -> int:
    arrays = value if isinstance(value, tuple) else (value,)
    return sum(a.nbytes for a in arrays if a is not None)


def _scaled(value: Any, scale: float) -> Any:
    """Memoised powers times ``scale`` (new arrays: the memo's stay as they are)."""
    s = np.float32(scale)
    if isinstance(value, tuple):
        return tuple(None if a is None else a * s for a in value)
    return value * s


def _box(lv: np.ndarray) -> tuple[slice, slice] | None:
    """Rows and columns that hold every level other than ``lv``'s first (B, H, W)."""
    other = lv != lv.flat[0]
    rows = np.flatnonzero(other.any(axis=(0, 2)))
    cols = np.flatnonzero(other.any(axis=(0, 1)))
    if not len(rows):
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _real_map(m: sparse.csr_matrix, flat: np.ndarray) -> np.ndarray:
    """A sparse real (P, S) map applied to complex rows ``flat`` (B, S) -> (B, P): the real and
    imaginary parts as two real columns each (half the work of complex weights)."""
    dtype = np.complex64 if m.dtype == np.float32 else np.complex128
    cols = np.ascontiguousarray(flat.astype(dtype, copy=False).T).view(m.dtype)  # (S, 2 B)
    return np.ascontiguousarray(m @ cols).view(dtype).T


def _kaiser_sinc(t: np.ndarray) -> np.ndarray:
    """Kaiser-Bessel windowed sinc of radius :data:`TAP_RADIUS` (fine pixels), not normalised
    (an interpolator of band-limited samples keeps their amplitude)."""
    arg = np.clip(1.0 - (t / TAP_RADIUS) ** 2, 0.0, None)
    return np.where(
        np.abs(t) < TAP_RADIUS, np.sinc(t) * np.i0(KAISER_BETA * np.sqrt(arg)), 0.0
    ) / np.i0(KAISER_BETA)
