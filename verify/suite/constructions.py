"""The constructions the trials share: random reparametrisations, the drawn models, and the
equivalence and converse steps."""

from __future__ import annotations

import math

import torch

from models import AffineMap, GaussianMixture, GenerativeModel, random_affine_map, random_gmm, random_model, random_network
from models.validation import DTYPE, MAX_DIM, check_generator, check_instance, check_int, check_real, check_seed

from ..check_result import CheckResult
from ..equivalence import check_affine_equivalence
from ..likelihood import check_laws_differ, check_same_law
from .trial import Sizes, Step, check_trial_arguments


def random_invertible_affine(dim: int, generator: torch.Generator, max_condition: float = 10.0) -> AffineMap:
    """A random invertible affine map with condition number <= max_condition, possibly orientation reversing."""
    generator = check_generator(generator, allow_none=False)
    return random_affine_map(dim, max_condition=max_condition, generator=generator)


def random_permutation_scaling(dim: int, generator: torch.Generator) -> AffineMap:
    """h(z) = P D z + b with a random permutation P, signs and scales in [0.5, 2]."""
    dim = check_int(dim, "dim", maximum=MAX_DIM)
    generator = check_generator(generator, allow_none=False)
    perm = torch.randperm(dim, generator=generator)
    scales = 0.5 * 4.0 ** torch.rand(dim, generator=generator, dtype=DTYPE)
    signs = torch.where(torch.rand(dim, generator=generator) < 0.5, -1.0, 1.0).to(DTYPE)
    matrix = torch.zeros(dim, dim, dtype=DTYPE)
    matrix[torch.arange(dim), perm] = scales * signs
    return AffineMap(matrix, torch.randn(dim, generator=generator, dtype=DTYPE))


def mixing_rotation(dim: int) -> torch.Tensor:
    """A rotation by π/5 in every coordinate plane (i, i+1): no coordinate is kept."""
    dim = check_int(dim, "dim", maximum=MAX_DIM)
    rotation = torch.eye(dim, dtype=DTYPE)
    c, s = math.cos(math.pi / 5), math.sin(math.pi / 5)
    for i in range(dim - 1):
        step = torch.eye(dim, dtype=DTYPE)
        step[i, i], step[i + 1, i + 1], step[i, i + 1], step[i + 1, i] = c, c, -s, s
        rotation = rotation @ step
    return rotation


def equivalent_model(model: GenerativeModel, h: AffineMap, generator: torch.Generator) -> GenerativeModel:
    """(f ∘ h⁻¹, h#P) with its components shuffled: the same law of x, built blind to the checks."""
    check_instance(model, GenerativeModel, "model")
    check_instance(h, AffineMap, "h")
    generator = check_generator(generator, allow_none=False)
    reparametrized = model.reparametrize(h.to(model.decoder.device))
    perm = torch.randperm(model.prior.n_components, generator=generator)
    return GenerativeModel(reparametrized.decoder, reparametrized.prior.permute(perm), model.noise_scale)


def injective_model(seed: int, sizes: Sizes, device, *, prior: GaussianMixture | None = None, noise_scale: float = 0.0) -> GenerativeModel:
    """A model with an injective decoder, drawn on the CPU from ``seed`` and moved to ``device``."""
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    if prior is not None:
        check_instance(prior, GaussianMixture, "prior")
        if prior.dim != sizes.latent_dim:
            raise ValueError(f"prior: dimension {prior.dim} differs from sizes.latent_dim = {sizes.latent_dim}")
    noise_scale = check_real(noise_scale, "noise_scale", low=0.0)
    gen = torch.Generator().manual_seed(seed)
    model = random_model(sizes.latent_dim, sizes.observed_dim, hidden=sizes.hidden, n_components=sizes.n_components,
                         noise_scale=noise_scale, generator=gen)
    if prior is not None:
        model = GenerativeModel(model.decoder, prior.to("cpu"), noise_scale)
    return model.to(device)


def relu_model(seed: int, sizes: Sizes, device) -> GenerativeModel:
    """A ReLU decoder (slope 0, Gaussian weights): generically weakly injective, not injective."""
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    gen = torch.Generator().manual_seed(seed)
    prior = random_gmm(sizes.latent_dim, sizes.n_components, generator=gen)
    decoder = random_network((sizes.latent_dim, *sizes.hidden, sizes.observed_dim), 0.0, injective=False, generator=gen)
    return GenerativeModel(decoder, prior).to(device)


def standard_normal(dim: int) -> GaussianMixture:
    """N(0, I_dim) as a one-component mixture."""
    dim = check_int(dim, "dim", maximum=MAX_DIM)
    return GaussianMixture(torch.ones(1, dtype=DTYPE), torch.zeros(1, dim, dtype=DTYPE), torch.eye(dim, dtype=DTYPE).unsqueeze(0))


def other_seed(seed: int) -> int:
    """A seed for an independent draw, derived from ``seed``."""
    return (check_seed(seed) * 7919 + 104729) % (2**62)


def equivalence_steps(model_a, model_b, sizes, seed) -> tuple[list[Step], CheckResult]:
    same = check_same_law(model_a, model_b, n=sizes.n_samples, generator=seed)
    equivalence = check_affine_equivalence(model_a, model_b, n=sizes.n_samples, generator=seed)
    return [Step("equivalence", same), Step("conclusion", equivalence)], equivalence


def converse_steps(model_a, sizes, seed, device) -> list[Step]:
    """A different random model: its law differs measurably and no affine map relates it."""
    model_c = injective_model(other_seed(seed), sizes, device)
    differ = check_laws_differ(model_a, model_c, n=sizes.n_samples, generator=seed)
    related = check_affine_equivalence(model_a, model_c, n=sizes.n_samples, generator=seed)
    return [Step("converse", differ), Step("converse", related, expected=False)]
