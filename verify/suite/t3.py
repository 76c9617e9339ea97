"""T3 (vanilla VAE): both priors N(0, I), so h is orthogonal."""

from __future__ import annotations

import torch

from models import AffineMap
from models.random import random_orthogonal

from ..affine_levels import check_orthogonal
from ..equivalence import latent_scale, recover_affine_map
from ..priors import check_standard_normal
from .constructions import equivalence_steps, equivalent_model, injective_model, random_invertible_affine, standard_normal
from .trial import Sizes, Step, check_trial_arguments

SIZES = Sizes(n_components=1)


def trial_t3(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    gen = torch.Generator().manual_seed(seed)
    model_a = injective_model(seed, sizes, device, prior=standard_normal(sizes.latent_dim))
    model_b = equivalent_model(model_a, AffineMap(random_orthogonal(sizes.latent_dim, gen)), gen)
    steps = [Step("assumption", check_standard_normal(model_a.prior)), Step("assumption", check_standard_normal(model_b.prior))]
    more, _ = equivalence_steps(model_a, model_b, sizes, seed)
    steps += more
    scale = latent_scale(model_a.prior)
    recovered = recover_affine_map(model_a, model_b, n=sizes.n_samples, generator=seed).map
    steps.append(Step("conclusion", check_orthogonal(recovered, scale=scale)))
    # Converse: a non-orthogonal reparametrisation leaves the vanilla class, and its recovered map is not orthogonal.
    model_d = model_a.reparametrize(random_invertible_affine(sizes.latent_dim, gen, max_condition=4.0))
    steps.append(Step("converse", check_standard_normal(model_d.prior), expected=False))
    other = recover_affine_map(model_a, model_d, n=sizes.n_samples, generator=seed).map
    steps.append(Step("converse", check_orthogonal(other, scale=scale), expected=False))
    return steps
