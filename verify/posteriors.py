"""T2's statement on clusters: equivalent models have the same cluster posteriors P(U | x), up to relabelling."""

from __future__ import annotations

from models import AffineMap, GenerativeModel
from models.validation import check_generator, check_instance, check_int, check_model_pair, check_permutation, check_real

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
    check_model_pair(model_a, model_b)
    check_instance(h, AffineMap, "h")
    if h.in_dim != model_a.latent_dim or h.out_dim != model_b.latent_dim:
        raise ValueError(f"h: expected a map R^{model_a.latent_dim} -> R^{model_b.latent_dim}, got R^{h.in_dim} -> R^{h.out_dim}")
    n = check_int(n, "n")
    atol = check_real(atol, "atol", low=0.0)
    if model_a.prior.n_components != model_b.prior.n_components:
        raise ValueError(f"model_b: {model_b.prior.n_components} components, model_a has {model_a.prior.n_components}")
    perm = check_permutation(permutation, model_b.prior.n_components)
    z_a = model_a.prior.sample(n, check_generator(generator))
    post_a = model_a.prior.posterior(z_a)
    post_b = model_b.prior.posterior(h(z_a))[:, perm]
    gap = (post_a - post_b).abs()
    error = float(gap.max())
    holds = error <= atol
    return CheckResult("posteriors_agree", holds, error, atol, "<=", None if holds else z_a[gap.amax(1).argmax()],
                       domain=f"{n} samples of model_a", method="closed-form posteriors compared pointwise")
