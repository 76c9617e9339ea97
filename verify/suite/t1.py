"""T1 (prior up to affine) and T1' (J, weights and latent dimension identified): ReLU decoders,
weakly injective, not injective."""

from __future__ import annotations

import torch

from ..image_dimension import check_image_dimension
from ..injectivity import check_weakly_injective
from ..local_branch import check_local_branch
from ..mixtures import check_same_mixture
from ..two_sample import check_same_distribution
from .constructions import equivalent_model, other_seed, random_invertible_affine, relu_model
from .trial import Sizes, Step, check_trial_arguments

SIZES = Sizes(latent_dim=2, observed_dim=5, hidden=(6,), n_components=3, n_samples=600)


def _pair(seed: int, sizes: Sizes, device):
    gen = torch.Generator().manual_seed(seed)
    model_a = relu_model(seed, sizes, device)
    model_b = equivalent_model(model_a, random_invertible_affine(sizes.latent_dim, gen), gen)
    weak = check_weakly_injective(model_a.decoder)
    branch = check_local_branch(model_a, model_b, weak.witness["z0"]) if weak.holds else None
    return model_a, model_b, weak, branch


def trial_t1(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    model_a, model_b, weak, branch = _pair(seed, sizes, device)
    steps = [Step("assumption", weak)]
    if branch is not None:
        steps.append(Step("conclusion", branch))
        if branch.holds:
            steps.append(Step("conclusion", check_same_mixture(model_a.prior.affine(branch.witness), model_b.prior)))
    model_c = relu_model(other_seed(seed), sizes, device)
    _, x_a = model_a.sample(sizes.n_samples // 2, seed)
    _, x_c = model_c.sample(sizes.n_samples // 2, seed + 1)
    steps.append(Step("converse", check_same_distribution(x_a, x_c, generator=seed), expected=False))
    return steps


def trial_t1_prime(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    """T1': J = J', the weights are identified under the relabelling τ, and m = dim of the image."""
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    model_a, model_b, weak, branch = _pair(seed, sizes, device)
    steps = [Step("assumption", weak)]
    if branch is None or not branch.holds:
        return steps + ([Step("conclusion", branch)] if branch is not None else [])
    h = branch.witness
    # J = J', and λ_j = λ'_τ(j), A μ_j + b = μ'_τ(j), A Σ_j Aᵀ = Σ'_τ(j) under the matched relabelling τ:
    # check_same_mixture fails on a different J and bounds each weight, mean and covariance error.
    steps.append(Step("conclusion", check_same_mixture(model_a.prior.affine(h), model_b.prior)))
    steps.append(Step("conclusion", check_image_dimension(model_a, model_b, n=sizes.n_samples, generator=seed)))
    return steps
