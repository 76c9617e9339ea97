"""The probe's experiments as registered objects: refit a model, measure its latents against the true ones.

Each ``Experiment`` of ``EXPERIMENTS`` has conditions (``Condition``): a ground truth of
``verify.probe.data`` with every assumption of T1/T2 holding or one dropped, a latent and an
observed dimension, a sample size and a noise level. ``experiment.run(seed)`` draws each
condition's truth and samples from the seed, refits (``fit_vade``; ``fit_flow`` for the square,
noise-free ``flow`` experiment), and measures on a fresh sample of the truth:

- affine R², MCC and affine MCC of the fitted latents against the true ones (``verify.metrics``),
  for the best-likelihood restart and for every restart;
- the same affine R² for the first m principal components of x (an affine encoder: how far the
  truth is from affine to begin with);
- the likelihood gap: the truth's mean log-likelihood minus the fitted model's, per sample (both
  importance-sampled for the noisy models; exact for the flows). A gap near 0 says the optimiser
  reached the truth's likelihood; a positive gap says it stopped short, so a low R² then is an
  optimisation failure rather than a non-affine equivalent.

Each condition's verdict is a ``CheckResult`` ("probe/<experiment>/<condition>") that holds when
the best fit's affine R² >= ``R2_TARGET``. ``run_experiment(name, seeds)`` runs several seeds and
``ExperimentResult.summary()`` gives, per condition, the median affine R², its 10–90 % interval over
seeds, the median gap and the other scores.

Adding an experiment: one ``Experiment`` entry in ``EXPERIMENTS`` (its conditions name a truth of
``verify.probe.data.TRUTHS``, or a drop of ``DROPS`` for the flow).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch

from models.validation import DTYPE, check_callable, check_choice, check_int, check_real, check_text

from ..check_result import CheckResult, as_data
from ..metrics import affine_mcc, affine_r2, mcc
from .data import DROPS, NOISE_FRACTION, TRUTHS, ground_truth, probe_data, probe_data_log_prob
from .flow import _one_thread, fit_flow
from .vade import fit_vade, importance_log_likelihood

R2_TARGET = 0.95
"""A condition's check holds when the best fit's held-out affine R² is at least this."""
QUANTILES = (0.1, 0.9)
"""The interval over seeds that summaries report."""
ENGINES = ("vade", "flow")


def _set_fields(record, values: dict) -> None:
    """Store checked values in a frozen dataclass (numpy and 0-d tensor integers become ints)."""
    for name, value in values.items():
        object.__setattr__(record, name, value)


@dataclass(frozen=True)
class Budget:
    """How hard each fit works.

    Attributes
    ----------
    name : str
    restarts, steps : int
        ``fit_vade``'s restarts and ELBO steps (the flow: its long runs ``keep`` and ``steps``).
    max_samples : int or None
        A cap on every condition's sample size (small budgets for tests).
    test_samples : int
        Size of the fresh sample the scores are measured on.
    importance_samples : int
        Draws per point of the importance-sampled likelihoods.
    flow_candidates : int or None
        Random encoders the flow scores first (None: ``fit_flow``'s default).
    """

    name: str
    restarts: int
    steps: int
    max_samples: int | None
    test_samples: int
    importance_samples: int
    flow_candidates: int | None = None

    def __post_init__(self):
        check_text(self.name, "name")
        counts = {f: check_int(getattr(self, f), f) for f in ("restarts", "steps", "test_samples", "importance_samples")}
        optional = {f: check_int(getattr(self, f), f) for f in ("max_samples", "flow_candidates") if getattr(self, f) is not None}
        _set_fields(self, {**counts, **optional})


BUDGETS = {
    "tiny": Budget("tiny", 1, 40, 400, 300, 8, 10),
    "quick": Budget("quick", 2, 1000, None, 2000, 32, 120),
    "standard": Budget("standard", 3, 2000, None, 2000, 64, None),
}


@dataclass(frozen=True)
class Condition:
    """One setting of an experiment.

    Attributes
    ----------
    name : str
    truth : str
        A name of ``TRUTHS`` (the VaDE experiments) or of ``DROPS`` (the flow).
    latent_dim, observed_dim, n_components : int
        m, n and J (of the truth and of the fit; the flow's come from ``probe_data``).
    n_samples : int
        N, the training sample.
    noise : float
        σ as a fraction of the RMS of the noise-free observations.
    """

    name: str
    truth: str
    latent_dim: int = 2
    observed_dim: int = 10
    n_components: int = 3
    n_samples: int = 10_000
    noise: float = NOISE_FRACTION

    def __post_init__(self):
        check_text(self.name, "name")
        check_choice(self.truth, TRUTHS + DROPS, "truth")
        latent_dim = check_int(self.latent_dim, "latent_dim")
        _set_fields(self, {"latent_dim": latent_dim, "observed_dim": check_int(self.observed_dim, "observed_dim", minimum=latent_dim),
                           "n_components": check_int(self.n_components, "n_components"),
                           "n_samples": check_int(self.n_samples, "n_samples"),
                           "noise": check_real(self.noise, "noise", low=0.0, low_open=True)})

    def describe(self) -> str:
        return (f"{self.truth}, m = {self.latent_dim}, n = {self.observed_dim}, J = {self.n_components}, "
                f"N = {self.n_samples}, σ = {self.noise:g} × RMS")


@dataclass(frozen=True)
class ConditionResult:
    """One condition at one seed.

    Attributes
    ----------
    condition : str
    seed : int
    check : CheckResult
        Holds when the best fit's affine R² >= ``R2_TARGET``.
    scores : dict
        ``affine_r2``, ``mcc``, ``affine_mcc`` (best restart), ``restart_affine_r2`` (every
        restart), ``linear_affine_r2`` (the principal components of x), ``log_likelihood_fit``,
        ``log_likelihood_truth``, ``likelihood_gap`` (truth − fit, per sample, on the test
        sample), ``restart_log_likelihood`` (the ranking estimates), ``noise_fit`` and
        ``noise_truth`` (σ), ``seconds``.
    z_true, z_fitted : Tensor
        The test sample's true and fitted latents (for figures; not written to JSON).
    """

    condition: str
    seed: int
    check: CheckResult
    scores: dict
    z_true: torch.Tensor = field(repr=False, default=None)
    z_fitted: torch.Tensor = field(repr=False, default=None)

    def to_dict(self) -> dict:
        return {"condition": self.condition, "seed": self.seed, "scores": as_data(self.scores), "check": self.check.to_dict()}


@dataclass(frozen=True)
class ExperimentResult:
    """Every condition of one experiment at one or more seeds."""

    experiment: str
    seeds: tuple
    budget: str
    results: dict  # condition name -> list of ConditionResult, one per seed

    def summary(self) -> dict:
        """Per condition: over seeds, the median and ``QUANTILES`` interval of the best fit's affine R²,
        the fraction of seeds at or above ``R2_TARGET``, medians of the gap, MCC, affine MCC, the
        linear baseline, the restarts' R² range, and the seconds per seed."""
        table = {}
        for name, rows in self.results.items():
            r2 = [r.scores["affine_r2"] for r in rows]
            gap = [r.scores["likelihood_gap"] for r in rows]
            spread = [max(r.scores["restart_affine_r2"]) - min(r.scores["restart_affine_r2"]) for r in rows]
            table[name] = {
                "seeds": len(rows), "median_affine_r2": _quantile(r2, 0.5),
                "interval_affine_r2": [_quantile(r2, q) for q in QUANTILES],
                "fraction_at_target": sum(v >= R2_TARGET for v in r2) / len(r2),
                "median_likelihood_gap": _quantile(gap, 0.5), "interval_likelihood_gap": [_quantile(gap, q) for q in QUANTILES],
                "median_mcc": _quantile([r.scores["mcc"] for r in rows], 0.5),
                "median_affine_mcc": _quantile([r.scores["affine_mcc"] for r in rows], 0.5),
                "median_linear_affine_r2": _quantile([r.scores["linear_affine_r2"] for r in rows], 0.5),
                "median_restart_r2_range": _quantile(spread, 0.5),
                "seconds_per_seed": sum(r.scores["seconds"] for r in rows) / len(rows),
            }
        return table

    def to_dict(self) -> dict:
        return {"experiment": self.experiment, "seeds": list(self.seeds), "budget": self.budget, "r2_target": R2_TARGET,
                "summary": self.summary(), "results": {k: [r.to_dict() for r in v] for k, v in self.results.items()}}


@dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes
    ----------
    name, title : str
    description : str
        What it varies and what the theory predicts.
    conditions : tuple of Condition
    engine : {"vade", "flow"}
    """

    name: str
    title: str
    description: str
    conditions: tuple
    engine: str = "vade"

    def __post_init__(self):
        for name in ("name", "title", "description"):
            check_text(getattr(self, name), name)
        check_choice(self.engine, ENGINES, "engine")
        _set_fields(self, {"conditions": _conditions(self.conditions, self.engine)})

    def condition(self, name: str) -> Condition:
        for c in self.conditions:
            if c.name == name:
                return c
        raise ValueError(f"condition: {self.name} has no condition {name!r}; known: {', '.join(c.name for c in self.conditions)}")

    def run(self, seed: int, *, budget: str | Budget = "standard", conditions: Sequence[str] | None = None) -> ExperimentResult:
        """Every condition (or the named ones) at one seed: truth, samples and fit all drawn from it."""
        seed = check_int(seed, "seed", minimum=0, maximum=2**40)
        chosen = _chosen(self, conditions)
        spent = _budget(budget)
        with _one_thread():
            results = {c.name: [_run_condition(self, c, seed, spent)] for c in chosen}
        return ExperimentResult(self.name, (seed,), spent.name, results)


def run_experiment(name: str, seeds: Sequence[int] | int = 3, *, budget: str | Budget = "standard",
                   conditions: Sequence[str] | None = None, progress=None) -> ExperimentResult:
    """Run a registered experiment at several seeds (an int k means seeds 0..k−1).

    ``progress``, if given, is called with each ``ConditionResult`` as it finishes.
    """
    experiment = get(name)
    seeds = _seeds(seeds)
    chosen = _chosen(experiment, conditions)
    spent = _budget(budget)
    if progress is not None:
        check_callable(progress, "progress")
    results = {c.name: [] for c in chosen}
    with _one_thread():
        for seed in seeds:
            for c in chosen:
                row = _run_condition(experiment, c, seed, spent)
                results[c.name].append(row)
                if progress is not None:
                    progress(row)
    return ExperimentResult(experiment.name, tuple(seeds), spent.name, results)


def get(name: str) -> Experiment:
    """The registered experiment of this name."""
    if not isinstance(name, str) or name not in EXPERIMENTS:
        raise ValueError(f"experiment: expected one of {', '.join(EXPERIMENTS)}, got {name!r}")
    return EXPERIMENTS[name]


# ---------------------------------------------------------------------------- arguments
def _conditions(conditions, engine: str) -> tuple:
    """An experiment's conditions: distinct names, truths its engine draws (``TRUTHS``, or ``DROPS`` for the flow)."""
    if isinstance(conditions, (str, bytes, Condition)) or not isinstance(conditions, Iterable):
        raise ValueError(f"conditions: expected a sequence of Condition, got {type(conditions).__name__}")
    conditions = tuple(conditions)
    known = DROPS if engine == "flow" else TRUTHS
    for c in conditions:
        if not isinstance(c, Condition):
            raise ValueError(f"conditions: expected Condition values, got {type(c).__name__}")
        if c.truth not in known:
            raise ValueError(f"conditions: the {engine} engine draws {', '.join(known)}, got {c.truth!r} (condition {c.name!r})")
    names = [c.name for c in conditions]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"conditions: expected at least one condition, with distinct names, got {names!r}")
    return conditions


def _chosen(experiment: Experiment, conditions) -> tuple:
    """The named conditions of ``experiment`` (all of them for None)."""
    if conditions is None:
        return experiment.conditions
    if isinstance(conditions, (str, bytes)) or not isinstance(conditions, Iterable):
        raise ValueError(f"conditions: expected a sequence of condition names, got {conditions!r}")
    names = list(conditions)
    known = {c.name: c for c in experiment.conditions}
    if not names or any(not isinstance(n, str) or n not in known for n in names) or len(set(names)) != len(names):
        raise ValueError(f"conditions: expected distinct names of {experiment.name}'s conditions ({', '.join(known)}), got {names!r}")
    return tuple(known[n] for n in names)


def _seeds(seeds) -> list[int]:
    """A count k (seeds 0..k−1) or distinct seeds in [0, 2**40]."""
    if isinstance(seeds, numbers.Integral) or (isinstance(seeds, torch.Tensor) and seeds.ndim == 0):
        seeds = range(check_int(seeds, "seeds", maximum=10_000))
    elif isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds: expected a number of seeds or a sequence of seeds, got {seeds!r}")
    seeds = [check_int(s, "seeds", minimum=0, maximum=2**40) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected distinct seeds, got {seeds!r}")
    return seeds


def _budget(budget) -> Budget:
    if isinstance(budget, Budget):
        return budget
    if not isinstance(budget, str) or budget not in BUDGETS:
        raise ValueError(f"budget: expected one of {', '.join(BUDGETS)} or a Budget, got {budget!r}")
    return BUDGETS[budget]


# ---------------------------------------------------------------------------- running one condition
def _sample_seeds(seed: int) -> tuple[int, int]:
    """(training sample, test sample) seeds. The truth's parameters depend on the seed alone, so the
    conditions of one seed that share a truth (and its dimensions) share its parameters."""
    return 1_000_003 * seed + 17, 1_000_003 * seed + 29


def _run_condition(experiment: Experiment, condition: Condition, seed: int, budget: Budget) -> ConditionResult:
    start = time.perf_counter()
    if experiment.engine == "flow":
        scores, z_test, z_fit, method = _run_flow(condition, seed, budget)
    else:
        scores, z_test, z_fit, method = _run_vade(condition, seed, budget)
    scores["seconds"] = time.perf_counter() - start
    r2 = scores["affine_r2"]
    check = CheckResult(f"probe/{experiment.name}/{condition.name}", r2 >= R2_TARGET, r2, R2_TARGET, ">=",
                        domain=f"{z_test.shape[0]} fresh samples of the truth", method=method,
                        details={"condition": condition.describe(), "seed": seed, "budget": budget.name,
                                 "likelihood_gap": scores["likelihood_gap"]})
    return ConditionResult(condition.name, seed, check, scores, z_test, z_fit)


def _latent_scores(z_true: torch.Tensor, z_fit: torch.Tensor) -> dict:
    return {"affine_r2": affine_r2(z_true, z_fit), "mcc": mcc(z_true, z_fit), "affine_mcc": affine_mcc(z_true, z_fit)}


def _linear_r2(x_train: torch.Tensor, x_test: torch.Tensor, z_test: torch.Tensor, m: int) -> float:
    """Affine R² of the first m principal components of x (fitted on the training sample)."""
    centre = x_train.mean(0)
    vectors = torch.linalg.svd(x_train - centre, full_matrices=False)[2][:m]
    return affine_r2(z_test, (x_test - centre) @ vectors.T)


def _run_vade(condition: Condition, seed: int, budget: Budget):
    truth = ground_truth(condition.truth, condition.latent_dim, condition.observed_dim, seed,
                         n_components=condition.n_components, noise=condition.noise)
    train_seed, test_seed = _sample_seeds(seed)
    n = condition.n_samples if budget.max_samples is None else min(condition.n_samples, budget.max_samples)
    _, x = truth.sample(n, torch.Generator().manual_seed(train_seed))
    z_test, x_test = truth.sample(budget.test_samples, torch.Generator().manual_seed(test_seed))
    fit = fit_vade(x, condition.latent_dim, condition.n_components, restarts=budget.restarts, steps=budget.steps, seed=seed)
    evaluation = torch.Generator().manual_seed(test_seed + 1)
    truth_ll = float(truth.log_likelihood(x_test, z_test, samples=budget.importance_samples, generator=evaluation).mean())
    restart_r2, restart_test_ll = [], []
    for restart in fit.restarts:
        restart_r2.append(affine_r2(z_test, restart.latents(x_test)))
        restart_test_ll.append(float(importance_log_likelihood(restart.model, restart.encoder, x_test,
                                                               samples=budget.importance_samples, generator=evaluation).mean()))
    z_fit = fit.latents(x_test)
    scores = _latent_scores(z_test, z_fit)
    fit_ll = restart_test_ll[fit.best_index]
    scores.update(restart_affine_r2=restart_r2, linear_affine_r2=_linear_r2(x, x_test, z_test, condition.latent_dim),
                  log_likelihood_fit=fit_ll, log_likelihood_truth=truth_ll, likelihood_gap=truth_ll - fit_ll,
                  restart_log_likelihood=[r.log_likelihood for r in fit.restarts], restart_test_log_likelihood=restart_test_ll,
                  best_restart=fit.best_index, noise_fit=fit.model.noise_scale, noise_truth=truth.noise_scale,
                  n_samples=n, assumptions_hold=truth.assumptions_hold, dropped=truth.dropped)
    method = (f"VaDE refit by the ELBO, best of {budget.restarts} restart(s) by likelihood, {budget.steps} steps; "
              f"likelihoods importance-sampled ({budget.importance_samples} draws)")
    return scores, z_test, z_fit, method


def _run_flow(condition: Condition, seed: int, budget: Budget):
    train_seed, test_seed = _sample_seeds(seed)
    n = condition.n_samples if budget.max_samples is None else min(condition.n_samples, budget.max_samples)
    data = probe_data(condition.truth, n, train_seed % 2**31)
    test = probe_data(condition.truth, budget.test_samples, test_seed % 2**31)
    options = {"steps": max(budget.steps // 5, 20), "keep": min(budget.restarts, 2)}
    if budget.flow_candidates is not None:
        options.update(n_candidates=budget.flow_candidates, n_starts=max(2, budget.restarts))
    restart_r2, restart_ll, fits = [], [], []
    for r in range(budget.restarts):
        fit = fit_flow(data.x, data.latent_dim, n_components=data.n_components, seed=seed + 7919 * r, **options)
        fits.append(fit)
        restart_r2.append(affine_r2(test.z, fit.latents(test.x)))
        restart_ll.append(float(fit.model.log_prob(test.x).mean()))
    best = max(range(len(fits)), key=lambda i: fits[i].log_likelihood)
    z_fit = fits[best].latents(test.x)
    scores = _latent_scores(test.z, z_fit)
    truth_ll = float(probe_data_log_prob(condition.truth, test.x).mean())
    scores.update(restart_affine_r2=restart_r2, linear_affine_r2=affine_r2(test.z, test.x),
                  log_likelihood_fit=restart_ll[best], log_likelihood_truth=truth_ll, likelihood_gap=truth_ll - restart_ll[best],
                  restart_log_likelihood=[f.log_likelihood for f in fits], restart_test_log_likelihood=restart_ll,
                  best_restart=best, noise_fit=0.0, noise_truth=0.0, n_samples=n,
                  assumptions_hold=data.expected_affine, dropped=None if data.expected_affine else condition.truth)
    method = f"square leaky-ReLU flow by exact maximum likelihood, best of {budget.restarts} restart(s); exact likelihoods"
    return scores, test.z, z_fit, method


def _quantile(values, q: float) -> float:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return math.nan
    return float(torch.quantile(torch.tensor(finite, dtype=DTYPE), q))


# ---------------------------------------------------------------------------- the registry
def _dropped(truth: str) -> Condition:
    return Condition(truth, truth)


# (m, n, J) of ``probe_data``'s models.
_FLOW_SHAPES = {"none": (1, 1, 2), "piecewise_affine": (2, 2, 1), "piecewise_affine_1d": (1, 1, 2),
                "gaussian_mixture_prior": (2, 2, 2)}


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in [
    Experiment(
        "assumptions", "every assumption holds, at the sizes of the paper's setting",
        "A separated 3-component Gaussian mixture through an injective leaky-ReLU decoder with kinks through the "
        "components, noise 3 % of the RMS, N = 10^4. T1/T2 (with T5 for the noise) say the maximum-likelihood "
        "latents are affine in the true ones: affine R² -> 1.",
        (Condition("m2_n10", "all_hold", 2, 10), Condition("m3_n15", "all_hold", 3, 15), Condition("m4_n20", "all_hold", 4, 20)),
    ),
    Experiment(
        "drop", "each assumption dropped in turn",
        "The reference truth of 'assumptions' (m = 2, n = 10), then one assumption dropped: a smooth decoder (not "
        "piecewise affine), a fold (not injective), uniform or Laplace components (not a Gaussian mixture), a "
        "degenerate covariance, a torn (discontinuous) decoder. The theory then allows non-affine equivalents; the "
        "probe shows whether the refit finds one.",
        tuple(_dropped(t) for t in TRUTHS),
    ),
    Experiment(
        "noise", "the noise level",
        "The reference truth (m = 2, n = 10, N = 10^4) with σ from 1 % to 30 % of the RMS of the noise-free data. "
        "T5: with the noise law known, the noise-free model is identified; with finite N, more noise blurs it.",
        tuple(Condition(f"noise_{v:g}", "all_hold", noise=v) for v in (0.01, 0.03, 0.1, 0.3)),
    ),
    Experiment(
        "sample_size", "the sample size",
        "The reference truth (m = 2, n = 10) with N from 500 to 2·10^4: the best fit's affine R² should rise toward 1.",
        tuple(Condition(f"n_{v}", "all_hold", n_samples=v) for v in (500, 1000, 2000, 5000, 10_000, 20_000)),
    ),
    Experiment(
        "flow", "square noise-free data: the exact-likelihood flow",
        "The flow probe's data (``probe_data``): a 1-D mixture through a leaky-ReLU map (every assumption holds), "
        "CE2a's swirl and CE2b's Gaussianizing map (not piecewise affine), CE3's uniform prior; N = 2000.",
        tuple(Condition(d, d, *_FLOW_SHAPES[d], n_samples=2000) for d in DROPS),
        engine="flow",
    ),
]}


__all__ = ["BUDGETS", "Budget", "Condition", "ConditionResult", "EXPERIMENTS", "ENGINES", "Experiment",
           "ExperimentResult", "QUANTILES", "R2_TARGET", "get", "run_experiment"]
