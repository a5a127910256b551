"""Synthesis of the Fourier-plane multipliers of each frame (see :mod:`.geometry`).

Each optical channel o gets, for every source block i (input channel, or the reference block of
the ``ideal`` detection), the term ``T_oi(nu) ramp(S_oi)``: the B-spline-smoothed kernel aimed by
a phase ramp from the block's anchor pixel onto o's camera tile. Terms of the channels sharing a
frame add up; for ``ideal`` every group of channels is shown twice, with the reference at +R and
-R.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fouroptics.compiler import geometry as geo
from fouroptics.compiler.fourier_frame import FourierFrame
from fouroptics.compiler.layout import Placement
from fouroptics.optics import FourFSystem, band_window, pixels


@dataclass(frozen=True)
class Frames:
    """Wanted effective transmissions (F, H_F, W_F) and where each channel went.

    Attributes:
        targets: complex128 multipliers, before scaling and device compensation.
        channel_frame, channel_tile: (C_opt,) frame and tile of each optical channel (the +R
            frame for ``ideal``).
        minus_frame: (C_opt,) the -R frame (``ideal``), else -1.
        reference: R, model units (0 unless ``ideal``).
        t_anchor: image-pixel position of the anchor pixel each ramp aims from.
        tile_shifts: (T, n_blocks, 2) camera-plane shift (m) each tile's term gives each source
            block: where its light lands (:mod:`fouroptics.compiler.multiplex` labels the
            readout region by it).
    """

    targets: np.ndarray
    channel_frame: np.ndarray
    channel_tile: np.ndarray
    minus_frame: np.ndarray
    reference: float
    t_anchor: float
    tile_shifts: np.ndarray | None = None


def synthesise(
    program, system: FourFSystem, placement: Placement, s: int, order: int, groups: int,
    per_frame: int, frame: FourierFrame | None = None, leak: float = 0.0,
) -> Frames:  # fmt: skip
    """The frames' wanted multipliers for ``program`` laid out by ``placement``.

    Args:
        program: the :class:`~fouroptics.compiler.compile.Program`.
        system: the 4f system.
        placement: blocks and tiles.
        s: input-SLM pixels per image pixel.
        order: B-spline order q (blocks of q + 1 periods).
        groups: groups of channels (frames, or frame pairs for ``ideal``).
        per_frame: channels per group.
        frame: where the Fourier SLM really sits (measured centre and scale): the multipliers
            are evaluated at the spatial frequency each real pixel sees; None: the nominal
            frame.
        leak: the input SLM's darkest field amplitude relative to its brightest (its contrast
            floor, from the measured LUT), with an extra block (the last of ``placement``)
            shown fully on: each frame's tiles get that block's light with the coefficient
            that cancels the leak (:func:`leak_coefficient`). 0: no leak block.
    """
    n_per = program.period
    c_opt, c_in = program.kernels.shape[:2]
    p_in = system.input_pitch
    period_m = n_per * s * p_in
    block_px = (order + 1) * n_per * s
    ideal = program.detection == "ideal"
    n_frames = groups * (2 if ideal else 1)
    uy, ux = system.fourier_coords() if frame is None else frame.coords(system)
    lam_f1 = system.wavelength * system.f1
    ny, nx = uy / lam_f1, ux / lam_f1
    band = program.band
    env = geo.block_envelope(band, n_per, s)
    zone = system.wavelength * system.f1 / p_in
    sy, sx = (
        geo.synthesis_matrix(nu, period_m, band, order, env, n_per * s)
        * band_window(u, system.fourier_pitch, zone)[:, None]
        for nu, u in zip((ny, nx), (uy, ux), strict=True)
    )  # (H_F, J), (W_F, J)
    # ramps aim at a pixel centre of each block (on a matched grid the camera then samples
    # the output on the input pixels), at image position t_anchor
    anchor = (placement.block_start - np.array(system.input_shape) // 2 + block_px // 2) * p_in
    t_anchor = (block_px // 2) / s - (s - 1) / (2 * s)
    kidx = band % n_per
    kernels = program.kernels[:, :, kidx[:, None], kidx[None, :]]  # (C_opt, C_in, J, J)
    ref_value = 0.0
    dc = np.zeros((len(band), len(band)), dtype=np.complex128)
    dc[np.searchsorted(band, 0), np.searchsorted(band, 0)] = 1.0
    if ideal:
        ref_value = reference_level(program)
    dc_gain = program.kernels[:, :, 0, 0]  # (C_opt, C_in): each kernel's response to 1
    mag = system.magnification
    grid = system.fourier_slm

    def pixel_env(shift: np.ndarray) -> float:
        """Camera-plane envelope of the Fourier pixel aperture for light moved by ``shift``
        (integrated pixels only: with one node per pixel the mask acts at the centres)."""
        if system.pixel_quadrature == 1:
            return 1.0
        freq = np.asarray(shift) / (system.wavelength * system.f2)
        return float(np.prod(pixels.aperture_envelope(grid.aperture, freq)))

    channel_frame = np.zeros(c_opt, dtype=np.int64)
    channel_tile = np.zeros(c_opt, dtype=np.int64)
    minus_frame = np.full(c_opt, -1, dtype=np.int64)
    targets = np.zeros((n_frames, *system.fourier_shape), dtype=np.complex128)
    tile_shifts = np.zeros((per_frame, len(placement.block_start), 2))
    for g in range(groups):
        members = range(g * per_frame, min((g + 1) * per_frame, c_opt))
        signs = (1.0, -1.0) if ideal else (1.0,)
        for sgn_i, sign in enumerate(signs):
            f = g * len(signs) + sgn_i
            ay_cols, zx_rows = [], []
            for t, o in enumerate(members):
                if sgn_i == 0:
                    channel_frame[o], channel_tile[o] = f, t
                else:
                    minus_frame[o] = f
                yo = placement.tile_centre[t]
                sources = [(program_k, anchor[i]) for i, program_k in enumerate(kernels[o])]
                coef = sign * ref_value if ideal else 0.0
                if leak:
                    coef += leak_coefficient(
                        leak, complex(dc_gain[list(members)].sum()), len(members), sign * ref_value
                    )
                if ideal or leak:
                    sources.append((coef * dc, anchor[c_in]))
                for i, (kern, centre) in enumerate(sources):
                    shift = yo + mag * centre
                    tile_shifts[t, i] = shift
                    ry, rx = system.shift_ramp_factors(*shift, coords=(uy, ux))
                    env = pixel_env(shift)
                    ay_cols.append(ry[:, None] * sy / env)
                    zx_rows.append(kern @ (rx[:, None] * sx).T)
            targets[f] = np.concatenate(ay_cols, axis=1) @ np.concatenate(zx_rows, axis=0)

    return Frames(
        targets=targets,
        channel_frame=channel_frame,
        channel_tile=channel_tile,
        minus_frame=minus_frame,
        reference=float(ref_value),
        t_anchor=float(t_anchor),
        tile_shifts=tile_shifts,
    )


def leak_coefficient(leak: float, dc_sum: complex, tiles: int, reference: float) -> complex:
    """The leak block's coefficient that cancels an input SLM's contrast floor on every tile.

    An amplitude SLM cannot show less than ``a`` (the darkest level's field relative to the
    brightest); the run shows ``a + (1 - a) t`` in the image blocks, ``a`` everywhere else and 1
    in the leak block. The uniform ``a`` reaches every camera tile through the DC response of
    every term of the frame (``S``, the frame's image kernels' responses to a uniform input,
    ``dc_sum``, plus the reference terms ``c``), and the leak block adds ``(1 - a) c`` to its own
    tile. With every tile's coefficient ``c = R + k`` (``R`` the ``ideal`` detection's +-R, else
    0): ``(1 - a) k + a (S + n (R + k)) = 0``, so ``k = -a (S + n R) / (1 - a + a n)``. Exact for a
    flat beam (the leak light follows the beam; the run does not flatten it).

    Args:
        leak: ``a`` in [0, 1).
        dc_sum: ``S``, model units (the sum of the frame's kernels at zero frequency).
        tiles: ``n``, channels sharing the frame.
        reference: ``R`` of this frame (signed), model units.
    """
    return -leak * (dc_sum + tiles * reference) / (1.0 - leak + leak * tiles)


def reference_level(program) -> float:
    """Reference strength R (model units, per unit image value): the largest kernel value, so
    that the reference is comparable to the largest output and I+ - I- is measurable."""
    return float(max(np.abs(program.kernels).max(), 1e-30))
