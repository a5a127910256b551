"""MaskBundle: what a bench needs to run a compiled model, in one HDF5 file.

Longer than 500 lines because the bundle is one file format with its twin (``simulate``,
``camera_frames``) and readout, which share its arrays; the readout could move to a module of
its own when the readout in optics (issue 18) changes it.

Contents: the realised Fourier masks (F, H_F, W_F) and their drive levels, the ideal complex
masks, the input layout (blocks of periodically tiled images, a reference block for ``ideal``),
the tile map and readout recipe (camera crops, trigonometric readout matrices, pairs, reference,
scales), the electronic head's weights and config, the system YAML, the encoding, the SLM, the
calibration used, the model's hash; format "fouroptics.MaskBundle" through
:mod:`fouroptics.io.h5` (atomic writes, checksum, version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.compiler import geometry as geo
from fouroptics.compiler import input_phase
from fouroptics.compiler.fourier_frame import FourierFrame
from fouroptics.compiler.slm import SLMModel
from fouroptics.errors import ConfigError, DataError, FileFormatError
from fouroptics.io.h5 import read_h5, write_h5
from fouroptics.io.yaml_load import parse_yaml
from fouroptics.optics import FourFSystem, pixels
from fouroptics.optics.system import pixel_window

FORMAT = "fouroptics.MaskBundle"
VERSION = 1


@dataclass
class MaskBundle:
    """A compiled model (or set of kernels) for one 4f system.

    Attributes (public):
        system: the :class:`FourFSystem` it was compiled for.
        encoding, detection: names.
        n_frames: exposures per image (F).
        image_shape: (C_in, n, n) of the model's input.
        fourier_masks: (F, H_F, W_F) complex realised masks.
        fourier_levels: (F, H_F, W_F) uint16 drive levels, or None (``complex``).
        ideal_masks: (F, H_F, W_F) complex ideal (compensated) masks.
        slm: description of the Fourier SLM (dict) or None.
        tile_map: per optical channel: frame, camera crop, sampling step, role.
        warnings: compile warnings in words.
    """

    system: FourFSystem
    encoding: str
    detection: str
    fourier_masks: np.ndarray
    fourier_levels: np.ndarray | None
    ideal_masks: np.ndarray
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    head_state: dict[str, np.ndarray] | None = None
    slm_table: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ construction

    @classmethod
    def build(cls, **kw: Any) -> MaskBundle:
        """Assemble a bundle from the compiler's results (see ``compile_program``)."""
        system: FourFSystem = kw["system"]
        program = kw["program"]
        placement = kw["placement"]
        s, order = kw["upsample"], kw["order"]
        n_per = program.period
        mag = system.magnification
        gcam = system.camera
        period_m = n_per * s * system.input_pitch
        # camera pixels of one window, as offsets from the tile's centre pixel
        p_in = system.input_pitch
        # camera pixels of one window, as offsets from the tile's centre pixel: those whose
        # input-plane point x lies in the exact region |x - c| <= (P - p_in) / 2 of a block
        # (c its centre; the tile's centre pixel sees the anchor, c + shift)
        block_px = (order + 1) * n_per * s
        shift = (block_px // 2 - (block_px - 1) / 2) * p_in
        half = mag * period_m / 2
        k = int(np.ceil(half / gcam.pitch)) + 2
        offs = np.arange(-k, k + 1)
        x_rel = -offs * gcam.pitch / mag + shift
        offs = offs[np.abs(x_rel) <= (period_m - p_in) / 2 + 1e-9 * p_in]
        t_samples = kw["t_anchor"] - offs * gcam.pitch / (mag * s * p_in)
        harm = geo.harmonic_set(program.band, program.detection)
        try:
            readout = geo.readout_matrix(t_samples, program.t_out, n_per, harm)
        except ValueError as exc:
            raise ConfigError(
                f"camera: {exc} (camera pitch {gcam.pitch * 1e6:.3g} um, image period "
                f"{half * 2 * 1e3:.3f} mm on the camera); use a larger upsampling"
            ) from exc
        sigma = kw["sigma"]
        gain = kw.get("gain")  # a refined encoding's own (weighted) gain
        if gain is None:
            gain = 1.0
            if kw["encoding"] != "complex" or kw["fourier_levels"] is not None:
                gain = _projected_gain(kw["fourier_masks"], kw["ideal_masks"], system)
        # the image's light is (1 - a) of the SLM's range when a leak block cancels its floor a
        amp = (
            system.f1
            / system.f2
            * kw["input_amplitude"]
            * sigma
            * (1.0 - kw.get("input_leak", 0.0))
        )
        scale = (amp * abs(gain)) ** 2 * gcam.pitch**2 * gcam.fill_factor
        c_opt, c_in = program.kernels.shape[:2]
        frame_gain = np.ones(kw["fourier_masks"].shape[0])
        if kw.get("iris") is not None:  # binary encodings, read behind their iris
            gain, frame_gain = _iris_gains(kw["fourier_masks"], kw["ideal_masks"], system)
            scale = (amp * abs(gain)) ** 2 * gcam.pitch**2 * gcam.fill_factor
        meta = {
            "encoding": kw["encoding"],
            "detection": program.detection,
            "n_frames": int(kw["fourier_masks"].shape[0]),
            "image_shape": [int(c_in), int(program.image_size), int(program.image_size)],
            "period": int(n_per),
            "upsample": int(s),
            "order": int(order),
            "tiles": int(order + 1),
            "sigma": float(sigma),
            "gain": [float(np.real(gain)), float(np.imag(gain))],
            "input_amplitude": kw["input_amplitude"],
            "image_scale": 1.0,
            "reference": kw["reference"],
            "power_scale": float(scale),
            "sqrt_eps": float(program.sqrt_eps),
            "optical_channels": int(c_opt),
            "features": int(c_opt // 2 if program.detection == "signed" else c_opt),
            "output_size": int(len(program.t_out)),
            # the input-plane position (image pixels) the tile's centre pixel sees
            "t_anchor": float(kw["t_anchor"]),
            "warnings": list(kw["warnings"]),
            "source": kw["source"],
            "slm": None if kw["slm"] is None else kw["slm"].describe(),
            "calibration": kw["source"].get("calibration"),
        }
        if kw.get("iris") is not None:
            meta["iris"] = kw["iris"]
        frame = kw.get("frame")
        if frame is not None and not frame.is_nominal:
            meta["fourier_frame"] = frame.describe()
        if kw.get("input_leak"):
            meta["input_leak"] = float(kw["input_leak"])
            meta["leak_block"] = bool(kw.get("leak_block", True))
        arrays = {
            "block_start": placement.block_start.astype(np.int64),
            "tiles": placement.tiles.astype(np.int64),
            "window_offsets": offs.astype(np.int64),
            "readout": readout.astype(np.complex128),
            "channel_frame": kw["channel_frame"],
            "channel_tile": kw["channel_tile"],
            "minus_frame": kw["minus_frame"],
            "band": program.band.astype(np.int64),
            "t_out": program.t_out.astype(np.float64),
            "frame_gain": frame_gain.astype(np.float64),
        }
        if frame is not None and frame.wavefront is not None:
            arrays["wavefront"] = np.asarray(frame.wavefront, dtype=np.float64)
        if kw.get("input_crosstalk") is not None:
            arrays["input_crosstalk"] = np.asarray(kw["input_crosstalk"], dtype=np.float64)
        bundle = cls(
            system=system,
            encoding=kw["encoding"],
            detection=program.detection,
            fourier_masks=kw["fourier_masks"].astype(np.complex64),
            fourier_levels=kw["fourier_levels"],
            ideal_masks=kw["ideal_masks"].astype(np.complex64),
            meta=meta,
            arrays=arrays,
            head_state=kw.get("head"),
            slm_table=None if kw["slm"] is None else kw["slm"].response,
        )
        return bundle

    # ------------------------------------------------------------------ properties

    @property
    def n_frames(self) -> int:
        return int(self.meta["n_frames"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.meta["image_shape"])  # type: ignore[return-value]

    @property
    def input_amplitude(self) -> float:
        """Input field (sqrt(W)/m) for transmission 1 (image value ``image_scale``)."""
        return float(self.meta["input_amplitude"])

    @property
    def power_scale(self) -> float:
        """Camera power per pixel (W) of a feature value 1 (|E|^2 units of the model)."""
        return float(self.meta["power_scale"])

    @property
    def slm(self) -> dict[str, Any] | None:
        return self.meta["slm"]

    @property
    def warnings(self) -> list[str]:
        return list(self.meta["warnings"])

    @property
    def tile_map(self) -> list[dict[str, Any]]:
        """Per optical channel: frame, camera crop (row0, col0, h, w), sampling step (camera
        pixels per output sample), role ("+"/"-" pair member, "+R"/"-R" frames)."""
        a, m = self.arrays, self.meta
        offs = a["window_offsets"]
        step = (
            (self.meta["period"] / m["output_size"] * m["upsample"] * self.system.input_pitch)
            * self.system.magnification
            / self.system.camera.pitch
        )
        out = []
        for o in range(m["optical_channels"]):
            r, c = a["tiles"][a["channel_tile"][o]]
            role = {"signed": "+" if o % 2 == 0 else "-", "ideal": "+R/-R"}.get(
                self.detection, "intensity"
            )
            entry = {
                "channel": o,
                "frame": int(a["channel_frame"][o]),
                "crop": [int(r + offs[0]), int(c + offs[0]), len(offs), len(offs)],
                "sampling_step_px": float(step),
                "role": role,
            }
            if self.detection == "ideal":
                entry["minus_frame"] = int(a["minus_frame"][o])
            out.append(entry)
        return out

    # ------------------------------------------------------------------ input side

    def input_transmission(self, images: Any) -> np.ndarray:
        """Input-SLM transmission in [0, 1] (B, H_in, W_in), the same for every frame: the
        images in their blocks, the reference or leak block at 1, and, for a bundle compiled
        with an input leak ``a`` (``meta["input_leak"]``), ``a + (1 - a) t`` everywhere (the
        SLM's floor, which the leak block cancels).

        Args:
            images: (B, C_in, n, n) (or (C_in, n, n)) in the model's units, normalised as the
                model saw them (values in [0, image_scale]).

        Raises:
            DataError: wrong shape, or values outside [0, image_scale].
        """
        x = np.asarray(images.detach().cpu().numpy() if hasattr(images, "detach") else images)
        shape = self.image_shape
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != tuple(shape):
            raise DataError(f"images: shape {x.shape}; expected (B, {', '.join(map(str, shape))})")
        scale = self.meta["image_scale"]
        if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > scale * (1 + 1e-6)):
            raise DataError(
                f"images: values in [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}]; an input SLM "
                f"shows amplitudes in [0, {scale}]"
            )
        m = self.meta
        n_per, s, tiles = m["period"], m["upsample"], m["tiles"]
        per = np.zeros((x.shape[0], shape[0], n_per, n_per), dtype=np.float32)
        per[..., : shape[1], : shape[2]] = x / scale
        up = np.repeat(np.repeat(per, s, axis=-2), s, axis=-1)
        block = np.tile(up, (1, 1, tiles, tiles))
        out = np.zeros((x.shape[0], *self.system.input_shape), dtype=np.float32)
        size = block.shape[-1]
        for i, (r, c) in enumerate(self.arrays["block_start"][: shape[0]]):
            out[:, r : r + size, c : c + size] = block[:, i]
        leak = self.meta.get("input_leak", 0.0)
        if self.detection == "ideal" or self.has_leak_block:
            r, c = self.arrays["block_start"][shape[0]]
            out[:, r : r + size, c : c + size] = 1.0
        if leak:  # the SLM's floor everywhere: a + (1 - a) t (the leak block's coefficient
            out *= np.float32(1.0 - leak)  # cancels the floor's light on every tile)
            out += np.float32(leak)
        return out

    @property
    def has_leak_block(self) -> bool:
        """Whether a leak block (fully on) cancels the input SLM's floor on every tile (a
        bundle with a floor and DC-free kernels has none: nothing to cancel)."""
        return bool(self.meta.get("input_leak")) and bool(self.meta.get("leak_block", True))

    def input_field(self, t: np.ndarray) -> np.ndarray:
        """The input SLM's field for transmissions ``t`` (B, H_in, W_in) as the compile
        believes it: ``t``, or with a measured phase coupling (``arrays["input_coupling"]``:
        (L,) radians of the level the run shows for ``t = k / (L - 1)``, relative to the top
        level) ``t exp(i phi(t))``, complex64; on a phase-only input SLM
        (``meta["input_encoding"] == "double-phase"``) the double-phase field of ``t``, the
        pixels outside the image blocks a blazed grating (:mod:`fouroptics.compiler.input_phase`:
        :func:`~fouroptics.compiler.input_phase.surround`)."""
        if (
            getattr(self, "meta", {}).get(input_phase.META_KEY) == "double-phase"
        ):  # phase-only input
            gain = float(self.meta.get("input_checkerboard_gain", 1.0))
            return input_phase.double_phase_field(
                t, gain, self.arrays.get("input_crosstalk"), input_phase.surround(self)
            )
        kernel = self.arrays.get("input_crosstalk")
        if kernel is not None:  # what the input SLM's believed crosstalk shows
            t = pixels.crosstalk(np.asarray(t, dtype=np.float32), kernel)
        phi = self.arrays.get("input_coupling")
        if phi is None:
            return t
        k = np.rint(np.clip(t, 0, 1) * (len(phi) - 1)).astype(np.int64)
        return (t * np.exp(1j * phi[k])).astype(np.complex64)

    def input_fields(self, images: Any) -> np.ndarray:
        """Input-SLM field per frame (B, F, H_in, W_in), real >= 0, sqrt(W)/m
        (``input_amplitude`` times the transmission; a read-only broadcast view)."""
        t = self.input_transmission(images) * np.float32(self.meta["input_amplitude"])
        return np.broadcast_to(t[:, None], (t.shape[0], self.n_frames, *t.shape[1:]))

    # ------------------------------------------------------------------ camera side

    def readout(self, frames: Any, gain: Any = None, offset: Any = None) -> np.ndarray:
        """Camera frames -> the model's detected features (B, C, n_out, n_out).

        Args:
            frames: (B, F, H_cam, W_cam) optical power per camera pixel, W (or DN with
                ``gain``, ``offset``: power = (frames - offset) / gain, DN per W).
            gain, offset: optional affine camera response (scalars or broadcastable arrays).
        """
        f = np.asarray(frames, dtype=np.float64)
        if f.ndim == 3:
            f = f[None]
        want = (self.n_frames, *self.system.camera_shape)
        if f.shape[1:] != want:
            raise DataError(f"frames: shape {f.shape}; expected (B, {', '.join(map(str, want))})")
        if offset is not None:
            f = f - np.asarray(offset, dtype=np.float64)
        if gain is not None:
            f = f / np.asarray(gain, dtype=np.float64)
        a, m = self.arrays, self.meta
        offs = a["window_offsets"]
        rows = a["tiles"][a["channel_tile"], 0][:, None] + offs[None, :]  # (C, h)
        cols = a["tiles"][a["channel_tile"], 1][:, None] + offs[None, :]
        r = a["readout"]
        frame_power = np.asarray(a.get("frame_gain", np.ones(self.n_frames))) ** 2
        # phase-multi: each channel's field gain relative to the bundle's, fitted on the twin
        channel_power = np.asarray(a.get("channel_gain", np.ones(len(rows)))) ** 2
        minus_power = np.asarray(a.get("minus_gain", np.ones(len(rows)))) ** 2

        def sampled(frame_idx: np.ndarray, power: np.ndarray = channel_power) -> np.ndarray:
            crops = f[:, frame_idx[:, None, None], rows[:, :, None], cols[:, None, :]]
            scale = m["power_scale"] * (frame_power[frame_idx] * power)[:, None, None]
            return np.real(r @ crops @ r.T) / scale  # (B, C, n, n)

        if self.detection != "ideal":
            return self.detect(sampled(a["channel_frame"]))
        return self.detect(sampled(a["channel_frame"]), sampled(a["minus_frame"], minus_power))

    def feature_scale(self, minus: bool = False) -> np.ndarray:
        """(C,) camera power (W) per unit of each channel's detected intensity: the bundle's
        power scale times its frame's and its own gain (``minus``: in its -R frame)."""
        a = self.arrays
        c = len(a["channel_frame"])
        frame_power = np.asarray(a.get("frame_gain", np.ones(self.n_frames))) ** 2
        own = np.asarray(a.get("minus_gain" if minus else "channel_gain", np.ones(c))) ** 2
        fr = a["minus_frame" if minus else "channel_frame"]
        return self.meta["power_scale"] * frame_power[fr] * own

    def detect(self, plus: np.ndarray, minus: np.ndarray | None = None) -> np.ndarray:
        """The model's features (B, C_features, n, n) from each optical channel's intensity
        at the output positions in the model's units (B, C, n, n) (``minus``: the -R frames'
        of the ``ideal`` detection): as is (intensity), ``sqrt(I+ + eps) - sqrt(I- + eps)``
        over channel pairs (signed), ``(I+ - I-) / 4R`` (ideal)."""
        if self.detection == "intensity":
            return plus
        if self.detection == "signed":
            amp = np.sqrt(np.maximum(plus, 0.0) + self.meta["sqrt_eps"])
            return amp[:, 0::2] - amp[:, 1::2]
        return (plus - minus) / (4.0 * self.meta["reference"])

    def window_mask(self) -> np.ndarray:
        """(F, H_cam, W_cam) bool: the camera pixels the readout uses, per frame."""
        out = np.zeros((self.n_frames, *self.system.camera_shape), dtype=bool)
        for t in self.tile_map:
            r, c, h, w = t["crop"]
            out[t["frame"], r : r + h, c : c + w] = True
            if "minus_frame" in t:
                out[t["minus_frame"], r : r + h, c : c + w] = True
        return out

    def simulate(self, images: Any, chunk: int | None = None) -> np.ndarray:
        """Noise-free reference: input_fields -> system.forward (realised masks) -> intensity
        -> readout, evaluated at the readout windows only and ``chunk`` images at a time (so
        memory stays bounded for any number of images). Returns features (B, C, n_out, n_out)."""
        t = self.input_field(self.input_transmission(images))
        t = t * np.float32(self.meta["input_amplitude"])
        windows = self.window_mask()
        read = np.flatnonzero(windows.any(axis=0))
        # about 0.5 GB of frames per chunk (float32 here, float64 in the readout)
        chunk = chunk or max(1, int(5e8 // (12 * windows.size)))
        feats = []
        for i in range(0, len(t), chunk):
            part = t[i : i + chunk]
            frames = np.zeros((len(part), self.n_frames, windows[0].size), dtype=np.float32)
            frames[:, :, read] = self.camera_frames_from_transmission(part, pixels=read)
            feats.append(self.readout(frames.reshape(len(part), *windows.shape)))
        return np.concatenate(feats)

    def camera_frames(
        self, images: Any, chunk: int | None = None, pixels: np.ndarray | None = None
    ) -> np.ndarray:
        """Noise-free camera power (B, F, H_cam, W_cam), W; with ``pixels`` (flat camera
        indices) the power there only, (B, F, P), at the cost of their rows and columns."""
        t = self.input_field(self.input_transmission(images))
        t = t * np.float32(self.meta["input_amplitude"])
        return self.camera_frames_from_transmission(t, chunk, pixels)

    def camera_frames_from_transmission(
        self, fields: np.ndarray, chunk: int | None = None, pixels: np.ndarray | None = None
    ) -> np.ndarray:
        """Camera power for input fields (B, H_in, W_in) (the same in every frame); ``pixels``:
        see :meth:`camera_frames`."""
        per_image = self.n_frames * np.prod(self.system.camera_shape) * 16
        chunk = chunk or max(1, int(5e8 // per_image))
        window, at = None, None
        if pixels is not None:
            window, at = pixel_window(pixels, self.system.camera_shape[1])
        out = []
        for i in range(0, len(fields), chunk):
            e = self._twin_forward(fields[i : i + chunk], self.fourier_masks, window)
            if at is not None:
                e = e.reshape(*e.shape[:2], -1)[..., at]
            out.append(self.system.intensity(e))
        return np.concatenate(out)

    @property
    def frame(self) -> FourierFrame:
        """The Fourier SLM's frame the masks were designed in (measured centre, scale and
        wavefront; :mod:`fouroptics.compiler.fourier_frame`), nominal when none was given."""
        if "frame" not in self._cache:
            self._cache["frame"] = FourierFrame.from_description(
                self.meta.get("fourier_frame"), self.arrays.get("wavefront")
            )
        return self._cache["frame"]

    @property
    def twin_system(self) -> FourFSystem:
        """The believed system as the bench realises the bundle's frame (f1 and f2 times its
        scale; :meth:`FourierFrame.twin_system`), built once: its transforms are cached."""
        if "twin_system" not in self._cache:
            self._cache["twin_system"] = self.frame.twin_system(self.system)
        return self._cache["twin_system"]

    def twin_fields(self, fields: np.ndarray) -> np.ndarray:
        """Input fields (B, H_in, W_in) as the twin's lens 1 must see them: times the frame's
        tilt (:meth:`FourierFrame.input_tilt`), which delivers the spectrum to the displaced
        Fourier pixels; unchanged in the nominal frame."""
        if "tilt" not in self._cache:
            tilt = self.frame.input_tilt(self.system)
            self._cache["tilt"] = None if tilt is None else np.outer(*tilt).astype(np.complex64)
        tilt = self._cache["tilt"]
        return fields if tilt is None else (fields * tilt).astype(np.complex64)

    def _twin_forward(self, fields: np.ndarray, masks: np.ndarray, window: Any = None) -> Any:
        """Camera fields of the noise-free twin: the believed system in the bundle's Fourier
        frame (:meth:`frame`), for input fields (B, H_in, W_in) and masks (F, H_F, W_F)."""
        frame = self.frame
        if frame.is_nominal:
            return self.system.forward(fields, masks=masks, window=window)
        key = ("twin", id(masks))
        hit = self._cache.get(key)
        if hit is None or hit[0] is not masks:  # the object is held: its id is not reused
            hit = self._cache[key] = (masks, frame.twin_masks(masks))
        return self.twin_system.forward(self.twin_fields(fields), masks=hit[1], window=window)

    # ------------------------------------------------------------------ head

    def head_macs(self) -> int:
        """Multiply-accumulates of the electronic head per inference
        (:func:`fouroptics.nn.macs.count_macs` on its input of (features, n_out, n_out))."""
        from fouroptics.nn.macs import count_macs

        n = self.meta["output_size"]
        return count_macs(self.head(), (self.meta["features"], n, n))

    def digital_macs(self) -> int:
        """MACs per inference of this SCLC run wholly on a computer: the head and the collapsed
        spectral layer by FFT (:func:`fouroptics.nn.macs.sclc_fft_macs`)."""
        from fouroptics.nn.macs import sclc_fft_macs

        m = self.meta
        c_opt, c_in = m["optical_channels"], self.image_shape[0]
        return self.head_macs() + sclc_fft_macs(c_in, c_opt, m["period"], m["output_size"])

    def head(self) -> Any:
        """The electronic head as a torch module with its trained weights (eval mode)."""
        if self.head_state is None:
            raise ConfigError("this bundle was compiled from kernels: it has no head")
        import torch

        from fouroptics.nn.models import build_model

        bad = [k for k, v in self.head_state.items() if not np.all(np.isfinite(v))]
        if bad:
            raise ConfigError(
                f"bundle head: weights {', '.join(sorted(bad))} hold NaN or inf (a diverged "
                "training or a damaged file); fine-tune or compile it again"
            )
        config = self.meta["source"]["model_config"]
        model = build_model(config)
        state = {k: torch.as_tensor(v) for k, v in self.head_state.items()}
        model.head.load_state_dict(state)
        return model.head.eval()

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write the bundle (HDF5, atomic)."""
        payload: dict[str, Any] = {
            "meta": json.dumps(self.meta),
            "fourier_masks": self.fourier_masks,
            "ideal_masks": self.ideal_masks,
            "layout": dict(self.arrays),
        }
        if self.fourier_levels is not None:
            payload["fourier_levels"] = self.fourier_levels
        if self.slm_table is not None:
            payload["slm_response"] = np.asarray(self.slm_table)
        if self.head_state is not None:
            payload["head"] = {k.replace(".", "__"): v for k, v in self.head_state.items()}
        return write_h5(path, FORMAT, VERSION, payload, system_yaml=self.system.to_yaml())

    @classmethod
    def load(cls, path: str | Path, system: FourFSystem | None = None) -> MaskBundle:
        """Read a bundle; refuses foreign, newer or edited files and, when ``system`` is
        given, a bundle compiled for another system.

        Raises:
            FileFormatError: not a MaskBundle, newer, corrupt or edited.
            ConfigError: compiled for another system.
        """
        payload, attrs = read_h5(path, FORMAT, VERSION)
        try:
            stored = FourFSystem.from_dict(parse_yaml(attrs["system"], f"{path}: system"))
            meta = json.loads(payload["meta"])
            arrays = {k: np.asarray(v) for k, v in payload["layout"].items()}
        except (KeyError, ValueError, TypeError) as exc:
            raise FileFormatError(f"{path}: incomplete MaskBundle ({exc})") from exc
        if system is not None:
            diff = [name for name, _, _ in system.differences(stored)]
            if diff:
                raise ConfigError(
                    f"{path}: compiled for system {stored.name or '(unnamed)'!r}, not this one "
                    f"(differs in {', '.join(diff)}); recompile for this system"
                )
        head = payload.get("head")
        return cls(
            system=system or stored,
            encoding=meta["encoding"],
            detection=meta["detection"],
            fourier_masks=np.asarray(payload["fourier_masks"]),
            fourier_levels=(
                np.asarray(payload["fourier_levels"]) if "fourier_levels" in payload else None
            ),
            ideal_masks=np.asarray(payload["ideal_masks"]),
            meta=meta,
            arrays=arrays,
            head_state=(
                None
                if head is None
                else {k.replace("__", "."): np.asarray(v) for k, v in head.items()}
            ),
            slm_table=payload.get("slm_response"),
        )

    # ------------------------------------------------------------------ quality

    def channel_fields(
        self, images: Any, masks: np.ndarray | None = None, minus: bool = False
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """The noise-free twin's camera fields over each channel's readout window: (realised
        (B, C, h, w) through ``masks`` (default the bundle's realised masks), ideal (B, C, h, w)
        through the ideal complex masks, input power W), for ``images`` (B, C_in, n, n); with
        ``minus``, in each channel's -R frame (``ideal`` detection)."""
        t = self.input_transmission(images) * np.float32(self.meta["input_amplitude"])
        real = self._twin_forward(t, self.fourier_masks if masks is None else masks)
        ideal = self._twin_forward(t, self.ideal_masks)
        a = self.arrays
        offs = a["window_offsets"]
        p_in = float((np.abs(t) ** 2).sum() * self.system.input_pitch**2)
        rows = a["tiles"][a["channel_tile"], 0][:, None] + offs[None, :]
        cols = a["tiles"][a["channel_tile"], 1][:, None] + offs[None, :]
        fr = a["minus_frame" if minus else "channel_frame"]
        er = real[:, fr[:, None, None], rows[:, :, None], cols[:, None, :]]
        ei = ideal[:, fr[:, None, None], rows[:, :, None], cols[:, None, :]]
        return er, ei, p_in

    def quality(self, images: Any) -> dict[str, Any]:
        """Per optical channel: fidelity (normalised overlap of the realised camera field with
        the ideal-mask field over the readout window) and efficiency (power in the window /
        input power), for ``images`` (B, C_in, n, n)."""
        er, ei, p_in = self.channel_fields(images)
        num = np.abs(np.sum(np.conj(ei) * er, axis=(0, 2, 3))) ** 2
        den = np.sum(np.abs(er) ** 2, axis=(0, 2, 3)) * np.sum(np.abs(ei) ** 2, axis=(0, 2, 3))
        fid = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
        power = self.system.intensity(er).sum(axis=(0, 2, 3))
        eff = power / max(p_in, 1e-300)
        return {
            "fidelity": fid.tolist(),
            "efficiency": eff.tolist(),
            "mean_fidelity": float(np.mean(fid)),
            "total_efficiency": float(np.sum(eff)),
        }


def _iris_gains(
    realised: np.ndarray, ideal: np.ndarray, system: FourFSystem
) -> tuple[complex, np.ndarray]:
    """Gains of a binary encoding read behind its iris: (the stack's, each frame's magnitude
    relative to it (F,)).

    Each frame's pattern is scaled on its own (:func:`fouroptics.compiler.binary.binary_pattern`),
    so each frame has its own least-squares factor; the gap light (unmodulated, it lands in the
    zero order outside the iris) is left out of both masks' effective transmissions.
    """
    ff = system.fourier_slm.fill_factor
    eff_r = pixels.effective_transmission(realised, ff, 0.0)
    eff_i = pixels.effective_transmission(ideal, ff, 0.0)
    num = np.sum(np.conj(eff_i) * eff_r, axis=(-2, -1))
    den = np.sum(np.abs(eff_i) ** 2, axis=(-2, -1))
    gain = complex(num.sum() / den.sum()) if den.sum() > 0 else 1.0
    per = np.abs(num) / np.where(den > 0, den, 1.0)
    return gain, per / max(abs(gain), 1e-300)


def _projected_gain(realised: np.ndarray, ideal: np.ndarray, system: FourFSystem) -> complex:
    """Least-squares factor between the realised and the ideal effective transmissions.

    The ideal effective transmission is the wanted multiplier itself; what an encoding adds
    (bias, conjugate, checkerboard error) sends its light away from the tiles and is nearly
    orthogonal to it (Parseval), so the projection is the gain the readout sees. Projected per
    frame (a refined phase encoding leaves each frame its own phase, which the camera's
    intensities do not see); the magnitudes are averaged with the frames' weights, the phase
    kept when all frames share it.
    """
    g = system.fourier_slm
    eff_r = pixels.effective_transmission(realised, g.fill_factor, g.gap_transmission)
    eff_i = pixels.effective_transmission(ideal, g.fill_factor, g.gap_transmission)
    axes = tuple(range(1, eff_i.ndim))
    num = np.sum(np.conj(eff_i) * eff_r, axis=axes)
    den = float(np.sum(np.abs(eff_i) ** 2))
    if den <= 0:
        return 1.0
    total = np.sum(num)
    magnitude = float(np.sum(np.abs(num))) / den
    return complex(total / abs(total) * magnitude) if abs(total) > 0 else complex(magnitude)


__all__ = ["FORMAT", "VERSION", "MaskBundle", "SLMModel"]
