"""Counterexamples: drop one assumption and the conclusion fails (THEORY.md, CE1–CE6).

Each entry pairs two models with the same law of x that no affine map of the latent
space relates, and carries its evidence as ``CheckResult`` objects, all of which hold:

* ``same_law:*`` — the laws of x are equal: exactly (densities on a grid, or a map
  shown to preserve the prior), and by a two-sample test at a stated sample size;
* ``no_affine_relation:*`` — different numbers of components, or the only possible
  relation between the latents is far from affine;
* ``dropped:*`` — the check of the dropped assumption fails, with its witness.

CE6 is of another kind (a limit, not a dropped assumption): ``catalog(include_limits=True)``
or ``get("CE6")``; its evidence shows the laws of x of two families merging while their
latents stay non-affinely related.

Every entry also exists in a higher dimension: composed with a random injective
leaky-ReLU network g: R^k -> R^n (``catalog(embed_dim=n)`` or ``entry.embedded(n)``);
g being injective, the laws stay equal and the latents keep their relation, and the
checks then run on the composed decoders.

Examples
--------
>>> from verify.counterexamples import catalog
>>> for entry in catalog():
...     assert all(result.holds for result in entry.evidence())
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from models import GaussianMixture, GenerativeModel, LeakyReLUNetwork, random_network
from models._validation import check_positive_int, make_generator

from . import _ce_evidence as ev
from ._ce_checks import (
    check_continuous,
    check_full_rank_somewhere,
    check_full_support,
    check_nondegenerate_covariance,
    check_piecewise_affine,
    dropped,
)
from ._ce_limit import grid_mixture, pushed_mixture, weak_limit_evidence
from ._ce_maps import (
    CE3_L,
    QUAD_VERTICES,
    SQUARE_VERTICES,
    GaussianizingMap,
    SampledModel,
    abs_network,
    ce3_phi_inverse_network,
    ce3_phi_network,
    ce5_decoder_inverse,
    ce5_decoder_network,
    compose_networks,
    degenerate_gaussian_sampler,
    flip_inside,
    gaussian,
    identity_network,
    swirl,
    uniform_polygon_log_prob,
    uniform_polygon_sampler,
)
from .check_result import CheckResult

__all__ = [
    "Counterexample",
    "SampledModel",
    "catalog",
    "get",
    "NAMES",
    "LIMIT_NAMES",
    "check_continuous",
    "check_full_rank_somewhere",
    "check_full_support",
    "check_nondegenerate_covariance",
    "check_piecewise_affine",
]

DTYPE = torch.float64
NAMES = ("CE1", "CE1b", "CE2a", "CE2b", "CE3", "CE4", "CE5")
LIMIT_NAMES = ("CE6",)
DEFAULT_SAMPLES = 400


class Counterexample:
    """Two models with the same law of x that no affine map relates, one assumption dropped.

    Attributes
    ----------
    name : str
        "CE1", "CE1b", "CE2a", "CE2b", "CE3", "CE4" or "CE5" (THEORY.md).
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

    def sample(self, n: int, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_a, x_b): n draws of x from each model, a first, from one generator."""
        check_positive_int(n, "n")
        gen = make_generator(generator)
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
        check_positive_int(n_samples, "n_samples", minimum=20)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed: expected an integer, got {seed!r}")
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
        check_positive_int(n, "n", minimum=self.latent_dim + 1)
        return self._build(embedding_network(base, n, seed))

    def __repr__(self) -> str:
        where = f", embedded in R^{self.observed_dim}" if self.embedding is not None else ""
        return f"Counterexample({self.name}: drops {self.drops}{where})"


def embedding_network(in_dim: int, out_dim: int, seed: int = 0) -> LeakyReLUNetwork:
    """A random injective leaky-ReLU network R^in_dim -> R^out_dim (widths (in, out, out), slope 0.2)."""
    return random_network((in_dim, out_dim, out_dim), 0.2, injective=True, max_condition=4.0, generator=seed)


def _after(embedding: LeakyReLUNetwork | None, decoder):
    """embedding ∘ decoder: a network where both are networks, a function otherwise."""
    if embedding is None:
        return decoder
    if isinstance(decoder, LeakyReLUNetwork):
        return compose_networks(embedding, decoder)
    return lambda z: embedding(decoder(z))


def _where(embedding) -> str:
    return "" if embedding is None else f", then an injective leaky-ReLU g into R^{embedding.out_dim}"


def _mixture(weights, means, variances) -> GaussianMixture:
    means = torch.as_tensor(means, dtype=DTYPE)
    dim = means.shape[1]
    covariances = torch.stack([v * torch.eye(dim, dtype=DTYPE) for v in variances])
    return GaussianMixture(torch.as_tensor(weights, dtype=DTYPE), means, covariances)


# --------------------------------------------------------------------------- CE1
def build_ce1(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE1: f(z) = |z|; 0.5 N(1, 1) + 0.5 N(−1, 1) and N(1, 1) fold to the same law (J = 2 vs 1)."""
    decoder = _after(embedding, abs_network(1))
    prior_a = _mixture([0.5, 0.5], [[1.0], [-1.0]], [1.0, 1.0])
    prior_b = gaussian(1, [1.0])
    return Counterexample(
        "CE1", "weak injectivity",
        "f(z) = |z| = ReLU(z) + ReLU(−z); P = 0.5 N(1, 1) + 0.5 N(−1, 1), P' = N(1, 1)" + _where(embedding),
        GenerativeModel(decoder, prior_a), GenerativeModel(decoder, prior_b),
        embedding=embedding, build=build_ce1, evidence=_evidence_ce1, parts={"base_out": 1},
    )


def _evidence_ce1(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    decoder = ce.model_a.decoder
    z_grid = torch.linspace(0.05, 6.0, 240, dtype=DTYPE).unsqueeze(1)
    density = ev.same_density_1d(decoder, ce.model_a.prior.log_prob, ce.model_b.prior.log_prob, decoder(z_grid))
    return [
        density,
        ev.two_sample(ce, n, seed),
        ev.different_components(ce.model_a.prior.n_components, ce.model_b.prior.n_components),
        dropped("weak_injectivity", ev.weak_injectivity(decoder)),
    ]


# --------------------------------------------------------------------------- CE1b
def build_ce1b(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE1b: f(z1, z2) = z1 with N(0, I) and 0.5 N((0, −1), I) + 0.5 N((0, 1), I)."""
    projection = LeakyReLUNetwork([torch.tensor([[1.0, 0.0]], dtype=DTYPE)], [torch.zeros(1, dtype=DTYPE)])
    decoder = _after(embedding, projection)
    prior_a = gaussian(2)
    prior_b = _mixture([0.5, 0.5], [[0.0, -1.0], [0.0, 1.0]], [1.0, 1.0])
    return Counterexample(
        "CE1b", "weak injectivity (ii): a decoder of rank m",
        "f(z1, z2) = z1 (rank 1); P = N(0, I_2), P' = 0.5 N((0, −1), I) + 0.5 N((0, 1), I)" + _where(embedding),
        GenerativeModel(decoder, prior_a), GenerativeModel(decoder, prior_b),
        embedding=embedding, build=build_ce1b, evidence=_evidence_ce1b, parts={"base_out": 1, "projection": projection},
    )


def _evidence_ce1b(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    projection = ce._parts["projection"]
    y_grid = torch.linspace(-5.0, 5.0, 241, dtype=DTYPE).unsqueeze(1)
    log_a = ev.linear_pushforward_log_density(ce.model_a.prior, projection)
    log_b = ev.linear_pushforward_log_density(ce.model_b.prior, projection)
    outer = ce.embedding if ce.embedding is not None else identity_network(1)
    density = ev.same_density_1d(outer, log_a, log_b, outer(y_grid))
    points = ce.model_a.prior.sample(200, seed)
    return [
        density,
        ev.two_sample(ce, n, seed),
        ev.different_components(ce.model_a.prior.n_components, ce.model_b.prior.n_components),
        dropped("weak_injectivity", ev.weak_injectivity(ce.model_a.decoder)),
        dropped("full_rank_piece", check_full_rank_somewhere(ce.model_a.decoder, points)),
    ]


# --------------------------------------------------------------------------- CE2a
def build_ce2a(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE2 (swirl): φ rotates z by |z|²; it preserves N(0, I_2), so f and f ∘ φ⁻¹ are equivalent."""
    f = embedding if embedding is not None else identity_network(2)
    prior = gaussian(2)
    decoder_b = lambda z: f(swirl(z, -1.0))  # noqa: E731
    return Counterexample(
        "CE2a", "piecewise-affine decoder",
        "P = N(0, I_2); f and f ∘ φ⁻¹, φ(z) = rotation of z by |z|²" + _where(embedding),
        GenerativeModel(f, prior),
        SampledModel(prior, decoder_b, latent_dim=2, observed_dim=f.out_dim, description="z ~ N(0, I_2), x = f(φ⁻¹(z))"),
        embedding=embedding, build=build_ce2a, evidence=_evidence_ce2a, parts={"base_out": 2, "f": f},
    )


def _evidence_ce2a(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f = ce._parts["f"]
    prior = ce.model_a.prior
    z, x = ce.model_a.sample(n, seed)
    z_b = swirl(f.inverse(x), 1.0)  # the latent of model b that gives the same x (f is injective)
    return [
        ev.prior_preserved(lambda w: swirl(w, 1.0), lambda w: swirl(w, -1.0), prior.log_prob, prior.log_prob,
                           ev.grid_2d(-3.0, 3.0, 41), "rotation by |z|²"),
        ev.two_sample(ce, n, seed),
        ev.latents_not_affine(z, z_b, "z' = φ(z)"),
        dropped("piecewise_affine", check_piecewise_affine(ce.model_b.decoder, prior.sample(64, seed + 1), generator=seed)),
    ]


# --------------------------------------------------------------------------- CE2b
CE2B_PRIOR = dict(weights=[0.5, 0.5], means=[[-2.0], [2.0]], variances=[0.25, 0.25])


def build_ce2b(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE2 (Gaussianizing): T = Φ⁻¹ ∘ F turns a two-component 1-D mixture into N(0, 1)."""
    f = embedding if embedding is not None else identity_network(1)
    prior_a = _mixture(**CE2B_PRIOR)
    transform = GaussianizingMap(prior_a)
    decoder_b = lambda u: f(transform.inverse(u))  # noqa: E731
    return Counterexample(
        "CE2b", "piecewise-affine decoder",
        "P = 0.5 N(−2, 0.25) + 0.5 N(2, 0.25) with f, against N(0, 1) with f ∘ T⁻¹, T = Φ⁻¹ ∘ F_P" + _where(embedding),
        GenerativeModel(f, prior_a),
        SampledModel(gaussian(1), decoder_b, latent_dim=1, observed_dim=f.out_dim, description="u ~ N(0, 1), x = f(T⁻¹(u))"),
        embedding=embedding, build=build_ce2b, evidence=_evidence_ce2b, parts={"base_out": 1, "f": f, "T": transform},
    )


def _evidence_ce2b(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f, transform = ce._parts["f"], ce._parts["T"]
    prior_a, prior_b = ce.model_a.prior, ce.model_b.prior
    z, x = ce.model_a.sample(n, seed)
    u = transform(f.inverse(x))
    grid = torch.linspace(-4.5, 4.5, 361, dtype=DTYPE).unsqueeze(1)
    return [
        ev.prior_preserved(transform, transform.inverse, prior_a.log_prob, prior_b.log_prob, grid, "T = Φ⁻¹ ∘ F_P"),
        ev.two_sample(ce, n, seed),
        ev.different_components(prior_a.n_components, prior_b.n_components),
        ev.latents_not_affine(z, u, "u = T(z)"),
        dropped("piecewise_affine", check_piecewise_affine(ce.model_b.decoder, prior_b.sample(64, seed + 1), generator=seed)),
    ]


# --------------------------------------------------------------------------- CE3
def build_ce3(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE3: Z uniform on [0, 1]²; φ = L z below the diagonal, z above, is an area-preserving PA homeomorphism."""
    f = embedding if embedding is not None else identity_network(2)
    decoder_b = compose_networks(f, ce3_phi_inverse_network())
    square = SampledModel(lambda n, g: torch.rand(n, 2, generator=g, dtype=DTYPE), f, latent_dim=2, observed_dim=f.out_dim,
                          description="z ~ U([0, 1]²), x = f(z)", latent_log_prob=uniform_polygon_log_prob(SQUARE_VERTICES))
    quad = SampledModel(uniform_polygon_sampler(QUAD_VERTICES), decoder_b, latent_dim=2, observed_dim=f.out_dim,
                        description="z ~ U(Q), Q = φ([0, 1]²), x = f(φ⁻¹(z))", latent_log_prob=uniform_polygon_log_prob(QUAD_VERTICES))
    return Counterexample(
        "CE3", "Gaussian-mixture prior",
        "U([0, 1]²) with f, against U(Q) with f ∘ φ⁻¹; φ(z) = L z where z2 <= z1, z elsewhere, "
        "L = [[1.5, −0.5], [0.5, 0.5]]" + _where(embedding),
        square, quad, embedding=embedding, build=build_ce3, evidence=_evidence_ce3, parts={"base_out": 2, "f": f},
    )


def _evidence_ce3(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f = ce._parts["f"]
    z, x = ce.model_a.sample(n, seed)
    z_b = ce3_phi_network()(f.inverse(x))
    outside = ev.grid_2d(-1.0, 2.0, 31)
    return [
        ev.area_preserving_bijection(ce3_phi_network(), CE3_L),
        ev.two_sample(ce, n, seed),
        ev.latents_not_affine(z, z_b, "z' = φ(z)"),
        ev.not_a_parallelogram(QUAD_VERTICES),
        dropped("gaussian_mixture_prior", check_full_support(ce.model_a.latent_log_prob, outside)),
    ]


# --------------------------------------------------------------------------- CE4
def build_ce4(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE4: Z = Z' = N(0, 1), f = id and f'(z) = −z on (−1, 1), z elsewhere (discontinuous)."""
    f = embedding if embedding is not None else identity_network(1)
    prior = gaussian(1)
    decoder_b = lambda z: f(flip_inside(z))  # noqa: E731
    return Counterexample(
        "CE4", "continuity of the decoder",
        "P = P' = N(0, 1); f = id against f'(z) = −z on (−1, 1), z elsewhere" + _where(embedding),
        GenerativeModel(f, prior),
        SampledModel(prior, decoder_b, latent_dim=1, observed_dim=f.out_dim, description="z ~ N(0, 1), x = f(f'(z))"),
        embedding=embedding, build=build_ce4, evidence=_evidence_ce4, parts={"base_out": 1, "f": f},
    )


def _evidence_ce4(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f = ce._parts["f"]
    prior = ce.model_a.prior
    z, x = ce.model_a.sample(n, seed)
    z_b = flip_inside(f.inverse(x))  # f' is an involution, so (f')⁻¹ = f'
    grid = torch.linspace(-4.0, 4.0, 400, dtype=DTYPE).unsqueeze(1)
    return [
        ev.prior_preserved(flip_inside, flip_inside, prior.log_prob, prior.log_prob, grid, "f' (an involution, derivative ±1)"),
        ev.two_sample(ce, n, seed),
        ev.decoder_mismatch_under_symmetries(ce.model_a.decoder, ce.model_b.decoder, grid),
        ev.latents_not_affine(z, z_b, "z' = f'⁻¹(f(z))"),
        dropped("continuity", check_continuous(ce.model_b.decoder, torch.tensor([-3.0]), torch.tensor([3.1]))),
    ]


# --------------------------------------------------------------------------- CE5
def build_ce5(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE5: Z = (G, 0); f = id and f'(z) = (z1, z2 + ReLU(z2)) agree on the support."""
    f = embedding if embedding is not None else identity_network(2)
    decoder_b = compose_networks(f, ce5_decoder_network())
    model_a = SampledModel(degenerate_gaussian_sampler, f, latent_dim=2, observed_dim=f.out_dim, description="z = (G, 0), x = f(z)")
    model_b = SampledModel(degenerate_gaussian_sampler, decoder_b, latent_dim=2, observed_dim=f.out_dim,
                           description="z = (G, 0), x = f(f'(z))")
    return Counterexample(
        "CE5", "nondegenerate covariance",
        "Z = (G, 0), G ~ N(0, 1); f = id against f'(z) = (z1, z2 + ReLU(z2))" + _where(embedding),
        model_a, model_b, embedding=embedding, build=build_ce5, evidence=_evidence_ce5, parts={"base_out": 2, "f": f},
    )


CE5_COVARIANCE = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=DTYPE)


def _evidence_ce5(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    f = ce._parts["f"]
    support = torch.stack([torch.linspace(-5.0, 5.0, 401, dtype=DTYPE), torch.zeros(401, dtype=DTYPE)], dim=1)
    # T2 asks for f = f' ∘ h on all of R², so h is probed off the support too.
    plane = gaussian(2).sample(n, seed)
    h_of_plane = ce5_decoder_inverse(f.inverse(ce.model_a.decoder(plane)))
    return [
        ev.decoders_agree(ce.model_a.decoder, ce.model_b.decoder, support),
        ev.two_sample(ce, n, seed),
        ev.latents_not_affine(plane, h_of_plane, "h = f'⁻¹ ∘ f on R²"),
        dropped("nondegenerate_covariance", check_nondegenerate_covariance(CE5_COVARIANCE)),
    ]


# --------------------------------------------------------------------------- CE6
CE6_KS = (1, 2, 4, 8)


def build_ce6(embedding: LeakyReLUNetwork | None = None) -> Counterexample:
    """CE6: U([0, 1]²) is a weak limit of mixtures P_k (k² components); with Q_k = P_k pushed
    through φ's pieces, (f, P_k) and (f ∘ φ⁻¹, Q_k) have laws of x that merge as k grows while
    their latents stay related by φ. The models are those of the largest k.

    This entry documents a limit, not a dropped assumption: its evidence is the two falling
    distances and the constant affine-fit residual (no ``dropped:`` check).
    """
    f = embedding if embedding is not None else identity_network(2)
    k = CE6_KS[-1]
    prior_a = grid_mixture(k)
    return Counterexample(
        "CE6", "uniformity in J (a weak limit of mixtures)",
        f"P_k = k² components N(cell centre, (0.4 / k)² I) on the unit square with f, against Q_k (each component through "
        f"φ's piece) with f ∘ φ⁻¹; models shown at k = {k}" + _where(embedding),
        GenerativeModel(f, prior_a), GenerativeModel(compose_networks(f, ce3_phi_inverse_network()), pushed_mixture(prior_a)),
        embedding=embedding, build=build_ce6, evidence=_evidence_ce6, parts={"base_out": 2},
    )


def _evidence_ce6(ce: Counterexample, n: int, seed: int) -> list[CheckResult]:
    return weak_limit_evidence(CE6_KS, ce.embedding, n, seed)


# --------------------------------------------------------------------------- the catalog
_BUILDERS = {"CE1": build_ce1, "CE1b": build_ce1b, "CE2a": build_ce2a, "CE2b": build_ce2b, "CE3": build_ce3,
             "CE4": build_ce4, "CE5": build_ce5, "CE6": build_ce6}


def catalog(embed_dim: int | None = None, seed: int = 0, *, include_limits: bool = False) -> list[Counterexample]:
    """Every counterexample of THEORY.md, in order CE1, CE1b, CE2a, CE2b, CE3, CE4, CE5 (and CE6).

    Parameters
    ----------
    embed_dim : int, optional
        Compose every entry with a random injective leaky-ReLU network into R^embed_dim
        (``embed_dim`` > 2, the largest latent dimension).
    seed : int
        Seed of those networks.
    include_limits : bool
        Append CE6, whose evidence shows a limit (falling distances) rather than equal laws.
    """
    if embed_dim is not None:
        check_positive_int(embed_dim, "embed_dim", minimum=3)
    names = NAMES + LIMIT_NAMES if include_limits else NAMES
    return [get(name, embed_dim, seed) for name in names]


def get(name: str, embed_dim: int | None = None, seed: int = 0) -> Counterexample:
    """One entry by name ("CE1", "CE1b", "CE2a", "CE2b", "CE3", "CE4", "CE5", "CE6"; case-insensitive)."""
    for key, build in _BUILDERS.items():
        if key.lower() == str(name).strip().lower():
            entry = build()
            return entry if embed_dim is None else entry.embedded(embed_dim, seed)
    raise ValueError(f"name: unknown counterexample {name!r}; known: {', '.join(NAMES + LIMIT_NAMES)}")
