"""Figures of the experiment reports (matplotlib, Agg, PNG)."""

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


def plot_curves(histories: dict[str, list[dict[str, Any]]], metric: str, path: Path) -> Path:
    """Test metric and training loss per epoch, one colour per model, one line per seed."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k, (name, hists) in enumerate(histories.items()):
        for j, h in enumerate(hists):
            label = name if j == 0 else None
            axes[0].plot(h["epoch"], h["test_metric"], color=f"C{k}", label=label, alpha=0.8)
            axes[1].plot(h["epoch"], h["train_loss"], color=f"C{k}", label=label, alpha=0.8)
    axes[0].set(xlabel="epoch", ylabel=metric, title=f"test {metric}")
    axes[1].set(xlabel="epoch", ylabel="loss", title="training loss", yscale="log")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def plot_confusions(confusions: dict[str, list[list[int]]], path: Path) -> Path:
    """Row-normalized confusion matrices side by side (rows: true class, columns: predicted)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(confusions), figsize=(4 * len(confusions), 4), squeeze=False)
    for ax, (name, cm) in zip(axes[0], confusions.items(), strict=False):
        cm_arr = np.asarray(cm, dtype=float)
        ax.imshow(cm_arr / cm_arr.sum(1, keepdims=True).clip(min=1), cmap="Blues", vmin=0, vmax=1)
        ax.set(title=name, xlabel="predicted", ylabel="true")
        ax.set_xticks(range(len(cm_arr)))
        ax.set_yticks(range(len(cm_arr)))
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def plot_segmentations(
    images: np.ndarray, truth: np.ndarray, preds: dict[str, np.ndarray], path: Path
) -> Path:
    """Example segmentations: one row per image (input, truth, then each model's labels).
    ``images`` ``[n, H, W]``, ``truth`` and each prediction ``[n, H, W]`` int labels."""
    plt = _plt()
    n = len(images)
    cols = 2 + len(preds)
    fig, axes = plt.subplots(n, cols, figsize=(2 * cols, 2 * n), squeeze=False)
    vmax = max(int(truth.max()), *(int(p.max()) for p in preds.values()), 1)
    for i in range(n):
        panels = [("input", images[i], "gray"), ("truth", truth[i], "tab20")]
        panels += [(k, v[i], "tab20") for k, v in preds.items()]
        for ax, (title, img, cmap) in zip(axes[i], panels, strict=False):
            kw = {} if cmap == "gray" else {"vmin": 0, "vmax": vmax, "interpolation": "nearest"}
            ax.imshow(img, cmap=cmap, **kw)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)


def plot_resolution(rows: list[dict[str, Any]], path: Path) -> Path:
    """Accuracy against electronic MACs per inference, one marker per (model, resolution)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, model in enumerate(sorted({r["model"] for r in rows})):
        pts = [r for r in rows if r["model"] == model]
        ax.errorbar(
            [r["electronic_macs"] for r in pts],
            [r["mean"] for r in pts],
            yerr=[r["std"] for r in pts],
            marker="o",
            color=f"C{k}",
            label=model,
        )
        for r in pts:
            ax.annotate(str(r["resolution"]), (r["electronic_macs"], r["mean"]))
    ax.set(xscale="log", xlabel="electronic MACs per inference", ylabel="test accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
