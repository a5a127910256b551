"""Checks on arrays entering the physics: shape, dtype, finiteness; errors name the array."""

from __future__ import annotations

from typing import Any

import numpy as np

from fouroptics.errors import FouropticsError


class FieldError(FouropticsError, ValueError):
    """A field or mask has the wrong shape, a non-numeric dtype, or NaN/inf values."""


def is_torch(x: Any) -> bool:
    """True for a ``torch.Tensor`` (without importing torch when it is not loaded)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def check_array(x: Any, name: str, trailing_shape: tuple[int, ...], *, exact: bool = False) -> Any:
    """Validate ``x`` (numpy array or torch tensor) and return it as an array/tensor.

    Args:
        x: the data.
        name: what it is, for messages ("input field", "Fourier mask").
        trailing_shape: required last dimensions, e.g. (H_in, W_in).
        exact: if True the array must have exactly ``trailing_shape`` (no batch dimensions).

    Raises:
        FieldError: naming ``name``, the shape/dtype found and what is allowed, or the location
            of the first NaN/inf value.
    """
    if not is_torch(x):
        x = np.asarray(x)
        if x.dtype.kind not in "biufc":
            raise FieldError(
                f"{name}: dtype {x.dtype} is not numeric; pass real or complex numbers"
            )
    shape = tuple(x.shape)
    nd = len(trailing_shape)
    bad = shape[-nd:] != tuple(trailing_shape) if len(shape) >= nd else True
    if bad or (exact and len(shape) != nd):
        expected = (
            f"{tuple(trailing_shape)}" if exact else f"(..., {', '.join(map(str, trailing_shape))})"
        )
        raise FieldError(f"{name}: shape {shape} does not match the grid; expected {expected}")
    _check_finite(x, name)
    return x


def _check_finite(x: Any, name: str) -> None:
    """One fast reduction; the full scan runs only to locate a problem."""
    if is_torch(x):
        import torch

        if x.is_floating_point() or x.is_complex():
            with torch.no_grad():
                if bool(torch.isfinite(x.sum())):
                    return
                finite = torch.isfinite(x)
                if bool(finite.all()):
                    return
                idx = tuple(int(i) for i in torch.nonzero(~finite)[0])
                value = x.detach()[idx].item()
            raise FieldError(
                f"{name}: non-finite value {value} at index {idx}; NaN/inf not allowed"
            )
        return
    if x.dtype.kind not in "fc":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(x.sum()):
            return
    finite = np.isfinite(x)
    if finite.all():
        return
    idx = tuple(int(i) for i in np.argwhere(~finite)[0])
    raise FieldError(f"{name}: non-finite value {x[idx]} at index {idx}; NaN/inf not allowed")
