"""A canonical representative of the affine class of a model (``docs/theory.md``, the checks).

Models related by an invertible affine reparametrisation (f ∘ h⁻¹, h#P) share one
canonical form: whiten the prior (mean 0, covariance I), which leaves an orthogonal
freedom Q; fix Q by the eigenvectors of a symmetric matrix built equivariantly from
the whitened components, and the sign of each eigenvector by an odd moment. When
the eigenvalues repeat or a sign moment vanishes, the prior has (or may have) an
orthogonal symmetry and the form is not unique; the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from flint import fmpq, fmpq_mat

from models import AffineMap, GaussianMixture, GenerativeModel
from models.validation import check_instance, check_real

from .check_result import CheckResult
from .exact import q, qcol, qmat, solve_near, to_float
from .mixtures import check_same_mixture, match_mixtures
from .tolerances import GAP_RTOL, SIGN_RTOL, SYMMETRY_RTOL


@dataclass(frozen=True)
class CanonicalForm:
    """The canonical representative and how it was reached.

    Attributes
    ----------
    model : GenerativeModel or GaussianMixture
        The reparametrised model (f ∘ h⁻¹, h#P), or the prior h#P alone.
    map : AffineMap
        h, from the given latents to the canonical ones.
    unique : bool
        Whether h is determined by the prior (no orthogonal symmetry is left).
    reason : str
        Which statistic fixed the rotation, or why it could not.
    """

    model: object
    map: AffineMap
    unique: bool
    reason: str


def canonical_form(model, *, gap_rtol: float = GAP_RTOL, sign_rtol: float = SIGN_RTOL) -> CanonicalForm:
    """Canonical form of a ``GenerativeModel`` (or of a ``GaussianMixture`` prior alone)."""
    if isinstance(model, GenerativeModel):
        prior = model.prior
    elif isinstance(model, GaussianMixture):
        prior = model
    else:
        check_instance(model, (GenerativeModel, GaussianMixture), "model")
    gap_rtol = check_real(gap_rtol, "gap_rtol", low=0.0)
    sign_rtol = check_real(sign_rtol, "sign_rtol", low=0.0)
    whitening = _whitening(prior)
    white = prior.affine(whitening)
    rotation, unique, reason = _rotation(white, gap_rtol, sign_rtol)
    h = AffineMap(rotation, torch.zeros(prior.dim, dtype=prior.dtype, device=prior.device)).compose(whitening)
    canonical = model.reparametrize(h) if isinstance(model, GenerativeModel) else prior.affine(h)
    return CanonicalForm(canonical, h, unique, reason)


def _whitening(prior: GaussianMixture) -> AffineMap:
    values, vectors = torch.linalg.eigh(prior.covariance())
    inverse_root = vectors @ torch.diag(values.rsqrt()) @ vectors.T
    return AffineMap(inverse_root, -(inverse_root @ prior.mean()))


def _rotation(white: GaussianMixture, gap_rtol: float, sign_rtol: float):
    weights, means, covs = white.weights, white.means, white.covariances
    candidates = {
        "between-component scatter Σ λ_j μ_j μ_jᵀ": torch.einsum("j,ja,jb->ab", weights, means, means),
        "second moment of the covariances Σ λ_j Σ_j²": torch.einsum("j,jab,jbc->ac", weights, covs, covs),
    }
    for name, matrix in candidates.items():
        values, vectors = torch.linalg.eigh(0.5 * (matrix + matrix.T))
        scale = max(float(values.abs().max()), 1.0)
        if white.dim == 1 or float(torch.diff(values).min()) > gap_rtol * scale:
            rotation = vectors.T
            signs, signed = _signs(rotation, weights, means, covs, sign_rtol)
            if not signed:
                return signs.unsqueeze(1) * rotation, False, f"eigenvectors of the {name}; an axis has no sign moment (a reflection may be a symmetry)"
            return signs.unsqueeze(1) * rotation, True, f"eigenvectors of the {name}, signs from third moments"
    eye = torch.eye(white.dim, dtype=white.dtype, device=white.device)
    return eye, False, "repeated eigenvalues in every candidate statistic: the prior has (or may have) an orthogonal symmetry"


def _signs(rotation, weights, means, covs, sign_rtol):
    """A sign for each axis q from a statistic that flips with q: Σ λ_j (q·μ_j)³, else
    Σ λ_j (q·μ_j)(qᵀ Σ_j q), else Σ λ_j (u·μ_j)(qᵀ Σ_j u) for an axis u whose own
    statistic is nonzero (needed e.g. for J = 2, whose means span one axis only)."""
    projected = means @ rotation.T  # (J, m)
    spread = torch.einsum("ka,jab,kb->jk", rotation, covs, rotation)  # (J, m)
    cross = torch.einsum("ka,jab,lb->jkl", rotation, covs, rotation)  # (J, m, m): q_kᵀ Σ_j q_l
    scale = 1.0 + weights @ projected.abs().pow(3)
    candidates = [weights @ projected.pow(3), weights @ (projected * spread)]
    chosen = torch.zeros(rotation.shape[0], dtype=rotation.dtype, device=rotation.device)
    for statistic in candidates:
        chosen = torch.where(chosen.abs() > sign_rtol * scale, chosen, statistic)
    for _ in range(rotation.shape[0]):  # propagate signs from signed axes to the others
        signed = chosen.abs() > sign_rtol * scale
        if bool(signed.all()) or not bool(signed.any()):
            break
        u = int(torch.nonzero(signed)[0])
        # u enters twice, so the statistic does not depend on u's sign, only on q_k's.
        linked = weights @ (projected[:, u:u + 1] * cross[:, :, u])
        chosen = torch.where(signed, chosen, linked)
    signed = bool((chosen.abs() > sign_rtol * scale).all())
    signs = torch.where(chosen < 0, -1.0, 1.0).to(rotation.dtype)
    return signs, signed


def check_trivial_symmetry(prior: GaussianMixture, *, rtol: float = SYMMETRY_RTOL) -> CheckResult:
    """T4 condition S3: is the affine symmetry group {h : h#P = P} of the prior trivial?

    Holds when the canonical form is unique: a symmetry h would give the same canonical
    map c = c ∘ h⁻¹, so h = id. When it is not unique the check looks for a symmetry to
    show: in canonical coordinates, the reflection of each axis and the quarter turn in
    each plane of two axes, kept if it maps P onto itself (``check_same_mixture`` to
    ``rtol``). Witness: the canonical map when it holds; a verified symmetry h != id when
    one is found (it then fails). When the form is not unique and no candidate is a
    symmetry, the verdict is unknown.
    """
    check_instance(prior, GaussianMixture, "prior")
    rtol = check_real(rtol, "rtol", low=0.0)
    form = canonical_form(prior)
    details = {"reason": form.reason}
    if form.unique:
        return CheckResult("trivial_symmetry_group", True, witness=form.map, method="canonical form (unique)", domain="the prior",
                           details=details)
    c = form.map
    near = None
    for candidate in _candidate_symmetries(prior.dim, prior.dtype, prior.device):
        symmetry = c.inverse().compose(AffineMap(candidate).compose(c))
        if not check_same_mixture(prior.affine(symmetry), prior, rtol=rtol).holds:
            continue
        exact = exact_symmetry(prior, symmetry)
        if exact is not None:
            return CheckResult("trivial_symmetry_group", False, witness=exact, verified=True, domain="the prior",
                               method="a symmetry h != id with h#P = P, verified in rationals",
                               details={**details, "symmetry": "verified"})
        near = near or symmetry
    if near is not None:
        return CheckResult("trivial_symmetry_group", None, method="canonical form not unique; a candidate maps P onto itself "
                           f"to {rtol:.0e} but not exactly", domain="the prior",
                           details={**details, "symmetry": "near, not exact", "near_symmetry": near})
    return CheckResult("trivial_symmetry_group", None, method="canonical form not unique; no candidate symmetry verified",
                       domain="the prior", details={**details, "symmetry": "none among the candidates"})


def exact_symmetry(prior: GaussianMixture, near: AffineMap) -> AffineMap | None:
    """An affine h != id with h#P = P exactly, found near the float map ``near``, or None.

    The components are matched as ``near`` maps them (permutation π); h is then taken, in
    turn, as ``near`` itself, as the exact solution of h(μ_i) = μ_π(i) when the means span
    R^m affinely, and as ``near`` with its entries rounded to nearby simple fractions. A
    candidate counts only if, in rationals, λ_i = λ_π(i), A μ_i + b = μ_π(i) and
    A Σ_i Aᵀ = Σ_π(i) for every i, and h != id: how it was guessed does not matter.
    """
    permutation = match_mixtures(prior.affine(near), prior).permutation
    if permutation is None:
        return None
    weights = [q(v) for v in prior.weights.tolist()]
    if any(weights[i] != weights[j] for i, j in enumerate(permutation)):
        return None
    means = [qcol(mu) for mu in prior.means.cpu().numpy()]
    covs = [qmat(cov) for cov in prior.covariances.cpu().numpy()]
    for A, b in _exact_candidates(near, means, permutation):
        if A == _identity(A.nrows()) and all(v == 0 for v in b.entries()):
            continue
        if all(A * means[i] + b == means[j] and A * covs[i] * A.transpose() == covs[j] for i, j in enumerate(permutation)):
            return AffineMap(torch.as_tensor(_floats(A), dtype=prior.dtype), torch.as_tensor(_floats(b)[:, 0], dtype=prior.dtype))
    return None


# Largest denominator of the rounded candidates of ``exact_symmetry``.
SYMMETRY_DENOMINATOR = 1 << 12


def _exact_candidates(near: AffineMap, means, permutation):
    A, b = near.matrix.cpu().numpy(), near.offset.cpu().numpy()
    yield qmat(A), qcol(b)
    m = A.shape[0]
    # h(μ_i) = μ_π(i) for all i: linear in the m² + m entries of (A, b); unique when the means span affinely.
    rows = []  # the unknowns: A row by row, then b
    for i, j in enumerate(permutation):
        for r in range(m):
            coefficients = [fmpq(0)] * (m * m + m)
            for k in range(m):
                coefficients[r * m + k] = means[i][k, 0]
            coefficients[m * m + r] = fmpq(1)
            rows.append((coefficients, means[j][r, 0]))
    system = fmpq_mat(len(rows), m * m + m, [v for row, _ in rows for v in row])
    if system.rank() == m * m + m:
        rhs = fmpq_mat(len(rows), 1, [v for _, v in rows])
        solution = solve_near(system, rhs, np.concatenate([A.reshape(-1), b]))
        if solution is not None:
            entries = list(solution.entries())
            yield fmpq_mat(m, m, entries[:m * m]), fmpq_mat(m, 1, entries[m * m:])
    yield (fmpq_mat(m, m, [_rounded(v) for v in A.reshape(-1)]), fmpq_mat(m, 1, [_rounded(v) for v in b]))


def _identity(m: int) -> fmpq_mat:
    return fmpq_mat(m, m, [int(i == j) for i in range(m) for j in range(m)])


def _rounded(x: float) -> fmpq:
    f = Fraction(x).limit_denominator(SYMMETRY_DENOMINATOR)
    return fmpq(f.numerator, f.denominator)


def _floats(matrix: fmpq_mat) -> np.ndarray:
    return np.array([[to_float(v) for v in row] for row in matrix.table()], dtype=np.float64)


def _candidate_symmetries(dim: int, dtype, device):
    for k in range(dim):
        flip = torch.eye(dim, dtype=dtype, device=device)
        flip[k, k] = -1.0
        yield flip
    for i in range(dim):
        for j in range(i + 1, dim):
            turn = torch.eye(dim, dtype=dtype, device=device)
            turn[i, i], turn[j, j], turn[i, j], turn[j, i] = 0.0, 0.0, -1.0, 1.0
            yield turn
