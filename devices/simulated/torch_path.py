"""The simulated bench's noiseless camera powers in torch: the batched forward of
:meth:`devices.simulated.optics.TrueOptics.camera_powers` (its ``exact=False`` fast path) on a
torch ``device`` (``cpu``, ``cuda``), from the same truth arrays the numpy path uses.

What runs where, per chunk of images:

* the input SLM's realised fields (true LUT across the panel, crosstalk in its domain, phase
  coupling, gap mix) times the illumination (beam, beam offset, decentring tilt): numpy, from
  :meth:`TrueOptics.input_fields` (a table lookup or the SLM's crosstalk on (B, H_in, W_in):
  not the hot path), copied to the device;
* the lens transforms, the realised Fourier masks (true LUT, fringing, stop and aberration
  folded in by :meth:`TrueOptics.realised_masks`), the pixel aperture and gap light, the true
  focal lengths: the bench's own :attr:`TrueOptics.camera_system` (a
  :class:`fouroptics.optics.FourFSystem` of the true values) called on tensors, batched FFTs /
  matrix Fourier transforms in complex64;
* the misaligned camera: the bench's own sparse interpolation map
  (:attr:`TrueOptics.misalignment`, Kaiser-Bessel taps on the fine grid) as a torch sparse
  matrix applied to the real and imaginary parts; intensity and the splitter's share.

The powers come back as numpy float32 with the numpy path's shapes; the bench adds stray
light, and the batched capture (:mod:`devices.simulated.batched`) the flicker's weights, the
laser's RIN and the camera (EMVA 1288 mean DN and its noise, from the per-image numpy streams
of :mod:`devices.run.streams`): the noise of an image is the numpy path's, drawn on the torch
path's mean. Memory: chunks of about 400 MB of complex64 fields, as the numpy path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

#: bytes of complex64 fields per chunk (the numpy path's bound)
CHUNK_BYTES = 4e8


def check_device(device: str) -> Any:
    """The torch device for ``device`` (``cpu``, ``cuda``, ``cuda:K``).

    Raises:
        ValueError: one line naming the device when torch cannot use it.
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device}: allowed: cpu, cuda, cuda:K")
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ValueError(f"device {device}: this machine has no CUDA device")
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"device {device}: this machine has {count} CUDA device(s)")
    return dev


class _State:
    """Tensors of one TrueOptics on one device: masks (held by identity), sparse maps."""

    def __init__(self) -> None:
        self.masks: tuple[Any, Any] | None = None
        self.maps: dict[Any, Any] = {}


def _state(optics: Any, device: Any) -> _State:
    return optics.torch_cache.setdefault(str(device), _State())


def _masks(state: _State, masks: np.ndarray, device: Any) -> Any:
    import torch

    if state.masks is None or state.masks[0] is not masks:
        t = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.complex64)).to(device)
        state.masks = (masks, t)
    return state.masks[1]


def _sparse(m: sparse.spmatrix, device: Any) -> Any:
    """A real scipy sparse (P, S) matrix as a float32 torch COO tensor on ``device``."""
    import torch

    m = sparse.coo_matrix(m, dtype=np.float32)
    idx = torch.from_numpy(np.vstack([m.row, m.col]).astype(np.int64))
    t = torch.sparse_coo_tensor(idx, torch.from_numpy(m.data), size=m.shape, check_invariants=False)
    return t.coalesce().to(device)


def _apply_map(m: Any, e: Any) -> Any:
    """A real sparse (P, S) map applied to complex fields ``e`` (N, S) -> (N, P): the real and
    imaginary parts as two real columns each."""
    import torch

    cols = torch.view_as_real(e.to(torch.complex64)).permute(1, 0, 2).reshape(e.shape[1], -1)
    out = torch.sparse.mm(m, cols).reshape(m.shape[0], e.shape[0], 2).permute(1, 0, 2).contiguous()
    return torch.view_as_complex(out)


def _power(optics: Any, e: Any) -> Any:
    """Power (..., P) float32 of camera fields: intensity and the splitter's share."""
    p = optics.true_system.intensity(e).float()
    keep = 1.0 - optics.splitter_ratio
    return p * keep if keep != 1.0 else p


def _full_frames(optics: Any, state: _State, e: Any) -> Any:
    """Power (..., H, W) of fields on :attr:`camera_system`'s grid (fine when misaligned)."""
    if optics.misalignment is not None:
        if "full" not in state.maps:
            state.maps["full"] = _sparse(optics.misalignment, e.device)
        flat = e.reshape(-1, e.shape[-2] * e.shape[-1])
        e = _apply_map(state.maps["full"], flat).reshape(*e.shape[:-2], *optics.camera_shape)
    return _power(optics, e)


def camera_powers(
    optics: Any,
    levels: np.ndarray,
    masks: np.ndarray,
    power_scale: float = 1.0,
    *,
    device: Any = "cpu",
    pixels: np.ndarray | None = None,
    first: bool = True,
    exact: bool = False,
    chunk: int = 32,
) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
    """Noiseless camera power W, float32, for input levels (B, H_in, W_in) under realised
    Fourier masks (F, H_F, W_F): (B, F, H_cam, W_cam), or with flat camera ``pixels``
    ``((B, F, P), the first image's full frames (F, H, W) or None)``; the numbers of
    ``optics.camera_powers`` computed in torch on ``device``.

    Args:
        optics: the bench's :class:`devices.simulated.optics.TrueOptics`.
        power_scale: laser power factor.
        device: torch device (``cpu``, ``cuda``, ``cuda:K``).
        exact: the input field's product in complex128, then complex64 (as the numpy path's
            ``exact``); the rest is complex64 either way.
        chunk: most images per forward call (fewer to bound memory at ~400 MB).
    """
    import torch

    dev = torch.device(device)
    state = _state(optics, dev)
    sys_ = optics.camera_system
    shape = tuple(optics.camera_shape)
    n_f = len(masks)
    n_px = int(np.prod(sys_.fourier_shape))
    if pixels is None:
        n_px = max(n_px, int(np.prod(sys_.camera_shape)))
    chunk = max(1, min(chunk, int(CHUNK_BYTES // (n_f * n_px * 8))))
    tmasks = _masks(state, masks, dev)
    light = optics.illumination() * np.sqrt(power_scale)
    real = not np.iscomplexobj(light) and not optics.input_slm.complex_field
    if not exact:
        light = light.astype(np.float32 if real else np.complex64)
    if pixels is not None:
        pixels = np.asarray(pixels)
        src, tap, window, at = optics.gather_plan(pixels)
        key = ("tap", pixels.tobytes())
        if tap is not None and key not in state.maps:
            state.maps[key] = _sparse(tap, dev)
        ttap = None if tap is None else state.maps[key]
        tat = torch.as_tensor(np.asarray(at, dtype=np.int64), device=dev)
        out = np.empty((len(levels), n_f, len(pixels)), dtype=np.float32)
        frame0 = np.zeros((n_f, *shape), dtype=np.float32) if first else None
    else:
        out = np.empty((len(levels), n_f, *shape), dtype=np.float32)
    with torch.no_grad():
        for i in range(0, len(levels), chunk):
            fields = optics.input_fields(levels[i : i + chunk], light, exact, real)
            x = torch.from_numpy(np.ascontiguousarray(fields)).to(dev)
            if not torch.is_complex(x):
                x = x.to(torch.complex64)
            if pixels is None:
                p = _full_frames(optics, state, sys_.forward(x, masks=tmasks))
                out[i : i + chunk] = p.cpu().numpy()
                continue
            if i == 0 and frame0 is not None:
                e0 = sys_.forward(x[:1], masks=tmasks)[0]
                frame0[:] = _full_frames(optics, state, e0).cpu().numpy()
            e = sys_.forward(x, masks=tmasks, window=window)  # (b, F, R, K)
            es = e.reshape(*e.shape[:2], -1)[..., tat]
            if ttap is not None:
                flat = _apply_map(ttap, es.reshape(-1, es.shape[-1]))
                es = flat.reshape(*e.shape[:2], ttap.shape[0])
            out[i : i + chunk] = _power(optics, es).cpu().numpy()
    return out if pixels is None else (out, frame0)
