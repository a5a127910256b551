"""The run loop: a compiled MaskBundle on a bench, images -> input SLM -> camera frames ->
features.

The bench captures (:meth:`devices.interface.bench.Bench.capture_bundle`): frame by frame
through the device interface on hardware, batched on a simulated bench with the same numbers.
Everything else is here and in its sibling modules:

1. checks (:mod:`devices.run.compat`): the bundle was compiled for this bench's system and
   its SLM (bit depth, levels, modulation); otherwise a one-line ConfigError;
2. input levels (:mod:`devices.run.levels`): the bundle's input transmission in [0, 1] through
   the input SLM's believed LUT, or the calibration's inverse LUT when given;
3. exposure (:mod:`devices.run.exposure`): the brightest tile at a target fraction of the
   camera's range, as a lab would set it;
4. registration (:mod:`devices.run.geometry`): frames resampled from the measured camera
   geometry (the calibration's input -> camera affine) onto the bundle's nominal one (Lanczos-4,
   power conserving); without a calibration the nominal geometry is used as is;
5. photometry (:mod:`devices.run.photometry`): DN = gain * P_twin + offset fitted over the
   readout windows on reference images against the bundle's noise-free twin (absorbs laser
   power, beam, QE, camera gain and exposure); then ``bundle.readout`` gives the features.

The readout reads a few windows: each batch's frames are kept there only (the pixels that feed
them); the first image's full frames are kept as the example frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from devices.run.calibration import RunCalibration
from devices.run.compat import check_compatible
from devices.run.exposure import ExposureReport, auto_exposure, saturation_dn
from devices.run.geometry import (
    FeatureSampler,
    ReadPlan,
    choose_readout,
    readout_macs,
    registration_resampler,
)
from devices.run.levels import beam_flattening, input_levels, support_box
from devices.run.photometry import (
    Photometry,
    fit_photometry,
    photons_per_image,
    photons_per_pixel,
    tile_pixels,
)
from devices.run.shard import Shard, skip_batch
from devices.run.streams import IMAGES, PROBE, REFERENCE, ImageStreams
from fouroptics.compiler import input_phase
from fouroptics.errors import ConfigError

#: The camera readouts (:mod:`devices.run.geometry`).
READOUTS = ("auto", "resample", "filter")


@dataclass
class RunStats:
    """Diagnostics of a run (filled by :func:`run_bundle`)."""

    exposure: ExposureReport | None = None
    photometry: Photometry | None = None
    frames: int = 0
    saturated_fraction: float = 0.0
    mean_photons_per_pixel: float | None = None
    photons_per_image: float | None = None
    readout: str = "resample"
    readout_macs: int = 0
    example_frame: np.ndarray | None = None
    calibration: str = "none"
    warnings: list[str] = field(default_factory=list)


class ReadoutBuffer:
    """float64 power frames (B, F, H * W), zero but at the read pixels (which every batch
    overwrites), kept for the next run of the same shape and pixels so that its pages are not
    faulted in again (about 1 GB at most, see :func:`run_bundle`)."""

    def __init__(self) -> None:
        self._held: tuple[np.ndarray, np.ndarray] | None = None

    def get(self, shape: tuple[int, ...], read: np.ndarray) -> np.ndarray:
        held = self._held
        if held is not None and held[0].shape == shape and np.array_equal(held[1], read):
            return held[0]
        buf = np.zeros(shape)
        self._held = (buf, read)
        return buf


def run_bundle(
    bench: Any,
    bundle: Any,
    images: Any,
    calibration: Any = None,
    *,
    reference: Any,
    exposure: float | None = None,
    photometry: Photometry | None = None,
    target: float = 0.5,
    n_average: int = 1,
    batch: int = 64,
    stats: RunStats | None = None,
    progress: Callable[[int], None] | None = None,
    capture_options: dict[str, Any] | None = None,
    buffer: ReadoutBuffer | None = None,
    example_frame: bool = True,
    readout: str = "resample",
    shard: Shard | None = None,
) -> np.ndarray:
    """Features (B, C, n_out, n_out) of ``images`` (B, C_in, n, n) measured on ``bench``.

    Args:
        calibration: registration / inverse LUT as data (see :class:`RunCalibration`).
        reference: images (R, C_in, n, n) for the exposure and photometry: a lab uses a few
            training images, never the images being measured.
        exposure: seconds; None chooses it (:func:`auto_exposure`, brightest tile at
            ``target`` of the camera range).
        photometry: reuse a fitted camera response (with ``exposure``: several runs on one
            scale, as fine-tuning needs); None fits it on ``reference``.
        n_average: frames averaged per image and bundle frame.
        batch: images per capture call.
        stats: filled with diagnostics (exposure, photometry, saturation, photons).
        progress: called with the number of (image, frame) captures done after each batch.
        capture_options: passed to ``bench.capture_bundle`` (a simulated bench's noise
            stream, power scale, ADC bits).
        buffer: a :class:`ReadoutBuffer` reused across runs (default: a fresh one).
        example_frame: keep the first image's full frames in ``stats.example_frame`` (a
            report's figure; a sweep's points skip them: on a misaligned simulated bench they
            cost as much as dozens of windowed images).
        readout: ``resample`` (the registration's resampling, then the bundle's window
            readout), ``filter`` (each feature interpolated at its measured position:
            :class:`devices.run.geometry.FeatureSampler`) or ``auto`` (the filter where the
            camera samples finely enough: :func:`devices.run.geometry.choose_readout`).
        shard: this process's share under ``torchrun`` (:mod:`devices.run.shard`): it
            captures its block of batches, and every process returns all the features and
            statistics. ``capture_options["rng"]`` may be an :class:`ImageStreams` (each
            image's noise from its index: the same numbers in any shard).
    """
    if readout not in READOUTS:
        raise ConfigError(f"readout: got {readout!r}; allowed: {', '.join(READOUTS)}")
    check_compatible(bench, bundle)
    if reference is None or len(reference) == 0:
        raise ConfigError(
            "run: needs reference images for the exposure and photometry (a few training "
            "images, not the images measured)"
        )
    cal = RunCalibration.from_any(calibration)
    stats = stats if stats is not None else RunStats()
    stats.calibration = cal.source
    opts = dict(capture_options or {})
    ref = reference
    support = support_box(bundle)
    flat = beam_flattening(cal, bench.input_slm.shape, support, bundle.has_leak_block)
    floor = bundle.meta.get("input_leak", 0.0)
    encoding = bundle.meta.get("input_encoding", "amplitude")
    cb_gain = float(bundle.meta.get("input_checkerboard_gain", 1.0))
    surround = input_phase.surround(bundle) if encoding == "double-phase" else None
    believed = bundle.arrays.get("input_crosstalk") if encoding == "double-phase" else None
    ref_levels = None
    if exposure is None or photometry is None:
        ref_levels = input_levels(
            bench, bundle.input_transmission(ref), cal, support, flat, floor, encoding, cb_gain,
            surround, believed,
        )  # fmt: skip
    windows = bundle.window_mask()
    resample = None
    if cal.registration is not None:
        resample = registration_resampler(bundle.system, cal.registration)
    sampler = None
    readout, why = choose_readout(bundle, readout)
    if why:
        stats.warnings.append(why)
    if readout == "filter":
        sampler = FeatureSampler.build(bundle, cal.registration)
    plan = ReadPlan.build(windows, resample, None if sampler is None else sampler.pixels)
    if sampler is not None:
        sampler = sampler.on_pixels(plan.gather)
    stats.readout = readout
    stats.readout_macs = readout_macs(bundle, plan, sampler)
    streams = opts.pop("rng") if isinstance(opts.get("rng"), ImageStreams) else None
    kw = dict(n_average=n_average, windows=plan.measured, **opts)

    def noise(start: int, stop: int, part: int = IMAGES, step: int = 0) -> dict[str, Any]:
        return {} if streams is None else {"rng": streams.batch(start, stop, part, step)}

    def grab(levels: np.ndarray, start: int, first: bool = False, part: int = IMAGES):
        rng = noise(start, start + len(levels), part)
        return bench.capture_bundle(bundle, levels, pixels=plan.gather, first=first, **kw, **rng)

    if exposure is None:
        probe = ref_levels[: min(4, len(ref_levels))]
        steps = iter(range(1 << 30))
        stats.exposure = auto_exposure(
            bench,
            lambda: bench.capture_bundle(
                bundle, probe, **kw, **noise(0, len(probe), PROBE, next(steps))
            ),
            plan.measured,
            target=target,
            measured=cal.camera,
        )
        stats.warnings += stats.exposure.warnings
    else:
        bench.camera.exposure = exposure
        stats.exposure = ExposureReport(bench.camera.exposure, float("nan"), target)
    if photometry is None:  # fitted at the read pixels, where the twin is evaluated too
        vals, _ = grab(ref_levels, 0, part=REFERENCE)
        twin = bundle.camera_frames(ref, pixels=plan.read)
        photometry = fit_photometry(plan.at_readout(vals), twin, plan.read_windows)
    stats.photometry = photometry
    tiles, starts = tile_pixels(bundle, plan.gather)
    in_window = plan.in_window
    n = len(images)
    frame_bytes = bundle.n_frames * windows[0].size * 8
    batch = max(1, min(batch, n, int(1e9 // frame_bytes)))  # about 1 GB of power per batch
    buffer = buffer if buffer is not None else ReadoutBuffer()
    power = buffer.get((batch, bundle.n_frames, windows[0].size), plan.read)
    top = saturation_dn(bench.camera, cal.camera)

    def measure(i: int) -> tuple[Any, ...]:
        """Batch ``i..``: (features, saturated, pixels, photons per pixel, photons per
        image, frames, the example frame or None)."""
        levels = input_levels(
            bench,
            bundle.input_transmission(images[i : i + batch]),
            cal,
            support,
            flat,
            floor,
            encoding,
            cb_gain,
            surround,
            believed,
        )
        want_first = example_frame and i == 0
        vals, first = grab(levels, i, first=want_first)
        b = vals.shape[0]
        if progress is not None:
            progress(b * vals.shape[1])
        phot = stats.photometry
        if sampler is not None:
            f = sampler.features(bundle, vals, phot.gain, phot.offset)
        else:
            power[:b, :, plan.read] = phot.power(plan.at_readout(vals))
            f = bundle.readout(power[:b].reshape(b, *windows.shape))
        return (
            f,
            int(np.count_nonzero((vals >= top) & in_window)),
            b * int(np.count_nonzero(in_window)),
            photons_per_pixel(bench, vals, tiles, starts, phot, cal.camera),
            photons_per_image(bench, vals, tiles, phot, cal.camera),
            b * vals.shape[1],
            first,
        )

    starts_at = range(0, n, batch)
    mine = range(len(starts_at)) if shard is None else shard.batches(len(starts_at))

    def block() -> list[tuple[Any, ...]]:
        out = []
        for k, i in enumerate(starts_at):  # every batch, in order: the bench's clock
            if k in mine:
                out.append(measure(i))
            else:
                skip_batch(bench, min(batch, n - i), bundle.n_frames, n_average)
        return out

    if shard is None:
        records = block()
    else:
        records = [r for part in shard.gather(block, "the features") for r in part]
    feats = [r[0] for r in records]
    sat, n_px = sum(r[1] for r in records), sum(r[2] for r in records)
    photons, per_image = [r[3] for r in records], [r[4] for r in records]
    stats.frames += sum(r[5] for r in records)
    if records and records[0][6] is not None and stats.example_frame is None:
        stats.example_frame = records[0][6]
    stats.saturated_fraction = sat / max(n_px, 1)
    ph = [p for p in photons if p is not None]
    stats.mean_photons_per_pixel = float(np.mean(ph)) if ph else None
    pi = [p for p in per_image if p is not None]
    stats.photons_per_image = float(np.mean(pi)) if pi else None
    if stats.saturated_fraction > 1e-3:
        stats.warnings.append(
            f"saturated camera: {100 * stats.saturated_fraction:.2g} % of the readout pixels at "
            f"{top:.0f} DN (exposure {bench.camera.exposure:g} s); shorten the exposure"
        )
    return np.concatenate(feats) if feats else np.zeros((0,))
