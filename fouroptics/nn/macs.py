"""Electronic multiply-accumulate (MAC) counts per inference.

Counted by forward hooks on one sample: convolutions and linear layers (MACs), pooling,
normalization and upsampling (one op per output element and window element), and the
detection readout (see :func:`fouroptics.nn.detection.readout_ops`). Spectral convolutions and
spectral pooling are optical and cost no electronic MACs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from fouroptics.nn.detection import Detection, readout_ops


def _window(k: int | tuple[int, ...]) -> int:
    return k * k if isinstance(k, int) else int(torch.tensor(k).prod())


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Electronic MACs of ``model`` for one input of shape ``input_shape`` = ``(C, H, W)``."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        x = inputs[0]
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * (module.in_channels // module.groups) * k
        elif isinstance(module, nn.ConvTranspose2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += x.numel() * (module.out_channels // module.groups) * k
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
            total += output.numel() * _window(module.kernel_size)
        elif isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            total += max(x.numel(), output.numel())
        elif isinstance(module, nn.BatchNorm2d | nn.Upsample):
            total += output.numel() * (4 if isinstance(module, nn.Upsample) else 1)
        elif isinstance(module, Detection):
            total += readout_ops(tuple(x.shape), module.mode)

    kinds = (
        nn.Conv2d,
        nn.ConvTranspose2d,
        nn.Linear,
        nn.MaxPool2d,
        nn.AvgPool2d,
        nn.AdaptiveAvgPool2d,
        nn.AdaptiveMaxPool2d,
        nn.BatchNorm2d,
        nn.Upsample,
        Detection,
    )
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total)


def sclc_fft_macs(c_in: int, c_opt: int, period: int, n_out: int) -> int:
    """MACs of an SCLC's collapsed spectral layer run digitally by FFT, per inference: a 2D FFT
    of the period (``N x N``) per input channel and an inverse one per optical channel, each
    ``5 N^2 log2 N`` real operations counted as MACs (the usual radix-2 count, generous to the
    computer: a real MAC is two operations), and one complex MAC (4 real) per kernel frequency
    kept (``n_out^2``) and channel pair. The head is counted apart (:func:`count_macs`)."""
    fft = 5 * period**2 * math.log2(max(period, 2))
    return int(c_in * fft + c_opt * fft + 4 * c_opt * c_in * n_out**2)
