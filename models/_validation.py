"""Argument checks shared by the model objects.

Every public constructor and method validates its input here *before* any
computation, and raises a ``ValueError`` that names the offending argument.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

DEFAULT_DTYPE = torch.float64


def resolve_dtype(*values: Any, dtype: torch.dtype | None = None) -> torch.dtype:
    """The floating dtype shared by a group of parameters.

    An explicit ``dtype`` wins; otherwise the dtype of the first floating
    tensor among ``values``; otherwise float64 (the verdict dtype).
    """
    if dtype is not None:
        return dtype
    for value in values:
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.dtype
    return DEFAULT_DTYPE


def resolve_device(*values: Any, device: torch.device | str | None = None) -> torch.device:
    if device is not None:
        return torch.device(device)
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device
    return torch.device("cpu")


def as_tensor(
    value: Any,
    name: str,
    *,
    dtype: torch.dtype,
    device: torch.device,
    ndim: int | tuple[int, ...] | None = None,
) -> torch.Tensor:
    """Convert ``value`` to a finite floating tensor, or raise ``ValueError`` naming ``name``."""
    try:
        tensor = torch.as_tensor(value, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name}: expected an array of numbers, got {type(value).__name__} ({exc})") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if tensor.ndim not in allowed:
            raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} dimensions, got shape {tuple(tensor.shape)}")
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name}: contains NaN or infinite entries")
    return tensor


def as_points(value: Any, name: str, dim: int, *, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, bool]:
    """Points as rows: shape (N, dim), or a single point of shape (dim,).

    Returns the (N, dim) tensor and whether the input was a single point.
    """
    points = as_tensor(value, name, dtype=dtype, device=device, ndim=(1, 2))
    single = points.ndim == 1
    if single:
        points = points.unsqueeze(0)
    if points.shape[-1] != dim:
        raise ValueError(f"{name}: expected points of dimension {dim} (shape (N, {dim})), got shape {tuple(points.shape)}")
    return points, single


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """An integer (Python's or numpy's, not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_nonnegative_float(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return number


def make_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    """Accept a ``torch.Generator``, an integer seed, or None (torch's global state)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, bool) or not isinstance(generator, int):
        raise ValueError(f"generator: expected a torch.Generator, an integer seed or None, got {generator!r}")
    return torch.Generator().manual_seed(generator)
