"""Electronic heads that follow the optical detection."""

from __future__ import annotations

from torch import nn


class ClassifierHead(nn.Module):
    """Per-channel normalization, average pooling to ``pool x pool``, then a small MLP.

    Input: detected features ``[B, C, n, n]``; output: logits ``[B, classes]``.
    """

    def __init__(self, channels: int, classes: int, pool: int = 7, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.AdaptiveAvgPool2d(pool),
            nn.Flatten(),
            nn.Linear(channels * pool * pool, hidden),
            nn.ReLU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x):  # noqa: D102
        return self.net(x)


class SegmentationHead(nn.Module):
    """Per-pixel layers (1x1 convolutions with ReLU) then bilinear upsampling.

    Input: detected features ``[B, C, n, n]``; output: logits ``[B, classes, n*up, n*up]``.
    """

    def __init__(self, channels: int, classes: int, hidden: int = 32, upsample: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.BatchNorm2d(channels),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(),
            nn.Conv2d(hidden, classes, 1),
        ]
        if upsample > 1:
            layers.append(nn.Upsample(scale_factor=upsample, mode="bilinear", align_corners=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x):  # noqa: D102
        return self.net(x)
