"""One randomized trial per result of the hierarchy (THEORY.md, T1–T5).

A trial is a pure function of (theorem id, seed, sizes, device): it draws a model
meeting the theorem's assumptions, builds an observationally equivalent second
model by a random reparametrisation that the checks never see (an affine map of
the latent space, shuffled component labels, the same noise), and checks that the
conclusion recovers the relation to tolerance. It also runs the converse: a model
that is *not* equivalent must give a measurably different law, or be rejected.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, asdict

import torch

from models import AffineMap, GaussianMixture, GenerativeModel, random_affine_map, random_gmm, random_model, random_network
from models.random import random_orthogonal

from .affine_levels import check_identity, check_orthogonal, check_permutation_scaling
from .canonical_form import check_trivial_symmetry
from .deconvolution import check_deconvolution
from .check_result import CheckResult
from .equivalence import check_affine_equivalence, latent_scale, recover_affine_map
from .likelihood import check_laws_differ, check_same_law
from .mixtures import check_same_mixture
from .priors import check_distinct_variance_ratios, check_independent_coordinates, check_standard_normal, product_mixture
from .two_sample import check_same_distribution

POSTERIOR_ATOL = 1e-8
DECONVOLUTION_DELTA = 1e-3


@dataclass(frozen=True)
class Sizes:
    """Sizes of the drawn models: latent m, observed n, hidden widths, components J, samples."""

    latent_dim: int = 2
    observed_dim: int = 5
    hidden: tuple[int, ...] = (4,)
    n_components: int = 3
    n_samples: int = 1000


@dataclass(frozen=True)
class Step:
    """One check of a trial and the verdict the theorem expects from it."""

    role: str  # "assumption", "equivalence", "conclusion" or "converse"
    result: CheckResult
    expected: bool = True

    @property
    def passed(self) -> bool:
        return bool(self.result.holds) == self.expected


@dataclass
class TrialReport:
    """The outcome of one trial: held iff every step gave the expected verdict."""

    theorem: str
    seed: int
    sizes: Sizes
    device: str
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def held(self) -> bool:
        return all(step.passed for step in self.steps)

    def worst_conclusion(self) -> CheckResult | None:
        """The conclusion check with the largest statistic relative to its tolerance, among
        those whose statistic is an error (it holds when small); None if there is none."""
        errors = [s.result for s in self.steps if s.role == "conclusion" and _is_error_measure(s.result)]
        return max(errors, key=lambda r: r.statistic / r.tolerance, default=None)

    @property
    def worst_error(self) -> float:
        """``worst_conclusion()``'s statistic over its tolerance (<= 1 when it holds)."""
        worst = self.worst_conclusion()
        return math.nan if worst is None else worst.statistic / worst.tolerance

    @property
    def witnesses(self) -> int:
        """How many steps failed against expectation (each carries its witness)."""
        return sum(not s.passed for s in self.steps)

    def to_dict(self) -> dict:
        return {
            "theorem": self.theorem, "seed": self.seed, "sizes": asdict(self.sizes), "device": self.device,
            "held": self.held, "worst_error": self.worst_error, "seconds": self.seconds,
            "steps": [{"role": s.role, "expected": s.expected, "passed": s.passed, "result": s.result.to_dict()} for s in self.steps],
        }


def _is_error_measure(result: CheckResult) -> bool:
    """A statistic that is an error against a positive tolerance (checks such as
    ``laws_differ`` hold when their statistic is *large* and are left out)."""
    if not (math.isfinite(result.tolerance) and result.tolerance > 0) or math.isnan(result.statistic):
        return False
    return not (result.holds and result.statistic > result.tolerance)


# --------------------------------------------------------------------------- constructions
def random_invertible_affine(dim: int, generator: torch.Generator, max_condition: float = 10.0) -> AffineMap:
    """A random invertible affine map with condition number <= max_condition, possibly orientation reversing."""
    return random_affine_map(dim, max_condition=max_condition, generator=generator)


def random_permutation_scaling(dim: int, generator: torch.Generator) -> AffineMap:
    """h(z) = P D z + b with a random permutation P, signs and scales in [0.5, 2]."""
    perm = torch.randperm(dim, generator=generator)
    scales = 0.5 * 4.0 ** torch.rand(dim, generator=generator, dtype=torch.float64)
    signs = torch.where(torch.rand(dim, generator=generator) < 0.5, -1.0, 1.0).to(torch.float64)
    matrix = torch.zeros(dim, dim, dtype=torch.float64)
    matrix[torch.arange(dim), perm] = scales * signs
    return AffineMap(matrix, torch.randn(dim, generator=generator, dtype=torch.float64))


def equivalent_model(model: GenerativeModel, h: AffineMap, generator: torch.Generator) -> GenerativeModel:
    """(f ∘ h⁻¹, h#P) with its components shuffled: the same law of x, built blind to the checks."""
    reparametrized = model.reparametrize(h.to(model.decoder.device))
    perm = torch.randperm(model.prior.n_components, generator=generator)
    return GenerativeModel(reparametrized.decoder, reparametrized.prior.permute(perm), model.noise_scale)


def _injective_model(seed: int, sizes: Sizes, device, *, prior: GaussianMixture | None = None, noise_scale: float = 0.0) -> GenerativeModel:
    """A model with an injective decoder, drawn on the CPU from ``seed`` and moved to ``device``."""
    gen = torch.Generator().manual_seed(seed)
    model = random_model(sizes.latent_dim, sizes.observed_dim, hidden=sizes.hidden, n_components=sizes.n_components,
                         noise_scale=noise_scale, generator=gen)
    if prior is not None:
        model = GenerativeModel(model.decoder, prior.to("cpu"), noise_scale)
    return model.to(device)


def _standard_normal(dim: int) -> GaussianMixture:
    return GaussianMixture(torch.ones(1, dtype=torch.float64), torch.zeros(1, dim, dtype=torch.float64), torch.eye(dim, dtype=torch.float64).unsqueeze(0))


def _other_seed(seed: int) -> int:
    return (seed * 7919 + 104729) % (2**62)


# --------------------------------------------------------------------------- shared steps
def _equivalence_steps(model_a, model_b, sizes, seed) -> tuple[list[Step], CheckResult]:
    same = check_same_law(model_a, model_b, n=sizes.n_samples, generator=seed)
    equivalence = check_affine_equivalence(model_a, model_b, n=sizes.n_samples, generator=seed)
    return [Step("equivalence", same), Step("conclusion", equivalence)], equivalence


def _converse_steps(model_a, sizes, seed, device) -> list[Step]:
    """A different random model: its law differs measurably and no affine map relates it."""
    model_c = _injective_model(_other_seed(seed), sizes, device)
    differ = check_laws_differ(model_a, model_c, n=sizes.n_samples, generator=seed)
    related = check_affine_equivalence(model_a, model_c, n=sizes.n_samples, generator=seed)
    return [Step("converse", differ), Step("converse", related, expected=False)]


def check_posteriors_agree(model_a, model_b, h: AffineMap, permutation, n: int, generator, atol: float = POSTERIOR_ATOL) -> CheckResult:
    """P_a(U = j | x) = P_b(U = τ(j) | x) at samples x of model a (T2: cluster posteriors agree)."""
    z_a = model_a.prior.sample(n, generator)
    post_a = model_a.prior.posterior(z_a)
    post_b = model_b.prior.posterior(h(z_a))[:, torch.as_tensor(permutation)]
    error = float((post_a - post_b).abs().max())
    return CheckResult("posteriors_agree", error <= atol, error, atol, witness=None if error <= atol else z_a[(post_a - post_b).abs().amax(1).argmax()])


# --------------------------------------------------------------------------- the trials
def trial_t2(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    from .injectivity import check_injective

    gen = torch.Generator().manual_seed(seed)
    model_a = _injective_model(seed, sizes, device)
    model_b = equivalent_model(model_a, random_invertible_affine(sizes.latent_dim, gen), gen)
    steps = [Step("assumption", check_injective(model_a.decoder, method="rank"))]
    more, equivalence = _equivalence_steps(model_a, model_b, sizes, seed)
    steps += more
    if equivalence.holds:
        h = equivalence.witness
        permutation = check_same_mixture(model_a.prior.affine(h), model_b.prior).witness["permutation"]
        steps.append(Step("conclusion", check_posteriors_agree(model_a, model_b, h, permutation, sizes.n_samples, gen)))
    return steps + _converse_steps(model_a, sizes, seed, device)


def trial_t3(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    gen = torch.Generator().manual_seed(seed)
    model_a = _injective_model(seed, sizes, device, prior=_standard_normal(sizes.latent_dim))
    model_b = equivalent_model(model_a, AffineMap(random_orthogonal(sizes.latent_dim, gen)), gen)
    steps = [Step("assumption", check_standard_normal(model_a.prior)), Step("assumption", check_standard_normal(model_b.prior))]
    more, equivalence = _equivalence_steps(model_a, model_b, sizes, seed)
    steps += more
    scale = latent_scale(model_a.prior)
    steps.append(Step("conclusion", check_orthogonal(recover_affine_map(model_a, model_b, sizes.n_samples, seed).map, scale=scale)))
    # Converse: a non-orthogonal reparametrisation leaves the vanilla class, and its recovered map is not orthogonal.
    model_d = model_a.reparametrize(random_invertible_affine(sizes.latent_dim, gen, max_condition=4.0))
    steps.append(Step("converse", check_standard_normal(model_d.prior), expected=False))
    steps.append(Step("converse", check_orthogonal(recover_affine_map(model_a, model_d, sizes.n_samples, seed).map, scale=scale), expected=False))
    return steps


def trial_t4_s1(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    gen = torch.Generator().manual_seed(seed)
    prior = random_gmm(sizes.latent_dim, max(sizes.n_components, 2), covariance_type="diagonal", generator=gen)
    model_a = _injective_model(seed, sizes, device, prior=prior)
    return _t4_steps(model_a, check_distinct_variance_ratios, seed, sizes, gen)


def trial_t4_s2(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    gen = torch.Generator().manual_seed(seed)
    prior = product_mixture([random_gmm(1, 2, generator=gen) for _ in range(sizes.latent_dim)])
    model_a = _injective_model(seed, sizes, device, prior=prior)
    return _t4_steps(model_a, lambda p: check_independent_coordinates(p, generator=seed), seed, sizes, gen)


def _t4_steps(model_a, assumption, seed, sizes, gen) -> list[Step]:
    model_b = equivalent_model(model_a, random_permutation_scaling(sizes.latent_dim, gen), gen)
    steps = [Step("assumption", assumption(model_a.prior)), Step("assumption", assumption(model_b.prior))]
    more, _ = _equivalence_steps(model_a, model_b, sizes, seed)
    steps += more
    steps.append(Step("conclusion", check_permutation_scaling(recover_affine_map(model_a, model_b, sizes.n_samples, seed).map)))
    # Converse: a rotation takes the prior out of the class, and the recovered map mixes coordinates.
    model_d = model_a.reparametrize(AffineMap(_mixing_rotation(sizes.latent_dim)))
    steps.append(Step("converse", assumption(model_d.prior), expected=False))
    steps.append(Step("converse", check_permutation_scaling(recover_affine_map(model_a, model_d, sizes.n_samples, seed).map), expected=False))
    return steps


def _mixing_rotation(dim: int) -> torch.Tensor:
    """A rotation by π/5 in every coordinate plane (i, i+1): no coordinate is kept."""
    rotation = torch.eye(dim, dtype=torch.float64)
    c, s = math.cos(math.pi / 5), math.sin(math.pi / 5)
    for i in range(dim - 1):
        step = torch.eye(dim, dtype=torch.float64)
        step[i, i], step[i + 1, i + 1], step[i, i + 1], step[i + 1, i] = c, c, -s, s
        rotation = rotation @ step
    return rotation


def trial_t4_s3(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    gen = torch.Generator().manual_seed(seed)
    model_a = _injective_model(seed, sizes, device)
    # The prior is fixed and known; the second model is the same one, relabelled and rebuilt through torch.
    decoder_b = type(model_a.decoder).from_torch(model_a.decoder.to_torch())
    model_b = GenerativeModel(decoder_b, model_a.prior.permute(torch.randperm(model_a.prior.n_components, generator=gen)))
    steps = [Step("assumption", check_trivial_symmetry(model_a.prior))]
    more, _ = _equivalence_steps(model_a, model_b, sizes, seed)
    steps += more
    steps.append(Step("conclusion", check_identity(recover_affine_map(model_a, model_b, sizes.n_samples, seed).map,
                                                   scale=latent_scale(model_a.prior))))
    # The substance of S3: with the prior fixed, any other decoder f ∘ g⁻¹ (g != id) changes the law of x.
    moved = model_a.reparametrize(random_invertible_affine(sizes.latent_dim, gen, max_condition=4.0))
    same_prior_other_decoder = GenerativeModel(moved.decoder, model_a.prior)
    steps.append(Step("conclusion", check_laws_differ(model_a, same_prior_other_decoder, n=sizes.n_samples, generator=seed)))
    # Converse: N(0, I) has every rotation as a symmetry, so a rotated decoder is equivalent and not identical.
    standard = _standard_normal(sizes.latent_dim).to(device)
    vanilla = GenerativeModel(model_a.decoder, standard)
    rotated = vanilla.reparametrize(AffineMap(_mixing_rotation(sizes.latent_dim)))
    steps.append(Step("converse", check_trivial_symmetry(standard), expected=False))
    steps.append(Step("converse", check_identity(recover_affine_map(vanilla, rotated, sizes.n_samples, seed).map, scale=1.0), expected=False))
    return steps


def trial_t5(seed: int, sizes: Sizes, device="cpu", noise_scale: float = 0.1) -> list[Step]:
    """T5: with the same known noise, equal laws of f(z) give equal laws of x, and the law of x
    gives back the law of f(z) (deconvolution); T2 then applies to the noise-free models."""
    gen = torch.Generator().manual_seed(seed)
    model_a = _injective_model(seed, sizes, device, noise_scale=noise_scale)
    model_b = equivalent_model(model_a, random_invertible_affine(sizes.latent_dim, gen), gen)
    clean_a, clean_b = (GenerativeModel(m.decoder, m.prior) for m in (model_a, model_b))
    # Exact: the noise-free laws agree pointwise, and the noise is the same, so the noisy laws agree.
    steps = [Step("equivalence", check_same_law(clean_a, clean_b, n=sizes.n_samples, generator=seed))]
    _, x_a = model_a.sample(sizes.n_samples, gen)
    observed_b = model_b.decoder(model_b.prior.sample(sizes.n_samples, gen))
    # Statistical, with a false-failure probability of at most DECONVOLUTION_DELTA.
    steps.append(Step("conclusion", check_deconvolution(x_a, observed_b, noise_scale, delta=DECONVOLUTION_DELTA, generator=seed)))
    steps.append(Step("conclusion", check_affine_equivalence(model_a, model_b, n=sizes.n_samples, generator=seed)))
    model_c = _injective_model(_other_seed(seed), sizes, device, noise_scale=noise_scale)
    _, x_c = model_c.sample(sizes.n_samples, gen)
    steps.append(Step("converse", check_same_distribution(x_a[: sizes.n_samples // 2], x_c[: sizes.n_samples // 2], generator=seed), expected=False))
    return steps


def run_trial(theorem_id: str, trial, seed: int, sizes: Sizes, device: str = "cpu") -> TrialReport:
    """Run one trial on ``device`` and time it."""
    start = time.perf_counter()
    steps = trial(seed, sizes, device)
    return TrialReport(theorem_id, seed, sizes, device, steps, time.perf_counter() - start)


# --------------------------------------------------------------------------- T1: weak injectivity only
def _relu_model(seed: int, sizes: Sizes, device) -> GenerativeModel:
    """A ReLU decoder (slope 0, Gaussian weights): generically weakly injective, not injective."""
    gen = torch.Generator().manual_seed(seed)
    prior = random_gmm(sizes.latent_dim, sizes.n_components, generator=gen)
    decoder = random_network((sizes.latent_dim, *sizes.hidden, sizes.observed_dim), 0.0, injective=False, generator=gen)
    return GenerativeModel(decoder, prior).to(device)


def local_branch_map(model_a: GenerativeModel, model_b: GenerativeModel, z0: torch.Tensor) -> AffineMap | None:
    """T1's construction of h: near a point z0 whose image x0 has exactly one preimage z0'
    under f_b, both decoders are affine and invertible on their image, and
    h = (f_b's branch)⁻¹ ∘ (f_a's branch): h(z) = A_b⁺ (A_a z + c_a − c_b).
    None when x0 does not have exactly one preimage under f_b."""
    from .injectivity import preimages

    x0 = model_a.decoder(z0)
    pre_b = preimages(model_b.decoder, x0)
    if len(pre_b) != 1:
        return None
    a_a, c_a = model_a.decoder.local_affine(z0)
    a_b, c_b = model_b.decoder.local_affine(pre_b[0])
    if int(torch.linalg.matrix_rank(a_b)) < model_b.latent_dim:
        return None  # f_b's branch there is not invertible on its image
    pinv_b = torch.linalg.pinv(a_b)
    return AffineMap(pinv_b @ a_a, pinv_b @ (c_a - c_b))


def check_local_branch(model_a: GenerativeModel, model_b: GenerativeModel, z0: torch.Tensor) -> CheckResult:
    """Does T1's construction apply at z0?  Holds when f_a(z0) has exactly one preimage under f_b
    and f_b's branch there has rank m; the witness is then h = ``local_branch_map`` (an
    invertible affine map), otherwise the preimages of f_a(z0) under f_b (a (k, m) tensor)."""
    from .injectivity import InfinitePreimagesError, preimages

    try:
        found = preimages(model_b.decoder, model_a.decoder(z0))
    except InfinitePreimagesError as exc:
        return CheckResult("local_branch", False, math.inf, math.nan, details={"reason": str(exc)})
    h = local_branch_map(model_a, model_b, z0) if len(found) == 1 else None
    invertible = h is not None and int(torch.linalg.matrix_rank(h.matrix)) == model_a.latent_dim
    details = {"preimages": len(found), "z0": z0}
    # A count decides it (exactly one preimage): no tolerance applies.
    return CheckResult("local_branch", invertible, float(len(found)), math.nan, witness=h if invertible else found, details=details)


def _t1_pair(seed: int, sizes: Sizes, device):
    from .injectivity import check_weakly_injective

    gen = torch.Generator().manual_seed(seed)
    model_a = _relu_model(seed, sizes, device)
    model_b = equivalent_model(model_a, random_invertible_affine(sizes.latent_dim, gen), gen)
    weak = check_weakly_injective(model_a.decoder)
    branch = check_local_branch(model_a, model_b, _unique_preimage_point(weak)) if weak.holds else None
    return model_a, model_b, weak, branch


def _unique_preimage_point(weak: CheckResult) -> torch.Tensor:
    witness = weak.witness
    return witness["z0"] if isinstance(witness, dict) else witness


def trial_t1(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    model_a, model_b, weak, branch = _t1_pair(seed, sizes, device)
    steps = [Step("assumption", weak)]
    if branch is not None:
        steps.append(Step("conclusion", branch))
        if branch.holds:
            steps.append(Step("conclusion", check_same_mixture(model_a.prior.affine(branch.witness), model_b.prior)))
    model_c = _relu_model(_other_seed(seed), sizes, device)
    _, x_a = model_a.sample(sizes.n_samples // 2, seed)
    _, x_c = model_c.sample(sizes.n_samples // 2, seed + 1)
    steps.append(Step("converse", check_same_distribution(x_a, x_c, generator=seed), expected=False))
    return steps


def trial_t1_prime(seed: int, sizes: Sizes, device="cpu") -> list[Step]:
    """T1': J = J', the weights are identified under the relabelling τ, and m = dim of the image."""
    model_a, model_b, weak, branch = _t1_pair(seed, sizes, device)
    steps = [Step("assumption", weak)]
    if branch is None or not branch.holds:
        return steps + ([Step("conclusion", branch)] if branch is not None else [])
    h = branch.witness
    # J = J', and λ_j = λ'_τ(j), A μ_j + b = μ'_τ(j), A Σ_j Aᵀ = Σ'_τ(j) under the matched relabelling τ:
    # check_same_mixture fails on a different J and bounds each weight, mean and covariance error.
    steps.append(Step("conclusion", check_same_mixture(model_a.prior.affine(h), model_b.prior)))
    steps.append(Step("conclusion", check_image_dimension(model_a, model_b, sizes.n_samples, seed)))
    return steps


def check_image_dimension(model_a: GenerativeModel, model_b: GenerativeModel, n: int, generator) -> CheckResult:
    """The latent dimension is identified as the dimension of the image: the largest local rank is m for both."""
    ranks = []
    for model in (model_a, model_b):
        a, _ = model.decoder.local_affine(model.prior.sample(n, generator))
        ranks.append(int(torch.linalg.matrix_rank(a).max()))
    m = model_a.latent_dim
    holds = ranks[0] == ranks[1] == m
    return CheckResult("image_dimension", holds, float(max(abs(r - m) for r in ranks)), 0.0, witness=None if holds else ranks, details={"ranks": ranks, "m": m})
