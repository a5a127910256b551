"""The run path: a compiled MaskBundle on a bench, images -> features -> predictions.

:class:`OpticalModel` is the object to use; :func:`run_bundle` is its loop. Readout geometry
(:mod:`devices.run.geometry`), photometry (:mod:`devices.run.photometry`), exposure
(:mod:`devices.run.exposure`), input levels (:mod:`devices.run.levels`), the bundle/bench
checks (:mod:`devices.run.compat`), the calibration as data (:mod:`devices.run.calibration`),
the task's head and metrics (:mod:`devices.run.tasks`) and the hardware estimate
(:mod:`devices.run.estimate`) each have their module. The run path imports no simulated device:
a bench captures (:meth:`devices.interface.bench.Bench.capture_bundle`).
"""

from devices.run.calibration import RunCalibration
from devices.run.loop import RunStats, run_bundle
from devices.run.model import Evaluation, OpticalModel
from devices.run.photometry import Photometry

__all__ = ["Evaluation", "OpticalModel", "Photometry", "RunCalibration", "RunStats", "run_bundle"]
