"""Checks that return verdicts with witnesses, the theorem registry and the command line.

Every check returns a ``CheckResult``: holds, fails or unknown, with its statistic and
tolerance, the direction in which the statistic passes, a witness (a counterexample
when it fails, a certificate when it holds), the domain it speaks of and how it was
decided. The public checks are re-exported here; their modules:

- ``injectivity/`` (a package: one file per method), ``mixtures``, ``equivalence``,
  ``decoder_agreement``, ``canonical_form``, ``affine_levels``, ``priors``,
  ``likelihood``, ``two_sample``, ``deconvolution``, ``posteriors``, ``local_branch``,
  ``image_dimension``, ``metrics``, ``affine_fit``;
- ``counterexamples/`` (the catalogue and the checks of the assumptions it drops);
- ``suite/`` (one trial per result) and ``theorems`` (the registry);
- ``probe`` (refitting) and ``probe_data``; ``plots``; ``analysis`` (the ``check`` command's
  verdicts); ``summary``, ``atomic`` (reports written atomically); ``tolerances`` (every
  tolerance, named once); ``cli/`` (the command line).
"""

from .affine_fit import AffineFit, fit_affine
from .affine_levels import check_identity, check_orthogonal, check_permutation_scaling
from .canonical_form import CanonicalForm, canonical_form, check_trivial_symmetry
from .check_result import CheckResult, UnknownVerdictError
from .compare import compare
from .counterexamples import (
    check_continuous,
    check_full_rank_somewhere,
    check_full_support,
    check_nondegenerate_covariance,
    check_piecewise_affine,
)
from .decoder_agreement import check_same_decoder
from .deconvolution import check_deconvolution
from .equivalence import check_affine_equivalence, recover_affine_map
from .image_dimension import check_image_dimension
from .injectivity import check_injective, check_weakly_injective, count_preimages, find_collision, preimages
from .likelihood import check_laws_differ, check_same_law
from .local_branch import check_local_branch
from .metrics import affine_mcc, affine_r2, mcc
from .mixtures import check_same_mixture, fit_gmm, gmm_l2_distance, match_mixtures
from .posteriors import check_posteriors_agree
from .priors import check_distinct_variance_ratios, check_independent_coordinates, check_standard_normal
from .report import report
from .two_sample import check_same_distribution

__all__ = [
    "AffineFit",
    "CanonicalForm",
    "CheckResult",
    "UnknownVerdictError",
    "affine_mcc",
    "affine_r2",
    "canonical_form",
    "check_affine_equivalence",
    "check_continuous",
    "check_deconvolution",
    "check_distinct_variance_ratios",
    "check_full_rank_somewhere",
    "check_full_support",
    "check_identity",
    "check_image_dimension",
    "check_independent_coordinates",
    "check_injective",
    "check_laws_differ",
    "check_local_branch",
    "check_nondegenerate_covariance",
    "check_orthogonal",
    "check_permutation_scaling",
    "check_piecewise_affine",
    "check_posteriors_agree",
    "check_same_decoder",
    "check_same_distribution",
    "check_same_law",
    "check_same_mixture",
    "check_standard_normal",
    "check_trivial_symmetry",
    "check_weakly_injective",
    "compare",
    "count_preimages",
    "find_collision",
    "fit_affine",
    "fit_gmm",
    "gmm_l2_distance",
    "match_mixtures",
    "mcc",
    "preimages",
    "recover_affine_map",
    "report",
]
