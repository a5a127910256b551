"""Figures of ``fouroptics simulate``: camera frame with the tile map, digital vs optical
features, sweep curves (matplotlib, Agg, PNG through report.save_figure); the confusion matrix
and the segmentation masks come from :mod:`fouroptics.nn.plots`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.report import save_figure


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: frames shown by :func:`camera_frame` (a bundle may have dozens)
MAX_FRAMES_SHOWN = 8


def camera_frame(frames: np.ndarray, bundle: Any, path: Path) -> Path:
    """The first image's camera frames (F, H, W) in DN (the first :data:`MAX_FRAMES_SHOWN`, four
    to a row), each readout window outlined and labelled with its optical channel (and role):
    the outlined light is the convolution output the readout uses; the rest (zero order, the
    encoding's ghosts, light of other tiles) is never read."""
    plt = _plt()
    from matplotlib.patches import Rectangle

    n = min(len(frames), MAX_FRAMES_SHOWN)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4 * rows + 0.6), squeeze=False)
    for f, ax in enumerate(axes.ravel()):
        if f >= n:
            ax.axis("off")
            continue
        im = ax.imshow(frames[f], cmap="gray")
        fig.colorbar(im, ax=ax, fraction=0.046, label="DN")
        ax.set_title(f"bundle frame {f}", fontsize=9)
        for t in bundle.tile_map:
            frames_of = {t["frame"], t.get("minus_frame", t["frame"])}
            if f not in frames_of:
                continue
            r, c, h, w = t["crop"]
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, ec="C1", lw=0.8))
            role = "" if t["role"] == "intensity" else t["role"]
            ax.text(c, r - 2, f"{t['channel']}{role}", color="C1", fontsize=6)
    shown = f"frames 0-{n - 1} of {len(frames)}" if n < len(frames) else f"{n} frame(s)"
    fig.suptitle(
        f"First test image on the camera ({shown}). Orange boxes: readout windows, labelled "
        "with their optical channel: the convolution outputs.\nLight outside them (zero order, "
        "encoding ghosts) is not read.",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)


def features(digital: np.ndarray, optical: np.ndarray, path: Path) -> Path:
    """Scatter of optical vs digital feature values, and the first image's first channels."""
    plt = _plt()
    chans = min(4, digital.shape[1])
    fig, axes = plt.subplots(2, chans + 1, figsize=(3 * (chans + 1), 6), squeeze=False)
    d, o = digital.ravel(), optical.ravel()
    pick = np.random.default_rng(0).choice(d.size, size=min(d.size, 20000), replace=False)
    ax = axes[0, 0]
    ax.plot(d[pick], o[pick], ".", ms=1, alpha=0.3)
    lo, hi = float(min(d.min(), o.min())), float(max(d.max(), o.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set(xlabel="digital", ylabel="optical", title="features")
    axes[1, 0].axis("off")
    for c in range(chans):
        for row, (name, arr) in enumerate((("digital", digital), ("optical", optical))):
            a = axes[row, c + 1]
            a.imshow(arr[0, c], cmap="viridis")
            a.set_title(f"{name} ch {c}", fontsize=8)
            a.axis("off")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def sweep_plot(sweep: dict[str, Any], path: Path) -> Path:
    """Accuracy (or the sweep's ``metric``: mIoU for segmentation; mean and spread over noise
    seeds) against the swept value, per series; a photon sweep also against the photons the
    camera counted (dashed), with the sweep's ``photons_note`` under the plot."""
    plt = _plt()
    metric = sweep.get("metric", "accuracy")
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (name, pts) in enumerate(sweep["series"].items()):
        v = np.array([p["value"] for p in pts], float)
        m = np.array([p[f"{metric}_mean"] for p in pts]) * 100
        s = np.array([p[f"{metric}_std"] for p in pts]) * 100
        ax.errorbar(v, m, yerr=s, marker="o", capsize=3, color=f"C{k}", label=name)
        counted = [p.get("measured_photons_per_pixel") for p in pts]
        if sweep["kind"] == "photons" and None not in counted:  # photons the camera counted
            ax.plot(counted, m, ls="--", marker=".", color=f"C{k}", alpha=0.5,
                    label=f"{name}, against the photons counted")  # fmt: skip
    dig = sweep.get(f"digital_{metric}")
    if dig is not None:
        ax.axhline(100 * dig, color="k", ls="--", lw=0.8, label="digital")
    if sweep.get("bench_value") is not None:  # the bench's own value (its profile's)
        ax.axvline(sweep["bench_value"], color="0.4", ls=":", lw=1, label="this bench")
    if sweep.get("log_x"):
        ax.set_xscale("log")
    ylabel = "mIoU (%)" if metric == "miou" else "accuracy (%)"
    ax.set(xlabel=sweep["x_label"], ylabel=ylabel, title=f"sweep: {sweep['kind']}")
    ax.grid(alpha=0.3)
    ax.legend()
    if sweep.get("photons_note"):
        import textwrap

        note = textwrap.fill(sweep["photons_note"][0].upper() + sweep["photons_note"][1:], 95)
        fig.text(0.01, -0.02, note + ".", ha="left", va="top", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
