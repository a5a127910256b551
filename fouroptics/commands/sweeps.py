"""Sweeps of ``fouroptics simulate --sweep``: accuracy (mIoU for segmentation) against
photons, bit depth or misalignment on a simulated bench, each point over several noise seeds.

* ``photons``: mean photons per pixel in the brightest tile, 1 .. 1e5, set through the laser
  power at the automatic exposure (photons are linear in power; the camera response is rescaled,
  not refitted: its gain and the part of its offset above the camera's dark level, the stray
  light and any light the twin lacks, scale with the power, :func:`dark_dn`); above the
  exposure's own level (brightest pixel at the target fraction of full well) frames are
  averaged, as a lab would, and the photons counted over them; the fall-off
  point is where the accuracy has lost 1 point against the brightest point (log-interpolated);
* ``bits``: drive bits of both SLMs (the top bits of their 8-bit levels) with the camera native,
  and ADC bits of the camera with the SLMs native;
* ``misalignment``: camera shift, rotation and Fourier-SLM decentring scaled by 0 .. 2 from the
  bench's drawn values (or, on an aligned bench, 2 px, 0.5 deg and 0.7 Fourier px), without a
  re-registration (the calibration, if given, is the one of the bench as it is);
* ``flicker``, ``rin``, ``stray``: the bench's temporal noise sources one at a time
  (:meth:`devices.simulated.bench.SimulatedBench.set_temporal`, their seeds kept): the Fourier
  SLM's phase flicker rms (rad), the laser's RIN per exposure (fraction rms), the stray-light
  fraction of the laser power on the camera; the others stay as the bench has them, and
  ``bench_value`` marks the bench's own value (its profile's, or its YAML's override);
  ``falloff_value`` is where the metric has lost 1 point against the noise-free point (linear
  interpolation; None when it never does).

A photon sweep's photons per MAC come in two kinds (:func:`photons_per_mac`): an upper bound
(the brightest tile's photons per pixel on every pixel read, ``falloff_photons_per_mac``) and
the photons the camera detected in all readout windows (``falloff_photons_per_mac_detected``,
:func:`detected_photons_per_mac`), the number to set beside a free-space matrix-vector
multiplier's photons per multiply.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError

PHOTONS = (1.0, 3.0, 1e1, 3e1, 1e2, 3e2, 1e3, 3e3, 1e4, 3e4, 1e5)
SLM_BITS = (2, 3, 4, 5, 6, 8)
ADC_BITS = (4, 5, 6, 8, 10, 12)
SCALES = (0.0, 0.5, 1.0, 1.5, 2.0)
#: rad rms: off, the holoeye_pluto2 profile's representative 0.03 rad, and on to 1 rad (README
#: "Time and drift": a double-phase MNIST SCLC on all_noise.yaml loses no point up to 1 rad)
FLICKER = (0.0, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0)
#: fraction rms per exposure: off, drifting.yaml's 0.2 %, a DPSS laser's 0.5-1 %, and beyond
RIN = (0.0, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1)
STRAY = (0.0, 1e-4, 1e-3, 1e-2, 3e-2, 0.1)  # fraction of the laser power
#: each temporal sweep's values, its x label and the bench attribute it sets
TEMPORAL = {
    "flicker": (FLICKER, "Fourier-SLM phase flicker, rms (rad)"),
    "rin": (RIN, "laser RIN per exposure, rms (fraction)"),
    "stray": (STRAY, "stray light, fraction of the laser power on the camera"),
}
#: the per-seed values' key of each metric
PER_SEED = {"accuracy": "accuracies", "miou": "mious"}


def run_sweep(
    kind: str,
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    args: argparse.Namespace,
    digital: np.ndarray | None = None,
) -> dict[str, Any]:
    """Results ``{"kind", "metric", "x_label", "series": {name: [{value, accuracy_mean,
    accuracy_std, accuracies, feature_nrmse}]}, ...}`` around ``model`` (the OpticalModel that
    measured the test images: its exposure and photometry are the sweep's base); needs a
    SimulatedBench. The metric is the task's headline (:func:`devices.run.tasks.headline`):
    accuracy, or for segmentation mIoU (keys ``miou_mean``, ``miou_std``, ``mious``).
    ``feature_nrmse`` (mean over the seeds) is against ``digital``, the digital features of
    ``x`` (B, C, n_out, n_out); None without them."""
    bench, bundle = model.bench, model.bundle
    if not getattr(bench, "simulated", False):
        raise ConfigError(f"--sweep {kind}: needs a simulated bench (driver: simulated)")
    from tqdm import tqdm

    from devices.run.tasks import headline, n_classes
    from fouroptics.progress import show_bars

    exposure = model.stats.exposure.exposure
    task = model.task
    metric = headline(task)
    k = n_classes(bundle, y)
    n_points = {
        "photons": len(PHOTONS),
        "bits": len(SLM_BITS) + sum(b <= bench.camera.bit_depth for b in ADC_BITS),
        "misalignment": len(SCALES),
        **{k: len(v[0]) for k, v in TEMPORAL.items()},
    }[kind]
    bar = tqdm(total=n_points * len(args.seeds), desc=f"sweep {kind}", unit="run",
               disable=not show_bars(not getattr(args, "no_progress", False)))  # fmt: skip
    try:
        point_args = (exposure, task, metric, k, bar, digital)
        return _sweep(kind, model, x, y, args, point_args=point_args)
    finally:
        bar.close()


def _sweep(
    kind: str,
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    args: argparse.Namespace,
    point_args: tuple[float, str, str, int, Any, np.ndarray | None],
) -> dict[str, Any]:
    """:func:`run_sweep`'s points (``point_args``: exposure, task, metric, classes, the bar
    that advances once per point and seed, the digital features or None)."""
    from devices.run.streams import ImageStreams
    from devices.run.tasks import metrics, predict

    bench, bundle, cal = model.bench, model.bundle, model.calibration
    exposure, task, metric, k, bar, digital = point_args

    def point(
        value: float,
        b: Any = bench,
        bun: Any = bundle,
        c: Any = cal,
        run: dict[str, Any] | None = None,
        **cap: Any,
    ):
        accs, photons, per_image, errs = [], [], [], []
        run = run or {}
        n_avg = int(run.get("n_average", 1))
        for seed in args.seeds:
            m = model.derived(
                bundle=bun, bench=b, calibration=c, exposure=exposure,
                photometry=run.get("photometry"), n_average=n_avg, capture_options=cap,
                hold_scale=False, example_frame=False,
            )  # fmt: skip
            feats = m.features(x, rng=ImageStreams(seed))
            accs.append(metrics(task, y, predict(bun, feats), k)[metric])
            if digital is not None:
                errs.append(np.linalg.norm(feats - digital) / max(np.linalg.norm(digital), 1e-300))
            photons.append(m.stats.mean_photons_per_pixel)
            per_image.append(m.stats.photons_per_image)
            bar.update(1)
        return {
            "value": float(value),
            f"{metric}_mean": float(np.mean(accs)),
            f"{metric}_std": float(np.std(accs)),
            PER_SEED[metric]: accs,
            "feature_nrmse": float(np.mean(errs)) if errs else None,
            "frames_averaged": n_avg,
            "mean_photons_per_pixel": (
                float(np.mean(photons)) * n_avg if photons[0] is not None else None
            ),
            "photons_per_image": (
                float(np.mean(per_image)) * n_avg if per_image[0] is not None else None
            ),
        }

    out: dict[str, Any] = {
        "kind": kind,
        "metric": metric,
        "seeds": list(args.seeds),
        "log_x": False,
    }
    if kind == "photons":
        from devices.run import Photometry
        from devices.run.estimate import hardware_estimate

        base, phot = model.stats.mean_photons_per_pixel, model.stats.photometry
        dark = dark_dn(bench, cal, exposure)
        pts = []
        for p in PHOTONS:  # above the exposure's level, average frames (as a lab would)
            n_avg = max(1, int(np.ceil(p / base - 1e-9)))
            scale = p / (base * n_avg)
            offset = phot.offset if dark is None else dark + scale * (phot.offset - dark)
            fit = Photometry(phot.gain * scale, offset, phot.r2)
            run = {"n_average": n_avg, "photometry": fit}
            pts.append(point(p, run=run, power_scale=scale))
        for pt in pts:
            pt["requested_photons_per_pixel"] = pt["value"]
            pt["measured_photons_per_pixel"] = pt["mean_photons_per_pixel"]
        out.update(x_label="mean photons per pixel, brightest tile (signal)", log_x=True)
        out["series"] = {bundle.detection: pts}
        out["falloff_photons"] = falloff(pts, key=f"{metric}_mean")
        out["photons_note"] = photons_note(pts)
        out["detected_per_brightest"] = detected_per_brightest(pts)
        macs = hardware_estimate(bundle)["optical_macs_per_inference"]
        out["falloff_photons_per_mac_detected"] = detected_photons_per_mac(
            out["falloff_photons"], out["detected_per_brightest"], macs
        )
    elif kind == "bits":
        from devices.run import RunCalibration

        rc = RunCalibration.from_any(cal)
        inv = rc.input_inverse_lut
        if inv is None:
            inv = bench.input_slm.levels_for(np.arange(bench.input_slm.levels) / 255.0)
        slm_pts = []
        for b in SLM_BITS:
            shift = max(bench.fourier_slm.bit_depth - b, 0)
            bun = bundle
            if bundle.fourier_levels is not None:
                lv = (bundle.fourier_levels >> shift) << shift
                bun = replace(bundle, fourier_levels=lv.astype(bundle.fourier_levels.dtype))
            ishift = max(bench.input_slm.bit_depth - b, 0)
            c = replace(rc, input_inverse_lut=(np.asarray(inv) >> ishift) << ishift)
            slm_pts.append(point(b, bun=bun, c=c))
        cam_pts = [point(b, adc_bits=b) for b in ADC_BITS if b <= bench.camera.bit_depth]
        out.update(x_label="bits")
        out["series"] = {"SLM drive bits": slm_pts, "camera ADC bits": cam_pts}
    elif kind in TEMPORAL:
        values, label = TEMPORAL[kind]
        before = bench.temporal()
        try:
            pts = []
            for v in values:
                bench.set_temporal(**{kind: v})
                pts.append(point(v))
        finally:
            bench.set_temporal(**before)
        out.update(x_label=label, bench_value=before[kind])
        out["series"] = {kind: pts}
        out["falloff_value"] = tolerance(pts, key=f"{metric}_mean")
    else:
        from devices.simulated.imperfections import Imperfections

        drawn = Imperfections(**bench.truth()["imperfections"])  # simulation control: the
        # sweep scales the bench's own drawn misalignment; nothing measured or undone reads it
        base = drawn
        if base.camera_shift == (0.0, 0.0) and base.fourier_decentre == (0.0, 0.0):
            base = replace(
                base,
                camera_shift=(2.0, 2.0),
                camera_rotation=float(np.deg2rad(0.5)),
                fourier_decentre=(0.7, 0.7),
            )
        pts = []
        for s in SCALES:
            imp = replace(
                drawn,
                camera_shift=tuple(s * v for v in base.camera_shift),
                camera_rotation=s * base.camera_rotation,
                fourier_decentre=tuple(s * v for v in base.fourier_decentre),
            )
            pts.append(point(s, b=bench.with_imperfections(imp)))
        bench.with_imperfections(drawn)  # the camera sees the original bench again
        out.update(x_label="misalignment scale (x drawn values)")
        out["series"] = {"misalignment": pts}
        out["unit"] = {
            "camera_shift_px": list(base.camera_shift),
            "camera_rotation_rad": base.camera_rotation,
            "fourier_decentre_px": list(base.fourier_decentre),
        }
    return out


def dark_dn(bench: Any, cal: Any, exposure: float) -> float | None:
    """The camera's dark level in DN at ``exposure`` s as the lab knows it: the calibration's
    black level and gain (else the spec sheet's) plus the spec sheet's dark current; None when
    the black level or gain is unknown. A photon sweep keeps this part of the photometry's
    offset and scales the rest (light) with the laser power."""
    from devices.run import RunCalibration
    from devices.run.exposure import camera_value

    measured = RunCalibration.from_any(cal).camera
    black = camera_value(bench.camera, measured, "black_level")
    gain = camera_value(bench.camera, measured, "gain")
    if black is None or gain is None:
        return None
    current = camera_value(bench.camera, None, "dark_current") or 0.0
    return float(black + gain * current * exposure)


def photons_note(points: list[dict[str, Any]]) -> str:
    """One sentence on a photon sweep's two photon counts: a point's ``value`` (requested) is
    the signal, the light scaled from the photons the run measured at its own level; the
    ``measured_photons_per_pixel`` (counted from the camera's DN through its calibrated gain)
    add a floor that does not scale with the light, read at the dimmest point: the tile's DN
    without light above the dark level the photometry keeps (:func:`dark_dn`; near 0 on a
    calibrated bench)."""
    low = min(points, key=lambda p: p["value"])
    measured = low.get("measured_photons_per_pixel")
    if measured is None:
        return "the camera's gain or quantum efficiency is unknown: photons were not counted"
    floor = measured / low.get("frames_averaged", 1) - low["value"]
    return (
        f"the axis is the signal: the light scaled from the photons the run measured at its "
        f"own exposure; the photons counted at each point (measured_photons_per_pixel) add "
        f"a floor of about {floor:.3g} per pixel and frame that does not scale with the light "
        f"(the dimmest point, {low['value']:g} requested, counts {measured:.3g}): a count is "
        "the brightest tile's DN above the photometry's offset, whose dark part (the camera's "
        "calibrated dark level) stays while the rest scales with the light"
    )


def falloff(
    points: list[dict[str, Any]], drop: float = 0.01, key: str = "accuracy_mean"
) -> float | None:
    """Photons at which the mean metric ``key`` is ``drop`` below the brightest point's
    (log-linear interpolation between points); None when it never drops that far."""
    v = np.array([p["value"] for p in points], float)
    a = np.array([p[key] for p in points], float)
    order = np.argsort(v)
    v, a = v[order], a[order]
    level = a[-1] - drop
    for i in range(len(v) - 1, 0, -1):
        if a[i - 1] < level <= a[i]:
            t = (level - a[i - 1]) / (a[i] - a[i - 1])
            return float(np.exp(np.log(v[i - 1]) + t * (np.log(v[i]) - np.log(v[i - 1]))))
    return None


def photons_per_mac(falloff_photons: float | None, bundle: Any, optical_macs: int) -> float | None:
    """Photons per optical MAC at a photon sweep's fall-off: the brightest tile's mean photons
    per pixel times the pixels the readout reads per inference (each optical channel's window
    of ``w x w`` camera pixels, ``bundle.arrays["window_offsets"]`` long), over the optical MACs
    per inference (:func:`devices.run.estimate.hardware_estimate`). An upper bound: the other
    tiles are dimmer than the brightest."""
    if falloff_photons is None or not optical_macs:
        return None
    win = len(bundle.arrays["window_offsets"])
    pixels = bundle.meta["optical_channels"] * win * win
    return float(falloff_photons * pixels / optical_macs)


def tolerance(
    points: list[dict[str, Any]], drop: float = 0.01, key: str = "accuracy_mean"
) -> float | None:
    """The noise level (a temporal sweep's ``value``) at which the mean metric ``key`` first
    falls ``drop`` below the lowest level's (the noise-free point; linear interpolation between
    points); None when it never falls that far."""
    v = np.array([p["value"] for p in points], float)
    a = np.array([p[key] for p in points], float)
    order = np.argsort(v)
    v, a = v[order], a[order]
    level = a[0] - drop
    below = np.flatnonzero(a <= level)
    if not below.size:
        return None
    i = int(below[0])
    t = (a[i - 1] - level) / (a[i - 1] - a[i])
    return float(v[i - 1] + t * (v[i] - v[i - 1]))


def detected_per_brightest(points: list[dict[str, Any]]) -> float | None:
    """Photons detected per image in all readout windows per photon per pixel of the brightest
    tile: the slope of a photon sweep's ``photons_per_image`` against its ``value`` (least
    squares through the points per frame averaged, so the floor that does not scale with the
    light, see :func:`photons_note`, drops out as the intercept); None when photons were not
    counted."""
    pts = [p for p in points if p.get("photons_per_image") is not None]
    if len(pts) < 2:
        return None
    frames = np.array([p.get("frames_averaged", 1) for p in pts], float)  # per frame: the
    v = np.array([p["value"] for p in pts], float) / frames  # floor is one intercept
    n = np.array([p["photons_per_image"] for p in pts], float) / frames
    slope, _ = np.polyfit(v, n, 1)
    return float(slope) if slope > 0 else None


def detected_photons_per_mac(
    falloff_photons: float | None, per_brightest: float | None, optical_macs: int
) -> float | None:
    """Photons detected per optical MAC at a photon sweep's fall-off: the photons the camera
    detects per inference in all readout windows there (``falloff_photons`` times
    :func:`detected_per_brightest`) over the optical MACs per inference
    (:func:`devices.run.estimate.hardware_estimate`: an ``N x N`` kernel at each output of
    each optical and input channel). What a lab sets beside a matrix-vector multiplier's
    detected photons per multiply; at most :func:`photons_per_mac`."""
    if falloff_photons is None or per_brightest is None or not optical_macs:
        return None
    return float(falloff_photons * per_brightest / optical_macs)
