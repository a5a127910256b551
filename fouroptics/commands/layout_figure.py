"""A drawing of a 4f layout with the numbers of one system (for the demo's report).

The axial positions are to scale (millimetres along the optical axis); the transverse sizes of
the SLMs and the camera are drawn to a common, magnified scale so that they can be compared with
one another (not with the focal lengths).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fouroptics.optics import FourFSystem
from fouroptics.report import save_figure


def _grid_text(name: str, grid: Any) -> str:
    (h, w), p = grid.shape, grid.pitch
    return f"{name}\n{h} x {w} px @ {p * 1e6:.2f} um\n{h * p * 1e3:.2f} x {w * p * 1e3:.2f} mm" + (
        f"\nfill factor {grid.fill_factor:.2f}" if grid.fill_factor < 1 else ""
    )


def draw_layout(system: FourFSystem, path: str | Path, title: str = "") -> Path:
    """Draw input SLM -> lens f1 -> Fourier SLM -> lens f2 -> camera of ``system`` to ``path``
    (PNG). Positions in mm from the input SLM: 0, f1, 2 f1, 2 f1 + f2, 2 (f1 + f2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse, Rectangle

    f1, f2 = system.f1 * 1e3, system.f2 * 1e3
    z = {"in": 0.0, "l1": f1, "four": 2 * f1, "l2": 2 * f1 + f2, "cam": 2 * f1 + 2 * f2}
    sizes = {
        "in": system.input_slm.shape[0] * system.input_pitch * 1e3,
        "four": system.fourier_slm.shape[0] * system.fourier_pitch * 1e3,
        "cam": system.camera.shape[0] * system.camera_pitch * 1e3,
    }
    length = z["cam"]
    scale = 0.18 * length / max(sizes.values())  # transverse mm -> drawing units
    fig, ax = plt.subplots(figsize=(11, 4.2))
    ax.axhline(0, color="0.6", lw=0.8, ls="--", zorder=0)
    colours = {"in": "tab:blue", "four": "tab:purple", "cam": "tab:green"}
    names = {"in": "input SLM", "four": "Fourier SLM", "cam": "camera"}
    grids = {"in": system.input_slm, "four": system.fourier_slm, "cam": system.camera}
    for key in ("in", "four", "cam"):
        h = sizes[key] * scale
        ax.add_patch(
            Rectangle((z[key] - 0.012 * length, -h / 2), 0.024 * length, h, color=colours[key])
        )
        ax.text(
            z[key],
            -0.5 * scale * max(sizes.values()) - 0.02 * length,
            _grid_text(names[key], grids[key]),
            ha="center",
            va="top",
            fontsize=8,
        )
    lens_h = 0.5 * length * 0.5
    for key, f in (("l1", f1), ("l2", f2)):
        ax.add_patch(Ellipse((z[key], 0), 0.03 * length, lens_h, color="tab:cyan", alpha=0.6))
        ax.text(
            z[key],
            lens_h / 2 + 0.01 * length,
            f"lens f = {f:.0f} mm",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    # Rays: the plane wave that lights the input SLM's edges focuses on the Fourier SLM's centre
    # (the zero order) and leaves lens 2 parallel again, at the inverted, magnified image point.
    y_in = sizes["in"] * scale / 2
    y_cam = y_in * system.magnification
    for sign in (1, -1):
        ax.plot(
            [z["in"], z["l1"], z["four"], z["l2"], z["cam"]],
            [sign * y_in, sign * y_in, 0, -sign * y_cam, -sign * y_cam],
            color="tab:orange",
            lw=0.8,
        )
    for a, b, label in (
        ("in", "l1", "f1"),
        ("l1", "four", "f1"),
        ("four", "l2", "f2"),
        ("l2", "cam", "f2"),
    ):
        yy = lens_h / 2 + 0.07 * length
        ax.annotate("", (z[a], yy), (z[b], yy), arrowprops={"arrowstyle": "<->", "lw": 0.7})
        ax.text(
            (z[a] + z[b]) / 2,
            yy + 0.005 * length,
            f"{label} = {(f1 if label == 'f1' else f2):.0f} mm",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    report = system.sampling_report()
    band = system.wavelength * system.f1 / system.input_pitch * 1e3
    info = (
        f"wavelength {system.wavelength * 1e9:.0f} nm; magnification -f2/f1 = "
        f"{-system.magnification:.2f} (image inverted)\n"
        f"input band at the Fourier plane lambda f1 / p_in = {band:.2f} mm; Fourier SLM covers "
        f"{sizes['four']:.2f} mm; {len(report.get('warnings', []))} sampling warning(s)"
    )
    ax.text(0.0, 1.02, info, transform=ax.transAxes, fontsize=8.5, va="bottom")
    if title:
        ax.set_title(title, fontsize=10, pad=34)
    ax.set_xlim(-0.08 * length, 1.08 * length)
    top = lens_h / 2 + 0.13 * length
    ax.set_ylim(-lens_h / 2 - 0.09 * length, top)
    ax.set_aspect("equal")
    ax.set_xlabel("distance along the optical axis (mm); transverse sizes magnified")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return save_figure(fig, path)
