"""The SimulatedBench's batched capture of a MaskBundle: many images per FFT call.

The same numbers as the frame-by-frame capture through the device interface
(:meth:`devices.interface.bench.Bench.capture_bundle`), from the bench's public forward model
(:meth:`devices.simulated.bench.SimulatedBench.camera_powers` on its realised masks) and the
camera's public EMVA 1288 methods (``mean_dn``, ``draw``, ``expose``).

Noise: by default the camera's own generator, drawn capture by capture in the order the
frame-by-frame path captures (bundle frame outer, image inner), so a seeded camera gives that
path's frames; ``rng`` draws the whole batch at once from another stream (the fast path, and
sweeps over noise seeds); ``noise=False`` returns the mean DN (fixed pattern, full-well and ADC
clipping kept; no shot or read noise, no rounding).

Speed (the forward and the noise draws dominate): the readout's pixels only are evaluated
(``pixels``: intensity, misalignment taps, noise), and only the first image's frames in full
(the example frame). The numbers are those of the full frames (tests hold them equal).

Time: the batch is evaluated at the bench's clock when it starts (a batch of a few hundred
images lasts seconds, short against any drift), then the clock advances by the frames it
stands for (:meth:`devices.simulated.bench.SimulatedBench.advance_batch`).

Temporal noise as the frame-by-frame path draws it: the Fourier SLM's flicker over each
exposure window (:mod:`devices.simulated.flicker`: the powers under the masks at ``eps = 0,
+delta, -delta``, weighted by the window's averages at the times the frame-by-frame capture
would start each exposure), the laser's RIN, and the stray light inside the bench's forward
model. ``noise=False`` has no flicker.

``complex`` bundles (no drive levels) are shown as their complex masks: an ideal complex
modulator, which only a simulation has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from devices.simulated.emva import photons_from_power
from devices.simulated.flicker import combine


def capture(
    bench: Any,
    bundle: Any,
    levels: np.ndarray,
    n_average: int = 1,
    *,
    noise: bool = True,
    rng: np.random.Generator | None = None,
    power_scale: float = 1.0,
    adc_bits: int | None = None,
    windows: np.ndarray | None = None,
    pixels: np.ndarray | None = None,
    first: bool = True,
) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
    """DN frames (B, F, H_cam, W_cam) float64 (the mean of ``n_average``) of input levels
    (B, H_in, W_in) under each of the bundle's frames, as the frame-by-frame capture gives them.

    Args:
        noise: False for the mean DN (no temporal noise, no rounding).
        rng: draw the batch's noise at once from this generator (default: the camera's,
            capture by capture, in the frame-by-frame order).
        power_scale: laser power factor (photon sweeps beyond the camera's exposure limits).
        adc_bits: keep only this many of the camera's ADC bits (bit-depth sweeps).
        windows: (F, H, W) bool, the pixels the readout uses. With ``rng`` (the fast path),
            light and noise are evaluated there only; the other pixels hold the dark level,
            except in the first image's frames, which are complete (mean DN outside the
            windows): the readout never reads them.
        pixels: flat camera pixel indices (in a frame): return ``(DN there (B, F, P), the
            first image's frames (F, H, W) or None)`` instead, the same numbers as the full
            frames there; without noise or with ``rng`` only those pixels are evaluated.
        first: with ``pixels``, return the first image's frames too.
    """
    masks = bench.realised_masks(bundle)
    flick = _flicker(bench, bundle, len(levels), len(masks), n_average) if noise else None
    if flick is not None:
        masks = _Flickered(masks, *flick)
    if pixels is None:
        dn = _frames(bench, masks, levels, n_average, noise, rng, power_scale, windows)
        bench.advance_batch(len(levels), len(masks), n_average)
        return _adc(bench.camera, dn, adc_bits)
    vals, frame0 = _pixel_frames(
        bench, masks, levels, n_average, noise, rng, power_scale, windows, np.asarray(pixels),
        first,
    )  # fmt: skip
    bench.advance_batch(len(levels), len(masks), n_average)
    cam = bench.camera
    return _adc(cam, vals, adc_bits), (_adc(cam, frame0, adc_bits) if first else None)


class _Flickered:
    """A bundle's realised masks (F, ...) with the flicker's masks (3 F, ...) and the weights
    (3, B, F) of each exposure (:func:`_forward` combines them)."""

    def __init__(self, masks: np.ndarray, masks3: np.ndarray, weights: np.ndarray) -> None:
        self.masks, self.masks3, self.weights = masks, masks3, weights

    def __len__(self) -> int:
        return len(self.masks)


def _flicker(bench: Any, bundle: Any, n_images: int, n_frames: int, n_average: int):
    """``(masks3, weights)`` of the bench's flicker for this capture, or None."""
    fl = getattr(bench, "flicker", None)
    if fl is None or not bench.laser_on:
        return None
    starts = bench.exposure_starts(n_images, n_frames, n_average)
    return bench.flicker_masks(bundle), fl.weights(*fl.window(starts, bench.camera.exposure))


def _forward(bench: Any, masks: Any, levels: np.ndarray, **kw: Any):
    """:meth:`camera_powers` of the bench, with the flicker of :class:`_Flickered` masks
    integrated over each exposure (as the frame-by-frame capture does)."""
    if not isinstance(masks, _Flickered):
        return bench.camera_powers(levels, masks, **kw)
    f = len(masks)
    w = masks.weights[:, : len(levels)]  # (3, B, F)
    out = bench.camera_powers(levels, masks.masks3, **kw)
    if kw.get("pixels") is None:
        pw = np.moveaxis(out.reshape(len(levels), 3, f, *out.shape[2:]), 1, 0)
        return combine(pw, w[..., None, None])
    pw, frame0 = out
    pw = np.moveaxis(pw.reshape(len(levels), 3, f, -1), 1, 0)
    if frame0 is not None:
        frame0 = combine(frame0.reshape(3, f, *frame0.shape[1:]), w[:, 0, :, None, None])
    return combine(pw, w[..., None]), frame0


def _adc(cam: Any, dn: np.ndarray, adc_bits: int | None) -> np.ndarray:
    """Keep the top ``adc_bits`` of the camera's ADC bits (None: all)."""
    if adc_bits is not None and adc_bits < cam.bit_depth:
        step = float(2 ** (cam.bit_depth - adc_bits))
        dn = np.floor(dn / step) * step
    return dn


def _frames(bench, masks, levels, n_average, noise, rng, power_scale, windows) -> np.ndarray:
    cam = bench.camera
    if noise and rng is not None and windows is not None:  # noise where the readout looks
        h_w = cam.shape[0] * cam.shape[1]
        vals, frame0, used = _noisy_window(
            bench, masks, levels, n_average, rng, power_scale, windows, True
        )
        out = np.empty((*vals.shape[:2], h_w), dtype=np.float32)
        out[:] = cam.dark_dn().ravel()
        out[:, :, used] = vals
        out[0] = frame0.reshape(len(frame0), -1)
        return out.reshape(*vals.shape[:2], *cam.shape)
    power = _forward(bench, masks, levels, power_scale=power_scale, exact=rng is None)
    if not noise:
        return cam.mean_dn(power).astype(np.float64)
    power = _rin(bench, power, rng)
    photons = photons_from_power(power, cam.exposure, cam.wavelength)
    if rng is not None:
        b, f = photons.shape[:2]
        flat = np.repeat(photons.reshape(b * f, *cam.shape), n_average, axis=0)
        frames = cam.draw(flat, rng)
        return frames.reshape(b, f, n_average, *cam.shape).mean(axis=2)
    out = np.empty(photons.shape, dtype=np.float64)
    for fi in range(photons.shape[1]):  # the frame-by-frame path's capture order
        for bi in range(photons.shape[0]):
            out[bi, fi] = cam.expose(photons[bi, fi], n_average).mean(axis=0)
    return out


def _noisy_window(bench, masks, levels, n_average, rng, power_scale, windows, first):
    """The fast path: DN (B, F, U) float32 at the window pixels ``used`` (U,), drawn from
    ``rng``, and with ``first`` the first image's frames (F, H, W) (mean DN, rounded, outside
    them; else None)."""
    cam = bench.camera
    used = _used(cam, windows)
    pw, first = _forward(
        bench, masks, levels, power_scale=power_scale, exact=False, pixels=used, first=first
    )
    pw = _rin(bench, pw, rng)
    b, f = pw.shape[:2]
    sub = photons_from_power(pw.reshape(b * f, -1), cam.exposure, cam.wavelength)
    if n_average > 1:
        sub = np.repeat(sub, n_average, axis=0)
    frames = cam.draw(sub, rng, pixels=used)
    if n_average > 1:
        vals = frames.reshape(b, f, n_average, -1).mean(axis=2).astype(np.float32)
    else:
        vals = frames.reshape(b, f, -1).astype(np.float32)
    if first is None:
        return vals, None, used
    frame0 = np.rint(cam.mean_dn(first)).reshape(f, -1)
    frame0[:, used] = vals[0]
    return vals, frame0.reshape(f, *cam.shape), used


def _rin(bench: Any, power: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """Powers (B, F, ...) times the laser's power factor of each exposure (one per image and
    bundle frame, :mod:`devices.simulated.temporal`), from ``rng`` or the laser's stream."""
    laser = getattr(bench, "laser_noise", None)
    if laser is None:
        return power
    f = laser.factors(power.shape[:2], rng)
    return power * f.reshape(*f.shape, *(1,) * (power.ndim - 2))


def _used(cam: Any, windows: np.ndarray) -> np.ndarray:
    """Flat camera pixels in any frame's window."""
    return np.flatnonzero(np.broadcast_to(np.asarray(windows).any(axis=0), cam.shape))


def _pixel_frames(bench, masks, levels, n_average, noise, rng, power_scale, windows, pixels, first):
    """DN (B, F, P) at ``pixels`` and, with ``first``, the first image's frames (F, H, W)
    (else None), as the full frames of :func:`_frames` hold them."""
    cam = bench.camera
    if noise and rng is not None and windows is not None:
        hit = np.isin(pixels, _used(cam, windows))
        vals_u, frame0, used = _noisy_window(
            bench, masks, levels, n_average, rng, power_scale, windows, first
        )
        vals = np.empty((*vals_u.shape[:2], len(pixels)), dtype=np.float32)
        vals[:] = cam.dark_dn().ravel()[pixels]
        vals[:, :, hit] = vals_u[:, :, np.searchsorted(used, pixels[hit])]
        if frame0 is not None:
            vals[0] = frame0.reshape(len(frame0), -1)[:, pixels]
        elif not hit.all():  # outside the windows the first image shows its mean DN
            outside = pixels[~hit]
            pw0, _ = _forward(
                bench, masks, levels[:1], power_scale=power_scale, exact=False,
                pixels=outside, first=False,
            )  # fmt: skip
            vals[0][:, ~hit] = np.rint(cam.mean_dn(pw0[0], outside))
        return vals, frame0
    if not noise:
        pw, frame0 = bench.camera_powers(
            levels, masks, power_scale=power_scale, exact=rng is None, pixels=pixels, first=first
        )
        vals = cam.mean_dn(pw, pixels).astype(np.float64)
        return vals, None if frame0 is None else cam.mean_dn(frame0).astype(np.float64)
    dn = _frames(bench, masks, levels, n_average, noise, rng, power_scale, windows)
    return dn.reshape(*dn.shape[:2], -1)[:, :, pixels], dn[0]
