"""Every tolerance a verdict of ``verify`` compares with, named once, with why it has its value.

All are float64 figures, relative unless the name ends in ``_ATOL``; each check reports
the tolerance it used in its ``CheckResult.tolerance`` (or in ``details``). What the
model objects accept at construction is in ``models.validation``; the geometric
tolerances of region enumeration are those of ``models.region_engine`` and its engines.
"""

from __future__ import annotations

# ---------------------------------------------------------------------- injectivity
COLLISION_RTOL = 1e-9
"""‖f(z1) − f(z2)‖ <= COLLISION_RTOL × (output scale) is a collision: a forward pass in float64
reproduces an exact collision to ~1e-15 relative, and a few solver tolerances (1e-9) above it."""

RANK_RTOL = 1e-9
"""σ_min(A) <= RANK_RTOL × (Lipschitz bound of f) is a rank-deficient piece (or layer): the
same scale as COLLISION_RTOL, so that a rank-deficient chord collides within it."""

SEPARATION_RTOL = 1e-6
"""Linear and mixed-integer programs count a collision only when w·(z − z') exceeds this fraction
of the domain's length scale: smaller separations are below what solver tolerances of 1e-9 resolve
on programs whose coefficients span several orders of magnitude."""

REGION_RADIUS_RTOL = 1e-9
"""Inscribed radius, relative to the domain's length scale, below which a cell met by the linear
programs (the polyhedral difference of weak injectivity, a piece's solution set) is not
full-dimensional: far above float64 rounding of the cells' faces, far below any region kept."""

FEASIBILITY_RTOL = 1e-9
"""Relative slack within which the images of two pieces count as touching (phase 1 of the
collision programs); the solvers run with feasibility tolerances of 1e-9 too."""

# ---------------------------------------------------------------------- mixtures and equivalence
SAME_MIXTURE_RTOL = 1e-6
"""Largest matched parameter error of two equal mixtures: the errors are relative and affine
invariant, and float64 arithmetic on covariances of condition number κ leaves ~κ·1e-16."""

L2_CANCELLATION_ULPS = 64
"""⟨p,p⟩ + ⟨q,q⟩ − 2⟨p,q⟩ cancels to a few ulps of its terms: below this many ulps the squared
L2 distance is indistinguishable from 0."""

FIT_RTOL = 1e-8
"""Smallest default relative residual of the affine fit between latents that still counts as an exact
affine relation (raised to 100 ε κ for a decoder of condition bound κ, whose inverse amplifies rounding)."""

FIT_RTOL_MAX = 1e-4
"""Largest default fit tolerance, whatever κ: an affine relation fitted worse than this is not exact."""

DECODER_RTOL = 1e-8
"""Largest relative error ‖f(z) − g(z)‖ / (‖f(z)‖ + ‖A_f(z)‖ ρ) of two decoders that agree: their
pieces are composed from the same float64 weights, so they differ by rounding (~1e-14) times depth."""

AGREEMENT_PROGRAM_RTOL = 1e-6
"""Smallest relative difference |f − g|∞ / S that the mixed-integer program of decoder agreement
resolves (S the scale of f's values on the box): a thousand times the solver's feasibility
tolerance (1e-9) on variables of that scale. Below it a difference is neither claimed nor excluded."""

LOG_DENSITY_ATOL = 1e-7
"""Pointwise agreement of exact log-densities of equal laws: the layerwise inverse and the
log-determinant each carry rounding amplified by the decoder's condition number."""

GAP_Z_SCORE = 5.0
"""Standard errors by which the mean log-density gap must exceed 0 to call two laws different
(a one-sided false alarm probability below 3e-7 for a normal statistic)."""

POSTERIOR_ATOL = 1e-8
"""Largest difference of cluster posteriors P(U | x) of equivalent models (probabilities in [0, 1],
computed by softmax of log-densities that agree to ~1e-12)."""

# ---------------------------------------------------------------------- priors and levels
PRIOR_ATOL = 1e-9
"""max(|μ|, |Σ − I|) of a prior that is N(0, I): parameters written to float64 precision."""

RATIO_RTOL = 1e-6
"""Relative gap between variance ratios (S1) and size of within-component correlations below which
they count as equal, respectively zero."""

INDEPENDENCE_ATOL = 1e-8
"""|log p(z) − Σ_i log p_i(z_i)| of a product prior, at samples: log-sum-exp over J components
of terms of size ~10 agrees to ~1e-13."""

GAUSSIAN_RTOL = 1e-9
"""Relative spread of the component means (in standard deviations) and variances of one coordinate
below which the coordinate is a single Gaussian (S2)."""

LEVEL_RTOL = 1e-7
"""Distance of a recovered affine map from its level (permutation × diagonal, orthogonal, identity):
recovered maps carry the fit's relative error (FIT_RTOL) times the latents' condition."""

GAP_RTOL = 1e-6
"""Relative eigenvalue gap below which a canonical form calls the eigenvalues repeated (not unique)."""

SIGN_RTOL = 1e-8
"""Relative size below which a sign-fixing moment of a canonical form counts as zero."""

SYMMETRY_RTOL = 1e-9
"""Matched parameter error below which a candidate symmetry h maps the prior onto itself (S3):
tighter than SAME_MIXTURE_RTOL, since h is built exactly from the canonical map."""

# ---------------------------------------------------------------------- statistical tests
ALPHA = 0.01
"""Level of the two-sample tests: the probability of calling equal laws different."""

DELTA = 0.01
"""Failure probability of the deconvolution bound (Hoeffding, union over the frequencies)."""

DECONVOLUTION_DELTA = 1e-3
"""δ of the deconvolution step of T5's trials: 1 false failure in 1000 trials at most."""

# ---------------------------------------------------------------------- counterexamples
SECOND_DIFFERENCE_RTOL = 1e-12
"""Second differences of an affine map cancel to a few ulps of the values involved; 1e-12 leaves
a margin of 1000 over float64 rounding and sits far below h² times any curvature at h >= 1e-5."""

JUMP_RTOL = 1e-8
"""A jump is a change larger than this fraction of the function's scale over an interval as narrow
as float64 allows (a Lipschitz map changes by about L · 1e-16 · |z| there)."""

LOCAL_RANK_RTOL = 1e-10
"""Singular values of a local matrix below this fraction of its largest count as zero."""

GRID_LOG_DENSITY_ATOL = 1e-9
"""Log-densities computed two ways on a grid agree to rounding (a few ulps of terms of size ~10)."""

PRESERVE_ATOL = 1e-9
"""A map preserves a law when the change-of-variables identity holds to this (log scale), and
round trips return to the start to this relative error."""

GEOMETRY_ATOL = 1e-12
"""Exact geometric identities in float64: determinants, vertices, areas of small integers."""

NOT_AFFINE_RTOL = 1e-6
"""An affine relation between latents fits to rounding (~1e-15); "not affine" means a relative
fit residual far above this."""

EXACT_MAP_RTOL = 1e-12
"""Maps that agree exactly agree to rounding, relative to ‖x‖ + 1."""
