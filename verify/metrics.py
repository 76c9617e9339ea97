"""Scores between true and learned latents, as used in experiments on identifiability.

``docs/theory.md`` ("Metrics"): under T1/T2 the learned latents are an affine image of
the true ones, so the affine scores (``affine_mcc``, ``affine_r2``) tend to 1; the plain
``mcc`` tends to 1 only when the affine map is a permutation times a scaling (T4).

Inputs are (N, m) arrays or tensors (a 1-D input is one coordinate); rows are samples,
row i of ``z_true`` and of ``z_learned`` belong to the same sample. Every score is
computed in float64 on the CPU. A constant column of ``z_true`` has no correlation and
no R², so it is rejected; a constant (collapsed) learned coordinate is rejected by
``mcc`` but allowed by the affine scores, where it simply carries no information.
"""

from __future__ import annotations

from typing import Any

import torch
from scipy.optimize import linear_sum_assignment

from models.validation import DTYPE, check_tensor

from .affine_fit import fit_affine

# A column whose standard deviation is below this many ulps of its magnitude is constant.
CONSTANT_ULPS = 64


def mcc(z_true: Any, z_learned: Any, *, return_matching: bool = False):
    r"""Mean correlation coefficient.

    .. math:: \mathrm{MCC} = \frac{1}{m} \max_{\pi} \sum_{i=1}^m |\rho(z_i, \hat z_{\pi(i)})|,

    :math:`\rho` the Pearson correlation over the sample and :math:`\pi` a permutation of
    the learned coordinates, found by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``). It is 1 iff each learned coordinate is an
    affine function of a different true one (a permutation, scaling and translation).

    Parameters
    ----------
    z_true : array_like, shape (N, m)
    z_learned : array_like, shape (N, m)
        The same number of samples and coordinates; N >= 2; no constant column.
    return_matching : bool
        Also return the matching.

    Returns
    -------
    score : float
        In [0, 1].
    matching : tuple of int, only if ``return_matching``
        ``matching[i]`` is the learned coordinate paired with true coordinate i.
    """
    true = _as_latents(z_true, "z_true", min_rows=2)
    learned = _as_latents(z_learned, "z_learned", min_rows=2)
    _check_rows(learned, "z_learned", true.shape[0], "z_true")
    if learned.shape[1] != true.shape[1]:
        raise ValueError(
            f"z_learned: expected {true.shape[1]} coordinates to match z_true, got shape {tuple(learned.shape)}"
        )
    _check_not_constant(true, "z_true")
    _check_not_constant(learned, "z_learned")
    score, matching = _matched_correlation(true, learned)
    return (score, matching) if return_matching else score


def affine_mcc(z_true: Any, z_learned: Any) -> float:
    r"""MCC after the best affine alignment of the learned latents.

    Regress ``z_true`` on ``z_learned`` by least squares with an intercept,
    :math:`\hat Z = \mathbf{1} b^T + Z_{learned} W`, then return ``mcc(z_true, Ẑ)``. When
    the true latents are an affine function of the learned ones (T1/T2), :math:`\hat Z = Z`
    and the score is 1. The regression is fitted and scored on the same sample (see
    ``affine_r2`` for a held-out score).

    Parameters
    ----------
    z_true : array_like, shape (N, m)
        No constant column.
    z_learned : array_like, shape (N, k)
        Any k >= 1; N > k + 1, so that the fit leaves residual degrees of freedom.

    Returns
    -------
    float
        In [0, 1]. A true coordinate the learned ones do not predict at all (a constant
        fitted column) counts as correlation 0.
    """
    true = _as_latents(z_true, "z_true", min_rows=2)
    learned = _as_latents(z_learned, "z_learned", min_rows=1)
    _check_rows(learned, "z_learned", true.shape[0], "z_true")
    _check_enough_for_fit(learned, "z_learned")
    _check_not_constant(true, "z_true")
    fitted = fit_affine(learned, true).map(learned)
    score, _ = _matched_correlation(true, fitted)
    return score


def affine_r2(
    z_true: Any,
    z_learned: Any,
    z_true_test: Any = None,
    z_learned_test: Any = None,
    *,
    per_coordinate: bool = False,
):
    r"""Held-out coefficient of determination of an affine regression from learned to true latents.

    Fit :math:`z_{true} \approx b + W z_{learned}` by least squares on one sample, predict
    the true latents of a fresh sample, and score each true coordinate i by

    .. math:: R^2_i = 1 - \frac{\sum_n (z_{n,i} - \hat z_{n,i})^2}{\sum_n (z_{n,i} - \bar z_i)^2},

    sums and mean :math:`\bar z_i` over the test sample. 1 for an exact affine relation;
    it can be negative on a test sample when the fit generalises worse than the test mean.

    Parameters
    ----------
    z_true, z_learned : array_like, shapes (N, m) and (N, k)
        The fitting sample.
    z_true_test, z_learned_test : array_like, shapes (N', m) and (N', k), optional
        The test sample; give both or neither. Without them the given sample is split
        deterministically: even rows fit, odd rows test (interleaving, so that a sample
        sorted by cluster still gives two alike halves).
    per_coordinate : bool
        Return every :math:`R^2_i` instead of their mean.

    Returns
    -------
    float, or Tensor of shape (m,) (float64, CPU) if ``per_coordinate``

    Raises
    ------
    ValueError
        Naming the argument: shapes that disagree, NaN, a fitting sample with N <= k + 1
        rows, a test sample with fewer than 2 rows, a constant true coordinate in the
        test sample, only one of the two test arguments.
    """
    if (z_true_test is None) != (z_learned_test is None):
        missing = "z_true_test" if z_true_test is None else "z_learned_test"
        raise ValueError(f"{missing}: give both test arguments or neither")
    true = _as_latents(z_true, "z_true", min_rows=1)
    learned = _as_latents(z_learned, "z_learned", min_rows=1)
    _check_rows(learned, "z_learned", true.shape[0], "z_true")
    if z_true_test is None:
        names = ("z_true", "z_learned")
        true, true_test = true[0::2], true[1::2]
        learned, learned_test = learned[0::2], learned[1::2]
    else:
        names = ("z_true_test", "z_learned_test")
        true_test = _as_latents(z_true_test, "z_true_test", min_rows=1)
        learned_test = _as_latents(z_learned_test, "z_learned_test", min_rows=1)
        _check_columns(true_test, "z_true_test", true.shape[1], "z_true")
        _check_columns(learned_test, "z_learned_test", learned.shape[1], "z_learned")
        _check_rows(learned_test, "z_learned_test", true_test.shape[0], "z_true_test")
    _check_enough_for_fit(learned, "z_learned")
    if true_test.shape[0] < 2:
        raise ValueError(f"{names[0]}: the test sample needs at least 2 rows, got {true_test.shape[0]}")
    _check_not_constant(true_test, names[0])
    prediction = fit_affine(learned, true).map(learned_test)
    residual = (true_test - prediction).square().sum(0)
    total = (true_test - true_test.mean(0)).square().sum(0)
    scores = 1.0 - residual / total
    return scores if per_coordinate else float(scores.mean())


# ---------------------------------------------------------------------------- helpers
def _as_latents(value: Any, name: str, *, min_rows: int) -> torch.Tensor:
    tensor = check_tensor(_to_cpu(value), name, dtype=DTYPE, device=torch.device("cpu"), ndim=(1, 2))
    if tensor.ndim == 1:
        tensor = tensor.unsqueeze(1)
    if tensor.shape[1] < 1:
        raise ValueError(f"{name}: expected at least one coordinate, got shape {tuple(tensor.shape)}")
    if tensor.shape[0] < min_rows:
        raise ValueError(f"{name}: expected at least {min_rows} samples (rows), got {tensor.shape[0]}")
    return tensor


def _to_cpu(value: Any) -> Any:
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def _check_rows(tensor: torch.Tensor, name: str, rows: int, other: str) -> None:
    if tensor.shape[0] != rows:
        raise ValueError(f"{name}: expected {rows} rows (samples) to match {other}, got shape {tuple(tensor.shape)}")


def _check_columns(tensor: torch.Tensor, name: str, columns: int, other: str) -> None:
    if tensor.shape[1] != columns:
        raise ValueError(f"{name}: expected {columns} coordinates to match {other}, got shape {tuple(tensor.shape)}")


def _check_enough_for_fit(learned: torch.Tensor, name: str) -> None:
    n, k = learned.shape
    if n <= k + 1:
        raise ValueError(f"{name}: an affine fit on {k} coordinates needs more than {k + 1} samples, got {n}")


def _check_not_constant(tensor: torch.Tensor, name: str) -> None:
    constant = _constant_columns(tensor)
    if bool(constant.any()):
        column = int(torch.nonzero(constant)[0])
        raise ValueError(f"{name}: column {column} is constant; correlations and R² need variation")


def _constant_columns(tensor: torch.Tensor) -> torch.Tensor:
    spread = tensor.std(0, correction=0)
    magnitude = tensor.abs().amax(0)
    return spread <= CONSTANT_ULPS * torch.finfo(DTYPE).eps * magnitude


def _matched_correlation(true: torch.Tensor, learned: torch.Tensor) -> tuple[float, tuple[int, ...]]:
    """Mean |correlation| over the best matching; a constant learned column correlates 0."""
    correlation = _correlations(true, learned).abs().numpy()
    rows, cols = linear_sum_assignment(correlation, maximize=True)
    score = float(correlation[rows, cols].sum() / true.shape[1])
    return min(score, 1.0), tuple(int(c) for c in cols)


def _correlations(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlations of every column of a with every column of b, shape (m_a, m_b)."""
    a = _standardise(a)
    b = _standardise(b)
    return (a.T @ b) / a.shape[0]


def _standardise(tensor: torch.Tensor) -> torch.Tensor:
    centred = tensor - tensor.mean(0)
    spread = centred.square().mean(0).sqrt()
    constant = _constant_columns(tensor)
    return torch.where(constant, torch.zeros_like(centred), centred / torch.where(constant, 1.0, spread))


__all__ = ["affine_mcc", "affine_r2", "mcc"]
