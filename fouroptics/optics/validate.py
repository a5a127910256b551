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


def check_array(
    x: Any,
    name: str,
    trailing_shape: tuple[int, ...],
    *,
    exact: bool = False,
    dtype: Any = None,
) -> Any:
    """Validate ``x`` (numpy array or torch tensor) and return it as an array/tensor.

    Args:
        x: the data.
        name: what it is, for messages ("input field", "Fourier mask").
        trailing_shape: required last dimensions, e.g. (H_in, W_in).
        exact: if True the array must have exactly ``trailing_shape`` (no batch dimensions).
        dtype: the complex dtype the values will be computed in (numpy arrays; a tensor is
            computed in its own precision): magnitudes above :func:`amplitude_limit` of it are
            refused, since their intensity ``|x|^2`` would overflow to inf/NaN.

    Raises:
        FieldError: naming ``name``, the shape/dtype found and what is allowed, the location
            of the first NaN/inf value, or of the largest value that overflows ``dtype``.
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
    _check_range(x, name, dtype)
    return x


def amplitude_limit(dtype: Any) -> float:
    """Largest magnitude whose square a (complex or real) ``dtype`` holds: sqrt(finfo.max)."""
    real = np.empty(0, dtype=np.dtype(dtype)).real.dtype
    return float(np.sqrt(np.finfo(real).max))


def _check_range(x: Any, name: str, dtype: Any) -> None:
    """Refuse magnitudes whose intensity overflows the dtype of the computation."""
    if is_torch(x):
        import torch

        if not (x.is_floating_point() or x.is_complex()) or x.numel() == 0:
            return
        limit = amplitude_limit(str(x.dtype).removeprefix("torch."))
        with torch.no_grad():
            peak = float(x.detach().abs().max())
            if peak <= limit:
                return
            idx = tuple(int(i) for i in torch.nonzero(x.detach().abs() > limit)[0])
        what = str(x.dtype).removeprefix("torch.")
    else:
        if dtype is None or x.size == 0 or x.dtype.kind not in "biufc":
            return
        limit = amplitude_limit(dtype)
        peak = float(np.max(np.abs(x)))
        if peak <= limit:
            return
        idx = tuple(int(i) for i in np.argwhere(np.abs(x) > limit)[0])
        what = np.dtype(dtype).name
    raise FieldError(
        f"{name}: magnitude {peak:.3g} at index {idx} overflows {what}: its intensity |x|^2 "
        f"cannot be represented (allowed |x| <= {limit:.3g}); scale the data down"
        + (
            ""
            if what not in ("complex64", "float32")
            else " or pass a float64/complex128 tensor"
            if is_torch(x)
            else " or use dtype='complex128'"
        )
    )


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
