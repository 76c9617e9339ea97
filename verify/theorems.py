"""The registry of results of the hierarchy (``docs/theory.md``, T1–T5).

Each entry has an id, its statement, its assumptions and conclusion (each named by
the ``verify`` check that decides it, as a dotted path), the counterexamples that
drop each assumption, the path of its proof note, and ``trial(seed)``.

Adding a result: its trial in ``verify/suite/`` (a file), one ``Theorem`` entry here,
and its note in ``proofs_notes/``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from models.validation import check_device, check_int

from .suite import t1, t2, t3, t4, t5
from .suite.trial import Sizes, TrialReport, run_trial


@dataclass(frozen=True)
class Theorem:
    """One registered result.

    Attributes
    ----------
    id : str
        "T1", "T1'", "T2", "T3", "T4.S1", "T4.S2", "T4.S3" or "T5".
    title, statement : str
    assumptions : tuple of (str, str)
        (assumption, dotted path of the check that decides it).
    conclusion : tuple of str
        Dotted paths of the checks that decide the conclusion.
    counterexamples : tuple of str
        Names in ``verify.counterexamples.NAMES`` (CE1, ...) or ``LIMIT_NAMES`` (CE6).
    note : str
        Path of the proof note, relative to the repository root.
    sizes : Sizes
        Default sizes of a trial.
    """

    id: str
    title: str
    statement: str
    assumptions: tuple[tuple[str, str], ...]
    conclusion: tuple[str, ...]
    counterexamples: tuple[str, ...]
    note: str
    sizes: Sizes = field(default_factory=Sizes)
    run: Callable = field(default=None, repr=False, compare=False)

    def trial(self, seed: int, sizes: Sizes | None = None, device: str = "cpu") -> TrialReport:
        """Draw a model meeting the assumptions, an equivalent one built blind to the checks,
        and check the conclusion (and the converse). A pure function of its arguments."""
        seed = check_int(seed, "seed", minimum=0, maximum=2**62)
        if sizes is not None and not isinstance(sizes, Sizes):
            raise ValueError(f"sizes: expected a verify.suite.Sizes, got {type(sizes).__name__}")
        return run_trial(self.id, self.run, seed, sizes or self.sizes, str(check_device(device)))

    def checks(self) -> list[Callable]:
        """Resolve every named check (raises if a name does not exist)."""
        return [resolve_check(path) for path in (*(p for _, p in self.assumptions), *self.conclusion)]


def resolve_check(path: str) -> Callable:
    """The function a dotted path such as ``verify.mixtures.check_same_mixture`` names."""
    module_name, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"path: no check named {path!r}") from None


_INJ = "verify.injectivity"
_EQ = "verify.equivalence.check_affine_equivalence"
_SAME_LAW = "verify.likelihood.check_same_law"
_MIX = "verify.mixtures.check_same_mixture"


REGISTRY: dict[str, Theorem] = {
    t.id: t
    for t in [
        Theorem(
            "T1", "prior identified up to affine",
            "f, f' piecewise affine, f weakly injective, P, P' finite nondegenerate Gaussian mixtures, f#P = f'#P' "
            "=> an invertible affine h with h#P = P'. Continuity is not needed.",
            (("f weakly injective", f"{_INJ}.check_weakly_injective"),),
            ("verify.local_branch.check_local_branch", _MIX),
            ("CE1", "CE1b", "CE2a", "CE2b", "CE3", "CE6"),
            "proofs_notes/T1.md", t1.SIZES, t1.trial_t1,
        ),
        Theorem(
            "T1'", "number of components, weights and latent dimension identified",
            "Under T1: J = J', a relabelling τ with λ_j = λ'_τ(j), A μ_j + b = μ'_τ(j), A Σ_j Aᵀ = Σ'_τ(j); "
            "the latent dimension is the dimension of the image.",
            (("f weakly injective", f"{_INJ}.check_weakly_injective"),),
            (_MIX, "verify.image_dimension.check_image_dimension"),
            ("CE1", "CE1b"),
            "proofs_notes/T1prime.md", t1.SIZES, t1.trial_t1_prime,
        ),
        Theorem(
            "T2", "prior and decoder identified up to affine",
            "f, f' continuous, injective, piecewise affine => the same h also gives f = f' ∘ h on all of R^m; "
            "the cluster posteriors P(U | x) agree up to the relabelling τ.",
            (("f injective (layerwise full column rank, slopes > 0)", f"{_INJ}.check_injective"),),
            (_SAME_LAW, _EQ, "verify.posteriors.check_posteriors_agree", "verify.likelihood.check_laws_differ"),
            ("CE3", "CE4", "CE5"),
            "proofs_notes/T2.md", t2.SIZES, t2.trial_t2,
        ),
        Theorem(
            "T3", "vanilla VAE: identified up to an orthogonal map",
            "Both priors N(0, I) (and T2's assumptions) => h is orthogonal; every orthogonal h gives an equivalent model.",
            (("prior N(0, I)", "verify.priors.check_standard_normal"), ("f injective", f"{_INJ}.check_injective")),
            (_EQ, "verify.affine_levels.check_orthogonal"),
            ("CE2a", "CE2b"),
            "proofs_notes/T3.md", t3.SIZES, t3.trial_t3,
        ),
        Theorem(
            "T4.S1", "permutation and scaling from diagonal covariances",
            "On the model class where every prior has all Σ_j diagonal and some pair j != k with ratios (Σ_k)_ii / (Σ_j)_ii "
            "pairwise distinct (both models in the class) => A = permutation × diagonal.",
            (("S1: diagonal covariances, distinct variance ratios", "verify.priors.check_distinct_variance_ratios"),),
            (_EQ, "verify.affine_levels.check_permutation_scaling"),
            (),
            "proofs_notes/T4_S1.md", t4.SIZES, t4.trial_t4_s1,
        ),
        Theorem(
            "T4.S2", "permutation and scaling from independent non-Gaussian coordinates",
            "On the model class where every prior has independent coordinates, each a 1-D Gaussian mixture, at most one "
            "coordinate Gaussian (both models in the class) => "
            "A = permutation × diagonal (Darmois–Skitovich).",
            (("S2: independent coordinates, at most one Gaussian", "verify.priors.check_independent_coordinates"),),
            (_EQ, "verify.affine_levels.check_permutation_scaling"),
            (),
            "proofs_notes/T4_S2.md", t4.SIZES, t4.trial_t4_s2,
        ),
        Theorem(
            "T4.S3", "exact identification under a known asymmetric prior",
            "A fixed, known prior whose affine symmetry group {h : h#P = P} is trivial => f is identified exactly.",
            (("S3: trivial symmetry group (unique canonical form)", "verify.canonical_form.check_trivial_symmetry"),),
            (_EQ, "verify.affine_levels.check_identity"),
            (),
            "proofs_notes/T4_S3.md", t4.SIZES, t4.trial_t4_s3,
        ),
        Theorem(
            "T5", "noise: identifiability carries over",
            "x = f(z) + ε, ε independent with a known law whose characteristic function is nonzero a.e. "
            "(e.g. N(0, σ² I), σ known) => the law of f(z) is determined by the law of x, so T1–T4 carry over.",
            (("f injective", f"{_INJ}.check_injective"),),
            (_SAME_LAW, "verify.deconvolution.check_deconvolution", _EQ, "verify.two_sample.check_same_distribution"),
            (),
            "proofs_notes/T5.md", t5.SIZES, t5.trial_t5,
        ),
    ]
}


_ALIASES = {"T1P": "T1'", "T1PRIME": "T1'"}


def get(theorem_id: str) -> Theorem:
    """The registered result with this id (case-insensitive; "T1p" also names T1')."""
    if not isinstance(theorem_id, str):
        raise ValueError(f"theorem: expected an id such as 'T2', got {theorem_id!r}")
    key = theorem_id.strip().upper()
    key = _ALIASES.get(key, key)
    for tid, theorem in REGISTRY.items():
        if tid.upper() == key:
            return theorem
    raise ValueError(f"theorem: unknown id {theorem_id!r}; known: {', '.join(REGISTRY)}")
