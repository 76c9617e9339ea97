"""One counterexample: two models with the same law of x that no affine map relates.

Each entry (``ce1.py`` ... ``ce6.py``) builds a ``Counterexample`` and its evidence;
``catalog.py`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from models import GaussianMixture, LeakyReLUNetwork, random_network
from models.validation import DTYPE, MAX_DIM, check_generator, check_int, check_seed

from ..check_result import CheckResult
from . import evidence as ev
from .maps import compose_networks

DEFAULT_SAMPLES = 400


class Counterexample:
    """Two models with the same law of x that no affine map relates, one assumption dropped.

    Attributes
    ----------
    name : str
        "CE1", "CE1b", "CE2a", "CE2b", "CE3", "CE4" or "CE5" (docs/theory.md).
    drops : str
        The assumption dropped, in words.
    description : str
        The construction.
    model_a, model_b : GenerativeModel or SampledModel
        Both have ``sample(n, generator) -> (z, x)``.
    embedding : LeakyReLUNetwork or None
        The injective g: R^k -> R^n composed after both decoders, if any.
    """

    def __init__(self, name: str, drops: str, description: str, model_a, model_b, *, embedding, build: Callable,
                 evidence: Callable, parts: dict):
        self.name = name
        self.drops = drops
        self.description = description
        self.model_a = model_a
        self.model_b = model_b
        self.embedding = embedding
        self._build = build
        self._evidence = evidence
        self._parts = parts

    @property
    def observed_dim(self) -> int:
        return self.model_a.observed_dim

    @property
    def latent_dim(self) -> int:
        return self.model_a.latent_dim

    @property
    def min_embed_dim(self) -> int:
        """The smallest n of ``embedded(n)``: above the latent dimension, and at least the base decoder's output's."""
        return max(self.latent_dim + 1, self._parts["base_out"])

    def sample(self, n: int, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_a, x_b): n draws of x from each model, a first, from one generator."""
        check_int(n, "n")
        gen = check_generator(generator)
        _, x_a = self.model_a.sample(n, gen)
        _, x_b = self.model_b.sample(n, gen)
        return x_a, x_b

    def evidence(self, n_samples: int = DEFAULT_SAMPLES, seed: int = 0) -> list[CheckResult]:
        """The checks that make this a counterexample; every one of them holds.

        Parameters
        ----------
        n_samples : int
            Sample size per model for the two-sample test and the latent fits.
        seed : int
            Seed of every random draw.
        """
        check_int(n_samples, "n_samples", minimum=20)
        check_seed(seed)
        results = self._evidence(self, n_samples, seed)
        if self.embedding is not None:
            results.insert(0, ev.embedding_injective(self.embedding))
        return results

    def embedded(self, n: int, seed: int = 0) -> "Counterexample":
        """The same construction composed with a random injective leaky-ReLU network into R^n.

        ``n`` must exceed the latent dimension; the network has widths (k, n, n), k the
        base decoder's output dimension, slopes 0.2, drawn from ``seed``.
        """
        base = self._parts["base_out"]
        check_int(n, "n", minimum=self.min_embed_dim, maximum=MAX_DIM)
        check_seed(seed)
        return self._build(embedding_network(base, n, seed))

    def __repr__(self) -> str:
        where = f", embedded in R^{self.observed_dim}" if self.embedding is not None else ""
        return f"Counterexample({self.name}: drops {self.drops}{where})"


def embedding_network(in_dim: int, out_dim: int, seed: int = 0) -> LeakyReLUNetwork:
    """A random injective leaky-ReLU network R^in_dim -> R^out_dim (widths (in, out, out), slope 0.2)."""
    check_int(in_dim, "in_dim", maximum=MAX_DIM)
    check_int(out_dim, "out_dim", minimum=in_dim, maximum=MAX_DIM)
    check_seed(seed)
    return random_network((in_dim, out_dim, out_dim), 0.2, injective=True, max_condition=4.0, generator=seed)


def after(embedding: LeakyReLUNetwork | None, decoder):
    """embedding ∘ decoder: a network where both are networks, a function otherwise."""
    if embedding is None:
        return decoder
    if isinstance(decoder, LeakyReLUNetwork):
        return compose_networks(embedding, decoder)
    return lambda z: embedding(decoder(z))


def where(embedding) -> str:
    return "" if embedding is None else f", then an injective leaky-ReLU g into R^{embedding.out_dim}"


def mixture(weights, means, variances) -> GaussianMixture:
    means = torch.as_tensor(means, dtype=DTYPE)
    dim = means.shape[1]
    covariances = torch.stack([v * torch.eye(dim, dtype=DTYPE) for v in variances])
    return GaussianMixture(torch.as_tensor(weights, dtype=DTYPE), means, covariances)
