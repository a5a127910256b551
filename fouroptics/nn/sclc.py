"""SCLC: Spectral CNN Linear Counterpart. A linear optical stack of spectral convolutions and
spectral pooling, a detection step, then a small electronic head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fouroptics.nn.detection import Detection
from fouroptics.nn.spectral import (
    SpectralConv2d,
    SpectralPool2d,
    spectral_crop,
    to_field,
    to_spectrum,
)


class SpectralStack(nn.Module):
    """The optical part: ``len(channels) - 1`` spectral convolutions, each followed by spectral
    pooling, with no nonlinearity.

    Args:
        channels: ``[C_in, C_1, ..., C_L]`` channel counts.
        sizes: ``[N_0, ..., N_L]``; layer ``l`` acts on ``N_l x N_l`` spectra and is followed by
            spectral pooling to ``N_{l+1}`` (no pooling when equal). ``N_0`` is the input side.
        seed: seed of the weight initialization.
        dc_free: the first layer passes no DC, so neither does the stack (its collapsed
            kernels' DC bins are 0): an input SLM's uniform contrast floor then adds nothing to
            the output field (see :class:`SpectralConv2d`).

    ``forward`` maps real images ``[B, C_in, N_0, N_0]`` to the complex output field
    ``[B, C_L, N_L, N_L]``.
    """

    def __init__(
        self, channels: Sequence[int], sizes: Sequence[int], seed: int = 0, dc_free: bool = False
    ) -> None:
        super().__init__()
        if len(sizes) != len(channels):
            raise ValueError(f"need one size per channel entry: {list(channels)} vs {list(sizes)}")
        if any(b > a for a, b in zip(sizes, sizes[1:], strict=False)):
            raise ValueError(f"spectral pooling cannot enlarge: sizes {list(sizes)}")
        self.channels, self.sizes = list(channels), list(sizes)
        g = torch.Generator().manual_seed(int(seed))
        layers: list[nn.Module] = []
        for cin, cout, n, m in zip(channels, channels[1:], sizes, sizes[1:], strict=False):
            conv = SpectralConv2d(cin, cout, n, dc=not (dc_free and not layers))
            conv.reset_parameters(g)
            layers.append(conv)
            if m != n:
                layers.append(SpectralPool2d(m))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Complex output field. Computed through the collapsed kernel (the same linear map,
        and the same gradients, but the layer products are formed once per batch rather than
        once per image); :meth:`forward_layers` runs the layers one by one."""
        return apply_collapsed(self.collapse(), x)

    def forward_layers(self, x: torch.Tensor) -> torch.Tensor:
        """Complex output field ``[B, C_L, N_L, N_L]``, layer by layer as the optics does it."""
        return to_field(self.layers(to_spectrum(x)))

    def collapse(self) -> torch.Tensor:
        """The one equivalent Fourier kernel per (input, output) channel pair.

        Returns complex ``[C_L, C_in, N_L, N_L]`` (unshifted layout): the product of the layers'
        kernels cropped to the final band, contracted over the intermediate channels. The stack
        equals :func:`apply_collapsed` with this kernel (crop the input spectrum to ``N_L``,
        multiply, sum over input channels).
        """
        n_out = self.sizes[-1]
        kernel: torch.Tensor | None = None
        for layer in self.layers:
            if isinstance(layer, SpectralConv2d):
                w = spectral_crop(layer.weight, n_out)  # [o, i, n, n]
                kernel = w if kernel is None else torch.einsum("omhw,mihw->oihw", w, kernel)
        assert kernel is not None
        return kernel


def apply_collapsed(kernel: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Complex output field ``[B, C_out, n, n]`` of a collapsed kernel ``[C_out, C_in, n, n]``
    on real images ``[B, C_in, N, N]`` (N >= n)."""
    spec = spectral_crop(to_spectrum(x), kernel.shape[-1])
    return to_field(torch.einsum("oihw,bihw->bohw", kernel, spec))


class SCLC(nn.Module):
    """SCLC student: optical :class:`SpectralStack`, :class:`Detection`, electronic head.

    ``features(x)`` returns the detected features ``[B, C, n, n]``; ``forward(x)`` the head's
    output (logits ``[B, K]`` or per-pixel logits ``[B, K, H, W]``).
    """

    def __init__(self, optics: SpectralStack, detection: Detection, head: nn.Module) -> None:
        super().__init__()
        self.optics, self.detection, self.head = optics, detection, head

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.detection(self.optics(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def collapse(self) -> torch.Tensor:
        """See :meth:`SpectralStack.collapse`."""
        return self.optics.collapse()
