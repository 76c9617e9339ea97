"""T2 (prior and decoder up to affine, cluster posteriors agree): injective decoders."""

from __future__ import annotations

import torch

from ..injectivity import check_injective
from ..mixtures import check_same_mixture
from ..posteriors import check_posteriors_agree
from .constructions import converse_steps, equivalence_steps, equivalent_model, injective_model, random_invertible_affine
from .trial import Sizes, Step, check_trial_arguments

SIZES = Sizes()


def trial_t2(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    gen = torch.Generator().manual_seed(seed)
    model_a = injective_model(seed, sizes, device)
    model_b = equivalent_model(model_a, random_invertible_affine(sizes.latent_dim, gen), gen)
    steps = [Step("assumption", check_injective(model_a.decoder, method="rank"))]
    more, equivalence = equivalence_steps(model_a, model_b, sizes, seed)
    steps += more
    if equivalence.holds:
        h = equivalence.witness
        permutation = check_same_mixture(model_a.prior.affine(h), model_b.prior).witness["permutation"]
        steps.append(Step("conclusion", check_posteriors_agree(model_a, model_b, h, permutation, n=sizes.n_samples, generator=gen)))
    return steps + converse_steps(model_a, sizes, seed, device)
