"""Figures of a calibration: photon transfer curve, LUTs, registration residuals, Fourier
centre fit. Each function returns a matplotlib Figure (saved by the caller)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _figure(ncols: int = 1, width: float = 5.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, 4.0))
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def photon_transfer(camera: Any):
    """Temporal variance vs mean (dark subtracted) with the fitted gain."""
    raw = camera.raw
    mu = raw["mean_dn"] - raw["dark_mean_dn"]
    var = raw["variance_dn2"] - raw["dark_variance_dn2"]
    fig, (ax,) = _figure()
    ax.plot(mu, var, "o", label="measured pairs")
    x = np.linspace(0, float(mu.max()), 50)
    ax.plot(x, camera.gain * x, "-", label=f"K = {camera.gain:.4g} DN/e-")
    ax.axvline(0.7 * float(raw["saturation_mean_dn"][0]), ls=":", c="gray", label="70 % sat.")
    ax.set_xlabel("mean signal - dark (DN)")
    ax.set_ylabel("temporal variance - dark (DN$^2$)")
    ax.set_title("Photon transfer (EMVA 1288)")
    ax.legend()
    return fig


def luts(responses: dict[str, Any], truth: dict[str, np.ndarray] | None = None):
    """Measured response and inverse LUT of each SLM (with the truth when known)."""
    fig, axes = _figure(max(1, len(responses)))
    for ax, (role, r) in zip(axes, responses.items(), strict=False):
        levels = np.arange(len(r.curve))
        ax.plot(levels, r.curve, "-", label="measured (interpolated)")
        ax.plot(r.raw["levels"], r.curve[r.raw["levels"]], ".", ms=3, label="measured levels")
        if truth and role in truth:
            ax.plot(levels, truth[role], "--", label="true")
        unit = "rad" if r.modulation == "phase" else "amplitude"
        ax.set_xlabel("gray level")
        ax.set_ylabel(f"{unit} (relative)")
        ax.set_title(f"{role}: {r.modulation} response")
        ax.legend(fontsize=8)
    return fig


def registration_residuals(reg: Any):
    """Dot positions on the camera with their fit residuals (arrows, magnified)."""
    raw = reg.raw
    dst, res = raw["dots_camera_px"], raw["residuals_px"]
    fig, (ax, bx) = _figure(2)
    scale = 10.0 / max(float(np.abs(res).max()), 1e-6)
    ax.quiver(dst[:, 1], dst[:, 0], res[:, 1] * scale, -res[:, 0] * scale, angles="xy")
    ax.invert_yaxis()
    ax.set_title(f"registration residuals (rms {reg.residual_px:.3g} px, arrows x{scale:.0f})")
    ax.set_xlabel("camera column")
    ax.set_ylabel("camera row")
    im = bx.imshow(reg.beam_profile, cmap="inferno")
    bx.plot(reg.beam_centre_px[1], reg.beam_centre_px[0], "c+")
    bx.set_title("beam profile on the input SLM")
    fig.colorbar(im, ax=bx)
    return fig


def fourier_centre(fm: Any):
    """Left: for each spectral peak and axis, the camera power through a flat region of the
    Fourier SLM just before a boundary minus that through the region just after it (the rest
    deflected away), against the boundary's position; it changes sign where the boundary
    crosses the peak's centre. Right: the peaks found and the optical axis."""
    raw = fm.raw
    fig, (ax, bx) = _figure(2)
    steps = raw["boundary_steps_px"] - 0.5
    for d in raw["split_power_differences"]:
        ax.plot(steps, d / max(np.abs(d).max(), 1e-30), "-o", ms=3)
    ax.axhline(0, c="gray", lw=0.5)
    ax.set_xlabel("boundary - nominal peak (Fourier pixels)")
    ax.set_ylabel(
        "camera power: flat region before the boundary\nminus the one after it (normalised)"
    )
    ax.set_title(
        "a boundary moved across each spectral peak\n(zero where it crosses the peak's centre)"
    )
    p = fm.peaks_px
    bx.plot(p[:, 1], p[:, 0], "o", label="peaks")
    bx.plot(fm.centre_px[1], fm.centre_px[0], "r+", ms=12, label="axis")
    bx.invert_yaxis()
    bx.set_title(
        f"centre ({fm.centre_px[0]:.2f}, {fm.centre_px[1]:.2f}), scale {fm.scale:.4f}, "
        f"rot {np.degrees(fm.rotation_rad):.3f} deg"
    )
    bx.legend()
    return fig
