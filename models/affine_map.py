"""Affine maps h(z) = A z + b of the latent space."""

from __future__ import annotations

from typing import Any

import torch

from .validation import (
    MAX_DIM,
    check_device,
    check_dtype,
    check_int,
    check_points,
    check_real,
    check_tensor,
    resolve_device,
    resolve_dtype,
)

# Condition numbers above 1 / (this × eps) are treated as singular by ``inverse``.
SINGULAR_RCOND_FACTOR = 1e3


class AffineMap:
    """The map z -> A z + b from R^m to R^k.

    Parameters
    ----------
    matrix : array_like, shape (k, m)
        A.
    offset : array_like, shape (k,), optional
        b; zero if omitted.
    """

    def __init__(self, matrix: Any, offset: Any = None, *, dtype=None, device=None):
        dtype = resolve_dtype(matrix, offset, dtype=dtype)
        device = resolve_device(matrix, offset, device=device)
        matrix = check_tensor(matrix, "matrix", dtype=dtype, device=device, ndim=2)
        if offset is None:
            offset = torch.zeros(matrix.shape[0], dtype=dtype, device=device)
        offset = check_tensor(offset, "offset", dtype=dtype, device=device, ndim=1)
        if offset.shape != (matrix.shape[0],):
            raise ValueError(f"offset: expected shape ({matrix.shape[0]},) to match matrix {tuple(matrix.shape)}, got {tuple(offset.shape)}")
        self._matrix = matrix.clone()
        self._offset = offset.clone()

    @classmethod
    def identity(cls, dim: int, *, dtype=torch.float64, device=None) -> "AffineMap":
        dim = check_int(dim, "dim", maximum=MAX_DIM)
        return cls(torch.eye(dim, dtype=check_dtype(dtype), device=None if device is None else check_device(device)))

    @property
    def matrix(self) -> torch.Tensor:
        """A, shape (k, m) (a copy)."""
        return self._matrix.clone()

    @property
    def offset(self) -> torch.Tensor:
        """b, shape (k,) (a copy)."""
        return self._offset.clone()

    @property
    def in_dim(self) -> int:
        return self._matrix.shape[1]

    @property
    def out_dim(self) -> int:
        return self._matrix.shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self._matrix.dtype

    @property
    def device(self) -> torch.device:
        return self._matrix.device

    def __call__(self, z: Any) -> torch.Tensor:
        """Apply to points of shape (N, m) -> (N, k), or (m,) -> (k,)."""
        points, single = check_points(z, "z", self.in_dim, dtype=self.dtype, device=self.device)
        out = points @ self._matrix.T + self._offset
        return out[0] if single else out

    def inverse(self) -> "AffineMap":
        """h⁻¹(x) = A⁻¹ (x − b); ``ValueError`` if A is not square or numerically singular."""
        if self.in_dim != self.out_dim:
            raise ValueError(f"matrix: only a square map has an inverse, got shape {tuple(self._matrix.shape)}")
        cond = float(torch.linalg.cond(self._matrix))
        limit = 1.0 / (SINGULAR_RCOND_FACTOR * torch.finfo(self.dtype).eps)
        if not cond < limit:
            raise ValueError(f"matrix: singular to working precision (condition number {cond:.3g} >= {limit:.3g})")
        inverse = torch.linalg.inv(self._matrix)
        return AffineMap(inverse, -(inverse @ self._offset))

    def compose(self, other: "AffineMap") -> "AffineMap":
        """self ∘ other: z -> A (A' z + b') + b."""
        if not isinstance(other, AffineMap):
            raise ValueError(f"other: expected an AffineMap, got {type(other).__name__}")
        if other.out_dim != self.in_dim:
            raise ValueError(f"other: its output dimension {other.out_dim} does not match this map's input dimension {self.in_dim}")
        dtype = torch.promote_types(self.dtype, other.dtype)  # never round the wider map down
        mine, other = self.to(self.device, dtype), other.to(self.device, dtype)
        return AffineMap(mine._matrix @ other._matrix, mine._matrix @ other._offset + mine._offset)

    def orthogonality_error(self) -> float:
        """max(‖AᵀA − I‖_max, ‖b‖_max): zero exactly for an orthogonal map z -> Q z."""
        if self.in_dim != self.out_dim:
            return float("inf")
        eye = torch.eye(self.in_dim, dtype=self.dtype, device=self.device)
        gram_error = float((self._matrix.T @ self._matrix - eye).abs().max())
        return max(gram_error, float(self._offset.abs().max()) if self.out_dim else 0.0)

    def is_orthogonal(self, tol: float = 1e-10) -> bool:
        """True for an orthogonal map (A orthogonal and b = 0), to ``tol`` in max norm."""
        return self.orthogonality_error() <= check_real(tol, "tol", low=0.0)

    def to(self, device=None, dtype=None) -> "AffineMap":
        device = self.device if device is None else check_device(device)
        dtype = self.dtype if dtype is None else check_dtype(dtype)
        return AffineMap(self._matrix.to(device, dtype), self._offset.to(device, dtype))

    def __repr__(self) -> str:
        return f"AffineMap(in_dim={self.in_dim}, out_dim={self.out_dim}, dtype={self.dtype})"
