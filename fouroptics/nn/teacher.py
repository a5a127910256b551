"""Nonlinear teachers: a CNN classifier and a small encoder-decoder for segmentation."""

from __future__ import annotations

import torch
from torch import nn


class TeacherCNN(nn.Module):
    """conv5-ReLU-maxpool, conv5-ReLU-maxpool, MLP. Input ``[B, C, R, R]`` (R divisible by 4),
    output logits ``[B, classes]``. ``features(x)`` is the last pooled map ``[B, w2, R/4, R/4]``."""

    def __init__(
        self,
        in_channels: int = 1,
        classes: int = 10,
        widths: tuple[int, int] = (32, 64),
        resolution: int = 28,
        hidden: int = 128,
    ) -> None:
        super().__init__()
        w1, w2 = widths
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, w1, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w1, w2, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        side = resolution // 4
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(w2 * side * side, hidden),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(hidden, classes),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.body(x))


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class TeacherSegNet(nn.Module):
    """Small U-Net-like encoder-decoder: three 2x poolings (receptive field wider than a digit),
    bilinear upsampling, skip concatenation, conv-BN-ReLU blocks. Input ``[B, C, H, W]`` (H, W
    divisible by 8); output per-pixel logits ``[B, classes, H, W]``."""

    def __init__(self, in_channels: int = 1, classes: int = 11, width: int = 8) -> None:
        super().__init__()
        w = width
        self.enc1 = _block(in_channels, w)
        self.enc2 = nn.Sequential(nn.MaxPool2d(2), _block(w, 2 * w))
        self.enc3 = nn.Sequential(nn.MaxPool2d(2), _block(2 * w, 4 * w))
        self.bott = nn.Sequential(nn.MaxPool2d(2), _block(4 * w, 4 * w), _block(4 * w, 4 * w))
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec3 = _block(8 * w, 4 * w)
        self.dec2 = _block(6 * w, 2 * w)
        self.dec1 = _block(3 * w, w)
        self.out = nn.Conv2d(w, classes, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.bott(self.enc3(self.enc2(self.enc1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        b = self.bott(e3)
        d3 = self.dec3(torch.cat([self.up(b), e3], 1))
        d2 = self.dec2(torch.cat([self.up(d3), e2], 1))
        d1 = self.dec1(torch.cat([self.up(d2), e1], 1))
        return self.out(d1)
