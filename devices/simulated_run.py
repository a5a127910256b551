"""The SimulatedBench's batched capture of a MaskBundle: many images per FFT call.

The same physics as :meth:`devices.simulated_bench.SimulatedBench.ideal_power` followed by the
camera (its module docstring lists the chain), on a batch: the true input-SLM response of each
image's levels (vectorised table lookup, fringing, fill factor), the beam and decentring tilt,
every frame's Fourier mask with the bench's stop and aberration folded in
(``SimulatedBench._mask``), one ``FourFSystem.forward(fields, masks=...)`` per batch on the true
system (numpy / pyFFTW fast path), the camera misalignment as one sparse bilinear map applied to
the whole batch, and the EMVA 1288 model (:func:`devices.emva.expose_frames`).

Noise: by default the camera's own generator, drawn capture by capture in the order the generic
path captures (bundle frame outer, image inner), so a seeded camera gives the generic path's
frames; ``rng`` draws the whole batch at once from another stream (sweeps over noise seeds);
``noise=False`` returns the mean DN (fixed pattern, full-well and ADC clipping kept; no shot or
read noise, no rounding).

``complex`` bundles (no drive levels) are shown as their complex masks: an ideal complex
modulator, which only a simulation has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from devices.emva import expose_frames, photons_from_power
from devices.run import apply_sparse, bilinear_matrix
from devices.slm_response import apply_fringing
from fouroptics.optics.pixels import effective_transmission


def slm_fields(slm: Any, levels: np.ndarray, fill_factor: bool = True) -> np.ndarray:
    """:meth:`SimulatedSLM.field` for a batch of level patterns (B, H, W) -> complex128."""
    lv = np.asarray(levels)
    if lv.shape[-2:] != tuple(slm.shape) or lv.dtype.kind not in "ui":
        slm.validate(lv.reshape(-1, *lv.shape[-2:])[0])  # the SLM's own one-line error
    if lv.size and (lv.min() < 0 or lv.max() > slm.levels - 1):
        slm.validate(lv.reshape(-1, *lv.shape[-2:])[int(np.argmax(lv.max(axis=(-2, -1))))])
    truth = slm.truth()
    if truth["fringing"] == 0:
        table = np.exp(1j * truth["response"]) if slm.modulation == "phase" else truth["response"]
        out = np.asarray(table, dtype=np.complex128)[lv]
    else:
        real = apply_fringing(truth["response"][lv], truth["fringing"])
        out = np.exp(1j * real) if slm.modulation == "phase" else real + 0j
    if fill_factor and truth["fill_factor"] < 1:
        out = effective_transmission(out, truth["fill_factor"], truth["dead_space"])
    return out


def bundle_masks(bench: Any, bundle: Any) -> np.ndarray:
    """(F, H_F, W_F) complex64 masks the bench realises for the bundle's frames (true LUT,
    fringing; stop and aberration folded in)."""
    if bundle.fourier_levels is None:
        fields = np.asarray(bundle.fourier_masks, dtype=np.complex128)
    else:
        fields = slm_fields(bench.fourier_slm, bundle.fourier_levels, fill_factor=False)
    return np.asarray(bench._mask(fields), dtype=np.complex64)


def misalign_matrix(bench: Any):
    """Sparse bilinear map of the camera misalignment (None when there is none), scaled by
    ``1 / (1 + s)^2`` as ``SimulatedBench._misalign``."""
    imp = bench._imperfections
    if imp.camera_shift == (0.0, 0.0) and imp.camera_rotation == 0 and imp.camera_scale == 0:
        return None
    shape = tuple(bench.camera.shape)
    a, b = imp.camera_affine(shape)
    inv = np.linalg.inv(a)
    return bilinear_matrix(shape, shape, inv, -inv @ b) / (1.0 + imp.camera_scale) ** 2


def ideal_powers(
    bench: Any, bundle: Any, levels: np.ndarray, power_scale: float = 1.0, chunk: int = 32
) -> np.ndarray:
    """Noiseless camera power (B, F, H_cam, W_cam) W, float32, for input levels (B, H, W)."""
    cache = bench.__dict__.setdefault("_run_cache", {})
    key = (id(bundle), id(bundle.fourier_masks), bench.fourier_slm.version)
    if cache.get("key") != key:
        cache.clear()
        cache.update(key=key, masks=bundle_masks(bench, bundle), mis=misalign_matrix(bench))
    masks, mis = cache["masks"], cache["mis"]
    sys_ = bench._true_system
    shape = tuple(bench.camera.shape)
    out = np.empty((len(levels), len(masks), *shape), dtype=np.float32)
    if not bench.laser_on:
        out[:] = 0
        return out
    light = bench._illumination() * np.sqrt(power_scale)
    keep = 1.0 - bench.splitter_ratio
    for i in range(0, len(levels), chunk):
        fields = light * slm_fields(bench.input_slm, levels[i : i + chunk], bench._input_mix)
        e = sys_.forward(fields.astype(np.complex64), masks=masks)
        p = sys_.intensity(e).astype(np.float32)
        if keep != 1.0:
            p *= np.float32(keep)
        if mis is not None:
            p = apply_sparse(mis, p, shape).astype(np.float32)
            np.maximum(p, 0, out=p)
        out[i : i + chunk] = p
    return out


def capture_batched(
    bench: Any,
    bundle: Any,
    levels: np.ndarray,
    n_average: int = 1,
    *,
    noise: bool = True,
    rng: np.random.Generator | None = None,
    power_scale: float = 1.0,
    adc_bits: int | None = None,
    **_: Any,
) -> np.ndarray:
    """DN frames (B, F, H_cam, W_cam) float64 (the mean of ``n_average``), as
    :func:`devices.run.capture_generic` gives them on this bench.

    Args:
        noise: False for the mean DN (no temporal noise, no rounding).
        rng: draw the batch's noise at once from this generator (default: the camera's,
            capture by capture, the generic path's order).
        power_scale: laser power factor (photon sweeps beyond the camera's exposure limits).
        adc_bits: keep only this many of the camera's ADC bits (bit-depth sweeps).
    """
    dn = _frames(bench, bundle, levels, n_average, noise, rng, power_scale)
    if adc_bits is not None and adc_bits < bench.camera.bit_depth:
        step = float(2 ** (bench.camera.bit_depth - adc_bits))
        dn = np.floor(dn / step) * step
    return dn


def _frames(bench, bundle, levels, n_average, noise, rng, power_scale) -> np.ndarray:
    cam = bench.camera
    power = ideal_powers(bench, bundle, levels, power_scale)
    photons = photons_from_power(power, cam.exposure, cam.wavelength)
    p = cam.params
    dsnu, prnu = cam._dsnu_map, cam._prnu_map
    if not noise:
        e = p.quantum_efficiency * photons * (1.0 + prnu) + p.dark_current * cam.exposure
        e = np.minimum(e, p.full_well) + dsnu
        return np.clip(e * p.gain + p.black_level, 0, p.max_dn)
    if rng is not None:
        b, f = photons.shape[:2]
        flat = np.repeat(photons.reshape(b * f, *cam.shape), n_average, axis=0)
        frames = expose_frames(flat, p, cam.exposure, dsnu, prnu, rng, len(flat))
        return frames.reshape(b, f, n_average, *cam.shape).mean(axis=2)
    out = np.empty(photons.shape, dtype=np.float64)
    gen = cam._rng
    for fi in range(photons.shape[1]):  # the generic path's capture order
        for bi in range(photons.shape[0]):
            frames = expose_frames(photons[bi, fi], p, cam.exposure, dsnu, prnu, gen, n_average)
            out[bi, fi] = frames.mean(axis=0)
    return out


def truth_calibration(bench: Any) -> dict[str, Any]:
    """A calibration "by hand" from ``bench.truth()`` (tests and reports only, until a measured
    CalibrationSet is at hand): the registration affine and the input SLM's inverse LUT
    (level whose true relative amplitude is nearest ``k / (L - 1)``)."""
    t = bench.truth()
    resp = np.asarray(t["input_slm"]["response"], dtype=np.float64)
    rel = resp / resp.max()
    want = np.arange(len(resp)) / (len(resp) - 1)
    inverse = np.abs(rel[None, :] - want[:, None]).argmin(axis=1)
    return {
        "registration": np.asarray(t["registration"]),
        "input_inverse_lut": inverse,
        "source": "truth (by hand)",
    }
