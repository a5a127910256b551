"""The 4f correlator: input SLM -> lens f1 -> Fourier SLM -> lens f2 -> camera.

Longer than 500 lines because the FourFSystem is one object whose numpy and torch paths, windows
and mask helpers share its cached operators; its YAML parsing (``from_dict``) and
``sampling_report`` are the parts that could move to modules of their own.

Fields are complex amplitudes sampled at pixel centres, in sqrt(W)/m: the power carried by a
plane is ``sum |E|^2 * pitch^2``. Coordinates follow :mod:`fouroptics.optics.grids` (pixel
``n // 2`` on the axis) and the sign convention of :mod:`fouroptics.optics.transforms`.

Physics summarised (all of it is tested against independent references in tests/fouroptics):

* Lens 1 maps the input field E(x) to ``U(u) = 1/(i lambda f1) FT[E](u / (lambda f1))`` on the
  Fourier SLM. When the Fourier pitch equals ``lambda f1 / (N_in p_in)`` (and the shapes match)
  this is a centred FFT; otherwise a matrix Fourier transform onto the real pixel centres.
* The Fourier SLM multiplies by the displayed complex mask over each pixel's active aperture
  (fill factor) and by ``gap_transmission`` elsewhere in the cell; the lens aperture is a
  circular stop of diameter ``lens_aperture`` in the Fourier plane.
* Lens 2 transforms again (forward sign), so the image is inverted and magnified by f2/f1:
  with a clear mask, ``E_cam(y) = -(f1/f2) E(-y f1/f2)``.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fouroptics.io.yaml_load import load_yaml
from fouroptics.optics import engine, pixels
from fouroptics.optics.grids import PixelGrid
from fouroptics.optics.transforms import (
    bandlimited_resample_matrix,
    mft_matrix,
    separable_transform,
)
from fouroptics.optics.validate import FieldError, check_array, is_torch
from fouroptics.units import UnitError, parse_quantity, require_unit

DTYPES = ("complex64", "complex128")
INPUT_PIXEL_MODELS = ("point", "aperture")
FFT_BACKENDS = ("pyfftw", "numpy", "scipy", "torch")


@dataclass(frozen=True)
class FourFSystem:
    """A 4f optical correlator on real pixel grids.

    Args:
        wavelength: metres (or a unit string such as "532 nm").
        f1: focal length of the first (Fourier) lens, metres.
        f2: focal length of the second (imaging) lens, metres.
        input_slm: the input SLM grid (shape (H_in, W_in), pitch p_in).
        fourier_slm: the Fourier-plane SLM grid (shape (H_F, W_F), pitch p_F, fill factor,
            gap transmission).
        camera: the camera grid (shape (H_cam, W_cam), pitch p_cam, fill factor).
        lens_aperture: clear diameter of the lenses, metres, modelled as a circular stop in the
            Fourier plane; None for unlimited.
        input_pixel_model: "point" (default): the input field is band-limited, its samples are
            point values; "aperture": each input SLM pixel is a uniform square of side
            ``sqrt(fill_factor) * p_in`` (dark gaps), which multiplies the Fourier-plane field by
            ``fill_factor * sinc(a nu_y) sinc(a nu_x)`` (0.64 per axis at the band edge for a
            100% fill factor). :meth:`kernel_to_mask` divides that envelope out.
        pixel_quadrature: Gauss-Legendre nodes per axis over each Fourier SLM pixel aperture.
            1 (default) samples the incident field at the pixel centres; 2-4 integrate it over
            the aperture (sinc envelope of the pixel), at 4-16x the cost.
        dtype: "complex64" (default) or "complex128" for the numpy path's arithmetic.
        fft_backend: for numpy inputs: "pyfftw" (default; cached plans, all cores), "numpy",
            "scipy" or "torch" (torch.fft on the CPU). Tensors always use torch.fft.
        name: a label for reports.

    A mapping (as loaded from YAML) is accepted for each grid.
    """

    wavelength: float
    f1: float
    f2: float
    input_slm: PixelGrid
    fourier_slm: PixelGrid
    camera: PixelGrid
    lens_aperture: float | None = None
    input_pixel_model: str = "point"
    pixel_quadrature: int = 1
    dtype: str = "complex64"
    fft_backend: str = "pyfftw"
    name: str = ""
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: Any = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "wavelength", parse_quantity(self.wavelength, "length", "system.wavelength"))
        set_(self, "f1", parse_quantity(self.f1, "length", "system.f1"))
        set_(self, "f2", parse_quantity(self.f2, "length", "system.f2"))
        for name in ("input_slm", "fourier_slm", "camera"):
            set_(self, name, _as_grid(getattr(self, name), name))
        if self.lens_aperture is not None:
            set_(
                self,
                "lens_aperture",
                parse_quantity(self.lens_aperture, "length", "system.lens_aperture"),
            )
        q = self.pixel_quadrature
        if isinstance(q, bool) or not isinstance(q, int | np.integer) or not 1 <= q <= 8:
            raise UnitError(f"system.pixel_quadrature: got {q!r}; allowed integers 1..8")
        if self.input_pixel_model not in INPUT_PIXEL_MODELS:
            raise UnitError(
                f"system.input_pixel_model: got {self.input_pixel_model!r}; allowed: "
                f"{', '.join(INPUT_PIXEL_MODELS)}"
            )
        if self.dtype not in DTYPES:
            raise UnitError(f"system.dtype: got {self.dtype!r}; allowed: {', '.join(DTYPES)}")
        if not isinstance(self.name, str):
            raise UnitError(f"system.name: got {self.name!r}; expected text (quote it in YAML)")
        if self.fft_backend not in FFT_BACKENDS:
            raise UnitError(
                f"system.fft_backend: got {self.fft_backend!r}; allowed: {', '.join(FFT_BACKENDS)}"
            )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the configuration only (operators and plans are rebuilt on demand)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_cache", "_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "_cache", {})
        object.__setattr__(self, "_lock", threading.Lock())

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, config: dict[str, Any], *, require_units: bool = False) -> FourFSystem:
        """Build from a mapping (a parsed YAML file). Pitches may be "matched": the Fourier
        SLM pitch becomes ``lambda f1 / (N_in p_in)`` and the camera's ``lambda f2 / (N_F p_F)``.

        Args:
            config: the fields of :class:`FourFSystem`; lengths as SI floats or unit strings.
            require_units: refuse bare numbers for lengths (set for YAML-sourced mappings:
                ``wavelength: 532`` is an error there, not 532 m).

        Raises:
            UnitError: naming the field, its value and what is allowed.
        """
        if not isinstance(config, dict):
            raise UnitError(f"system: expected a mapping of fields, got {type(config).__name__}")
        allowed = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
        unknown = sorted(set(config) - allowed, key=str)
        if unknown:
            raise UnitError(
                f"system: unknown field(s) {unknown}; allowed: {', '.join(sorted(allowed))}"
            )
        missing = [
            k
            for k in ("wavelength", "f1", "f2", "input_slm", "fourier_slm", "camera")
            if k not in config
        ]
        if missing:
            raise UnitError(f"system: missing field(s) {missing}")
        if require_units:
            _require_length_units(config)
        cfg = dict(config)
        lam = parse_quantity(cfg["wavelength"], "length", "system.wavelength")
        f1 = parse_quantity(cfg["f1"], "length", "system.f1")
        f2 = parse_quantity(cfg["f2"], "length", "system.f2")
        grid_in = _as_grid(cfg["input_slm"], "input_slm")
        fourier = dict(_grid_mapping(cfg["fourier_slm"], "fourier_slm"))
        if fourier.get("pitch") == "matched":
            fourier["pitch"] = lam * f1 / (grid_in.shape[1] * grid_in.pitch)
        grid_f = _as_grid(fourier, "fourier_slm")
        camera = dict(_grid_mapping(cfg["camera"], "camera"))
        if camera.get("pitch") == "matched":
            camera["pitch"] = lam * f2 / (grid_f.shape[1] * grid_f.pitch)
        cfg.update(input_slm=grid_in, fourier_slm=grid_f, camera=_as_grid(camera, "camera"))
        return cls(**cfg)

    @classmethod
    def from_yaml(cls, path: str | Path) -> FourFSystem:
        """Load a system YAML; lengths need a unit ("532 nm", "8 um", "100 mm").

        Raises:
            ConfigError: naming the file, and the field, its value and what is allowed (the
                file is read by :func:`fouroptics.io.yaml_load.load_yaml`: no aliases, size cap,
                UTF-8).
        """
        path = Path(path)
        config = load_yaml(path, "system file")
        if config is None:
            raise UnitError(f"system file {path}: empty; expected a mapping of fields")
        if isinstance(config, dict) and "system" in config and isinstance(config["system"], dict):
            config = config["system"]
        try:
            return cls.from_dict(config, require_units=True)
        except UnitError as exc:
            raise UnitError(f"{path}: {exc}") from exc

    @classmethod
    def matched(
        cls,
        shape: tuple[int, int],
        input_pitch: float | str,
        wavelength: float | str = 532e-9,
        f1: float | str = 0.1,
        f2: float | str | None = None,
        **kwargs: Any,
    ) -> FourFSystem:
        """A matched-sampling system: every lens transform is an exact centred DFT.

        The Fourier SLM and camera have ``shape`` pixels, with pitches
        ``lambda f1 / (W p_in)`` and ``p_in f2 / f1``. Requires a square ``shape``.
        """
        if shape[0] != shape[1]:
            raise UnitError(f"matched system: shape must be square, got {shape}")
        f2 = f1 if f2 is None else f2
        return cls.from_dict(
            dict(
                wavelength=wavelength,
                f1=f1,
                f2=f2,
                input_slm={"shape": shape, "pitch": input_pitch},
                fourier_slm={"shape": shape, "pitch": "matched"},
                camera={"shape": shape, "pitch": "matched"},
                **kwargs,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain SI mapping, readable by :meth:`from_dict` (for HDF5 attrs and reports)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name.startswith("_"):
                continue
            value = getattr(self, name)
            if isinstance(value, PixelGrid):
                d = asdict(value)
                d["shape"] = list(d["shape"])
                gap = d["gap_transmission"]
                d["gap_transmission"] = gap.real if gap.imag == 0 else [gap.real, gap.imag]
                d.pop("name")
                value = d
            out[name] = value
        return out

    def to_yaml(self) -> str:
        """The system as YAML text, lengths as exact unit strings in metres ("5.32e-07 m"), so
        that it reads back through :meth:`from_yaml` (YAML lengths need a unit) and
        :meth:`from_dict` of its parsed mapping alike."""
        d = self.to_dict()
        for key in ("wavelength", "f1", "f2", "lens_aperture"):
            if d[key] is not None:
                d[key] = f"{d[key]!r} m"
        for key in ("input_slm", "fourier_slm", "camera"):
            d[key]["pitch"] = f"{d[key]['pitch']!r} m"
        return yaml.safe_dump(d, sort_keys=False)

    def differences(self, other: FourFSystem) -> list[tuple[str, Any, Any]]:
        """Physical fields in which ``other`` differs: ``[(field, mine, theirs), ...]`` with
        grid fields as ``"fourier_slm.pitch"``; name, dtype and FFT backend are not physics.
        Numbers agree within a relative 1e-9."""
        mine, theirs = self.to_dict(), other.to_dict()
        out = []
        for key in sorted(set(mine) | set(theirs)):
            if key in ("name", "dtype", "fft_backend"):
                continue
            a, b = mine.get(key), theirs.get(key)
            if isinstance(a, dict) and isinstance(b, dict):
                out += [
                    (f"{key}.{k}", a.get(k), b.get(k))
                    for k in sorted(set(a) | set(b))
                    if not _same_value(a.get(k), b.get(k))
                ]
            elif not _same_value(a, b):
                out.append((key, a, b))
        return out

    def with_options(self, **changes: Any) -> FourFSystem:
        """A copy with some fields changed (e.g. ``dtype="complex128"``)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ grids

    @property
    def input_shape(self) -> tuple[int, int]:
        return self.input_slm.shape

    @property
    def fourier_shape(self) -> tuple[int, int]:
        return self.fourier_slm.shape

    @property
    def camera_shape(self) -> tuple[int, int]:
        return self.camera.shape

    @property
    def input_pitch(self) -> float:
        return self.input_slm.pitch

    @property
    def fourier_pitch(self) -> float:
        return self.fourier_slm.pitch

    @property
    def camera_pitch(self) -> float:
        return self.camera.pitch

    @property
    def magnification(self) -> float:
        """Lateral magnification f2/f1 (the image is also inverted)."""
        return self.f2 / self.f1

    def imaging_affine(self) -> np.ndarray:
        """(2, 3) affine of the geometric image: camera pixel (row, col) = M @ (input row, col,
        1); inverted and magnified f2 / f1, input pixel ``n // 2`` imaged onto camera pixel
        ``n // 2`` (the optical axis). The one home of this map: the readout uses it on the
        believed system, a simulated bench on its true one, calibration as its first guess."""
        k = -self.magnification * self.input_pitch / self.camera_pitch
        c_in = np.array([s // 2 for s in self.input_shape], dtype=np.float64)
        c_cam = np.array([s // 2 for s in self.camera_shape], dtype=np.float64)
        return np.column_stack([k * np.eye(2), c_cam - k * c_in])

    def fourier_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Fourier SLM pixel centres (u_y (H_F,), u_x (W_F,)), metres."""
        return self.fourier_slm.coords(0), self.fourier_slm.coords(1)

    def spatial_frequencies(self) -> tuple[np.ndarray, np.ndarray]:
        """Input-plane spatial frequencies nu = u / (lambda f1) at the Fourier pixels, 1/m."""
        uy, ux = self.fourier_coords()
        scale = self.wavelength * self.f1
        return uy / scale, ux / scale

    def input_envelope(self) -> np.ndarray | None:
        """Input-pixel aperture envelope on the Fourier grid (H_F, W_F), or None for "point".

        ``fill_factor * sinc(a u_y / (lambda f1)) * sinc(a u_x / (lambda f1))`` with
        ``a = sqrt(fill_factor) * p_in`` (numpy's sinc, sin(pi t) / (pi t)).
        """
        if self.input_pixel_model == "point":
            return None
        ny, nx = self.spatial_frequencies()
        return pixels.input_envelope(self.input_slm.aperture, self.input_slm.fill_factor, ny, nx)

    def shift_ramp(self, shift_y: float, shift_x: float) -> np.ndarray:
        """Fourier-plane phase ramp (H_F, W_F) complex128 that moves the camera image by
        (shift_y, shift_x) metres: ``exp(2 pi i (u_y shift_y + u_x shift_x) / (lambda f2))``.

        Multiply a mask by it to place an output channel on its own tile of the camera.
        """
        ry, rx = self.shift_ramp_factors(shift_y, shift_x)
        return np.outer(ry, rx)

    def shift_ramp_factors(
        self,
        shift_y: float,
        shift_x: float,
        coords: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The separable factors (H_F,), (W_F,) of :meth:`shift_ramp`; ``coords`` (u_y, u_x)
        metres replace the Fourier pixel centres (a measured frame, see
        :mod:`fouroptics.compiler.fourier_frame`)."""
        uy, ux = self.fourier_coords() if coords is None else coords
        scale = self.wavelength * self.f2
        return np.exp(2j * np.pi * uy * shift_y / scale), np.exp(2j * np.pi * ux * shift_x / scale)

    def pupil(self) -> np.ndarray | None:
        """Lens aperture as a (H_F, W_F) 0/1 stop in the Fourier plane, or None if unlimited."""
        if self.lens_aperture is None:
            return None
        uy, ux = self.fourier_coords()
        r2 = uy[:, None] ** 2 + ux[None, :] ** 2
        return (r2 <= (self.lens_aperture / 2) ** 2).astype(np.float64)

    # ------------------------------------------------------------------ physics

    def _ops(self, dtype: np.dtype | None = None) -> engine.Operators:
        dtype = np.dtype(dtype or self.dtype)
        with self._lock:
            key = ("ops", dtype.str)
            if key not in self._cache:
                self._cache[key] = engine.build_operators(
                    self.wavelength,
                    self.f1,
                    self.f2,
                    self.input_slm,
                    self.fourier_slm,
                    self.camera,
                    pupil=self.pupil(),
                    envelope=self.input_envelope(),
                    quadrature=self.pixel_quadrature,
                    dtype=dtype,
                )
            return self._cache[key]

    def _ops_for(self, x: Any) -> engine.Operators:
        if is_torch(x):
            import torch

            double = x.dtype in (torch.float64, torch.complex128)
            return self._ops(np.complex128 if double else np.complex64)
        return self._ops()

    def fourier_plane(self, field: Any) -> Any:
        """Complex field on the Fourier SLM pixel centres, before the mask.

        Args:
            field: (..., H_in, W_in) complex or real amplitude on the input SLM, sqrt(W)/m
                (numpy array, or torch tensor for the differentiable path).

        Returns:
            (..., H_F, W_F) complex, sqrt(W)/m; numpy in -> numpy out, torch in -> torch out.
        """
        field = check_array(field, "input field", self.input_shape, dtype=self.dtype)
        ops = self._ops_for(field)
        if is_torch(field):
            return engine.fourier_torch(ops, field)
        return engine.fourier_numpy(ops, field, self.fft_backend)

    def forward(
        self, field: Any, mask: Any = None, *, masks: Any = None, window: Any = None
    ) -> Any:
        """Complex field at the camera pixel centres after the Fourier SLM shows a mask.

        Two unambiguous ways to pass masks:

        * ``mask`` (positional): (H_F, W_F), or (..., H_F, W_F) broadcast against the field's
          leading dims by numpy rules (e.g. field (B, H, W) with mask (B, H_F, W_F) pairs
          image b with mask b). None means a clear SLM (mask = 1).
        * ``masks=`` (keyword): (C, H_F, W_F), every mask on every image: field
          (..., H_in, W_in) gives (..., C, H_cam, W_cam), and the first lens transform is
          computed once per image.

        Args:
            field: (..., H_in, W_in) amplitude on the input SLM, sqrt(W)/m.
            mask: complex transmission of the Fourier SLM pixels (|m| <= 1 for a passive
                device, not enforced).
            masks: a stack of such masks (keyword only; exclusive with ``mask``).
            window: ``(rows, cols)``, camera pixel indices (1-D integer arrays): the field at
                those rows and columns only, (..., R, K) in place of (..., H_cam, W_cam). With
                a matrix Fourier transform to the camera, the cost scales with R and K (a
                readout that reads a few windows evaluates only them).

        Returns:
            Complex field at the camera, sqrt(W)/m. Includes the lens aperture, the pixel
            aperture (fill factor, gap light), inversion and magnification.
        """
        if window is not None:
            window = self._check_window(window)
        field = check_array(field, "input field", self.input_shape, dtype=self.dtype)
        torch_path = is_torch(field)
        many = masks is not None
        if many:
            if mask is not None:
                raise FieldError("forward: pass either mask or masks=, not both")
            mask = check_array(masks, "Fourier masks", self.fourier_shape)
            if mask.ndim != 3:
                raise FieldError(
                    f"Fourier masks: shape {tuple(mask.shape)}; expected (C, "
                    f"{self.fourier_shape[0]}, {self.fourier_shape[1]})"
                )
        elif mask is None:
            mask = self._clear_mask(field)
        mask = check_array(mask, "Fourier mask", self.fourier_shape, dtype=self.dtype)
        if is_torch(mask) != torch_path:
            raise FieldError(
                "Fourier mask: pass numpy field and mask, or torch field and mask; got a mix"
            )
        ops = self._ops_for(field)
        terms = engine.fourier_mask_terms(ops, mask, self.fourier_slm, self.pixel_quadrature)
        if torch_path:
            return engine.apply_torch(ops, field, terms, many=many, window=window)
        return engine.apply_numpy(ops, field, terms, self.fft_backend, many=many, window=window)

    def _check_window(self, window: Any) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) camera pixel indices as 1-D intp arrays inside the camera."""
        try:
            rows, cols = (np.asarray(w) for w in window)
        except (TypeError, ValueError) as exc:
            raise FieldError(f"forward window: expected (rows, cols); got {window!r}") from exc
        out = []
        for name, idx, size in (
            ("rows", rows, self.camera_shape[0]),
            ("cols", cols, self.camera_shape[1]),
        ):
            if idx.ndim != 1 or idx.dtype.kind not in "iu" or not idx.size:
                raise FieldError(f"forward window {name}: a non-empty 1-D integer array")
            if idx.min() < 0 or idx.max() >= size:
                raise FieldError(f"forward window {name}: indices outside 0..{size - 1}")
            out.append(idx.astype(np.intp))
        return out[0], out[1]

    def _clear_mask(self, field: Any) -> Any:
        if is_torch(field):
            import torch

            return torch.ones(self.fourier_shape, dtype=torch.complex64, device=field.device)
        return np.ones(self.fourier_shape, dtype=np.float32)

    def intensity(self, field: Any) -> Any:
        """Optical power on each camera pixel, W: ``|E|^2 * pitch^2 * fill_factor``."""
        area = self.camera.pitch**2 * self.camera.fill_factor
        if is_torch(field):
            return (field.real**2 + field.imag**2) * area
        return (field.real**2 + field.imag**2) * area

    def kernel_to_mask(self, kernel: Any) -> Any:
        """The ideal complex Fourier-plane mask that convolves the input with ``kernel``.

        ``kernel`` (..., K_h, K_w) is sampled at the input SLM pitch with its origin at pixel
        ``((K_h - 1) // 2, (K_w - 1) // 2)`` (scipy.signal's 'same' convention). The mask is
        the kernel's transform at each Fourier pixel, ``sum_l k_l exp(-2 pi i nu d_l)``, times
        a band window: a smooth partition of unity over the input's first Brillouin zone
        ``|u| < lambda f1 / (2 p_in)`` when the SLM extends past it (so each spatial frequency
        is passed once and higher diffraction orders of the pixelated input are blocked), or
        the half-open zone on a matched grid. With ``input_pixel_model="aperture"`` the input
        pixel envelope is divided out (it is >= 0.64 per axis inside the band), so the chain
        stays an exact convolution. The mask is not normalised to |m| <= 1.

        Returns:
            (..., H_F, W_F) complex128 numpy array, or a complex tensor for a torch kernel.
        """
        if is_torch(kernel):
            kernel = check_array(kernel, "kernel", tuple(kernel.shape[-2:]))
        else:
            kernel = check_array(kernel, "kernel", np.shape(kernel)[-2:])
        if kernel.ndim < 2 or min(kernel.shape[-2:]) < 1:
            raise FieldError(f"kernel: shape {tuple(kernel.shape)}; expected (..., K_h, K_w)")
        kh, kw = kernel.shape[-2:]
        if kh > self.input_shape[0] or kw > self.input_shape[1]:
            raise FieldError(
                f"kernel: shape {tuple(kernel.shape[-2:])} is larger than the input SLM "
                f"{self.input_shape}"
            )
        ky, kx = self._kernel_matrices(kh, kw)
        if is_torch(kernel):
            import torch

            ky_t = torch.from_numpy(ky).to(kernel.device)
            kx_t = torch.from_numpy(np.ascontiguousarray(kx.T)).to(kernel.device)
            return separable_transform(kernel.to(torch.complex128), ky_t, kx_t)
        return separable_transform(np.asarray(kernel, dtype=np.complex128), ky, kx.T)

    def _kernel_matrices(self, kh: int, kw: int) -> tuple[np.ndarray, np.ndarray]:
        key = ("kernel", kh, kw)
        with self._lock:
            if key not in self._cache:
                lam_f = self.wavelength * self.f1
                mats = []
                for axis, k in ((0, kh), (1, kw)):
                    d = (np.arange(k) - (k - 1) // 2) * self.input_pitch
                    u = self.fourier_slm.coords(axis)
                    window = band_window(u, self.fourier_pitch, lam_f / self.input_pitch)
                    if self.input_pixel_model == "aperture":  # divide the pixel envelope out
                        grid = self.input_slm
                        env = pixels.input_envelope_1d(grid.aperture, grid.fill_factor, u / lam_f)
                        window = np.where(window > 0, window / np.where(env == 0, 1, env), 0.0)
                    mats.append(mft_matrix(d, u, lam_f) * window[:, None])
                self._cache[key] = tuple(mats)
            return self._cache[key]

    def output_to_input_grid(self, field: Any) -> Any:
        """Camera-plane field resampled onto the input SLM grid, inversion and magnification
        undone: ``g(x) = -(f2/f1) E_cam(-x f2/f1)`` by band-limited interpolation of the camera
        samples. Points outside the camera's field of view are zero.

        Args:
            field: (..., H_cam, W_cam) complex field (numpy or torch).

        Returns:
            (..., H_in, W_in) complex field in input-plane units.
        """
        field = check_array(field, "camera field", self.camera_shape)
        ry, rx = self._resample_matrices()
        if is_torch(field):
            import torch

            cdt = (
                torch.complex128
                if field.dtype in (torch.complex128, torch.float64)
                else torch.complex64
            )
            ry_t = torch.from_numpy(ry).to(field.device, cdt)
            rxt = torch.from_numpy(np.ascontiguousarray(rx.T)).to(field.device, cdt)
            return separable_transform(field.to(cdt), ry_t, rxt)
        dtype = np.result_type(field.dtype, np.complex64)
        return separable_transform(
            field.astype(dtype, copy=False), ry.astype(dtype), rx.T.astype(dtype)
        )

    def _resample_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if "resample" not in self._cache:
                m = self.magnification
                mats = []
                for axis in (0, 1):
                    y_to = -self.input_slm.coords(axis) * m
                    r = bandlimited_resample_matrix(
                        self.camera.coords(axis), self.camera_pitch, y_to
                    )
                    mats.append(r * (-m if axis == 0 else 1.0))
                self._cache["resample"] = tuple(mats)
            return self._cache["resample"]

    def sampling_report(self) -> dict[str, Any]:
        """Band limits, aliasing and sampling of this system, with plain-language warnings."""
        return sampling_report(self)


def pixel_window(
    pixels: np.ndarray, width: int
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The camera window that holds flat pixel indices ``pixels`` (P,) of frames ``width``
    columns wide: ``((rows, cols), at)``, the sorted rows and columns to pass as
    :meth:`FourFSystem.forward`'s ``window``, and (P,) where each pixel sits in the flattened
    (rows x cols) result."""
    r, c = np.divmod(np.asarray(pixels, dtype=np.intp), int(width))
    rows, cols = np.unique(r), np.unique(c)
    return (rows, cols), np.searchsorted(rows, r) * len(cols) + np.searchsorted(cols, c)


def _same_value(a: Any, b: Any) -> bool:
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-9, atol=0))
    except (TypeError, ValueError):
        return a == b


def band_window(u: np.ndarray, pitch: float, zone: float) -> np.ndarray:
    """Partition of unity over the Brillouin zone ``[-zone/2, zone/2)`` sampled at ``u``.

    Raised-cosine edges of width up to 16 pixels where the grid extends past the zone (so that
    ``w(u) + w(u - zone) = 1``); a half-open hard edge otherwise. Shape of ``u``, float64.
    """
    half = zone / 2
    margin = min(u[-1] - half, -half - u[0]) + pitch / 2
    taper = min(2 * margin, 16 * pitch)
    if taper < 2 * pitch:
        return ((u >= -half - 1e-9 * pitch) & (u < half - 1e-9 * pitch)).astype(np.float64)
    t = np.clip((np.abs(u) - half) / taper, -0.5, 0.5)
    return 0.5 * (1.0 - np.sin(np.pi * t))


def sampling_report(system: FourFSystem) -> dict[str, Any]:
    """See :meth:`FourFSystem.sampling_report`."""
    lam, f1, f2 = system.wavelength, system.f1, system.f2
    zone = lam * f1 / system.input_pitch
    fourier_extent = [n * system.fourier_pitch for n in system.fourier_shape]
    matched_pitch = [lam * f1 / (n * system.input_pitch) for n in system.input_shape]
    alias_period = lam * f1 / system.fourier_pitch
    band = min(zone, *fourier_extent)
    nyquist_cam = lam * f2 / band
    warnings = []
    coverage = [e / zone for e in fourier_extent]
    if min(coverage) < 1:
        warnings.append(
            f"the Fourier SLM covers {min(coverage):.1%} of the input's band "
            f"(lambda f1 / p_in = {zone * 1e3:.3f} mm): spatial frequencies beyond it are cut"
        )
    input_extent = [n * system.input_pitch for n in system.input_shape]
    if max(input_extent) > alias_period * (1 + 1e-9):
        warnings.append(
            f"the input SLM ({max(input_extent) * 1e3:.3f} mm) is wider than the Fourier "
            f"sampling period lambda f1 / p_F = {alias_period * 1e3:.3f} mm: outputs wrap around "
            "(pad the input: keep images within the period minus the kernel size)"
        )
    if system.camera_pitch > nyquist_cam * (1 + 1e-9):
        warnings.append(
            f"camera pitch {system.camera_pitch * 1e6:.2f} um undersamples the output field "
            f"(Nyquist {nyquist_cam * 1e6:.2f} um); intensity needs half of that"
        )
    cam_fov = [n * system.camera_pitch for n in system.camera_shape]
    image = [e * system.magnification for e in input_extent]
    if any(c < i for c, i in zip(cam_fov, image, strict=True)):
        warnings.append("the camera is smaller than the magnified input SLM: the image is cropped")
    cutoff = None if system.lens_aperture is None else system.lens_aperture / (2 * lam * f1)
    if cutoff is not None and cutoff < 1 / (2 * system.input_pitch):
        warnings.append(
            f"lens aperture passes spatial frequencies up to {cutoff:.4g} 1/m, below the input "
            f"SLM Nyquist {1 / (2 * system.input_pitch):.4g} 1/m"
        )
    return {
        "matched_fourier_pitch_m": matched_pitch,
        "fourier_transform": "fft" if system._ops().t1_fft else "mft",
        "camera_transform": "fft" if system._ops().t2_fft else "mft",
        "band_zone_m": zone,
        "fourier_extent_m": fourier_extent,
        "band_coverage": coverage,
        "alias_period_input_m": alias_period,
        "alias_period_input_pixels": alias_period / system.input_pitch,
        "camera_nyquist_pitch_m": nyquist_cam,
        "lens_cutoff_per_m": cutoff,
        "warnings": warnings,
    }


def _require_length_units(config: dict[str, Any]) -> None:
    """Refuse bare numbers for the lengths of a YAML-sourced system mapping."""
    for key in ("wavelength", "f1", "f2", "lens_aperture"):
        require_unit(config.get(key), "length", f"system.{key}")
    for key in ("input_slm", "fourier_slm", "camera"):
        grid = config.get(key)
        if isinstance(grid, dict):
            require_unit(grid.get("pitch"), "length", f"{key}.pitch")


def _grid_mapping(value: Any, name: str) -> dict[str, Any]:
    if isinstance(value, PixelGrid):
        d = asdict(value)
        d.pop("name")
        return d
    if not isinstance(value, dict):
        raise UnitError(f"{name}: expected a mapping with shape and pitch, got {value!r}")
    allowed = {"shape", "pitch", "fill_factor", "gap_transmission"}
    unknown = sorted(set(value) - allowed, key=str)
    if unknown:
        raise UnitError(
            f"{name}: unknown field(s) {unknown}; allowed: {', '.join(sorted(allowed))}"
        )
    for key in ("shape", "pitch"):
        if key not in value:
            raise UnitError(f"{name}: missing field {key!r}")
    d = dict(value)
    gap = d.get("gap_transmission")
    if isinstance(gap, list | tuple) and len(gap) == 2:
        if not all(isinstance(g, int | float) and not isinstance(g, bool) for g in gap):
            raise UnitError(
                f"{name}.gap_transmission: got {gap!r}; expected a number or [real, imag]"
            )
        d["gap_transmission"] = complex(gap[0], gap[1])
    return d


def _as_grid(value: Any, name: str) -> PixelGrid:
    if isinstance(value, PixelGrid):
        return value if value.name == name else replace(value, name=name)
    d = _grid_mapping(value, name)
    if d.get("pitch") == "matched":
        raise UnitError(f"{name}.pitch: 'matched' is only allowed in from_dict/from_yaml")
    return PixelGrid(name=name, **d)
