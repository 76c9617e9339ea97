"""Hypothesis strategies for property tests of generative models.

Use them in your own tests::

    from hypothesis import given
    from models.strategies import injective_networks

    @given(injective_networks(max_in_dim=3))
    def test_inverse(net):
        z = torch.randn(10, net.in_dim, dtype=torch.float64)
        assert torch.allclose(net.inverse(net(z)), z)

Every strategy is bounded (dimensions, widths, depth, condition numbers) and
shrinks toward simple cases: small dimensions, identity-like matrices (rotation
angles and log singular values shrink to 0), zero biases, equal weights.
Matrices are built as U diag(s) Vᵀ with U, V products of Givens rotations, so a
bound on the condition number holds by construction rather than by filtering.
Everything is float64 on the CPU; call ``.to(device)`` on the drawn object.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from .affine_map import AffineMap
from .gaussian_mixture import GaussianMixture
from .generative_model import GenerativeModel
from .leaky_relu_network import LeakyReLUNetwork

# Subnormal draws only exercise underflow in the LPs, not the mathematics.
_FLOAT = dict(allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _floats(low: float, high: float):
    return st.floats(low, high, **_FLOAT)


@st.composite
def orthogonal_matrices(draw, n: int, max_angle: float = math.pi) -> torch.Tensor:
    """An (n, n) rotation built from n(n−1)/2 Givens rotations; shrinks to the identity."""
    q = torch.eye(n, dtype=torch.float64)
    for i in range(n):
        for j in range(i + 1, n):
            angle = draw(_floats(-max_angle, max_angle))
            c, s = math.cos(angle), math.sin(angle)
            rotation = torch.eye(n, dtype=torch.float64)
            rotation[i, i], rotation[j, j], rotation[i, j], rotation[j, i] = c, c, -s, s
            q = q @ rotation
    return q


@st.composite
def spectra(draw, k: int, max_condition: float) -> torch.Tensor:
    """k positive values with max/min <= max_condition; shrinks to all ones."""
    half = 0.5 * math.log(max_condition)
    return torch.tensor([math.exp(draw(_floats(-half, half))) for _ in range(k)], dtype=torch.float64)


@st.composite
def full_rank_matrices(draw, rows: int, cols: int, max_condition: float = 10.0) -> torch.Tensor:
    """A (rows, cols) matrix, rows >= cols, of full column rank and condition number <= max_condition."""
    if rows < cols:
        raise ValueError(f"rows: a full-column-rank matrix needs rows >= cols, got {rows} < {cols}")
    u = draw(orthogonal_matrices(rows))[:, :cols]
    v = draw(orthogonal_matrices(cols))
    return u @ torch.diag(draw(spectra(cols, max_condition))) @ v.T


@st.composite
def gaussian_mixtures(
    draw,
    min_dim: int = 1,
    max_dim: int = 3,
    min_components: int = 1,
    max_components: int = 3,
    max_condition: float = 10.0,
    mean_range: float = 3.0,
    separation: float = 1.0,
    diagonal: bool = False,
    dim: int | None = None,
) -> GaussianMixture:
    """Nondegenerate Gaussian mixtures with pairwise distinct components.

    Component j has first mean coordinate in [j·separation, (j + ½)·separation],
    which keeps components distinct without filtering; the other mean coordinates
    lie in [−mean_range, mean_range]. Covariances have condition number at most
    ``max_condition`` (diagonal ones if ``diagonal``). ``dim`` fixes the dimension.
    """
    if not separation > 0:
        raise ValueError(f"separation: expected a positive number (it keeps components distinct), got {separation!r}")
    m = dim if dim is not None else draw(st.integers(min_dim, max_dim))
    n_components = draw(st.integers(min_components, max_components))
    raw = torch.tensor([draw(_floats(1.0, 4.0)) for _ in range(n_components)], dtype=torch.float64)
    means = torch.zeros(n_components, m, dtype=torch.float64)
    covariances = []
    for j in range(n_components):
        means[j, 0] = j * separation + draw(_floats(0.0, 0.5 * separation))
        for k in range(1, m):
            means[j, k] = draw(_floats(-mean_range, mean_range))
        spectrum = draw(spectra(m, max_condition))
        q = torch.eye(m, dtype=torch.float64) if diagonal else draw(orthogonal_matrices(m))
        cov = q @ torch.diag(spectrum) @ q.T
        covariances.append(0.5 * (cov + cov.T))
    return GaussianMixture(raw / raw.sum(), means, torch.stack(covariances))


@st.composite
def affine_maps(
    draw,
    dim: int | None = None,
    min_dim: int = 1,
    max_dim: int = 3,
    max_condition: float = 10.0,
    offset_range: float = 3.0,
    orthogonal: bool = False,
) -> AffineMap:
    """Invertible affine maps of R^m with condition number <= max_condition (possibly orientation reversing).

    ``orthogonal=True`` gives z -> Q z with Q orthogonal and no offset.
    """
    m = dim if dim is not None else draw(st.integers(min_dim, max_dim))
    q1 = draw(orthogonal_matrices(m))
    if draw(st.booleans()):
        q1 = q1 * torch.tensor([-1.0] + [1.0] * (m - 1), dtype=torch.float64)
    if orthogonal:
        return AffineMap(q1)
    q2 = draw(orthogonal_matrices(m))
    matrix = q1 @ torch.diag(draw(spectra(m, max_condition))) @ q2.T
    offset = torch.tensor([draw(_floats(-offset_range, offset_range)) for _ in range(m)], dtype=torch.float64)
    return AffineMap(matrix, offset)


def _slopes(allow_relu: bool):
    positive = _floats(0.05, 2.0)
    return st.one_of(st.just(0.0), positive) if allow_relu else positive


@st.composite
def networks(
    draw,
    min_in_dim: int = 1,
    max_in_dim: int = 3,
    max_out_dim: int = 4,
    max_depth: int = 3,
    max_width: int = 6,
    weight_range: float = 2.0,
    bias_range: float = 2.0,
    allow_relu: bool = True,
    in_dim: int | None = None,
) -> LeakyReLUNetwork:
    """Leaky-ReLU networks of any shape, injective or not.

    Weights are the identity (padded) plus entries in [−weight_range, weight_range];
    biases lie in [−bias_range, bias_range]; one slope per hidden layer, 0 (ReLU)
    allowed when ``allow_relu``. Shrinks to small identity-like networks.
    """
    m = in_dim if in_dim is not None else draw(st.integers(min_in_dim, max_in_dim))
    depth = draw(st.integers(1, max_depth))
    widths = [m] + [draw(st.integers(1, max_width)) for _ in range(depth - 1)] + [draw(st.integers(1, max_out_dim))]
    weights, biases = [], []
    for fan_in, fan_out in zip(widths, widths[1:]):
        w = torch.eye(fan_out, fan_in, dtype=torch.float64)
        for i in range(fan_out):
            for j in range(fan_in):
                w[i, j] += draw(_floats(-weight_range, weight_range))
        weights.append(w)
        biases.append(torch.tensor([draw(_floats(-bias_range, bias_range)) for _ in range(fan_out)], dtype=torch.float64))
    slopes = [draw(_slopes(allow_relu)) for _ in range(depth - 1)]
    return LeakyReLUNetwork(weights, biases, slopes)


@st.composite
def injective_networks(
    draw,
    min_in_dim: int = 1,
    max_in_dim: int = 3,
    max_depth: int = 3,
    max_growth: int = 2,
    max_condition: float = 10.0,
    bias_range: float = 2.0,
    in_dim: int | None = None,
    out_dim: int | None = None,
) -> LeakyReLUNetwork:
    """Leaky-ReLU networks injective by construction: slopes > 0, non-decreasing widths
    (each layer grows by at most ``max_growth``), every layer of full column rank with
    condition number <= ``max_condition``. ``out_dim`` fixes the output width (it must be
    reachable from the input width).
    """
    m = in_dim if in_dim is not None else draw(st.integers(min_in_dim, max_in_dim))
    depth = draw(st.integers(1, max_depth))
    if out_dim is not None and out_dim < m:
        raise ValueError(f"out_dim: {out_dim} is narrower than the input dimension {m}")
    ceiling = out_dim if out_dim is not None else m + depth * max_growth
    widths = [m]
    for _ in range(depth):
        widths.append(min(widths[-1] + draw(st.integers(0, max_growth)), ceiling))
    if out_dim is not None:
        widths[-1] = out_dim
    weights = [draw(full_rank_matrices(b, a, max_condition)) for a, b in zip(widths, widths[1:])]
    biases = [torch.tensor([draw(_floats(-bias_range, bias_range)) for _ in range(b)], dtype=torch.float64) for b in widths[1:]]
    slopes = [draw(_slopes(allow_relu=False)) for _ in range(depth - 1)]
    return LeakyReLUNetwork(weights, biases, slopes)


@st.composite
def generative_models(
    draw,
    min_latent_dim: int = 1,
    max_latent_dim: int = 3,
    max_components: int = 3,
    max_depth: int = 3,
    max_growth: int = 2,
    max_condition: float = 10.0,
    injective: bool = True,
    noise_scale: float = 0.0,
) -> GenerativeModel:
    """Models x = f(z) (+ noise) with a ``gaussian_mixtures`` prior and an
    ``injective_networks`` decoder (or a ``networks`` decoder if not ``injective``)."""
    m = draw(st.integers(min_latent_dim, max_latent_dim))
    prior = draw(gaussian_mixtures(dim=m, max_components=max_components, max_condition=max_condition))
    if injective:
        decoder = draw(injective_networks(in_dim=m, max_depth=max_depth, max_growth=max_growth, max_condition=max_condition))
    else:
        decoder = draw(networks(in_dim=m, max_depth=max_depth))
    return GenerativeModel(decoder, prior, noise_scale)
