"""Finite Gaussian mixtures, the latent priors of ``docs/theory.md``."""

from __future__ import annotations

import math
from typing import Any

import torch

from .validation import (
    check_device,
    check_dtype,
    check_generator,
    check_int,
    check_permutation,
    check_points,
    check_spd,
    check_tensor,
    resolve_device,
    resolve_dtype,
)

WEIGHT_SUM_RTOL = 1e-9
"""Relative error allowed in the sum of the weights (float64 sums of a few weights are exact to ~1e-16;
narrower dtypes are held to 16 ulps of their own, see ``_check_weights``)."""

LOG_2PI = math.log(2.0 * math.pi)


class GaussianMixture:
    r"""A finite Gaussian mixture :math:`\sum_j \lambda_j N(\mu_j, \Sigma_j)` on :math:`R^m`.

    Frozen: parameters are validated once, at construction, and never change.

    Parameters
    ----------
    weights : array_like, shape (J,)
        Mixing weights, each > 0, summing to 1 (to a relative 1e-9).
    means : array_like, shape (J, m)
        Component means.
    covariances : array_like, shape (J, m, m)
        Component covariances, symmetric (to a relative 1e-10) and positive definite.
    dtype, device : optional
        Where the parameters live; by default the dtype and device of the first
        floating tensor given, else float64 on the CPU.

    Raises
    ------
    ValueError
        Naming the argument (and the component) that is wrong: NaN, shapes,
        weights not positive or not normalised, a covariance not symmetric
        positive definite, or two identical components (the theory needs them
        pairwise distinct).
    """

    def __init__(self, weights: Any, means: Any, covariances: Any, *, dtype=None, device=None):
        dtype = resolve_dtype(weights, means, covariances, dtype=dtype)
        device = resolve_device(weights, means, covariances, device=device)
        weights = check_tensor(weights, "weights", dtype=dtype, device=device, ndim=1)
        means = check_tensor(means, "means", dtype=dtype, device=device, ndim=2)
        covariances = check_tensor(covariances, "covariances", dtype=dtype, device=device, ndim=3)
        n_components, dim = means.shape
        if n_components == 0 or dim == 0:
            raise ValueError(f"means: expected shape (J, m) with J, m >= 1, got {tuple(means.shape)}")
        if weights.shape != (n_components,):
            raise ValueError(f"weights: expected shape ({n_components},) to match means, got {tuple(weights.shape)}")
        if covariances.shape != (n_components, dim, dim):
            raise ValueError(
                f"covariances: expected shape ({n_components}, {dim}, {dim}) to match means, got {tuple(covariances.shape)}"
            )
        _check_weights(weights)
        self._cholesky = check_spd(covariances, "covariances")
        _check_distinct(means, covariances)
        self._weights = weights.clone()
        self._means = means.clone()
        self._covariances = covariances.clone()

    # ------------------------------------------------------------------ attributes
    @property
    def weights(self) -> torch.Tensor:
        """Mixing weights, shape (J,) (a copy)."""
        return self._weights.clone()

    @property
    def means(self) -> torch.Tensor:
        """Component means, shape (J, m) (a copy)."""
        return self._means.clone()

    @property
    def covariances(self) -> torch.Tensor:
        """Component covariances, shape (J, m, m) (a copy)."""
        return self._covariances.clone()

    @property
    def scale_tril(self) -> torch.Tensor:
        """Cholesky factors L_j of the covariances (Σ_j = L_j L_jᵀ), shape (J, m, m) (a copy)."""
        return self._cholesky.clone()

    @property
    def dim(self) -> int:
        return self._means.shape[1]

    @property
    def n_components(self) -> int:
        return self._means.shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self._means.dtype

    @property
    def device(self) -> torch.device:
        return self._means.device

    # ------------------------------------------------------------------ distribution
    def sample(self, n: int, generator: torch.Generator | int | None = None, return_labels: bool = False):
        """Draw ``n`` points.

        Random numbers are drawn on the generator's device and then moved, so the
        same CPU generator gives the same sample on every device.

        Returns
        -------
        z : Tensor, shape (n, m)
        labels : LongTensor, shape (n,)
            The component of each point (the unobserved U), if ``return_labels``.
        """
        check_int(n, "n", minimum=0)
        generator = check_generator(generator)
        draw_device = generator.device if generator is not None else self.device
        weights = self._weights.to(draw_device)
        labels = torch.multinomial(weights, n, replacement=True, generator=generator) if n else torch.zeros(0, dtype=torch.long, device=draw_device)
        noise = torch.randn(n, self.dim, generator=generator, dtype=self.dtype, device=draw_device)
        labels, noise = labels.to(self.device), noise.to(self.device)
        z = self._means[labels] + torch.einsum("nij,nj->ni", self._cholesky[labels], noise)
        return (z, labels) if return_labels else z

    def component_log_prob(self, z: Any) -> torch.Tensor:
        """log(λ_j N(z; μ_j, Σ_j)) for every point and component, shape (N, J)."""
        points, _ = check_points(z, "z", self.dim, dtype=self.dtype, device=self.device)
        return component_log_probs(points, torch.log(self._weights), self._means, self._cholesky)

    def log_prob(self, z: Any) -> torch.Tensor:
        """Log density at ``z`` of shape (N, m) -> (N,), or (m,) -> scalar; stable by log-sum-exp."""
        points, single = check_points(z, "z", self.dim, dtype=self.dtype, device=self.device)
        result = mixture_log_prob(points, torch.log(self._weights), self._means, self._cholesky)
        return result[0] if single else result

    def posterior(self, z: Any) -> torch.Tensor:
        """Cluster posteriors P(U = j | z), shape (N, J)."""
        return torch.softmax(self.component_log_prob(z), dim=1)

    def mean(self) -> torch.Tensor:
        """Mean of the mixture, shape (m,)."""
        return self._weights @ self._means

    def covariance(self) -> torch.Tensor:
        """Covariance of the mixture, shape (m, m) (law of total covariance)."""
        centred = self._means - self.mean()
        within = torch.einsum("j,jab->ab", self._weights, self._covariances)
        between = torch.einsum("j,ja,jb->ab", self._weights, centred, centred)
        return within + between

    # ------------------------------------------------------------------ transformations
    def affine(self, matrix: Any, offset: Any = None) -> "GaussianMixture":
        """The pushforward under z -> A z + b (Lemma A of ``docs/theory.md``): again a mixture.

        Parameters
        ----------
        matrix : array_like, shape (k, m), or an ``AffineMap``
            A, of full row rank k <= m so that the image is nondegenerate.
        offset : array_like, shape (k,), optional
            b; zero if omitted.
        """
        if hasattr(matrix, "matrix") and hasattr(matrix, "offset") and offset is None:
            matrix, offset = matrix.matrix, matrix.offset
        matrix = check_tensor(matrix, "matrix", dtype=self.dtype, device=self.device, ndim=2)
        if matrix.shape[1] != self.dim:
            raise ValueError(f"matrix: expected shape (k, {self.dim}), got {tuple(matrix.shape)}")
        if offset is None:
            offset = torch.zeros(matrix.shape[0], dtype=self.dtype, device=self.device)
        offset = check_tensor(offset, "offset", dtype=self.dtype, device=self.device, ndim=1)
        if offset.shape != (matrix.shape[0],):
            raise ValueError(f"offset: expected shape ({matrix.shape[0]},), got {tuple(offset.shape)}")
        rank = int(torch.linalg.matrix_rank(matrix))
        if rank < matrix.shape[0]:
            raise ValueError(f"matrix: expected full row rank {matrix.shape[0]} (a nondegenerate image), got rank {rank}")
        means = self._means @ matrix.T + offset
        covariances = matrix @ self._covariances @ matrix.T
        covariances = 0.5 * (covariances + covariances.transpose(1, 2))
        return GaussianMixture(self._weights, means, covariances)

    def permute(self, permutation: Any) -> "GaussianMixture":
        """The same distribution with components relabelled: component i of the result is component permutation[i]."""
        perm = check_permutation(permutation, self.n_components).to(self.device)
        return GaussianMixture(self._weights[perm], self._means[perm], self._covariances[perm])

    def to(self, device=None, dtype=None) -> "GaussianMixture":
        """A copy on another device and/or dtype."""
        device = self.device if device is None else check_device(device)
        dtype = self.dtype if dtype is None else check_dtype(dtype)
        weights = self._weights.to(device, dtype)
        # Rounding to a narrower dtype can move the sum off 1 by more than the wider dtype's check allows.
        return GaussianMixture(weights / weights.sum(), self._means.to(device, dtype), self._covariances.to(device, dtype))

    def __repr__(self) -> str:
        return f"GaussianMixture(n_components={self.n_components}, dim={self.dim}, dtype={self.dtype}, device={self.device})"


def _check_weights(weights: torch.Tensor) -> None:
    if bool((weights <= 0).any()):
        j = int(torch.nonzero(weights <= 0)[0])
        raise ValueError(f"weights: expected every weight > 0, component {j} has {float(weights[j])}")
    total = float(weights.sum())
    # float64 meets 1e-9; a float32 copy is held to its own rounding.
    tol = max(WEIGHT_SUM_RTOL, 16 * weights.numel() * torch.finfo(weights.dtype).eps)
    if abs(total - 1.0) > tol:
        raise ValueError(f"weights: expected weights summing to 1 (to {tol:.3g}), got sum {total!r}")


def _check_distinct(means: torch.Tensor, covariances: torch.Tensor) -> None:
    n = means.shape[0]
    if n < 2:
        return
    same_mean = (means.unsqueeze(0) == means.unsqueeze(1)).all(-1)
    same_cov = (covariances.unsqueeze(0) == covariances.unsqueeze(1)).flatten(2).all(-1)
    same = same_mean & same_cov & ~torch.eye(n, dtype=torch.bool, device=means.device)
    if bool(same.any()):
        i, j = (int(v) for v in torch.nonzero(same)[0])
        raise ValueError(f"means/covariances: components {i} and {j} are identical; the theory needs distinct components")


def component_log_probs(z: torch.Tensor, log_weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor) -> torch.Tensor:
    """log λ_j + log N(z; μ_j, L_j L_jᵀ) for every point and component, shape (N, J).

    The one mixture log-density of the toolkit: plain tensor operations, so that it is
    differentiable in every argument (the probe trains priors through it). The
    difference z − μ_j is formed before whitening it with the Cholesky factor, which
    keeps the Mahalanobis term accurate far from the origin.

    Parameters
    ----------
    z : Tensor, shape (N, m)
    log_weights : Tensor, shape (J,)
    means : Tensor, shape (J, m)
    scale_tril : Tensor, shape (J, m, m)
        Lower-triangular factors with positive diagonals.
    """
    diff = z.unsqueeze(0) - means.unsqueeze(1)  # (J, N, m)
    whitened = torch.linalg.solve_triangular(scale_tril, diff.transpose(1, 2), upper=False)  # (J, m, N)
    mahalanobis = whitened.square().sum(dim=1)  # (J, N)
    log_det = 2.0 * torch.log(torch.diagonal(scale_tril, dim1=-2, dim2=-1)).sum(-1)  # (J,)
    log_normal = -0.5 * (means.shape[1] * LOG_2PI + log_det.unsqueeze(1) + mahalanobis)
    return (log_weights.unsqueeze(1) + log_normal).T


def mixture_log_prob(z: torch.Tensor, log_weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor) -> torch.Tensor:
    """log Σ_j λ_j N(z; μ_j, L_j L_jᵀ), shape (N,), by log-sum-exp over ``component_log_probs``."""
    return torch.logsumexp(component_log_probs(z, log_weights, means, scale_tril), dim=1)
