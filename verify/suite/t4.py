"""T4's sufficient conditions for stronger levels: S1 (diagonal covariances, distinct variance
ratios), S2 (independent non-Gaussian coordinates), S3 (a known prior with no symmetry)."""

from __future__ import annotations

import torch

from models import AffineMap, GenerativeModel, random_gmm

from ..affine_levels import check_identity, check_permutation_scaling
from ..canonical_form import check_trivial_symmetry
from ..equivalence import latent_scale, recover_affine_map
from ..likelihood import check_laws_differ
from ..priors import check_distinct_variance_ratios, check_independent_coordinates, product_mixture
from .constructions import (
    equivalence_steps,
    equivalent_model,
    injective_model,
    mixing_rotation,
    random_invertible_affine,
    random_permutation_scaling,
    standard_normal,
)
from .trial import Sizes, Step, check_trial_arguments

SIZES = Sizes()


def trial_t4_s1(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    gen = torch.Generator().manual_seed(seed)
    prior = random_gmm(sizes.latent_dim, max(sizes.n_components, 2), covariance_type="diagonal", generator=gen)
    model_a = injective_model(seed, sizes, device, prior=prior)
    return _permutation_scaling_steps(model_a, check_distinct_variance_ratios, seed, sizes, gen)


def trial_t4_s2(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    gen = torch.Generator().manual_seed(seed)
    prior = product_mixture([random_gmm(1, 2, generator=gen) for _ in range(sizes.latent_dim)])
    model_a = injective_model(seed, sizes, device, prior=prior)
    return _permutation_scaling_steps(model_a, check_independent_coordinates, seed, sizes, gen)


def _permutation_scaling_steps(model_a, assumption, seed, sizes, gen) -> list[Step]:
    model_b = equivalent_model(model_a, random_permutation_scaling(sizes.latent_dim, gen), gen)
    steps = [Step("assumption", assumption(model_a.prior)), Step("assumption", assumption(model_b.prior))]
    more, _ = equivalence_steps(model_a, model_b, sizes, seed)
    steps += more
    steps.append(Step("conclusion", check_permutation_scaling(recover_affine_map(model_a, model_b, n=sizes.n_samples, generator=seed).map)))
    # Converse: a rotation takes the prior out of the class, and the recovered map mixes coordinates.
    model_d = model_a.reparametrize(AffineMap(mixing_rotation(sizes.latent_dim)))
    steps.append(Step("converse", assumption(model_d.prior), expected=False))
    mixed = recover_affine_map(model_a, model_d, n=sizes.n_samples, generator=seed).map
    steps.append(Step("converse", check_permutation_scaling(mixed), expected=False))
    return steps


def trial_t4_s3(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    gen = torch.Generator().manual_seed(seed)
    model_a = injective_model(seed, sizes, device)
    # The prior is fixed and known; the second model is the same one, relabelled and rebuilt through torch.
    decoder_b = type(model_a.decoder).from_torch(model_a.decoder.to_torch())
    model_b = GenerativeModel(decoder_b, model_a.prior.permute(torch.randperm(model_a.prior.n_components, generator=gen)))
    steps = [Step("assumption", check_trivial_symmetry(model_a.prior))]
    more, _ = equivalence_steps(model_a, model_b, sizes, seed)
    steps += more
    recovered = recover_affine_map(model_a, model_b, n=sizes.n_samples, generator=seed).map
    steps.append(Step("conclusion", check_identity(recovered, scale=latent_scale(model_a.prior))))
    # The substance of S3: with the prior fixed, any other decoder f ∘ g⁻¹ (g != id) changes the law of x.
    moved = model_a.reparametrize(random_invertible_affine(sizes.latent_dim, gen, max_condition=4.0))
    same_prior_other_decoder = GenerativeModel(moved.decoder, model_a.prior)
    steps.append(Step("conclusion", check_laws_differ(model_a, same_prior_other_decoder, n=sizes.n_samples, generator=seed)))
    # Converse: N(0, I) has every rotation as a symmetry, so a rotated decoder is equivalent and not identical.
    standard = standard_normal(sizes.latent_dim).to(device)
    vanilla = GenerativeModel(model_a.decoder, standard)
    rotated = vanilla.reparametrize(AffineMap(mixing_rotation(sizes.latent_dim)))
    steps.append(Step("converse", check_trivial_symmetry(standard), expected=False))
    turned = recover_affine_map(vanilla, rotated, n=sizes.n_samples, generator=seed).map
    steps.append(Step("converse", check_identity(turned, scale=1.0), expected=False))
    return steps
