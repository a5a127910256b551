"""Detection: what the electronics read from the complex optical output field.

Modes (all take the complex field ``[B, C_opt, H, W]`` at the camera plane, in field units, and
return real features ``[B, C, H, W]``):

- ``ideal``: the real part of the field (the paper's idealized, sign-preserving readout).
- ``intensity``: ``|E|^2``, what a camera measures.
- ``signed``: positive/negative kernel split: optical channels come in pairs ``(E+, E-)``
  (``C_opt = 2 C``), each imaged as an intensity; the signed output is recovered as
  ``sqrt(|E+|^2) - sqrt(|E-|^2)``.

A physics model can be slotted in through :class:`Detection` ``field_fn`` (e.g. a 4f-system
torch twin mapping the ideal output field to the simulated camera-plane field).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from fouroptics.errors import ConfigError

DETECTION_MODES: tuple[str, ...] = ("ideal", "intensity", "signed")
_SQRT_EPS = 1e-8  # keeps the sqrt differentiable at zero intensity


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is a known detection mode, else raise naming the allowed ones."""
    if mode not in DETECTION_MODES:
        raise ConfigError(f"unknown detection mode {mode!r}; allowed: {', '.join(DETECTION_MODES)}")
    return mode


def optical_channels(features: int, mode: str) -> int:
    """Optical output channels needed for ``features`` detected channels (2x for ``signed``)."""
    return 2 * features if check_mode(mode) == "signed" else features


def intensity(field: torch.Tensor) -> torch.Tensor:
    """``|E|^2`` of a complex field (any shape)."""
    return field.real.square() + field.imag.square()


def detect(field: torch.Tensor, mode: str) -> torch.Tensor:
    """Detected real features from a complex field ``[B, C_opt, H, W]`` (see module doc)."""
    check_mode(mode)
    if not torch.is_complex(field):
        raise TypeError(f"detection expects a complex field, got dtype {field.dtype}")
    if mode == "ideal":
        return field.real
    if mode == "intensity":
        return intensity(field)
    if field.shape[1] % 2:
        raise ValueError(f"signed detection needs an even channel count, got {field.shape[1]}")
    amp = torch.sqrt(intensity(field) + _SQRT_EPS)
    return amp[:, 0::2] - amp[:, 1::2]


def readout_ops(field_shape: tuple[int, ...], mode: str) -> int:
    """Electronic operations to read one sample out: one per camera pixel read (``C_opt*H*W``),
    plus one subtraction per output for ``signed``. Optics itself costs nothing."""
    check_mode(mode)
    c, h, w = field_shape[-3:]
    n = c * h * w
    return n + (n // 2 if mode == "signed" else 0)


class Detection(nn.Module):
    """Detection step as a module (so MAC counting and hooks see it).

    Args:
        mode: one of :data:`DETECTION_MODES`.
        field_fn: optional map applied to the complex field before detection (physics twin).
    """

    def __init__(
        self, mode: str, field_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> None:
        super().__init__()
        self.mode = check_mode(mode)
        self.field_fn = field_fn

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        if self.field_fn is not None:
            field = self.field_fn(field)
        return detect(field, self.mode)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
