"""Precomputed operators of a 4f system and their application to numpy arrays or torch tensors.

The field at the camera is computed as a sum over quadrature nodes of the Fourier SLM pixel
aperture (one node, the pixel centre, by default):

    out = sum_n post_n * T2( M * T1( pre_n * field ) )

where T1, T2 are plain FFTs (when a lens maps one grid exactly onto the other's DFT grid) or
matrix Fourier transforms onto the real pixel grids, ``M`` is the Fourier-plane multiplier (mask
x pupil x lens constants x DFT phases) and ``pre_n``/``post_n`` hold DFT phases and the node's
linear phase ramps. All operators are built once per (system, dtype) in complex128 and cast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fouroptics.optics import fft as _fft
from fouroptics.optics.grids import PixelGrid
from fouroptics.optics.pixels import quadrature_terms
from fouroptics.optics.transforms import (
    centred_dft_phases,
    gauss_legendre_nodes,
    is_dft_pair,
    mft_matrix,
)
from fouroptics.optics.transforms import (
    separable_transform as _sep,
)


@dataclass
class Node:
    """One quadrature node: input-plane and camera-plane multipliers (2-D or None)."""

    pre: np.ndarray | None
    post: np.ndarray | None


@dataclass
class Operators:
    """Everything :func:`apply_numpy` / :func:`apply_torch` need, for one dtype."""

    dtype: np.dtype
    t1_fft: bool
    t2_fft: bool
    mid: np.ndarray  # (H_F, W_F): lens constants, DFT phases between the transforms, pupil
    aperture_nodes: list[Node]  # nodes over the active pixel aperture
    cell_nodes: list[Node]  # nodes over the whole pixel cell (gap light); [] when unused
    aperture_area: float  # m^2
    cell_area: float  # m^2
    a1y: np.ndarray | None = None  # (H_F, H_in)
    a1xt: np.ndarray | None = None  # (W_in, W_F)
    a2y: np.ndarray | None = None  # (H_cam, H_F)
    a2xt: np.ndarray | None = None  # (W_F, W_cam)
    fp_pre: np.ndarray | None = None  # fourier_plane(): input multiplier
    fp_post: np.ndarray | None = None  # fourier_plane(): Fourier-plane multiplier
    torch_cache: dict = field(default_factory=dict)


def build_operators(
    wavelength: float,
    f1: float,
    f2: float,
    gin: PixelGrid,
    gf: PixelGrid,
    gcam: PixelGrid,
    *,
    pupil: np.ndarray | None,
    envelope: np.ndarray | None,
    quadrature: int,
    dtype: np.dtype,
) -> Operators:
    """Precompute the transforms of a 4f system for complex ``dtype`` (plain data in).

    Args:
        wavelength, f1, f2: metres.
        gin, gf, gcam: input SLM, Fourier SLM and camera grids.
        pupil: (H_F, W_F) lens stop in the Fourier plane, or None.
        envelope: (H_F, W_F) input-pixel envelope on the Fourier grid, or None.
        quadrature: Gauss-Legendre nodes per axis over a Fourier pixel (1: pixel centres).
        dtype: complex64 or complex128.
    """
    lam = wavelength
    t1_fft = all(
        is_dft_pair(gin.shape[a], gin.pitch, gf.shape[a], gf.pitch, lam * f1) for a in (0, 1)
    )
    t2_fft = all(
        is_dft_pair(gf.shape[a], gf.pitch, gcam.shape[a], gcam.pitch, lam * f2) for a in (0, 1)
    )
    s1 = gin.pitch**2 / (1j * lam * f1)
    s2 = 1.0 / (1j * lam * f2)

    pre1 = post1 = pre2 = post2 = None
    if t1_fft:
        py, qy, cy = centred_dft_phases(gin.shape[0])
        px, qx, cx = centred_dft_phases(gin.shape[1])
        pre1, post1 = np.outer(py, px), np.outer(qy, qx) * (cy * cx)
    if t2_fft:
        py, qy, cy = centred_dft_phases(gf.shape[0])
        px, qx, cx = centred_dft_phases(gf.shape[1])
        pre2, post2 = np.outer(py, px), np.outer(qy, qx) * (cy * cx)

    mid = np.full(gf.shape, s1 * s2, dtype=np.complex128)
    if post1 is not None:
        mid *= post1
    if pre2 is not None:
        mid *= pre2
    if pupil is not None:
        mid *= pupil
    if envelope is not None:  # evaluated at the pixel centres (also for quadrature nodes)
        mid *= envelope

    def nodes(width: float) -> list[Node]:
        if quadrature == 1:
            return [Node(_cast(pre1, dtype), _cast(post2, dtype))]
        v, w = gauss_legendre_nodes(quadrature, width)
        out = []
        xin_y, xin_x = gin.coords(0), gin.coords(1)
        ycam_y, ycam_x = gcam.coords(0), gcam.coords(1)
        for vy, wy in zip(v, w, strict=True):
            for vx, wx in zip(v, w, strict=True):
                ramp_in = np.outer(
                    np.exp(-2j * np.pi * xin_y * vy / (lam * f1)),
                    np.exp(-2j * np.pi * xin_x * vx / (lam * f1)),
                )
                ramp_out = np.outer(
                    np.exp(-2j * np.pi * ycam_y * vy / (lam * f2)),
                    np.exp(-2j * np.pi * ycam_x * vx / (lam * f2)),
                ) * (wy * wx)
                if pre1 is not None:
                    ramp_in *= pre1
                if post2 is not None:
                    ramp_out *= post2
                out.append(Node(ramp_in.astype(dtype), ramp_out.astype(dtype)))
        return out

    ff, gap = gf.fill_factor, gf.gap_transmission
    aperture_nodes = nodes(gf.aperture)
    uses_cell = ff < 1.0 and gap != 0 and quadrature > 1
    cell_nodes = nodes(gf.pitch) if uses_cell else []

    ops = Operators(
        dtype=dtype,
        t1_fft=t1_fft,
        t2_fft=t2_fft,
        mid=mid.astype(dtype),
        aperture_nodes=aperture_nodes,
        cell_nodes=cell_nodes,
        aperture_area=gf.aperture**2,
        cell_area=gf.pitch**2,
    )
    if not t1_fft:
        ops.a1y = mft_matrix(gin.coords(0), gf.coords(0), lam * f1).astype(dtype)
        ops.a1xt = np.ascontiguousarray(mft_matrix(gin.coords(1), gf.coords(1), lam * f1).T).astype(
            dtype
        )
        fp_post = np.full(gf.shape, s1, dtype=np.complex128)
    else:
        ops.fp_pre = pre1.astype(dtype)
        fp_post = post1 * s1
    if envelope is not None:
        fp_post = fp_post * envelope
    ops.fp_post = fp_post.astype(dtype)
    if not t2_fft:
        ops.a2y = mft_matrix(gf.coords(0), gcam.coords(0), lam * f2).astype(dtype)
        ops.a2xt = np.ascontiguousarray(
            mft_matrix(gf.coords(1), gcam.coords(1), lam * f2).T
        ).astype(dtype)
    return ops


def fourier_mask_terms(ops: Operators, mask: Any, grid: PixelGrid, quadrature: int) -> list:
    """Split a displayed mask into (nodes, Fourier multiplier) terms (numpy or torch mask);
    the pixel physics lives in :func:`fouroptics.optics.pixels.quadrature_terms`."""
    terms = quadrature_terms(mask, grid.fill_factor, grid.gap_transmission, grid.pitch, quadrature)
    return [
        (ops.aperture_nodes if kind == "aperture" else ops.cell_nodes, term) for kind, term in terms
    ]


def _cast(x: np.ndarray | None, dtype: np.dtype) -> np.ndarray | None:
    return None if x is None else x.astype(dtype)


# ----------------------------------------------------------------------------- numpy path


def apply_numpy(
    ops: Operators,
    x: np.ndarray,
    terms: list,
    backend: str,
    many: bool = False,
    window: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Camera-plane field for input ``x`` (..., H_in, W_in) (numpy fast path).

    Terms broadcast against ``x`` (numpy rules over the leading dims); with ``many`` each
    term holds C masks (C, H_F, W_F) and the result is (..., C, H_cam, W_cam), the first
    lens transform being computed once per image. ``window``: (rows, cols) camera pixel
    indices; the field there only, (..., R, K) (the second transform's matrix rows when it is
    a matrix Fourier transform, so a few windows cost a fraction of a frame).
    """
    out = None
    a2y, a2xt, cut = _window_ops(ops.a2y, ops.a2xt, window, ops.t2_fft)
    for nodes, term in terms:
        m = (ops.mid * term).astype(ops.dtype, copy=False)  # the system's precision governs
        for node in nodes:
            chain = ops.t1_fft and ops.t2_fft and m.ndim == 2 and not many
            if chain:  # full frames through the FFT chains, then the window
                if backend == "pyfftw":
                    y = _fft.chain_batched(x, node.pre, m, node.post)
                else:
                    y = _fft.chain_inplace(x, node.pre, m, node.post, backend=backend)
                y = y if window is None else y[(..., *cut)]
            else:
                post = node.post if node.post is None or window is None else node.post[cut]
                y = x * node.pre if node.pre is not None else x.astype(ops.dtype)
                y = _fft.fft2(y, backend) if ops.t1_fft else _sep(y, ops.a1y, ops.a1xt)
                y = y.astype(ops.dtype, copy=False)
                y = y[..., None, :, :] * m if many else y * m
                if ops.t2_fft:
                    y = _fft.fft2(y, backend)
                    y = y if window is None else y[(..., *cut)]
                else:
                    y = _sep(y, a2y, a2xt)
                y = y.astype(ops.dtype, copy=False)
                if post is not None:
                    y *= post
            if out is None:
                out = y
            else:
                out = out + y
    return out


def _window_ops(a2y, a2xt, window, t2_fft: bool):
    """The second transform's matrices restricted to the camera ``window`` (rows, cols), and
    the index pair that cuts a (H_cam, W_cam) array to it (``np.ix_``)."""
    if window is None:
        return a2y, a2xt, None
    rows, cols = (np.asarray(w, dtype=np.intp) for w in window)
    cut = np.ix_(rows, cols)
    if t2_fft:
        return a2y, a2xt, cut
    return a2y[rows], np.ascontiguousarray(a2xt[:, cols]), cut


def fourier_numpy(ops: Operators, x: np.ndarray, backend: str) -> np.ndarray:
    """Field on the Fourier SLM grid (numpy)."""
    if ops.t1_fft:
        y = _fft.fft2(x * ops.fp_pre, backend)
    else:
        y = _sep(x.astype(ops.dtype, copy=False), ops.a1y, ops.a1xt)
    y *= ops.fp_post
    return y


# ----------------------------------------------------------------------------- torch path


def _torch_ops(ops: Operators, device: Any) -> dict:
    """The operators as torch tensors on ``device`` (cached)."""
    import torch

    key = str(device)
    cached = ops.torch_cache.get(key)
    if cached is not None:
        return cached

    def t(a: np.ndarray | None):
        return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(device)

    cached = {
        name: t(getattr(ops, name))
        for name in ("mid", "a1y", "a1xt", "a2y", "a2xt", "fp_pre", "fp_post")
    }
    cached["aperture_nodes"] = [(t(n.pre), t(n.post)) for n in ops.aperture_nodes]
    cached["cell_nodes"] = [(t(n.pre), t(n.post)) for n in ops.cell_nodes]
    ops.torch_cache[key] = cached
    return cached


def apply_torch(ops: Operators, x, terms: list, many: bool = False, window=None):
    """Camera-plane field for a torch tensor ``x`` (..., H_in, W_in); differentiable
    (``many``, ``window``: see :func:`apply_numpy`)."""
    import torch

    tops = _torch_ops(ops, x.device)
    cdtype = tops["mid"].dtype
    x = x.to(cdtype)
    a2y, a2xt, cut = tops["a2y"], tops["a2xt"], None
    if window is not None:
        rows, cols = (
            torch.as_tensor(np.asarray(w, dtype=np.int64), device=x.device) for w in window
        )
        cut = (rows[:, None], cols[None, :])
        if not ops.t2_fft:
            a2y, a2xt = a2y[rows], a2xt[:, cols]
    out = None
    for kind, term in terms:
        nodes = tops["aperture_nodes"] if kind is ops.aperture_nodes else tops["cell_nodes"]
        m = tops["mid"] * term
        if m.dtype != cdtype:
            m = m.to(cdtype)
        for pre, post in nodes:
            y = x * pre if pre is not None else x
            y = torch.fft.fft2(y) if ops.t1_fft else _sep(y, tops["a1y"], tops["a1xt"])
            y = y.unsqueeze(-3) * m if many else y * m
            if ops.t2_fft:
                y = torch.fft.fft2(y)
                y = y if cut is None else y[(..., *cut)]
            else:
                y = _sep(y, a2y, a2xt)
            if post is not None:
                y = y * (post if cut is None else post[cut])
            out = y if out is None else out + y
    return out


def fourier_torch(ops: Operators, x):
    """Field on the Fourier SLM grid (torch)."""
    import torch

    tops = _torch_ops(ops, x.device)
    x = x.to(tops["mid"].dtype)
    if ops.t1_fft:
        y = torch.fft.fft2(x * tops["fp_pre"])
    else:
        y = _sep(x, tops["a1y"], tops["a1xt"])
    return y * tops["fp_post"]
