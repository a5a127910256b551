"""What a bundle's network does with its features: its task, its electronic head's
predictions, and the metrics of the training (accuracy, or mIoU for segmentation)."""

from __future__ import annotations

from typing import Any

import numpy as np


def task_of(bundle: Any) -> str:
    """``segment`` for a bundle compiled from a segmentation SCLC, else ``classify``."""
    config = (bundle.meta.get("source") or {}).get("model_config") or {}
    return "segment" if config.get("kind") == "seg_sclc" else "classify"


def headline(task: str) -> str:
    """The metric a task is judged by (sweeps, fine-tuning): accuracy or mIoU."""
    return "miou" if task == "segment" else "accuracy"


def n_classes(bundle: Any, *labels: np.ndarray) -> int:
    """Classes of the bundle's model (or one past the largest label seen)."""
    config = (bundle.meta.get("source") or {}).get("model_config") or {}
    seen = max(int(np.max(a)) for a in labels if np.size(a)) + 1 if labels else 0
    return max(int(config.get("classes", 0)), seen)


def predict(bundle: Any, feats: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The bundle's electronic head on features (B, C, n, n): class labels (B,) or, for a
    segmentation head, label maps (B, H, W)."""
    import torch

    head = bundle.head()
    out = []
    with torch.no_grad():
        for i in range(0, len(feats), chunk):  # bounded memory (segmentation logits)
            logits = head(torch.as_tensor(feats[i : i + chunk], dtype=torch.float32))
            out.append(logits.argmax(1).numpy())
    return np.concatenate(out) if out else np.zeros((0,), dtype=np.int64)


def confusion(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts, rows true class (:func:`fouroptics.nn.metrics.confusion_matrix`)."""
    import torch

    from fouroptics.nn.metrics import confusion_matrix

    return confusion_matrix(torch.as_tensor(pred), torch.as_tensor(y), k).numpy()


def metrics(task: str, y: np.ndarray, pred: np.ndarray, k: int) -> dict[str, float]:
    """``{"accuracy"}`` (classify) or ``{"miou", "pixel_accuracy"}`` (segment), from the
    confusion matrix by :mod:`fouroptics.nn.metrics` (the training's own metrics)."""
    import torch

    from fouroptics.nn.metrics import accuracy, mean_iou

    cm = torch.as_tensor(confusion(y, pred, k))
    if task == "segment":
        return {"miou": mean_iou(cm), "pixel_accuracy": accuracy(cm)}
    return {"accuracy": accuracy(cm)}
