"""The SimulatedBench's batched capture of a MaskBundle: many images per FFT call.

The same physics as :meth:`devices.simulated.bench.SimulatedBench.ideal_power` followed by the
camera (its module docstring lists the chain), on a batch: the true input-SLM response of each
image's levels (vectorised table lookup, fringing, fill factor), the beam and decentring tilt,
every frame's Fourier mask with the bench's stop and aberration folded in
(``SimulatedBench._mask``), one ``FourFSystem.forward(fields, masks=...)`` per batch on the true
system (numpy / pyFFTW fast path), the camera misalignment as one sparse Lanczos map applied to
the batch's fields, and the EMVA 1288 model (:func:`devices.simulated.emva.expose_frames`).

Noise: by default the camera's own generator, drawn capture by capture in the order the generic
path captures (bundle frame outer, image inner), so a seeded camera gives the generic path's
frames; ``rng`` draws the whole batch at once from another stream (sweeps over noise seeds);
``noise=False`` returns the mean DN (fixed pattern, full-well and ADC clipping kept; no shot or
read noise, no rounding).

Speed (the forward and the noise draws dominate): the input field is built per level (one
table of the L level fields) inside the box that holds the bundle's blocks, the illumination
times the dark level's field outside it; the readout's pixels only are evaluated
(``pixels``: intensity, misalignment taps, noise), and only the first image's frames in full
(the example frame). The numbers are those of the full frames (tests hold them equal).

``complex`` bundles (no drive levels) are shown as their complex masks: an ideal complex
modulator, which only a simulation has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from devices.run.loop import apply_sparse
from devices.simulated.emva import HC, expose_frames, photons_from_power
from devices.simulated.slm_response import apply_fringing
from fouroptics.optics.pixels import effective_transmission
from fouroptics.optics.system import pixel_window


def level_table(
    slm: Any, fill_factor: bool = True, dtype: Any = np.complex128
) -> np.ndarray | None:
    """(L,) ``dtype`` field of each drive level of a simulated SLM (true LUT, and with
    ``fill_factor`` its pixel mix), or None when fringing couples neighbouring pixels (the
    field is then not a function of each pixel's level alone)."""
    truth = slm.truth()
    if truth["fringing"] != 0:
        return None
    table = np.exp(1j * truth["response"]) if slm.modulation == "phase" else truth["response"]
    out = np.asarray(table, dtype=dtype)
    if fill_factor and truth["fill_factor"] < 1:
        out = effective_transmission(out, truth["fill_factor"], truth["dead_space"])
    return out


def slm_fields(
    slm: Any, levels: np.ndarray, fill_factor: bool = True, dtype: Any = np.complex128
) -> np.ndarray:
    """:meth:`SimulatedSLM.field` for a batch of level patterns (B, H, W) -> ``dtype``."""
    lv = _checked(slm, levels)
    table = level_table(slm, fill_factor, dtype)
    if table is not None:
        return table[lv]
    truth = slm.truth()
    real = apply_fringing(truth["response"][lv], truth["fringing"])
    out = np.exp(1j * real) if slm.modulation == "phase" else real + 0j
    if fill_factor and truth["fill_factor"] < 1:
        out = effective_transmission(out, truth["fill_factor"], truth["dead_space"])
    return out


def _checked(slm: Any, levels: np.ndarray) -> np.ndarray:
    """``levels`` (B, H, W) as an array, or the SLM's own one-line error."""
    lv = np.asarray(levels)
    if lv.shape[-2:] != tuple(slm.shape) or lv.dtype.kind not in "ui":
        slm.validate(lv.reshape(-1, *lv.shape[-2:])[0])
    if lv.size and (lv.min() < 0 or lv.max() > slm.levels - 1):
        slm.validate(lv.reshape(-1, *lv.shape[-2:])[int(np.argmax(lv.max(axis=(-2, -1))))])
    return lv


def input_fields(
    bench: Any, levels: np.ndarray, light: np.ndarray, exact: bool, real: bool
) -> np.ndarray:
    """Fields leaving the input SLM (B, H, W), complex64 (float32 when ``real``), for levels
    (B, H, W) under the illumination ``light`` (H, W).

    ``exact``: the product in complex128, then complex64 (as ``SimulatedBench.ideal_power``).
    Where every image shows one level (outside the box that holds the others: the bundle's
    blocks) the field is the illumination times that level's field, computed once."""
    slm = bench.input_slm
    lv = _checked(slm, levels)
    dtype = np.complex128 if exact else np.complex64
    table = level_table(slm, bench._input_mix, dtype)
    box = None if table is None or not lv.size else _box(lv)
    out_dtype = np.float32 if real and not exact else np.complex64
    if box is None:
        t = slm_fields(slm, lv, bench._input_mix, dtype)
        return (light * (t.real if real and not exact else t)).astype(out_dtype, copy=False)
    if real and not exact:
        table = table.real
    out = np.empty(lv.shape, dtype=out_dtype)
    out[:] = light * table[lv.flat[0]]
    out[(..., *box)] = light[box] * table[lv[(..., *box)]]
    return out


def _box(lv: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns that hold every level other than ``lv``'s first (B, H, W)."""
    other = lv != lv.flat[0]
    rows = np.flatnonzero(other.any(axis=(0, 2)))
    cols = np.flatnonzero(other.any(axis=(0, 1)))
    if not len(rows):
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def bundle_masks(bench: Any, bundle: Any) -> np.ndarray:
    """(F, H_F, W_F) complex64 masks the bench realises for the bundle's frames (true LUT,
    fringing; stop and aberration folded in)."""
    if bundle.fourier_levels is None:
        fields = np.asarray(bundle.fourier_masks, dtype=np.complex128)
    else:
        fields = slm_fields(bench.fourier_slm, bundle.fourier_levels, fill_factor=False)
    return np.asarray(bench._mask(fields), dtype=np.complex64)


def ideal_powers(
    bench: Any,
    bundle: Any,
    levels: np.ndarray,
    power_scale: float = 1.0,
    chunk: int = 32,
    exact: bool = True,
    pixels: np.ndarray | None = None,
    first: bool = True,
) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
    """Noiseless camera power (B, F, H_cam, W_cam) W, float32, for input levels (B, H, W).

    ``exact``: round the input field as ``SimulatedBench.ideal_power`` does (complex128 product,
    then complex64), so a seeded camera draws the generic path's noise; otherwise complex64
    throughout, and a real field (flat or Gaussian beam without decentring tilt, amplitude SLM)
    goes through the real-input transforms.

    ``pixels``: flat camera pixel indices: returns the power there only, (B, F, P), and the
    first image's full frames (F, H, W) (None unless ``first``) (the readout reads a few
    windows: the intensity and the misalignment are evaluated where they are read)."""
    cache = bench.__dict__.setdefault("_run_cache", {})
    key = (id(bundle), id(bundle.fourier_masks), bench.fourier_slm.version)
    if cache.get("key") != key:
        cache.clear()
        cache.update(key=key, masks=bundle_masks(bench, bundle), mis=bench.misalign_matrix())
    masks, mis = cache["masks"], cache["mis"]
    sys_ = bench._true_system
    shape = tuple(bench.camera.shape)
    n_f = len(masks)
    # bounded memory: about 400 MB of complex64 camera fields per forward call
    chunk = max(1, min(chunk, int(4e8 // (n_f * shape[0] * shape[1] * 8))))
    if pixels is not None:
        out = np.empty((len(levels), n_f, len(pixels)), dtype=np.float32)
        frame0 = np.zeros((n_f, *shape), dtype=np.float32) if first else None
        gather = _gather_plan(cache, mis, pixels, shape[1])
    else:
        out = np.empty((len(levels), n_f, *shape), dtype=np.float32)
    if not bench.laser_on:
        out[:] = 0
        return out if pixels is None else (out, frame0)
    light = bench._illumination() * np.sqrt(power_scale)
    slm = bench.input_slm
    real = not np.iscomplexobj(light) and slm.modulation != "phase" and slm.dead_space.imag == 0
    if not exact:
        light = light.astype(np.float32 if real else np.complex64)
    keep = 1.0 - bench.splitter_ratio
    for i in range(0, len(levels), chunk):
        fields = input_fields(bench, levels[i : i + chunk], light, exact, real)
        if pixels is not None:
            if i == 0 and frame0 is not None:
                e0 = sys_.forward(fields[:1], masks=masks)[0]
                frame0[:] = _camera_power(sys_, e0, mis, keep, shape)
            src, tap, window, at = gather
            e = sys_.forward(fields, masks=masks, window=window)  # the source pixels' rows/cols
            es = e.reshape(*e.shape[:2], -1)[..., at]
            if tap is not None:  # the misaligned field at the read pixels: (B F, S) @ (S, P)
                es = (es.reshape(-1, len(src)) @ tap).reshape(*e.shape[:2], tap.shape[1])
            ps = sys_.intensity(es).astype(np.float32)
            if keep != 1.0:
                ps *= np.float32(keep)
            out[i : i + chunk] = ps
            continue
        e = sys_.forward(fields, masks=masks)
        out[i : i + chunk] = _camera_power(sys_, e, mis, keep, shape)
    return out if pixels is None else (out, frame0)


def _camera_power(sys_: Any, e: np.ndarray, mis: Any, keep: float, shape) -> np.ndarray:
    """Power per camera pixel (..., H, W) float32 of camera fields: intensity, splitter share,
    misalignment."""
    if mis is not None:
        e = apply_sparse(mis, e, shape)
    p = sys_.intensity(e).astype(np.float32)
    if keep != 1.0:
        p *= np.float32(keep)
    return p


def _gather_plan(cache: dict, mis: Any, pixels: np.ndarray, width: int):
    """(source pixels S, the sparse (S, P) resampling onto ``pixels`` or None, the camera
    window (rows, cols) that holds S, S's flat indices in that window) to evaluate the
    misaligned field at ``pixels`` only; cached per pixel set. ``width``: camera columns."""
    key = ("gather", pixels.tobytes())
    if key not in cache:
        if mis is None:
            cache[key] = _windowed(pixels, None, width)
        else:
            from devices.run.loop import _rows_on

            src = np.unique(mis[pixels].indices)  # the field pixels the read pixels draw on
            tap = _rows_on(mis, pixels, src).T.tocsr().astype(np.complex64)
            cache[key] = _windowed(src, tap, width)
    return cache[key]


def _windowed(src: np.ndarray, tap: Any, width: int) -> tuple:
    """``(src, tap, (rows, cols), at)``: the camera window of the flat pixels ``src`` and
    where each sits in it (:func:`fouroptics.optics.system.pixel_window`)."""
    return (src, tap, *pixel_window(src, width))


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
    windows: np.ndarray | None = None,
    pixels: np.ndarray | None = None,
    first: bool = True,
    **_: Any,
) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
    """DN frames (B, F, H_cam, W_cam) float64 (the mean of ``n_average``), as
    :func:`devices.run.loop.capture_generic` gives them on this bench.

    Args:
        noise: False for the mean DN (no temporal noise, no rounding).
        rng: draw the batch's noise at once from this generator (default: the camera's,
            capture by capture, the generic path's order).
        power_scale: laser power factor (photon sweeps beyond the camera's exposure limits).
        adc_bits: keep only this many of the camera's ADC bits (bit-depth sweeps).
        windows: (F, H, W) bool, the pixels the readout uses (given by ``run_bundle``). With
            ``rng`` (the fast path), light and noise are evaluated there only; the other pixels
            hold the dark level, except in the first image's frames, which are complete (mean
            DN outside the windows): the readout never reads them.
        pixels: flat camera pixel indices (in a frame): return ``(DN there (B, F, P), the
            first image's frames (F, H, W) or None)`` instead, the same numbers as the full
            frames there; without noise or with ``rng`` only those pixels are evaluated.
        first: with ``pixels``, return the first image's frames too.
    """
    if pixels is None:
        dn = _frames(bench, bundle, levels, n_average, noise, rng, power_scale, windows)
        return _adc(bench, dn, adc_bits)
    vals, frame0 = _pixel_frames(
        bench, bundle, levels, n_average, noise, rng, power_scale, windows, np.asarray(pixels),
        first,
    )  # fmt: skip
    return _adc(bench, vals, adc_bits), (_adc(bench, frame0, adc_bits) if first else None)


#: run_bundle may ask capture_batched for the readout pixels only
capture_batched.reads_pixels = True  # type: ignore[attr-defined]


def _adc(bench: Any, dn: np.ndarray, adc_bits: int | None) -> np.ndarray:
    """Keep the top ``adc_bits`` of the camera's ADC bits (None: all)."""
    if adc_bits is not None and adc_bits < bench.camera.bit_depth:
        step = float(2 ** (bench.camera.bit_depth - adc_bits))
        dn = np.floor(dn / step) * step
    return dn


def _frames(bench, bundle, levels, n_average, noise, rng, power_scale, windows) -> np.ndarray:
    cam = bench.camera
    if noise and rng is not None and windows is not None:  # noise where the readout looks
        h_w = cam.shape[0] * cam.shape[1]
        vals, frame0, used = _noisy_window(
            bench, bundle, levels, n_average, rng, power_scale, windows, True
        )
        out = np.empty((*vals.shape[:2], h_w), dtype=np.float32)
        out[:] = _dark_dn(cam).ravel()
        out[:, :, used] = vals
        out[0] = frame0.reshape(len(frame0), -1)
        return out.reshape(*vals.shape[:2], *cam.shape)
    power = ideal_powers(bench, bundle, levels, power_scale, exact=rng is None)
    if not noise:
        return _mean_dn(cam, power).astype(np.float64)
    p = cam.params
    dsnu, prnu = cam._dsnu_map, cam._prnu_map
    photons = photons_from_power(power, cam.exposure, cam.wavelength)
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


def _noisy_window(bench, bundle, levels, n_average, rng, power_scale, windows, first):
    """The fast path: DN (B, F, U) float32 at the window pixels ``used`` (U,), drawn from
    ``rng``, and with ``first`` the first image's frames (F, H, W) (mean DN, rounded, outside
    them; else None)."""
    cam = bench.camera
    used = _used(cam, windows)
    pw, first = ideal_powers(
        bench, bundle, levels, power_scale, exact=False, pixels=used, first=first
    )
    b, f = pw.shape[:2]
    sub = photons_from_power(pw.reshape(b * f, -1), cam.exposure, cam.wavelength)
    if n_average > 1:
        sub = np.repeat(sub, n_average, axis=0)
    dsnu_u, prnu_u = cam._dsnu_map.ravel()[used], cam._prnu_map.ravel()[used]
    frames = expose_frames(sub, cam.params, cam.exposure, dsnu_u, prnu_u, rng, len(sub))
    if n_average > 1:
        vals = frames.reshape(b, f, n_average, -1).mean(axis=2).astype(np.float32)
    else:
        vals = frames.reshape(b, f, -1).astype(np.float32)
    if first is None:
        return vals, None, used
    frame0 = np.rint(_mean_dn(cam, first)).reshape(f, -1)
    frame0[:, used] = vals[0]
    return vals, frame0.reshape(f, *cam.shape), used


def _used(cam: Any, windows: np.ndarray) -> np.ndarray:
    """Flat camera pixels in any frame's window."""
    return np.flatnonzero(np.broadcast_to(np.asarray(windows).any(axis=0), cam.shape))


def _pixel_frames(
    bench, bundle, levels, n_average, noise, rng, power_scale, windows, pixels, first
):
    """DN (B, F, P) at ``pixels`` and, with ``first``, the first image's frames (F, H, W)
    (else None), as the full frames of :func:`_frames` hold them."""
    cam = bench.camera
    if noise and rng is not None and windows is not None:
        hit = np.isin(pixels, _used(cam, windows))
        vals_u, frame0, used = _noisy_window(
            bench, bundle, levels, n_average, rng, power_scale, windows, first
        )
        vals = np.empty((*vals_u.shape[:2], len(pixels)), dtype=np.float32)
        vals[:] = _dark_dn(cam).ravel()[pixels]
        vals[:, :, hit] = vals_u[:, :, np.searchsorted(used, pixels[hit])]
        if frame0 is not None:
            vals[0] = frame0.reshape(len(frame0), -1)[:, pixels]
        elif not hit.all():  # outside the windows the first image shows its mean DN
            outside = pixels[~hit]
            pw0, _ = ideal_powers(
                bench, bundle, levels[:1], power_scale, exact=False, pixels=outside, first=False
            )
            vals[0][:, ~hit] = np.rint(_mean_dn(cam, pw0[0], outside))
        return vals, frame0
    if not noise:
        pw, frame0 = ideal_powers(
            bench, bundle, levels, power_scale, exact=rng is None, pixels=pixels, first=first
        )
        vals = _mean_dn(cam, pw, pixels).astype(np.float64)
        return vals, None if frame0 is None else _mean_dn(cam, frame0).astype(np.float64)
    dn = _frames(bench, bundle, levels, n_average, noise, rng, power_scale, windows)
    return dn.reshape(*dn.shape[:2], -1)[:, :, pixels], dn[0]


def _dark_dn(cam: Any) -> np.ndarray:
    """(H, W) rounded mean DN without light (dark signal and DSNU), float32."""
    return np.rint(_mean_dn(cam, np.zeros(cam.shape, np.float32)))


def _mean_dn(cam: Any, power: np.ndarray, pixels: np.ndarray | None = None) -> np.ndarray:
    """Mean DN (float32, unrounded) of the EMVA 1288 model for power (..., H, W) W (or
    (..., P) at the flat camera ``pixels``): fixed pattern, dark signal, full well and ADC range
    kept; no temporal noise."""
    p = cam.params
    gain_map = getattr(cam, "_run_maps", None)
    if gain_map is None or gain_map[0] is not cam._prnu_map:
        pr = (p.quantum_efficiency * (1.0 + cam._prnu_map)).astype(np.float32)
        cam._run_maps = gain_map = (cam._prnu_map, pr, cam._dsnu_map.astype(np.float32))
    _, qe_map, dsnu = gain_map
    if pixels is not None:
        qe_map, dsnu = qe_map.ravel()[pixels], dsnu.ravel()[pixels]
    c = np.float32(cam.exposure * cam.wavelength / HC)
    e = power * c
    e *= qe_map
    e += np.float32(p.dark_current * cam.exposure)
    np.minimum(e, np.float32(p.full_well), out=e)
    e += dsnu
    e *= np.float32(p.gain)
    e += np.float32(p.black_level)
    return np.clip(e, 0, p.max_dn, out=e)


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
