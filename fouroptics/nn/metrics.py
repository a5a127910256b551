"""Evaluation metrics from confusion matrices (vectorized)."""

from __future__ import annotations

import torch


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, classes: int) -> torch.Tensor:
    """int64 ``[classes, classes]``: rows true class, columns predicted class."""
    idx = target.reshape(-1).to(torch.int64) * classes + pred.reshape(-1).to(torch.int64)
    return torch.bincount(idx, minlength=classes * classes).reshape(classes, classes)


def accuracy(cm: torch.Tensor) -> float:
    """Fraction of correct predictions (classification accuracy or pixel accuracy)."""
    return float(cm.diag().sum() / cm.sum().clamp(min=1))


def mean_iou(cm: torch.Tensor) -> float:
    """Mean intersection over union over the classes that occur (in truth or prediction)."""
    inter = cm.diag().double()
    union = cm.sum(0).double() + cm.sum(1).double() - inter
    present = union > 0
    return float((inter[present] / union[present]).mean())
