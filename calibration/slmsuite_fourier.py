"""slmsuite's own Fourier calibration, run through our device adapters.

For a bench whose Fourier SLM and camera are slmsuite devices (``driver: slmsuite:<Class>``;
devices/slmsuite_adapter.py), slmsuite's ``FourierSLM.fourier_calibrate`` projects a spot
array hologram and fits the affine from the SLM's k-space (``"kxy"``, normalised spatial
frequency) to camera pixels (``"ij"``): ``ij = M @ kxy + b``. This complements
:func:`calibration.fourier.kspace_to_camera`, which measures the same kind of map with blazed
gratings through any Bench. Needs the ``hardware`` extra.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from calibration.errors import CalibrationError


def slmsuite_fourier_calibrate(
    slm: Any, camera: Any, array_shape: int = 5, array_pitch: int = 20, **kwargs: Any
) -> dict[str, np.ndarray]:
    """Run slmsuite's ``fourier_calibrate`` on adapter-wrapped slmsuite devices.

    Args:
        slm, camera: :class:`devices.hardware.slmsuite_adapter.SlmsuiteSLM` /
            ``SlmsuiteCamera`` (their ``.slmsuite`` objects are used read-only through
            slmsuite's API).
        array_shape, array_pitch: the spot array, in slmsuite's ``"knm"`` units.
        kwargs: passed to ``fourier_calibrate`` (e.g. ``maxiter``).

    Returns:
        ``{"M": (2, 2), "b": (2,)}``: camera pixel (x, y) = M @ kxy + b, slmsuite's convention.

    Raises:
        CalibrationError: the devices are not slmsuite devices, or slmsuite's fit failed.
    """
    if not (hasattr(slm, "slmsuite") and hasattr(camera, "slmsuite")):
        raise CalibrationError(
            "slmsuite fourier_calibrate needs slmsuite devices (driver: slmsuite:<Class>) for "
            "the Fourier SLM and the camera; use calibration.fourier.kspace_to_camera otherwise"
        )
    from slmsuite.hardware.cameraslms import FourierSLM

    fs = FourierSLM(camera.slmsuite, slm.slmsuite)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cal = fs.fourier_calibrate(
                array_shape=[array_shape, array_shape],
                array_pitch=[array_pitch, array_pitch],
                plot=0,
                **kwargs,
            )
        except Exception as exc:  # slmsuite raises plain exceptions for failed fits
            raise CalibrationError(
                f"slmsuite fourier_calibrate failed ({exc}): reduce array_pitch or "
                "array_shape, or check the camera exposure"
            ) from exc
    return {"M": np.asarray(cal["M"], float), "b": np.asarray(cal["b"], float).ravel()}
