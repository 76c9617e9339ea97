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

Options are keyword-only and validated when the strategy is built, by name
(``gaussian_mixtures(min_dim=4, max_dim=2)`` raises ``ValueError: min_dim: ...``),
not when the first example is drawn.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from .affine_map import AffineMap
from .gaussian_mixture import GaussianMixture
from .generative_model import GenerativeModel
from .leaky_relu_network import LeakyReLUNetwork
from .validation import check_int, check_real

# Subnormal draws only exercise underflow in the LPs, not the mathematics.
_FLOAT = dict(allow_nan=False, allow_infinity=False, allow_subnormal=False)

__all__ = ["affine_maps", "full_rank_matrices", "gaussian_mixtures", "generative_models", "injective_networks", "networks",
           "orthogonal_matrices", "spectra"]

# Bounds a strategy accepts: beyond them examples get too large to draw quickly.
MAX_DIM = 16
MAX_WIDTH = 64
MAX_DEPTH = 8
MAX_COMPONENTS = 16


def _floats(low: float, high: float):
    return st.floats(low, high, **_FLOAT)


def _range(low_name: str, low, high_name: str, high, *, minimum: int, maximum: int) -> tuple[int, int]:
    low = check_int(low, low_name, minimum=minimum, maximum=maximum)
    high = check_int(high, high_name, minimum=minimum, maximum=maximum)
    if low > high:
        raise ValueError(f"{low_name}: expected at most {high_name} = {high}, got {low}")
    return low, high


def _optional_int(value, name: str, *, minimum: int, maximum: int):
    return None if value is None else check_int(value, name, minimum=minimum, maximum=maximum)


def _condition(value) -> float:
    return check_real(value, "max_condition", low=1.0)


def orthogonal_matrices(n: int, *, max_angle: float = math.pi):
    """(n, n) rotations built from n(n−1)/2 Givens rotations; shrinks to the identity."""
    n = check_int(n, "n", minimum=1, maximum=MAX_DIM)
    max_angle = check_real(max_angle, "max_angle", low=0.0)
    return _orthogonal_matrices(n, max_angle)


@st.composite
def _orthogonal_matrices(draw, n: int, max_angle: float) -> torch.Tensor:
    q = torch.eye(n, dtype=torch.float64)
    for i in range(n):
        for j in range(i + 1, n):
            angle = draw(_floats(-max_angle, max_angle))
            c, s = math.cos(angle), math.sin(angle)
            rotation = torch.eye(n, dtype=torch.float64)
            rotation[i, i], rotation[j, j], rotation[i, j], rotation[j, i] = c, c, -s, s
            q = q @ rotation
    return q


def spectra(k: int, *, max_condition: float = 10.0):
    """k positive values with max/min <= max_condition; shrinks to all ones."""
    return _spectra(check_int(k, "k", minimum=1, maximum=MAX_WIDTH), _condition(max_condition))


@st.composite
def _spectra(draw, k: int, max_condition: float) -> torch.Tensor:
    half = 0.5 * math.log(max_condition)
    return torch.tensor([math.exp(draw(_floats(-half, half))) for _ in range(k)], dtype=torch.float64)


def full_rank_matrices(rows: int, cols: int, *, max_condition: float = 10.0):
    """(rows, cols) matrices, rows >= cols, of full column rank and condition number <= max_condition."""
    rows = check_int(rows, "rows", minimum=1, maximum=MAX_WIDTH)
    cols = check_int(cols, "cols", minimum=1, maximum=MAX_WIDTH)
    if rows < cols:
        raise ValueError(f"rows: a full-column-rank matrix needs rows >= cols, got {rows} < {cols}")
    return _full_rank_matrices(rows, cols, _condition(max_condition))


@st.composite
def _full_rank_matrices(draw, rows: int, cols: int, max_condition: float) -> torch.Tensor:
    u = draw(_orthogonal_matrices(rows, math.pi))[:, :cols]
    v = draw(_orthogonal_matrices(cols, math.pi))
    return u @ torch.diag(draw(_spectra(cols, max_condition))) @ v.T


def gaussian_mixtures(
    *,
    min_dim: int = 1,
    max_dim: int = 3,
    min_components: int = 1,
    max_components: int = 3,
    max_condition: float = 10.0,
    mean_range: float = 3.0,
    separation: float = 1.0,
    diagonal: bool = False,
    dim: int | None = None,
):
    """Nondegenerate Gaussian mixtures with pairwise distinct components.

    Component j has first mean coordinate in [j·separation, (j + ½)·separation],
    which keeps components distinct without filtering; the other mean coordinates
    lie in [−mean_range, mean_range]. Covariances have condition number at most
    ``max_condition`` (diagonal ones if ``diagonal``). ``dim`` fixes the dimension.
    """
    min_dim, max_dim = _range("min_dim", min_dim, "max_dim", max_dim, minimum=1, maximum=MAX_DIM)
    min_components, max_components = _range("min_components", min_components, "max_components", max_components,
                                            minimum=1, maximum=MAX_COMPONENTS)
    dim = _optional_int(dim, "dim", minimum=1, maximum=MAX_DIM)
    separation = check_real(separation, "separation", low=0.0, low_open=True)
    return _gaussian_mixtures(min_dim, max_dim, min_components, max_components, _condition(max_condition),
                              check_real(mean_range, "mean_range", low=0.0), separation, bool(diagonal), dim)


@st.composite
def _gaussian_mixtures(draw, min_dim, max_dim, min_components, max_components, max_condition, mean_range, separation,
                       diagonal, dim) -> GaussianMixture:
    m = dim if dim is not None else draw(st.integers(min_dim, max_dim))
    n_components = draw(st.integers(min_components, max_components))
    raw = torch.tensor([draw(_floats(1.0, 4.0)) for _ in range(n_components)], dtype=torch.float64)
    means = torch.zeros(n_components, m, dtype=torch.float64)
    covariances = []
    for j in range(n_components):
        means[j, 0] = j * separation + draw(_floats(0.0, 0.5 * separation))
        for k in range(1, m):
            means[j, k] = draw(_floats(-mean_range, mean_range))
        spectrum = draw(_spectra(m, max_condition))
        q = torch.eye(m, dtype=torch.float64) if diagonal else draw(_orthogonal_matrices(m, math.pi))
        cov = q @ torch.diag(spectrum) @ q.T
        covariances.append(0.5 * (cov + cov.T))
    return GaussianMixture(raw / raw.sum(), means, torch.stack(covariances))


def affine_maps(
    *,
    dim: int | None = None,
    min_dim: int = 1,
    max_dim: int = 3,
    max_condition: float = 10.0,
    offset_range: float = 3.0,
    orthogonal: bool = False,
):
    """Invertible affine maps of R^m with condition number <= max_condition (possibly orientation reversing).

    ``orthogonal=True`` gives z -> Q z with Q orthogonal and no offset.
    """
    min_dim, max_dim = _range("min_dim", min_dim, "max_dim", max_dim, minimum=1, maximum=MAX_DIM)
    dim = _optional_int(dim, "dim", minimum=1, maximum=MAX_DIM)
    return _affine_maps(dim, min_dim, max_dim, _condition(max_condition), check_real(offset_range, "offset_range", low=0.0),
                        bool(orthogonal))


@st.composite
def _affine_maps(draw, dim, min_dim, max_dim, max_condition, offset_range, orthogonal) -> AffineMap:
    m = dim if dim is not None else draw(st.integers(min_dim, max_dim))
    q1 = draw(_orthogonal_matrices(m, math.pi))
    if draw(st.booleans()):
        q1 = q1 * torch.tensor([-1.0] + [1.0] * (m - 1), dtype=torch.float64)
    if orthogonal:
        return AffineMap(q1)
    q2 = draw(_orthogonal_matrices(m, math.pi))
    matrix = q1 @ torch.diag(draw(_spectra(m, max_condition))) @ q2.T
    offset = torch.tensor([draw(_floats(-offset_range, offset_range)) for _ in range(m)], dtype=torch.float64)
    return AffineMap(matrix, offset)


def _slopes(allow_relu: bool):
    positive = _floats(0.05, 2.0)
    return st.one_of(st.just(0.0), positive) if allow_relu else positive


def networks(
    *,
    min_in_dim: int = 1,
    max_in_dim: int = 3,
    max_out_dim: int = 4,
    max_depth: int = 3,
    max_width: int = 6,
    weight_range: float = 2.0,
    bias_range: float = 2.0,
    allow_relu: bool = True,
    in_dim: int | None = None,
):
    """Leaky-ReLU networks of any shape, injective or not.

    Weights are the identity (padded) plus entries in [−weight_range, weight_range];
    biases lie in [−bias_range, bias_range]; one slope per hidden layer, 0 (ReLU)
    allowed when ``allow_relu``. Shrinks to small identity-like networks.
    """
    min_in_dim, max_in_dim = _range("min_in_dim", min_in_dim, "max_in_dim", max_in_dim, minimum=1, maximum=MAX_DIM)
    return _networks(min_in_dim, max_in_dim, check_int(max_out_dim, "max_out_dim", maximum=MAX_WIDTH),
                     check_int(max_depth, "max_depth", maximum=MAX_DEPTH), check_int(max_width, "max_width", maximum=MAX_WIDTH),
                     check_real(weight_range, "weight_range", low=0.0), check_real(bias_range, "bias_range", low=0.0),
                     bool(allow_relu), _optional_int(in_dim, "in_dim", minimum=1, maximum=MAX_DIM))


@st.composite
def _networks(draw, min_in_dim, max_in_dim, max_out_dim, max_depth, max_width, weight_range, bias_range, allow_relu,
              in_dim) -> LeakyReLUNetwork:
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


def injective_networks(
    *,
    min_in_dim: int = 1,
    max_in_dim: int = 3,
    max_depth: int = 3,
    max_growth: int = 2,
    max_condition: float = 10.0,
    bias_range: float = 2.0,
    in_dim: int | None = None,
    out_dim: int | None = None,
):
    """Leaky-ReLU networks injective by construction: slopes > 0, non-decreasing widths
    (each layer grows by at most ``max_growth``), every layer of full column rank with
    condition number <= ``max_condition``. ``out_dim`` fixes the output width (it must be
    reachable from the input width).
    """
    min_in_dim, max_in_dim = _range("min_in_dim", min_in_dim, "max_in_dim", max_in_dim, minimum=1, maximum=MAX_DIM)
    in_dim = _optional_int(in_dim, "in_dim", minimum=1, maximum=MAX_DIM)
    out_dim = _optional_int(out_dim, "out_dim", minimum=1, maximum=MAX_WIDTH)
    smallest = in_dim if in_dim is not None else min_in_dim
    if out_dim is not None and out_dim < smallest:
        raise ValueError(f"out_dim: {out_dim} is narrower than the input dimension {smallest}")
    return _injective_networks(min_in_dim, max_in_dim, check_int(max_depth, "max_depth", maximum=MAX_DEPTH),
                               check_int(max_growth, "max_growth", minimum=0, maximum=MAX_WIDTH), _condition(max_condition),
                               check_real(bias_range, "bias_range", low=0.0), in_dim, out_dim)


@st.composite
def _injective_networks(draw, min_in_dim, max_in_dim, max_depth, max_growth, max_condition, bias_range, in_dim,
                        out_dim) -> LeakyReLUNetwork:
    m = in_dim if in_dim is not None else draw(st.integers(min_in_dim, max_in_dim if out_dim is None else min(max_in_dim, out_dim)))
    depth = draw(st.integers(1, max_depth))
    ceiling = out_dim if out_dim is not None else m + depth * max_growth
    widths = [m]
    for _ in range(depth):
        widths.append(min(widths[-1] + draw(st.integers(0, max_growth)), ceiling))
    if out_dim is not None:
        widths[-1] = out_dim
    weights = [draw(_full_rank_matrices(b, a, max_condition)) for a, b in zip(widths, widths[1:])]
    biases = [torch.tensor([draw(_floats(-bias_range, bias_range)) for _ in range(b)], dtype=torch.float64) for b in widths[1:]]
    slopes = [draw(_slopes(allow_relu=False)) for _ in range(depth - 1)]
    return LeakyReLUNetwork(weights, biases, slopes)


def generative_models(
    *,
    min_latent_dim: int = 1,
    max_latent_dim: int = 3,
    max_components: int = 3,
    max_depth: int = 3,
    max_growth: int = 2,
    max_condition: float = 10.0,
    injective: bool = True,
    noise_scale: float = 0.0,
):
    """Models x = f(z) (+ noise) with a ``gaussian_mixtures`` prior and an
    ``injective_networks`` decoder (or a ``networks`` decoder if not ``injective``)."""
    min_latent_dim, max_latent_dim = _range("min_latent_dim", min_latent_dim, "max_latent_dim", max_latent_dim,
                                            minimum=1, maximum=MAX_DIM)
    check_int(max_components, "max_components", maximum=MAX_COMPONENTS)
    check_int(max_depth, "max_depth", maximum=MAX_DEPTH)
    check_int(max_growth, "max_growth", minimum=0, maximum=MAX_WIDTH)
    _condition(max_condition)
    noise_scale = check_real(noise_scale, "noise_scale", low=0.0)
    return _generative_models(min_latent_dim, max_latent_dim, max_components, max_depth, max_growth, max_condition,
                              bool(injective), noise_scale)


@st.composite
def _generative_models(draw, min_latent_dim, max_latent_dim, max_components, max_depth, max_growth, max_condition,
                       injective, noise_scale) -> GenerativeModel:
    m = draw(st.integers(min_latent_dim, max_latent_dim))
    prior = draw(gaussian_mixtures(dim=m, max_components=max_components, max_condition=max_condition))
    if injective:
        decoder = draw(injective_networks(in_dim=m, max_depth=max_depth, max_growth=max_growth, max_condition=max_condition))
    else:
        decoder = draw(networks(in_dim=m, max_depth=max_depth))
    return GenerativeModel(decoder, prior, noise_scale)
