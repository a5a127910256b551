"""Knowledge-distillation losses (Hinton et al.), for classification and per-pixel logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: the authors' setting (arXiv 2102.13323).
PAPER_TEMPERATURE = 10.0
PAPER_ALPHA = 0.5


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float = PAPER_TEMPERATURE,
    alpha: float = PAPER_ALPHA,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)``.

    Logits are ``[B, K]`` or per-pixel ``[B, K, H, W]`` (classes on dim 1); targets ``[B]`` or
    ``[B, H, W]``. The KL is summed over classes and averaged over samples (and pixels), the
    cross-entropy averaged the same way, so the per-pixel loss is the mean of per-pixel losses.
    ``class_weights`` ``[K]`` (optional) weights the cross-entropy term per true class (as in
    ``F.cross_entropy(weight=...)``); the soft term is unweighted.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student/teacher logits differ in shape: {tuple(student_logits.shape)} vs "
            f"{tuple(teacher_logits.shape)}"
        )
    if temperature <= 0 or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"need temperature > 0 and 0 <= alpha <= 1, got {temperature}, {alpha}")
    log_s = F.log_softmax(student_logits / temperature, dim=1)
    log_t = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    kl = (log_t.exp() * (log_t - log_s)).sum(1).mean()
    ce = F.cross_entropy(student_logits, targets, weight=class_weights)
    return alpha * temperature**2 * kl + (1.0 - alpha) * ce


class FeatureMatcher(nn.Module):
    """Optional feature-matching term: a trainable 1x1 adapter maps the student's detected
    features ``[B, Cs, n, n]`` onto the teacher's feature map ``[B, Ct, m, m]`` (average-pooled
    to ``m x m``); the loss is the MSE between the per-sample standardized maps. Used only in
    training; the adapter is not part of the deployed model."""

    def __init__(self, student_channels: int, teacher_channels: int) -> None:
        super().__init__()
        self.adapter = nn.Conv2d(student_channels, teacher_channels, 1)

    @staticmethod
    def _standardize(x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        return (flat - flat.mean(1, keepdim=True)) / (flat.std(1, keepdim=True) + 1e-6)

    def forward(self, student_feat: torch.Tensor, teacher_feat: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(student_feat, teacher_feat.shape[-2:])
        return F.mse_loss(self._standardize(self.adapter(s)), self._standardize(teacher_feat))
