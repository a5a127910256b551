"""Where things go: input blocks on the input SLM, output tiles on the camera, frames.

All positions are lattice points of spacing ``D = (q + 1) P`` in the input plane (``P`` the
image period on the input SLM, ``q`` the B-spline order, blocks of ``T = q + 1`` tiles). Every
term of a mask (output channel o, source block i') moves block i' onto o's camera tile; the
same term moves every other block i to ``Y_o - M (c_i - c_i')``; the unmodulated light images
each block at ``-M c_i``. A tile is kept only when no light but its own lands on its readout
window (modulo the camera-plane alias period ``lambda f2 / p_F`` of the Fourier SLM's sampling).

A phase-only input SLM lights its whole panel (``lit_panel``: a double-phase input's carrier
holds most of a digit's light, the pixels outside the blocks show a grating): the light no mask
deflects (the Fourier SLM's gap light, a stop's residual, the zero order) images the *whole
panel* at ``-M x``, and the light the carrier stop sends half the Fourier SLM's alias period
away images it there too. The windows are then kept clear of those panel images, off-axis (the
lab's way to separate a phase SLM's diffracted light from its undiffracted light); the tile
lattice is tried at eighths of its spacing, so a window fits the camera's margin beyond the
panel's image.

A binary (DMD) encoding adds an iris (:func:`fouroptics.compiler.encodings.iris_for`): the tile
lattice is then centred on it, and a tile is kept only when its *sight* (the mask positions
``Y_o + M c_i``, give or take the window and the block image, from which block i's light can
reach the window) lies inside the iris for every block: what the encoding puts elsewhere (zero
order, conjugate, higher orders, the superpixel grid's repeats) never reaches a window.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from fouroptics.errors import ConfigError
from fouroptics.optics import FourFSystem


@dataclass(frozen=True)
class Placement:
    """A frame layout (SI metres; camera positions are camera-plane coordinates).

    Attributes:
        block_start: (n_blocks, 2) first input-SLM pixel (row, col) of each block.
        block_centre: (n_blocks, 2) input-plane centre of each block, metres.
        tiles: (n_tiles, 2) camera pixel (row, col) at the centre of each readout window.
        tile_centre: (n_tiles, 2) camera-plane centre of each window, metres.
    """

    block_start: np.ndarray
    block_centre: np.ndarray
    tiles: np.ndarray
    tile_centre: np.ndarray

    def first(self, n: int) -> Placement:
        """The same blocks with only the first ``n`` tiles (nearest the axis first)."""
        return Placement(self.block_start, self.block_centre, self.tiles[:n], self.tile_centre[:n])


def _wrap(d: np.ndarray, period: float) -> np.ndarray:
    if not np.isfinite(period):
        return d
    return (d + period / 2) % period - period / 2


def _panel_images(
    system: FourFSystem, ghosts: list[tuple[tuple[float, float], bool]] | None
) -> np.ndarray:
    """(K, 2) camera-plane centres (m) of the whole input panel's unmodulated image and its
    "zero" ghosts: the panel's centre lies ``((N - 1) / 2 - N // 2) p_in`` from the axis
    (pixel ``N // 2``), its image at ``-M`` times that."""
    n = np.array(system.input_shape)
    centre = -system.magnification * ((n - 1) / 2 - n // 2) * system.input_pitch
    shifts = [np.asarray(s, float) for s, kind in ghosts or [] if kind == "zero"]
    return np.array([centre, *(centre + s for s in shifts)])


def _hits(
    a: np.ndarray, ha: float | np.ndarray, b: np.ndarray, hb: float | np.ndarray, alias: float
) -> bool:
    """Any of the boxes centred at ``a`` (K, 2) overlaps any centred at ``b`` (L, 2), of
    half-widths ``ha`` and ``hb`` (numbers, or (2,) per axis), modulo the alias period."""
    if len(a) == 0 or len(b) == 0:
        return False
    d = np.abs(_wrap(a[:, None, :] - b[None, :, :], alias))
    return bool(np.any(np.all(d < ha + hb, axis=-1)))


def _reach(tile_cands: list, chosen: list[int], cap: int) -> float:
    """Summed distance from the axis (m) of the first ``cap`` chosen tiles (the steepest
    ramps cost the Fourier pixels' envelope and the encoding's fidelity)."""
    return float(sum(np.hypot(*tile_cands[j][2]) for j in chosen[:cap]))


def place(
    system: FourFSystem,
    n_blocks: int,
    block_px: int,
    period_m: float,
    order: int,
    guard_m: float,
    ghosts: list[tuple[tuple[float, float], bool]] | None = None,
    zero_order: bool = True,
    iris: tuple[np.ndarray, np.ndarray] | None = None,
    max_tiles: int | None = None,
    lit_panel: bool = False,
) -> Placement:
    """Choose block and tile positions that maximise the tiles per frame.

    Args:
        system: the 4f system.
        n_blocks: input blocks (input channels, plus one for a reference).
        block_px: side of a block in input-SLM pixels (``T N s``).
        period_m: image period P on the input SLM, metres.
        order: B-spline order q (kernel support ``q P``).
        guard_m: extra clearance (input plane), metres.
        ghosts: copies of all light an encoding adds: (camera-plane shift, conjugate); a
            conjugate copy of the light aimed at ``w`` lands at ``-w - M (c_i + c_i')``.
        zero_order: keep tiles clear of the unmodulated image of each block.
        iris: (centre (2,), half-width (2,)), camera plane, metres: every window's sight must
            lie inside it (binary encodings), or None.
        max_tiles: tiles wanted at most (layouts holding more count as holding this many, so
            a single tile stays at the iris centre).
        lit_panel: the input SLM lights its whole panel (phase-only): keep every window clear
            of the panel's unmodulated image (and of its "zero" ghosts), give or take the
            guard; candidate tiles on the lattice shifted by eighths of its spacing, the
            layout nearest the axis among those holding the most tiles.

    Raises:
        ConfigError: when the blocks do not fit the input SLM, or no tile fits the camera.
    """
    p_in = system.input_pitch
    mag = system.magnification
    h_in, w_in = system.input_shape
    if block_px > min(h_in, w_in):
        raise ConfigError(
            f"input block of {block_px} px (image period x tiles) does not fit the input SLM "
            f"{system.input_shape}; use a smaller upsampling or a smaller image"
        )
    block_m = block_px * p_in
    spread = block_m + order * period_m  # extent of one block's light through one kernel
    # tile spacing (input plane); two camera pixels of slack for snapping tiles to pixels
    lattice = spread / 2 + period_m / 2 + guard_m + 2 * system.camera_pitch / mag
    alias = system.wavelength * system.f2 / system.fourier_pitch  # camera plane
    half_win = mag * period_m / 2
    half_spread = mag * spread / 2 + mag * guard_m
    half_block = mag * block_m / 2 + mag * guard_m
    if alias < 2 * (half_spread + half_win):
        raise ConfigError(
            f"the Fourier SLM's pitch {system.fourier_pitch * 1e6:.3g} um samples the spectrum "
            f"too coarsely: the camera-plane period lambda f2 / p_F = {alias * 1e3:.3f} mm is "
            f"shorter than one channel's light ({2 * (half_spread + half_win) * 1e3:.3f} mm); "
            "use a smaller image or upsampling"
        )

    # candidate block centres (input plane) on the lattice, blocks fully on the SLM
    def snap_block(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = np.round(np.array([h_in // 2, w_in // 2]) + c / p_in - (block_px - 1) / 2)
        start = start.astype(int)
        centre = (start - np.array([h_in // 2, w_in // 2]) + (block_px - 1) / 2) * p_in
        return start, centre

    reach = max(h_in, w_in) * p_in / lattice
    idx = range(-int(reach) - 1, int(reach) + 2)
    block_cands = []
    for a, b in itertools.product(idx, idx):
        start, centre = snap_block(np.array([a, b], float) * lattice)
        if start.min() >= 0 and start[0] + block_px <= h_in and start[1] + block_px <= w_in:
            block_cands.append((a * a + b * b, start, centre))
    block_cands.sort(key=lambda t: t[0])
    if len(block_cands) < n_blocks:
        raise ConfigError(
            f"{n_blocks} input blocks of {block_px} px (spaced {lattice / p_in:.0f} px) do not "
            f"fit the input SLM {system.input_shape}"
        )

    # candidate tile centres on the camera grid (camera plane): a lattice around the axis, or
    # around the iris centre (on the lattice and half a step off it, whichever holds more)
    gcam = system.camera
    hc, wc = gcam.shape
    cam_half = np.array([hc, wc]) * gcam.pitch / 2
    reach_c = max(hc, wc) * gcam.pitch / (mag * lattice)
    idx_c = range(-int(reach_c) - 1, int(reach_c) + 2)
    sight = half_win + half_block  # half-width of the mask positions a window sees
    if iris is not None:
        iris_c, iris_h = (np.asarray(v, dtype=np.float64) for v in iris)
        offsets = [iris_c + mag * lattice * np.array(o) for o in ((0, 0), (0.5, 0.5))]
    elif lit_panel:  # off-axis windows beside the panel's image: a finer choice of positions
        eighths = itertools.product(np.arange(8) / 8, repeat=2)
        offsets = [mag * lattice * np.array(o) for o in eighths]
    else:
        offsets = [np.zeros(2)]

    def tile_candidates(origin: np.ndarray) -> list:
        cands = []
        for a, b in itertools.product(idx_c, idx_c):
            y = origin - mag * np.array([a, b], float) * lattice
            px = np.round(y / gcam.pitch + np.array([hc // 2, wc // 2])).astype(int)
            yc = (px - np.array([hc // 2, wc // 2])) * gcam.pitch
            lo = yc - half_win - gcam.pitch
            hi = yc + half_win + gcam.pitch
            if np.all(lo >= -cam_half) and np.all(hi <= cam_half - gcam.pitch):
                key = yc - iris_c if iris is not None else np.array([a, b], float) * lattice
                cands.append((float(key @ key), px, yc))
        cands.sort(key=lambda t: t[0])
        return cands

    tile_sets = [tile_candidates(o) for o in offsets]
    if not any(tile_sets):
        raise ConfigError(
            f"no readout window of {2 * half_win * 1e3:.3f} mm fits the camera "
            f"({hc}x{wc} x {gcam.pitch * 1e6:.3g} um): use a smaller image or upsampling"
        )
    # the panel's image, the guard and two camera pixels (the readout filter's reach)
    half_panel = mag * (np.array([h_in, w_in]) * p_in / 2 + guard_m) + 2 * system.camera_pitch
    panel_refusal = ConfigError(
        "no camera tile is clear of the input panel's unmodulated image (a phase-only input "
        f"lights its whole panel, {2 * half_panel[0] * 1e3:.3f} mm on the camera with the "
        f"guard) and the other channels' light: a window of {2 * half_win * 1e3:.3f} mm must "
        f"fit between it and the camera's edge ({hc}x{wc} x {gcam.pitch * 1e6:.3g} um); use "
        "a smaller upsampling or image, a larger camera or a shorter f2"
    )
    if lit_panel:  # only the candidates clear of the panel's images (one test for all blocks)
        boxes = _panel_images(system, ghosts)
        tile_sets = [
            [t for t in cands if not _hits(t[2][None], half_win, boxes, half_panel, alias)]
            for cands in tile_sets
        ]
        if not any(tile_sets):
            raise panel_refusal

    def in_iris(w: np.ndarray, c: np.ndarray) -> bool:
        """Window ``w`` (2,) sees only mask positions inside the iris, for blocks ``c``."""
        if iris is None:
            return True
        pos = np.abs(_wrap(w[None, :] + mag * c - iris_c[None, :], alias))
        return bool(np.all(pos + sight <= iris_h[None, :] * (1 + 1e-12)))

    def tiles_for(blocks: list[np.ndarray], tile_cands: list) -> list[int]:
        c = np.array(blocks)
        unmod = -mag * c
        for shift, kind in ghosts or []:
            if kind == "zero":
                unmod = np.concatenate([unmod, -mag * c + np.asarray(shift)])
        pairs = [(s_, b_) for s_ in range(len(c)) for b_ in range(len(c))]
        offsets = np.array([-mag * (c[b_] - c[s_]) for s_, b_ in pairs])
        conj_offsets = np.array([-mag * (c[b_] + c[s_]) for s_, b_ in pairs])
        stray = np.array([o for (s_, b_), o in zip(pairs, offsets, strict=True) if s_ != b_])
        stray = stray.reshape(-1, 2)

        def lights(w: np.ndarray, own: bool) -> np.ndarray:
            """Centres of the light aimed at windows ``w`` (K, 2) (own term optional)."""
            parts = [(w[:, None, :] + stray[None]).reshape(-1, 2)]
            if own:
                parts.append(w)
            for shift, conj in ghosts or []:
                if conj == "zero":
                    continue
                base = (-w[:, None, :] + conj_offsets[None]) if conj else w[:, None, :] + offsets
                parts.append(base.reshape(-1, 2) + np.asarray(shift))
            return np.concatenate(parts)

        chosen: list[int] = []
        wins = np.zeros((0, 2))
        for j, (_, _, yc) in enumerate(tile_cands):
            w = yc[None, :]
            if not in_iris(yc, c):
                continue
            if (zero_order or len(unmod) > len(c)) and _hits(
                w, half_win, unmod if zero_order else unmod[len(c) :], half_block, alias
            ):
                continue
            if _hits(lights(w, own=False), half_spread, w, half_win, alias):
                continue
            if len(wins) and (
                _hits(lights(wins, own=True), half_spread, w, half_win, alias)
                or _hits(lights(w, own=True), half_spread, wins, half_win, alias)
            ):
                continue
            chosen.append(j)
            wins = np.concatenate([wins, w])
        return chosen

    best: tuple[int, list, list[int], list] | None = None
    cap = max_tiles or 1 << 30
    first = block_cands[0]
    others = block_cands[1:]
    combos = [()] if n_blocks == 1 else itertools.combinations(range(len(others)), n_blocks - 1)
    for k, combo in enumerate(combos):
        if k > 60:  # enough tried: candidates are sorted nearest first
            break
        blocks = [first, *[others[i] for i in combo]]
        centres = [b[2] for b in blocks]
        for tile_cands in tile_sets:
            chosen = tiles_for(centres, tile_cands)
            if best is None or min(len(chosen), cap) > min(len(best[2]), cap):
                best = (len(chosen), blocks, chosen, tile_cands)
            elif lit_panel and min(len(chosen), cap) == min(len(best[2]), cap) and chosen:
                if _reach(tile_cands, chosen, cap) < _reach(best[3], best[2], cap):
                    best = (len(chosen), blocks, chosen, tile_cands)
        if lit_panel and len(best[2]) >= cap:  # 64 lattices a combination: the first will do
            break
    assert best is not None
    _, blocks, chosen, tile_cands = best
    if not chosen:
        if iris is not None:
            raise ConfigError(
                f"no readout window fits the iris of the binary encoding: a window sees "
                f"{2 * sight * 1e3:.3f} mm of the camera plane (window + block image + guards) "
                f"from each of {n_blocks} block(s), the iris is {2 * iris_h[0] * 1e3:.3f} mm "
                f"wide; use fewer input channels, a smaller image or upsampling, or a longer f1"
            )
        if lit_panel:
            raise panel_refusal
        raise ConfigError(
            "no camera tile is clear of the other channels' light and the unmodulated light: "
            "the camera or the Fourier SLM's alias period is too small for this image size"
        )
    return Placement(
        block_start=np.array([b[1] for b in blocks]),
        block_centre=np.array([b[2] for b in blocks]),
        tiles=np.array([tile_cands[j][1] for j in chosen]),
        tile_centre=np.array([tile_cands[j][2] for j in chosen]),
    )
