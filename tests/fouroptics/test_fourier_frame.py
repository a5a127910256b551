"""The Fourier frame's rotation rule: a measured rotation within the routine's noise is ignored,
one the separable synthesis would misplace by more than ROTATION_TOLERANCE_PX at the SLM's
edge is refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

from fouroptics.compiler.fourier_frame import ROTATION_TOLERANCE_PX, FourierFrame
from fouroptics.errors import ConfigError


def frame(rotation: float) -> FourierFrame:
    section = {"centre_px": (256.3, 255.8), "scale": 1.001, "rotation_rad": rotation}
    return FourierFrame.from_calibration(section, (512, 512))


def test_a_rotation_within_the_measurements_noise_is_ignored() -> None:
    f = frame(-1.97e-4)  # what the fourier routine measured on a bench with none (seed 2032)
    assert f.offset_px == pytest.approx((0.3, -0.2))
    assert f.scale == pytest.approx(1.001)


def test_a_rotation_that_misplaces_the_edge_is_refused() -> None:
    edge = 1.5 * ROTATION_TOLERANCE_PX / 256
    with pytest.raises(ConfigError, match=r"rotated by .* deg .* re-seat the SLM"):
        frame(edge)
    assert np.degrees(edge) < 0.1  # a tenth of a degree is already too much on 512 px
