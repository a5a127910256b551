"""Figures say in words what they plot (#20: fourier.png's axis read "W_A - W_B", the names of
the Fourier routine's docstring)."""

from __future__ import annotations

import numpy as np

from calibration.fourier import FourierMapping
from calibration.plots import fourier_centre


def test_fourier_figure_names_its_quantity_in_words() -> None:
    import matplotlib.pyplot as plt

    steps = np.array([-2, -1, 0, 1, 2, 3])
    fm = FourierMapping(
        centre_px=(128.0, 128.0),
        scale=1.0,
        rotation_rad=0.0,
        peaks_px=np.array([[128.0, 128.0], [128.0, 160.0]]),
        raw={"boundary_steps_px": steps, "split_power_differences": np.array([steps - 0.3])},
    )
    fig = fourier_centre(fm)
    ax = fig.axes[0]
    label = ax.get_ylabel()
    assert "W_A" not in label and "W_B" not in label
    assert "minus" in label and "power" in label and "boundary" in label
    assert "centre" in ax.get_title()
    plt.close(fig)
