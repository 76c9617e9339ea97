"""T2's statement on clusters: equivalent models have the same cluster posteriors P(U | x), up to relabelling."""

from __future__ import annotations

import torch

from models import AffineMap, GenerativeModel
from models.validation import check_generator, check_instance, check_int, check_real

from .check_result import CheckResult
from .tolerances import POSTERIOR_ATOL


def check_posteriors_agree(model_a: GenerativeModel, model_b: GenerativeModel, h: AffineMap, permutation, *, n: int = 1000,
                           generator=0, atol: float = POSTERIOR_ATOL) -> CheckResult:
    """P_a(U = j | x) = P_b(U = τ(j) | x) at n samples x of model a, with z_b = h(z_a) and τ = ``permutation``.

    Returns
    -------
    CheckResult
        ``statistic``: the largest posterior difference; ``witness``: the latent of model a
        where they differ most when it fails.
    """
    check_instance(model_a, GenerativeModel, "model_a")
    check_instance(model_b, GenerativeModel, "model_b")
    check_instance(h, AffineMap, "h")
    n = check_int(n, "n")
    atol = check_real(atol, "atol", low=0.0)
    perm = torch.as_tensor(permutation)
    if perm.shape != (model_a.prior.n_components,) or sorted(perm.tolist()) != list(range(model_b.prior.n_components)):
        raise ValueError(f"permutation: expected a permutation of 0..{model_b.prior.n_components - 1}, got {perm.tolist()}")
    z_a = model_a.prior.sample(n, check_generator(generator))
    post_a = model_a.prior.posterior(z_a)
    post_b = model_b.prior.posterior(h(z_a))[:, perm]
    gap = (post_a - post_b).abs()
    error = float(gap.max())
    holds = error <= atol
    return CheckResult("posteriors_agree", holds, error, atol, "<=", None if holds else z_a[gap.amax(1).argmax()],
                       domain=f"{n} samples of model_a", method="closed-form posteriors compared pointwise")
