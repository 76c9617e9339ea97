"""T1's construction as a check: near a point with one preimage, both decoders are affine and
invertible on their image, and the composition of the two branches is the affine map h."""

from __future__ import annotations

import math

import torch

from models import AffineMap, GenerativeModel
from models.validation import check_model_pair, check_tensor

from .check_result import CheckResult
from .injectivity import InfinitePreimagesError, preimages


def local_branch_map(model_a: GenerativeModel, model_b: GenerativeModel, z0) -> AffineMap | None:
    """h = (f_b's branch)⁻¹ ∘ (f_a's branch) near z0: h(z) = A_b⁺ (A_a z + c_a − c_b).

    None when x0 = f_a(z0) does not have exactly one preimage under f_b, or f_b's branch
    there does not have rank m.
    """
    z0 = _point(model_a, model_b, z0)
    pre_b = preimages(model_b.decoder, model_a.decoder(z0))
    return _branch(model_a, model_b, z0, pre_b)


def _point(model_a, model_b, z0) -> torch.Tensor:
    check_model_pair(model_a, model_b)
    return check_tensor(z0, "z0", shape=(model_a.latent_dim,))


def _branch(model_a, model_b, z0, pre_b) -> AffineMap | None:
    if len(pre_b) != 1:
        return None
    a_a, c_a = model_a.decoder.local_affine(z0)
    a_b, c_b = model_b.decoder.local_affine(pre_b[0])
    if int(torch.linalg.matrix_rank(a_b)) < model_b.latent_dim:
        return None  # f_b's branch there is not invertible on its image
    pinv_b = torch.linalg.pinv(a_b)
    return AffineMap(pinv_b @ a_a, pinv_b @ (c_a - c_b))


def check_local_branch(model_a: GenerativeModel, model_b: GenerativeModel, z0) -> CheckResult:
    """Does T1's construction apply at z0?  Holds when f_a(z0) has exactly one preimage under f_b
    and f_b's branch there has rank m; the witness is then h = ``local_branch_map`` (an
    invertible affine map), otherwise the preimages of f_a(z0) under f_b (a (k, m) tensor)."""
    z0 = _point(model_a, model_b, z0)
    # The preimages are exact computations in float64, whatever the models' dtype.
    model_a, model_b = model_a.to("cpu", torch.float64), model_b.to("cpu", torch.float64)
    how = "exact: the preimages of f_a(z0) under f_b, region by region"
    try:
        found = preimages(model_b.decoder, model_a.decoder(z0))
    except InfinitePreimagesError as exc:
        return CheckResult("local_branch", False, math.inf, math.nan, None, domain="the point z0", method=how,
                           details={"reason": str(exc)})
    h = _branch(model_a, model_b, z0, found)
    invertible = h is not None and int(torch.linalg.matrix_rank(h.matrix)) == model_a.latent_dim
    # A count decides it (exactly one preimage): no tolerance applies.
    return CheckResult("local_branch", invertible, float(len(found)), math.nan, None, h if invertible else found,
                       domain="the point z0", method=how, details={"preimages": len(found), "z0": z0})
