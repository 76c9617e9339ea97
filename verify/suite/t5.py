"""T5 (noise): with known noise, the law of x determines the law of f(z), so T1–T4 carry over."""

from __future__ import annotations

import torch

from models import GenerativeModel
from models.validation import check_real

from ..deconvolution import check_deconvolution
from ..equivalence import check_affine_equivalence
from ..likelihood import check_same_law
from ..tolerances import DECONVOLUTION_DELTA
from ..two_sample import check_same_distribution
from .constructions import equivalent_model, injective_model, other_seed, random_invertible_affine
from .trial import Sizes, Step, check_trial_arguments

SIZES = Sizes()
NOISE_SCALE = 0.1


def trial_t5(seed: int, sizes: Sizes, device="cpu", noise_scale: float = NOISE_SCALE) -> list[Step]:
    """With the same known noise, equal laws of f(z) give equal laws of x, and the law of x
    gives back the law of f(z) (deconvolution); T2 then applies to the noise-free models."""
    seed, sizes, device = check_trial_arguments(seed, sizes, device)
    noise_scale = check_real(noise_scale, "noise_scale", low=0.0, low_open=True)
    gen = torch.Generator().manual_seed(seed)
    model_a = injective_model(seed, sizes, device, noise_scale=noise_scale)
    model_b = equivalent_model(model_a, random_invertible_affine(sizes.latent_dim, gen), gen)
    clean_a, clean_b = (GenerativeModel(m.decoder, m.prior) for m in (model_a, model_b))
    # Exact: the noise-free laws agree pointwise, and the noise is the same, so the noisy laws agree.
    steps = [Step("equivalence", check_same_law(clean_a, clean_b, n=sizes.n_samples, generator=seed))]
    _, x_a = model_a.sample(sizes.n_samples, gen)
    observed_b = model_b.decoder(model_b.prior.sample(sizes.n_samples, gen))
    # Statistical, with a false-failure probability of at most DECONVOLUTION_DELTA.
    steps.append(Step("conclusion", check_deconvolution(x_a, observed_b, noise_scale, delta=DECONVOLUTION_DELTA, generator=seed)))
    steps.append(Step("conclusion", check_affine_equivalence(model_a, model_b, n=sizes.n_samples, generator=seed)))
    model_c = injective_model(other_seed(seed), sizes, device, noise_scale=noise_scale)
    _, x_c = model_c.sample(sizes.n_samples, gen)
    half = sizes.n_samples // 2
    steps.append(Step("converse", check_same_distribution(x_a[:half], x_c[:half], generator=seed), expected=False))
    return steps
