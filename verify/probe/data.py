"""Samples of generating models for the probe: every assumption holds, or one is dropped."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from models import GaussianMixture, GenerativeModel, LeakyReLUNetwork
from models.validation import DTYPE, check_int

from ..counterexamples.ce2b import CE2B_PRIOR
from ..counterexamples.entry import mixture
from ..counterexamples.maps import QUAD_VERTICES, GaussianizingMap, ce3_phi_inverse_network, swirl, uniform_polygon_sampler

DROPS = ("none", "piecewise_affine", "piecewise_affine_1d", "gaussian_mixture_prior")


@dataclass(frozen=True)
class ProbeData:
    """Samples of a generating model and what the probe should fit to them.

    Attributes
    ----------
    x, z : Tensor
        Observations and the latents that generated them, row for row.
    latent_dim, n_components : int
        m and the J to fit.
    description : str
    expected_affine : bool
        True when every assumption holds (the refit should be affine in z).
    """

    x: torch.Tensor
    z: torch.Tensor
    latent_dim: int
    n_components: int
    description: str
    expected_affine: bool


def bent_mixture_model(dim: int) -> GenerativeModel:
    """A model meeting every assumption whose kinks the likelihood pins down at a few thousand samples.

    Each kink of the decoder's hidden layer runs through the centre of a prior component
    and bends it with slope 1/4, so no affine decoder fits as well; where a kink crosses
    little mass the likelihood is nearly flat in it and refits need far more data. 1-D:
    0.5 N(−2, 0.5) + 0.5 N(1, 1), kink at z = 1. 2-D: three components, kinks through
    (2, 0.5) and (0, 2).
    """
    if dim == 1:
        prior = GaussianMixture(torch.tensor([0.5, 0.5], dtype=DTYPE), torch.tensor([[-2.0], [1.0]], dtype=DTYPE),
                                torch.tensor([[[0.5]], [[1.0]]], dtype=DTYPE))
        decoder = LeakyReLUNetwork([torch.tensor([[-1.5]], dtype=DTYPE), torch.tensor([[0.8]], dtype=DTYPE)],
                                   [torch.tensor([1.5], dtype=DTYPE), torch.tensor([0.3], dtype=DTYPE)], 0.25)
        return GenerativeModel(decoder, prior)
    if dim == 2:
        prior = GaussianMixture(torch.tensor([0.3, 0.3, 0.4], dtype=DTYPE),
                                torch.tensor([[-2.0, 0.0], [2.0, 0.5], [0.0, 2.0]], dtype=DTYPE),
                                torch.stack([0.4 * torch.eye(2, dtype=DTYPE), torch.tensor([[0.5, 0.2], [0.2, 0.4]], dtype=DTYPE),
                                             torch.diag(torch.tensor([0.6, 0.3], dtype=DTYPE))]))
        c, s = math.cos(0.5), math.sin(0.5)
        first = torch.tensor([[c, -s], [s, c]], dtype=DTYPE)
        through = torch.tensor([[2.0, 0.5], [0.0, 2.0]], dtype=DTYPE)
        bias = -(first * through).sum(1)
        decoder = LeakyReLUNetwork([first, torch.tensor([[1.0, 0.3], [-0.2, 1.0]], dtype=DTYPE)], [bias, torch.zeros(2, dtype=DTYPE)], 0.25)
        return GenerativeModel(decoder, prior)
    raise ValueError(f"dim: expected 1 or 2, got {dim!r}")


def probe_data(drop: str = "none", n: int = 2000, seed: int = 0) -> ProbeData:
    """Samples of a generating model for ``python -m verify probe``.

    ``drop``:
    ``"none"`` — ``bent_mixture_model(1)``: every assumption holds (1-D, where the
    search reliably reaches the maximum likelihood; see ``fit_flow`` for 2-D);
    ``"piecewise_affine"`` — CE2a: z ~ N(0, I_2), x = φ⁻¹(z), φ the rotation by |z|²;
    ``"piecewise_affine_1d"`` — CE2b: u ~ N(0, 1), x = T⁻¹(u), T = Φ⁻¹ ∘ F_P;
    ``"gaussian_mixture_prior"`` — CE3: z ~ U(Q), x = φ⁻¹(z).
    """
    check_int(n, "n", minimum=10)
    gen = torch.Generator().manual_seed(seed)
    if drop == "none":
        z, x = bent_mixture_model(1).sample(n, gen)
        return ProbeData(x, z, 1, 2, "1-D mixture (J = 2) through a square leaky-ReLU decoder: every assumption holds", True)
    if drop == "piecewise_affine":
        z = torch.randn(n, 2, generator=gen, dtype=DTYPE)
        return ProbeData(swirl(z, -1.0), z, 2, 1, "CE2a: z ~ N(0, I_2), x = φ⁻¹(z), φ the rotation by |z|² (not piecewise affine)",
                         False)
    if drop == "piecewise_affine_1d":
        transform = GaussianizingMap(mixture(**CE2B_PRIOR))
        u = torch.randn(n, 1, generator=gen, dtype=DTYPE)
        return ProbeData(transform.inverse(u), u, 1, 2, "CE2b: u ~ N(0, 1), x = T⁻¹(u), T = Φ⁻¹ ∘ F_P (not piecewise affine)", False)
    if drop == "gaussian_mixture_prior":
        z = uniform_polygon_sampler(QUAD_VERTICES)(n, gen)
        return ProbeData(ce3_phi_inverse_network()(z), z, 2, 2, "CE3: z ~ U(Q), x = φ⁻¹(z) (prior not a Gaussian mixture)", False)
    raise ValueError(f"drop: expected one of {', '.join(DROPS)}, got {drop!r}")
