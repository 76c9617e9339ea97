"""Leaky-ReLU networks: continuous piecewise-affine decoders R^m -> R^n."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._torch_io import network_layers_from_torch, network_to_torch
from .affine_map import AffineMap
from .errors import NotInjectiveError, OffImageError
from .validation import (
    check_device,
    check_dtype,
    check_instance,
    check_points,
    check_real,
    check_tensor,
    resolve_device,
    resolve_dtype,
)


class LeakyReLUNetwork:
    r"""f(z) = W_L σ(... σ(W_1 z + b_1) ...) + b_L with σ(t) = t for t >= 0 and s·t for t < 0.

    Hidden layers apply the leaky ReLU; the last layer is affine. Any slope s > 0
    makes σ a bijection of R (slopes above 1 are allowed); s = 0 is the plain ReLU.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[i]`` has shape (out_i, in_i), as ``torch.nn.Linear.weight``;
        consecutive layers must chain (in_{i+1} = out_i).
    biases : sequence of array_like
        ``biases[i]`` has shape (out_i,).
    negative_slope : float or sequence of float
        One slope for every hidden layer, or one per hidden layer (length L − 1).

    Notes
    -----
    Points are rows: a batch of latents has shape (N, m). The activation
    pattern counts a unit as active where its pre-activation is >= 0.
    """

    def __init__(self, weights: Sequence[Any], biases: Sequence[Any], negative_slope: float | Sequence[float] = 0.0, *, dtype=None, device=None):
        if isinstance(weights, torch.Tensor) or not isinstance(weights, Sequence) or len(weights) == 0:
            raise ValueError("weights: expected a non-empty sequence of (out, in) matrices")
        if isinstance(biases, torch.Tensor) or not isinstance(biases, Sequence) or len(biases) != len(weights):
            raise ValueError(f"biases: expected a sequence of {len(weights)} vectors, one per layer")
        dtype = resolve_dtype(*weights, *biases, dtype=dtype)
        device = resolve_device(*weights, *biases, device=device)
        ws = [check_tensor(w, f"weights[{i}]", dtype=dtype, device=device, ndim=2).clone() for i, w in enumerate(weights)]
        bs = [check_tensor(b, f"biases[{i}]", dtype=dtype, device=device, ndim=1).clone() for i, b in enumerate(biases)]
        for i, (w, b) in enumerate(zip(ws, bs)):
            if 0 in w.shape:
                raise ValueError(f"weights[{i}]: expected a non-empty matrix, got shape {tuple(w.shape)}")
            if b.shape != (w.shape[0],):
                raise ValueError(f"biases[{i}]: expected shape ({w.shape[0]},) to match weights[{i}], got {tuple(b.shape)}")
            if i and w.shape[1] != ws[i - 1].shape[0]:
                raise ValueError(f"weights[{i}]: expected {ws[i - 1].shape[0]} input columns to chain with weights[{i - 1}], got shape {tuple(w.shape)}")
        self._weights, self._biases = ws, bs
        self._slopes = _check_slopes(negative_slope, len(ws) - 1)
        self._negative_slope = check_real(negative_slope, "negative_slope") if _is_scalar(negative_slope) else tuple(self._slopes)
        self._left_inverses: list[torch.Tensor] | None = None

    # ------------------------------------------------------------------ attributes
    @property
    def weights(self) -> list[torch.Tensor]:
        """Layer matrices, each (out, in) (copies)."""
        return [w.clone() for w in self._weights]

    @property
    def biases(self) -> list[torch.Tensor]:
        return [b.clone() for b in self._biases]

    @property
    def negative_slope(self) -> float | tuple[float, ...]:
        return self._negative_slope

    @property
    def slopes(self) -> tuple[float, ...]:
        """The slope of every hidden layer, length ``depth − 1``."""
        return self._slopes

    @property
    def in_dim(self) -> int:
        return self._weights[0].shape[1]

    @property
    def out_dim(self) -> int:
        return self._weights[-1].shape[0]

    @property
    def widths(self) -> tuple[int, ...]:
        """(in_dim, hidden widths..., out_dim)."""
        return (self.in_dim, *(w.shape[0] for w in self._weights))

    @property
    def depth(self) -> int:
        """Number of affine layers."""
        return len(self._weights)

    @property
    def dtype(self) -> torch.dtype:
        return self._weights[0].dtype

    @property
    def device(self) -> torch.device:
        return self._weights[0].device

    # ------------------------------------------------------------------ evaluation
    def _points(self, z: Any, name: str = "z") -> tuple[torch.Tensor, bool]:
        return check_points(z, name, self.in_dim, dtype=self.dtype, device=self.device)

    def __call__(self, z: Any) -> torch.Tensor:
        """f(z) for z of shape (N, m) -> (N, n), or (m,) -> (n,)."""
        points, single = self._points(z)
        h = points
        for w, b, slope in zip(self._weights, self._biases, self._slopes):
            pre = h @ w.T + b
            h = torch.where(pre >= 0, pre, slope * pre)
        out = h @ self._weights[-1].T + self._biases[-1]
        return out[0] if single else out

    def activation_pattern(self, z: Any) -> torch.Tensor:
        """Which hidden units are active (pre-activation >= 0), shape (N, sum of hidden widths).

        Columns are the hidden units of layer 1, then layer 2, and so on.
        """
        points, single = self._points(z)
        patterns, h = [], points
        for w, b, slope in zip(self._weights, self._biases, self._slopes):
            pre = h @ w.T + b
            active = pre >= 0
            patterns.append(active)
            h = torch.where(active, pre, slope * pre)
        out = torch.cat(patterns, dim=1) if patterns else torch.zeros(points.shape[0], 0, dtype=torch.bool, device=self.device)
        return out[0] if single else out

    def local_affine(self, z: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The affine piece f(y) = A y + c active at each point, exact from the pattern.

        Computed by products of masked weight matrices (no autograd).

        Returns
        -------
        A : Tensor, shape (N, n, m)
        c : Tensor, shape (N, n)
        """
        points, single = self._points(z)
        m = self.in_dim
        # [Aᵀ; cᵀ] is carried as one (N, m + 1, width) block, so that each layer is a single
        # (N·(m + 1), w) @ (w, w') product; the last row is the offset.
        block = torch.cat([self._weights[0].T, self._biases[0].unsqueeze(0)]).expand(points.shape[0], -1, -1)
        h = points
        for i, slope in enumerate(self._slopes):
            pre = h @ self._weights[i].T + self._biases[i]
            # Scalars built in the working dtype: a float32 0.2 widened to float64 would be wrong.
            scale = torch.where(pre >= 0, pre.new_tensor(1.0), pre.new_tensor(slope))
            h = scale * pre
            block = (block * scale.unsqueeze(1)) @ self._weights[i + 1].T
            block[:, m] += self._biases[i + 1]
        a = block[:, :m].transpose(1, 2)
        c = block[:, m]
        return (a[0], c[0]) if single else (a, c)

    # ------------------------------------------------------------------ inversion
    def _layer_left_inverses(self) -> list[torch.Tensor]:
        if self._left_inverses is None:
            if any(s == 0 for s in self._slopes):
                layer = next(i for i, s in enumerate(self._slopes) if s == 0)
                raise NotInjectiveError(f"negative_slope: hidden layer {layer} has slope 0 (plain ReLU), which has no inverse")
            inverses = []
            for i, w in enumerate(self._weights):
                rank = int(torch.linalg.matrix_rank(w))
                if rank < w.shape[1]:
                    raise NotInjectiveError(f"weights[{i}]: rank {rank} < {w.shape[1]} columns, so the layer has no left inverse")
                inverses.append(torch.linalg.pinv(w))
            self._left_inverses = inverses
        return self._left_inverses

    def default_inverse_rtol(self) -> float:
        """Relative residual above which ``inverse`` calls a point off the image: sqrt(eps) of the dtype."""
        return math.sqrt(torch.finfo(self.dtype).eps)

    def inverse(self, x: Any, *, rtol: float | None = None, return_on_image: bool = False):
        """Exact layerwise inverse f⁻¹(x) for networks whose every layer is injective.

        Each layer is undone by the left inverse of its full-column-rank matrix and
        the inverse leaky ReLU. A point whose relative residual
        ‖W h + b − t‖ / (‖W‖‖h‖ + ‖b‖ + ‖t‖) exceeds ``rtol`` at some layer is off the
        image; it is reported, never silently projected.

        Parameters
        ----------
        x : array_like, shape (N, n) or (n,)
        rtol : float, optional
            Residual tolerance; default ``default_inverse_rtol()`` (1.5e-8 in float64), or
            sqrt(eps) of x's dtype where x is coarser (float32 observations carry float32 rounding).
        return_on_image : bool
            If False (default), raise ``OffImageError`` when any point is off the
            image. If True, return ``(z, on_image)`` with NaN rows where off the image.

        Raises
        ------
        NotInjectiveError
            A slope is 0 or a layer is rank deficient (no layerwise inverse).
        """
        given = x.dtype if isinstance(x, (torch.Tensor, np.ndarray)) else None
        points, single = check_points(x, "x", self.out_dim, dtype=self.dtype, device=self.device)
        if rtol is None:
            rtol = max(self.default_inverse_rtol(), _sqrt_eps(given))
        else:
            rtol = check_real(rtol, "rtol", low=0.0)
        left_inverses = self._layer_left_inverses()
        residual = torch.zeros(points.shape[0], dtype=self.dtype, device=self.device)
        t = points
        for i in reversed(range(self.depth)):
            w, b = self._weights[i], self._biases[i]
            h = (t - b) @ left_inverses[i].T
            if w.shape[0] > w.shape[1]:
                scale = torch.linalg.matrix_norm(w, ord=2) * h.norm(dim=1) + b.norm() + t.norm(dim=1)
                layer_residual = (h @ w.T + b - t).norm(dim=1) / scale.clamp_min(torch.finfo(self.dtype).tiny)
                residual = torch.maximum(residual, layer_residual)
            t = h if i == 0 else torch.where(h >= 0, h, h / self._slopes[i - 1])
        on_image = residual <= rtol
        if not return_on_image:
            if not bool(on_image.all()):
                bad = torch.nonzero(~on_image).flatten().tolist()
                raise OffImageError(
                    f"x: {len(bad)} point(s) off the image of the network (first: row {bad[0]}, relative residual "
                    f"{float(residual[bad[0]]):.3g} > rtol {rtol:.3g})",
                    bad, residual[bad].tolist(), rtol,
                )
            return t[0] if single else t
        z = torch.where(on_image.unsqueeze(1), t, torch.full_like(t, float("nan")))
        return (z[0], on_image[0]) if single else (z, on_image)

    # ------------------------------------------------------------------ composition and conversion
    def precompose(self, h: AffineMap) -> "LeakyReLUNetwork":
        """The network of z -> f(h(z)), with h folded into the first layer."""
        if not isinstance(h, AffineMap):
            raise ValueError(f"h: expected an AffineMap, got {type(h).__name__}")
        if h.out_dim != self.in_dim:
            raise ValueError(f"h: its output dimension {h.out_dim} does not match the network's input dimension {self.in_dim}")
        h = h.to(self.device, self.dtype)
        first_w = self._weights[0] @ h.matrix
        first_b = self._weights[0] @ h.offset + self._biases[0]
        return LeakyReLUNetwork([first_w, *self._weights[1:]], [first_b, *self._biases[1:]], self._slopes_argument())

    def _slopes_argument(self):
        return self._negative_slope if isinstance(self._negative_slope, (int, float)) else list(self._slopes)

    @classmethod
    def from_torch(cls, module: torch.nn.Module, *, dtype=torch.float64) -> "LeakyReLUNetwork":
        """Read an ``nn.Sequential`` of ``Linear`` layers separated by ``LeakyReLU``/``ReLU``.

        A trailing activation is kept exactly by appending an identity layer.
        Parameters are copied and converted to ``dtype`` (float64 by default).

        Raises
        ------
        ValueError
            Naming the first unsupported module and its index.
        """
        check_instance(module, torch.nn.Module, "module")
        weights, biases, slopes = network_layers_from_torch(module, check_dtype(dtype))
        return cls(weights, biases, slopes if len(set(slopes)) > 1 else (slopes[0] if slopes else 0.0))

    def to_torch(self, dtype=None) -> torch.nn.Sequential:
        """An equivalent ``nn.Sequential`` of ``Linear`` and ``LeakyReLU`` (``ReLU`` for slope 0)."""
        return network_to_torch(self._weights, self._biases, self._slopes, self.dtype if dtype is None else check_dtype(dtype))

    def to(self, device=None, dtype=None) -> "LeakyReLUNetwork":
        device = self.device if device is None else check_device(device)
        dtype = self.dtype if dtype is None else check_dtype(dtype)
        return LeakyReLUNetwork(
            [w.to(device, dtype) for w in self._weights], [b.to(device, dtype) for b in self._biases], self._slopes_argument()
        )

    def __repr__(self) -> str:
        return f"LeakyReLUNetwork(widths={self.widths}, negative_slope={self._negative_slope}, dtype={self.dtype})"


def _sqrt_eps(dtype) -> float:
    """sqrt(eps) of a floating torch or numpy dtype; 0 for any other (integers are exact)."""
    if isinstance(dtype, torch.dtype):
        return math.sqrt(torch.finfo(dtype).eps) if dtype.is_floating_point else 0.0
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return math.sqrt(float(np.finfo(dtype).eps))
    return 0.0


def _is_scalar(value) -> bool:
    """One number: a Python or numpy real, or a 0-d tensor (bools are not slopes)."""
    return not isinstance(value, bool) and (isinstance(value, numbers.Real) or (isinstance(value, torch.Tensor) and value.ndim == 0))


def _check_slopes(negative_slope, n_hidden: int) -> tuple[float, ...]:
    if _is_scalar(negative_slope) or not isinstance(negative_slope, (Sequence, np.ndarray, torch.Tensor)) or isinstance(
            negative_slope, (str, bytes)) or (isinstance(negative_slope, np.ndarray) and negative_slope.ndim == 0):
        return (check_real(negative_slope, "negative_slope", low=0.0),) * n_hidden
    values = [check_real(s, "negative_slope", low=0.0) for s in negative_slope]
    if len(values) != n_hidden:
        raise ValueError(f"negative_slope: expected one slope per hidden layer ({n_hidden}), got {len(values)}")
    return tuple(values)
