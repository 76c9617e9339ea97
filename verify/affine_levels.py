"""The stronger levels of identifiability (docs/theory.md, Definitions; T3, T4).

An affine h(z) = A z + b between two latent spaces can be: a permutation times an
invertible diagonal plus a translation (T4 S1/S2), an orthogonal map (T3), or the
identity (T4 S3). Each check measures how far h is from its level: matrix entries
as they are (the levels fix A's scale), offsets relative to a given latent scale.
"""

from __future__ import annotations

import torch

from models import AffineMap
from models.validation import check_real

from .check_result import CheckResult
from .tolerances import LEVEL_RTOL


def _require_map(h) -> AffineMap:
    if not isinstance(h, AffineMap):
        raise ValueError(f"h: expected an AffineMap, got {type(h).__name__}")
    if h.in_dim != h.out_dim:
        raise ValueError(f"h: expected a square map, got {h.out_dim}x{h.in_dim}")
    return h


def _tolerances(rtol, scale) -> tuple[float, float]:
    rtol = check_real(rtol, "rtol", low=0.0)
    scale = check_real(scale, "scale", low=0.0)
    if scale == 0:
        raise ValueError("scale: expected a positive latent scale")
    return rtol, scale


def check_permutation_scaling(h: AffineMap, *, rtol: float = LEVEL_RTOL) -> CheckResult:
    """Is A a permutation times an invertible diagonal?  (Any offset b is allowed.)

    The statistic is the largest entry of A outside the best permutation pattern
    (each row's largest entry, which must form a permutation), relative to the
    smallest entry on the pattern. The witness when it holds is the permutation
    (``perm[i]`` = the coordinate that latent i is read from) and the diagonal.
    """
    matrix = _require_map(h).matrix.abs()
    rtol = check_real(rtol, "rtol", low=0.0)
    perm = matrix.argmax(dim=1)
    if len(set(perm.tolist())) != h.in_dim:
        return CheckResult("permutation_scaling", False, float("inf"), rtol, passes_when="<=", method="closed form on the entries of the map", domain="the map h", witness=h.matrix,
                           details={"reason": "the largest entries of the rows do not form a permutation"})
    on_pattern = matrix.gather(1, perm.unsqueeze(1)).squeeze(1)
    off_pattern = matrix.clone()
    off_pattern[torch.arange(h.in_dim), perm] = 0.0
    statistic = float(off_pattern.max() / on_pattern.min())
    holds = statistic <= rtol
    witness = {"permutation": perm.tolist(), "scales": h.matrix[torch.arange(h.in_dim), perm].tolist()} if holds else h.matrix
    return CheckResult("permutation_scaling", holds, statistic, rtol, passes_when="<=", method="closed form on the entries of the map", domain="the map h", witness=witness)


def _offset_error(h: AffineMap, scale: float) -> float:
    return float(h.offset.abs().max()) / scale


def check_orthogonal(h: AffineMap, *, rtol: float = LEVEL_RTOL, scale: float = 1.0) -> CheckResult:
    """Is h an orthogonal map z -> Q z (AᵀA = I and b = 0)?

    Statistic: max(‖AᵀA − I‖_max, ‖b‖_max / scale), with ``scale`` the latent spread
    (e.g. ``verify.equivalence.latent_scale(prior)``), so that an offset counts
    relative to the size of the latent space.
    """
    _require_map(h)
    rtol, scale = _tolerances(rtol, scale)
    eye = torch.eye(h.in_dim, dtype=h.dtype, device=h.device)
    statistic = max(float((h.matrix.T @ h.matrix - eye).abs().max()), _offset_error(h, scale))
    holds = statistic <= rtol
    return CheckResult("orthogonal", holds, statistic, rtol, passes_when="<=", method="closed form on the entries of the map", domain="the map h", witness=h.matrix if holds else h)


def check_identity(h: AffineMap, *, rtol: float = LEVEL_RTOL, scale: float = 1.0) -> CheckResult:
    """Is h the identity?  Statistic: max(‖A − I‖_max, ‖b‖_max / scale), ``scale`` the latent spread."""
    _require_map(h)
    rtol, scale = _tolerances(rtol, scale)
    eye = torch.eye(h.in_dim, dtype=h.dtype, device=h.device)
    statistic = max(float((h.matrix - eye).abs().max()), _offset_error(h, scale))
    holds = statistic <= rtol
    return CheckResult("identity", holds, statistic, rtol, passes_when="<=", method="closed form on the entries of the map", domain="the map h", witness=None if holds else h)
