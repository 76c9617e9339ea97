"""Argument checks: one helper per kind of argument.

Every public constructor, method and check of the toolkit validates its input here
*before* any computation, and raises a ``ValueError`` whose message starts with the
name of the argument the caller passed (``"latent_dim: expected an integer >= 1,
got 0"``). Users writing their own checks can use the same helpers.

Kinds of argument and their helper:

========================  ==============================================================
real arrays / tensors     :func:`check_tensor` (finite, real; complex and bool rejected)
numpy arrays (solver)     :func:`check_array` (as check_tensor, to numpy; scipy sparse matrices kept)
points (rows)             :func:`check_points` (shape (N, dim) or one point (dim,))
counts and sizes          :func:`check_int` (integers, numpy's too; bounded before allocation)
real numbers              :func:`check_real` (finite unless allowed, with bounds)
seeds and generators      :func:`check_generator`, :func:`check_seed` (an integer seed only)
latent boxes              :func:`check_box`
devices                   :func:`check_device` (an unavailable device is a ValueError)
dtypes                    :func:`check_dtype` (floating dtypes only)
objects of a class        :func:`check_instance`
two models compared       :func:`check_model_pair` (GenerativeModels of the same dimensions)
functions                 :func:`check_callable`
names from a fixed set    :func:`check_choice`
strings                   :func:`check_text`
permutations              :func:`check_permutation`
covariance matrices       :func:`check_spd` (symmetric positive definite, with its Cholesky factor)
========================  ==============================================================
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

DTYPE = torch.float64
"""The dtype every verdict is computed in."""

MAX_COUNT = 10**9
"""Largest count (samples, points, candidates) a helper accepts unless told otherwise:
a guard against sizes that would exhaust memory before the first allocation."""

MAX_DIM = 10**4
"""Largest dimension of a square matrix a helper builds (an identity, a rotation): 10^4 squared
float64 entries are 800 MB; far larger ones would exhaust memory before any check ran."""

SYMMETRY_RTOL = 1e-10
"""Relative asymmetry max|Σ − Σᵀ| / max|Σ| a covariance may have (float64 rounding of a
product U D Uᵀ is ~1e-16; 1e-10 accepts matrices written to ten digits)."""

__all__ = [
    "DTYPE",
    "MAX_COUNT",
    "MAX_DIM",
    "SYMMETRY_RTOL",
    "check_array",
    "check_box",
    "check_callable",
    "check_choice",
    "check_device",
    "check_dtype",
    "check_generator",
    "check_instance",
    "check_int",
    "check_model_pair",
    "check_permutation",
    "check_points",
    "check_real",
    "check_seed",
    "check_spd",
    "check_tensor",
    "check_text",
    "resolve_device",
    "resolve_dtype",
]


# ---------------------------------------------------------------------- dtypes and devices
def check_dtype(dtype: Any, name: str = "dtype") -> torch.dtype:
    """A floating torch dtype (float16, bfloat16, float32 or float64)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"{name}: expected a floating torch dtype such as torch.float64, got {dtype!r}")
    return dtype


def check_device(device: Any, name: str = "device") -> torch.device:
    """A torch device that exists on this machine: "cpu", "cuda" or "cuda:k" with k < the device count."""
    if isinstance(device, torch.device):
        parsed = device
    elif isinstance(device, str):
        try:
            parsed = torch.device(device)
        except (RuntimeError, ValueError):
            raise ValueError(f"{name}: expected 'cpu' or 'cuda' (or 'cuda:k'), got {device!r}") from None
    else:
        raise ValueError(f"{name}: expected a torch.device or a string such as 'cpu' or 'cuda', got {type(device).__name__}")
    if parsed.type == "cpu":
        if parsed.index not in (None, 0):
            raise ValueError(f"{name}: the CPU has no index, got {device!r}")
        return torch.device("cpu")
    if parsed.type != "cuda":
        raise ValueError(f"{name}: expected 'cpu' or 'cuda', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f"{name}: CUDA is not available on this machine (got {device!r})")
    if parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise ValueError(f"{name}: this machine has {torch.cuda.device_count()} CUDA device(s), got {device!r}")
    return parsed


def resolve_dtype(*values: Any, dtype: Any = None) -> torch.dtype:
    """The floating dtype shared by a group of parameters.

    An explicit ``dtype`` wins; otherwise the dtype of the first floating tensor among
    ``values``; otherwise float64 (the verdict dtype).
    """
    if dtype is not None:
        return check_dtype(dtype)
    for value in values:
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.dtype
    return DTYPE


def resolve_device(*values: Any, device: Any = None) -> torch.device:
    """An explicit ``device`` (checked), else the device of the first tensor among ``values``, else the CPU."""
    if device is not None:
        return check_device(device)
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device
    return torch.device("cpu")


# ---------------------------------------------------------------------- arrays
def _describe(value: Any) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"{type(value).__name__} of dtype {value.dtype} and shape {tuple(value.shape)}"
    return type(value).__name__


def check_tensor(
    value: Any,
    name: str,
    *,
    dtype: torch.dtype = DTYPE,
    device: Any = "cpu",
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
) -> torch.Tensor:
    """A real floating tensor converted from a tensor, a numpy array, a list or a number.

    Integer inputs are converted to ``dtype``; complex and boolean inputs are refused
    (their imaginary part or truth values would be dropped or misread), as are NaN and
    infinite entries when ``finite``. ``shape`` may use None for a free dimension.
    """
    if isinstance(value, (bool, complex, str, bytes)) or value is None:
        raise ValueError(f"{name}: expected an array of real numbers, got {_describe(value)}")
    if not isinstance(value, torch.Tensor):
        # Lists and numbers go through numpy, which reads Python floats in float64 and shows their kind.
        try:
            value = np.asarray(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"{name}: expected an array of real numbers, got {_describe(value)} ({str(exc)[:80]})") from None
        if value.dtype.kind not in "iuf":
            raise ValueError(f"{name}: expected an array of real numbers, got {_describe(value)}")
    elif value.dtype == torch.bool or value.is_complex():
        raise ValueError(f"{name}: expected real numbers, got a {_describe(value)}")
    try:
        tensor = torch.as_tensor(value, dtype=dtype, device=torch.device(device) if isinstance(device, str) else device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name}: expected an array of real numbers, got {_describe(value)} ({str(exc)[:80]})") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if tensor.ndim not in allowed:
            raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} dimensions, got shape {tuple(tensor.shape)}")
    if shape is not None:
        if tensor.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, tensor.shape)):
            wanted = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            raise ValueError(f"{name}: expected shape {wanted}, got {tuple(tensor.shape)}")
    if finite and tensor.numel() and not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name}: contains NaN or infinite entries")
    return tensor


def check_array(value: Any, name: str, *, ndim: int | tuple[int, ...] | None = None, shape: tuple[int | None, ...] | None = None,
                finite: bool = True, allow_inf: bool = False, sparse: bool = False):
    """A real float64 numpy array (``check_tensor``'s rules), or, with ``sparse``, a real scipy sparse matrix as it is.

    ``allow_inf`` lets infinite entries through (bounds), never NaN.
    """
    import scipy.sparse as sp  # only the solver's arguments are sparse

    if sp.issparse(value):
        if not sparse:
            raise ValueError(f"{name}: expected a dense array, got a sparse {type(value).__name__}")
        if value.dtype.kind not in "iuf":
            raise ValueError(f"{name}: expected real numbers, got a sparse matrix of dtype {value.dtype}")
        if finite and value.nnz and not np.isfinite(value.data).all():
            raise ValueError(f"{name}: contains NaN or infinite entries")
        array = value
    else:
        array = check_tensor(value, name, dtype=DTYPE, device="cpu", finite=False).numpy()
        bad = np.isnan(array).any() if allow_inf else (finite and not np.isfinite(array).all())
        if finite and bad:
            raise ValueError(f"{name}: contains {'NaN' if allow_inf else 'NaN or infinite'} entries")
    if ndim is not None and array.ndim not in ((ndim,) if isinstance(ndim, int) else tuple(ndim)):
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {tuple(array.shape)}")
    if shape is not None and (array.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, array.shape))):
        wanted = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name}: expected shape {wanted}, got {tuple(array.shape)}")
    return array


def check_points(value: Any, name: str, dim: int, *, dtype: torch.dtype = DTYPE, device: Any = "cpu") -> tuple[torch.Tensor, bool]:
    """Points as rows: shape (N, dim), or a single point of shape (dim,).

    Returns the (N, dim) tensor and whether the input was a single point. Points of
    another dimension are refused, never reshaped.
    """
    dim = check_int(dim, "dim")
    points = check_tensor(value, name, dtype=dtype, device=device, ndim=(1, 2))
    single = points.ndim == 1
    if single:
        points = points.unsqueeze(0)
    if points.shape[-1] != dim:
        raise ValueError(f"{name}: expected points of dimension {dim} (shape (N, {dim})), got shape {tuple(points.shape)}")
    return points, single


# ---------------------------------------------------------------------- numbers
def check_int(value: Any, name: str, *, minimum: int | None = 1, maximum: int | None = MAX_COUNT) -> int:
    """An integer (Python's, numpy's, or a 0-d integer tensor; not a bool) in [minimum, maximum]."""
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point() and value.dtype != torch.bool:
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected an integer <= {maximum}, got {value}")
    return value


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A real number (Python's, numpy's or a 0-d real tensor; not a bool) within the bounds.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open``. NaN is always
    refused; infinities only pass with ``allow_inf``.
    """
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_complex() and value.dtype != torch.bool:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if low is not None and (number < low or (low_open and number == low)):
        raise ValueError(f"{name}: expected a number {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and (number > high or (high_open and number == high)):
        raise ValueError(f"{name}: expected a number {'<' if high_open else '<='} {high:g}, got {value!r}")
    return number


# ---------------------------------------------------------------------- randomness
def check_generator(generator: Any, name: str = "generator", *, allow_none: bool = True) -> torch.Generator | None:
    """A ``torch.Generator``, an integer seed (a fresh CPU generator seeded with it), or None (torch's global state)."""
    if generator is None:
        if allow_none:
            return None
        raise ValueError(f"{name}: expected a torch.Generator or an integer seed, got None")
    if isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, torch.Tensor) and generator.ndim == 0 and not generator.is_floating_point() and (
            not generator.is_complex() and generator.dtype != torch.bool):
        generator = int(generator)
    if isinstance(generator, (bool, np.bool_)) or not isinstance(generator, numbers.Integral):
        raise ValueError(f"{name}: expected a torch.Generator, an integer seed or None, got {generator!r}")
    seed = int(generator)
    if not 0 <= seed < 2**63:
        raise ValueError(f"{name}: expected a seed in [0, 2**63), got {seed}")
    return torch.Generator().manual_seed(seed)


def check_seed(seed: Any, name: str = "seed") -> int:
    """An integer seed in [0, 2**63) (Python's, numpy's or a 0-d integer tensor; not a bool)."""
    return check_int(seed, name, minimum=0, maximum=2**63 - 1)


# ---------------------------------------------------------------------- objects
def check_instance(value: Any, types: type | tuple[type, ...], name: str) -> Any:
    """``value`` itself when it is an instance of ``types``."""
    if not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise ValueError(f"{name}: expected a {expected}, got {type(value).__name__}")
    return value


def check_model_pair(model_a: Any, model_b: Any, names: tuple[str, str] = ("model_a", "model_b"), *,
                     same_latent_dim: bool = True) -> tuple[Any, Any]:
    """Two ``GenerativeModel`` objects with the same observed (and, by default, latent) dimension.

    The error names the second model for a mismatch (``"model_b: observed dimension 4 differs
    from model_a's 3"``).
    """
    from .generative_model import GenerativeModel  # the model imports this module

    check_instance(model_a, GenerativeModel, names[0])
    check_instance(model_b, GenerativeModel, names[1])
    if model_b.observed_dim != model_a.observed_dim:
        raise ValueError(f"{names[1]}: observed dimension {model_b.observed_dim} differs from {names[0]}'s {model_a.observed_dim}")
    if same_latent_dim and model_b.latent_dim != model_a.latent_dim:
        raise ValueError(f"{names[1]}: latent dimension {model_b.latent_dim} differs from {names[0]}'s {model_a.latent_dim}")
    return model_a, model_b


def check_callable(value: Any, name: str) -> Any:
    """``value`` itself when it can be called."""
    if not callable(value):
        raise ValueError(f"{name}: expected a function, got {_describe(value)}")
    return value


def check_choice(value: Any, choices, name: str) -> str:
    """One of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_text(value: Any, name: str, *, allow_none: bool = False) -> str | None:
    """A string (a name, a description), or None when ``allow_none``."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string, got {_describe(value)}")
    return value


def check_permutation(value: Any, n: int, name: str = "permutation") -> torch.Tensor:
    """A permutation of 0..n-1 as an int64 CPU tensor (integers only: floats, bools and strings are refused)."""
    try:
        perm = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name}: expected a permutation of 0..{n - 1}, got {_describe(value)}") from None
    if (perm.is_floating_point() or perm.is_complex() or perm.dtype == torch.bool or perm.ndim != 1
            or sorted(perm.tolist()) != list(range(n))):
        raise ValueError(f"{name}: expected a permutation of 0..{n - 1}, got {value!r}")
    return perm.to("cpu", torch.long)


def check_box(box: Any, dim: int, name: str = "box") -> tuple[torch.Tensor, torch.Tensor] | None:
    """A latent box as float64 (low, high) CPU tensors of shape (dim,), or None for all of R^dim.

    Parameters
    ----------
    box : float, pair of array_like, array_like of shape (2, dim), or None
        r > 0 means [-r, r]^dim; (low, high), or its stacked (2, dim) array, needs low < high entrywise.
    """
    dim = check_int(dim, "dim")
    if box is None:
        return None
    if isinstance(box, (int, float, np.floating, np.integer)) and not isinstance(box, (bool, np.bool_)) or (
            isinstance(box, torch.Tensor) and box.ndim == 0):
        r = check_real(box, name, low=0.0, low_open=True)
        return torch.full((dim,), -r, dtype=DTYPE), torch.full((dim,), r, dtype=DTYPE)
    if isinstance(box, (torch.Tensor, np.ndarray)) and tuple(box.shape) == (2, dim):
        box = (box[0], box[1])
    if not isinstance(box, (tuple, list)) or len(box) != 2:
        raise ValueError(f"{name}: expected a number r > 0 or a pair (low, high) of shape-({dim},) arrays, got {_describe(box)}")
    low = check_tensor(box[0], name, shape=(dim,))
    high = check_tensor(box[1], name, shape=(dim,))
    if not bool((low < high).all()):
        raise ValueError(f"{name}: expected low < high in every coordinate")
    return low, high


def check_spd(matrices: Any, name: str, *, what: str = "component") -> torch.Tensor:
    """The Cholesky factors of a batch (J, m, m) of symmetric positive definite matrices.

    ``matrices`` is converted as by :func:`check_tensor` (a floating tensor keeps its dtype and
    device; anything else becomes float64). Symmetry is checked to ``SYMMETRY_RTOL`` relative
    (or 16 ulps of a narrower dtype); the factor is that of the symmetrised matrix. The error
    names the first bad entry of the batch (``"covariances: component 1 is not positive definite"``).
    """
    floating = isinstance(matrices, torch.Tensor) and matrices.is_floating_point()
    matrices = check_tensor(matrices, name, dtype=matrices.dtype if floating else DTYPE,
                            device=matrices.device if floating else "cpu", ndim=3)
    if matrices.shape[-1] != matrices.shape[-2] or matrices.shape[-1] == 0:
        raise ValueError(f"{name}: expected a batch of square matrices (J, m, m), got shape {tuple(matrices.shape)}")
    asymmetry = (matrices - matrices.transpose(-1, -2)).abs().amax(dim=(-2, -1))
    scale = matrices.abs().amax(dim=(-2, -1)).clamp_min(torch.finfo(matrices.dtype).tiny)
    rtol = max(SYMMETRY_RTOL, 16 * torch.finfo(matrices.dtype).eps)
    bad = asymmetry > rtol * scale
    if bool(bad.any()):
        j = int(torch.nonzero(bad.reshape(-1))[0])
        raise ValueError(f"{name}: {what} {j} is not symmetric (relative asymmetry {float(asymmetry.reshape(-1)[j] / scale.reshape(-1)[j]):.3g})")
    cholesky, info = torch.linalg.cholesky_ex(0.5 * (matrices + matrices.transpose(-1, -2)))
    if bool((info != 0).any()):
        j = int(torch.nonzero(info.reshape(-1) != 0)[0])
        raise ValueError(f"{name}: {what} {j} is not positive definite")
    return cholesky
