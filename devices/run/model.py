"""An optical model: a compiled bundle on a bench, with its calibration, as one object.

    from calibration import CalibrationSet
    from devices import OpticalModel, load_bench
    from fouroptics.compiler import MaskBundle

    with load_bench("examples/benches/misaligned_noisy.yaml") as bench:
        bundle = MaskBundle.load("out/bundle.h5", system=bench.system)
        cal = CalibrationSet.load("cal/calibration.h5")
        model = OpticalModel(bundle, bench, cal, reference=train_x[:16])
        result = model.evaluate(test_x, test_y)      # result.metrics["accuracy"]

:meth:`OpticalModel.features` measures images (B, C_in, n, n) through the bench
(:func:`devices.run.loop.run_bundle`: frame by frame on hardware, batched on a simulated bench,
the same numbers); :meth:`predict` applies the bundle's electronic head; :meth:`evaluate` adds
the task's metrics (accuracy, or mIoU and pixel accuracy), the confusion matrix and the run's
statistics. The camera exposure and photometry are fitted on the reference images at the first
measurement and kept for the next ones (one scale, as fine-tuning needs); each measurement on a
simulated bench draws its camera noise from fresh streams of ``seed``, one per image
(:mod:`devices.run.streams`: the same numbers however the images are batched or sharded).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from devices.run.compat import check_compatible
from devices.run.loop import ReadoutBuffer, RunStats, run_bundle
from devices.run.photometry import Photometry
from devices.run.shard import Shard
from devices.run.streams import ImageStreams
from devices.run.tasks import confusion, metrics, n_classes, predict, task_of
from fouroptics.errors import ConfigError


@dataclass
class Evaluation:
    """What :meth:`OpticalModel.evaluate` measured.

    Attributes:
        metrics: ``{"accuracy"}`` or ``{"miou", "pixel_accuracy"}``, fractions.
        confusion: (k, k) counts, rows the true class.
        predictions: (B,) labels or (B, H, W) label maps.
        features: (B, C, n, n) measured features.
        stats: the run's diagnostics (exposure, photometry, frames, saturation, photons).
        wall_s: seconds the measurement took.
    """

    metrics: dict[str, float]
    confusion: np.ndarray
    predictions: np.ndarray
    features: np.ndarray
    stats: RunStats
    wall_s: float


class _Streams:
    """Numbers the noise streams of successive measurements (shared by derived models)."""

    def __init__(self) -> None:
        self.used = 0

    def next(self) -> int:
        self.used += 1
        return self.used


class OpticalModel:
    """A compiled MaskBundle on a Bench, with a calibration: images -> features -> labels.

    Args:
        bundle: the :class:`fouroptics.compiler.MaskBundle` (compiled for this bench).
        bench: a Bench (hardware) or SimulatedBench.
        calibration: a CalibrationSet (``calibration.CalibrationSet.load(path)``), a mapping
            with ``registration`` and/or ``input_inverse_lut``, or None (the nominal geometry
            and the SLM's believed LUT).
        reference: (R, C_in, n, n) images for the exposure and photometry: a few training
            images, never the images measured.
        exposure: camera exposure in seconds; None: automatic (brightest tile at ``target``
            of the camera's range).
        photometry: a fitted camera response to reuse (None: fitted on ``reference``).
        target: brightest tile's share of the camera range for the automatic exposure.
        n_average: frames averaged per image and bundle frame.
        batch: images per capture call.
        noise: False for a simulated camera without temporal noise (refused on hardware).
        seed: the simulated camera noise: image i of measurement k draws from its own stream
            of ``(seed, k, i)`` (:class:`devices.run.streams.ImageStreams`).
        capture_options: further options of a simulated bench's capture (``power_scale``,
            ``adc_bits``, ``rng``).
        hold_scale: keep the first measurement's exposure and photometry for the next ones.
        example_frame: keep the first image's full frames in ``stats.example_frame``.
        readout: ``auto`` (the default: the filter where the camera samples the features
            finely enough), ``filter`` (each feature interpolated at its measured position,
            16 taps) or ``resample`` (the registration's resampling and the window readout);
            see :mod:`devices.run.geometry`.
        shard: this process's share of the images under ``torchrun``
            (:mod:`devices.run.shard`); every process gets all the features.

    Raises:
        ConfigError: the bundle was not compiled for the bench, no reference images, or a
            calibration file that does not load (one line, naming it).
    """

    def __init__(
        self,
        bundle: Any,
        bench: Any,
        calibration: Any = None,
        reference: Any = None,
        *,
        exposure: float | None = None,
        photometry: Photometry | None = None,
        target: float = 0.5,
        n_average: int = 1,
        batch: int = 64,
        noise: bool = True,
        seed: int = 0,
        capture_options: dict[str, Any] | None = None,
        hold_scale: bool = True,
        example_frame: bool = True,
        readout: str = "auto",
        shard: Shard | None = None,
    ) -> None:
        check_compatible(bench, bundle)
        if reference is None or len(reference) == 0:
            raise ConfigError(
                "OpticalModel: reference images are needed for the exposure and photometry "
                "(a few training images, not the images measured)"
            )
        for name, value, low in (
            ("batch", batch, 1),
            ("n_average", n_average, 1),
            ("seed", seed, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ConfigError(
                    f"OpticalModel {name}: got {value!r}; expected an integer >= {low}"
                )
        if not (np.isfinite(target) and 0 < target <= 1):
            raise ConfigError(f"OpticalModel target: got {target!r}; expected a fraction in (0, 1]")
        if isinstance(calibration, (str, Path)):
            raise ConfigError(
                f"OpticalModel: calibration {str(calibration)!r} is a path; pass the loaded "
                "file (calibration.CalibrationSet.load(path))"
            )
        check = getattr(calibration, "check_bench", None)
        if callable(check):  # a CalibrationSet refuses a bench it was not measured on
            with warnings.catch_warnings():  # its doubts were said when it was loaded
                warnings.simplefilter("ignore")
                check(bench)
        self.bundle = bundle
        self.bench = bench
        self.calibration = calibration
        self.reference = np.asarray(reference)
        self.exposure = exposure
        self.photometry = photometry
        self.target = float(target)
        self.n_average = int(n_average)
        self.batch = int(batch)
        self.noise = bool(noise)
        self.seed = int(seed)
        self.capture_options = dict(capture_options or {})
        self.hold_scale = hold_scale
        self.example_frame = bool(example_frame)
        self.readout = readout
        self.shard = shard
        self.stats: RunStats | None = None
        self._streams = _Streams()
        self._buffer = ReadoutBuffer()

    @property
    def task(self) -> str:
        """``classify`` or ``segment`` (the bundle's model)."""
        return task_of(self.bundle)

    def derived(self, **changes: Any) -> OpticalModel:
        """A model like this one with some constructor arguments changed (``bundle``,
        ``bench``, ``calibration``, ``photometry``, ``n_average``, ``capture_options``,
        ``hold_scale``, ...): the same exposure and photometry unless changed, and the same
        noise streams and readout buffer (fine-tuning's recompiled bundles, a sweep's points)."""
        args = dict(
            bundle=self.bundle,
            bench=self.bench,
            calibration=self.calibration,
            reference=self.reference,
            exposure=self.exposure,
            photometry=self.photometry,
            target=self.target,
            n_average=self.n_average,
            batch=self.batch,
            noise=self.noise,
            seed=self.seed,
            capture_options=self.capture_options,
            hold_scale=self.hold_scale,
            example_frame=self.example_frame,
            readout=self.readout,
            shard=self.shard,
        )
        unknown = set(changes) - set(args)
        if unknown:
            raise TypeError(f"OpticalModel.derived: unknown {sorted(unknown)}")
        args.update(changes)
        other = OpticalModel(**args)
        other._streams = self._streams
        other._buffer = self._buffer
        return other

    def with_bundle(self, bundle: Any) -> OpticalModel:
        """The same bench, calibration, reference, exposure, photometry and noise streams for
        another bundle (a recompiled one, in fine-tuning)."""
        return self.derived(bundle=bundle)

    def features(
        self,
        images: Any,
        *,
        rng: np.random.Generator | ImageStreams | None = None,
        progress: Any = None,
    ) -> np.ndarray:
        """Measured features (B, C, n_out, n_out) of ``images`` (B, C_in, n, n).

        Args:
            rng: the simulated camera's noise for this measurement: :class:`ImageStreams`
                (each image's from its index) or one Generator for all (default: the next
                measurement's streams of ``seed``); with ``noise=False`` it selects the
                batched single-precision path, as for noisy runs.
            progress: called with the number of (image, frame) captures after each batch.
        """
        opts = dict(self.capture_options)
        if rng is not None:
            opts["rng"] = rng
        elif self.noise and "rng" not in opts:
            stream = self._streams.next()
            if self.bench.simulated:
                opts["rng"] = ImageStreams(self.seed, (stream,))
        if not self.noise:
            opts["noise"] = False
        stats = RunStats()
        feats = run_bundle(
            self.bench,
            self.bundle,
            images,
            self.calibration,
            reference=self.reference,
            exposure=self.exposure,
            photometry=self.photometry,
            target=self.target,
            n_average=self.n_average,
            batch=self.batch,
            stats=stats,
            progress=progress,
            capture_options=opts,
            buffer=self._buffer,
            example_frame=self.example_frame,
            readout=self.readout,
            shard=self.shard,
        )
        self.stats = stats
        if self.hold_scale:
            self.exposure = stats.exposure.exposure
            self.photometry = stats.photometry
        return feats

    def predict(self, images: Any, **kw: Any) -> np.ndarray:
        """The bundle's electronic head on the measured features: labels (B,) or label maps
        (B, H, W)."""
        return predict(self.bundle, self.features(images, **kw))

    def evaluate(self, images: Any, labels: Any, **kw: Any) -> Evaluation:
        """Measure ``images``, predict, and score against ``labels`` ((B,) classes or
        (B, H, W) label maps)."""
        t0 = time.perf_counter()
        feats = self.features(images, **kw)
        wall = time.perf_counter() - t0
        pred = predict(self.bundle, feats)
        y = np.asarray(labels)
        k = n_classes(self.bundle, y, pred)
        return Evaluation(
            metrics=metrics(self.task, y, pred, k),
            confusion=confusion(y, pred, k),
            predictions=pred,
            features=feats,
            stats=self.stats,
            wall_s=wall,
        )
