"""Tests of ``models.LeakyReLUNetwork``: local affine pieces, inversion, composition, torch I/O."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from models import AffineMap, LeakyReLUNetwork, NotInjectiveError, OffImageError, random_network
from models.strategies import affine_maps, injective_networks, networks

F64 = torch.float64
JACOBIAN_RTOL = 1e-12  # local_affine against autograd, and A z + c against f(z), float64
INVERSE_RTOL = 1e-9  # inverse(f(z)) against z, float64

seeds = st.integers(0, 2**31 - 1)


def latents(n: int, dim: int, seed: int, scale: float = 3.0) -> torch.Tensor:
    """``n`` latent points N(0, scale² I) drawn from a seeded CPU generator."""
    return scale * torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=F64)


def autograd_jacobian(net: LeakyReLUNetwork, z: torch.Tensor) -> torch.Tensor:
    """Jacobian of the equivalent ``nn.Sequential`` at every row of ``z``, shape (N, n, m)."""
    return torch.func.vmap(torch.func.jacrev(net.to_torch()))(z).detach()


def assert_local_affine_exact(net: LeakyReLUNetwork, z: torch.Tensor) -> None:
    """A equals the autograd Jacobian and A z + c equals f(z), both to ``JACOBIAN_RTOL``."""
    a, c = net.local_affine(z)
    assert a.shape == (z.shape[0], net.out_dim, net.in_dim)
    assert c.shape == (z.shape[0], net.out_dim)
    jac = autograd_jacobian(net, z)
    scale_a = 1.0 + a.abs().max()
    assert float((a - jac).abs().max()) <= JACOBIAN_RTOL * scale_a
    x = net(z)
    reconstructed = torch.einsum("nij,nj->ni", a, z) + c
    scale_x = 1.0 + float((a.abs() @ z.abs().unsqueeze(-1)).max()) + float(c.abs().max())
    assert float((reconstructed - x).abs().max()) <= JACOBIAN_RTOL * scale_x


def relative_inverse_error(net: LeakyReLUNetwork, z: torch.Tensor) -> float:
    """max over rows of ‖f⁻¹(f(z)) − z‖ / max(‖z‖, 1)."""
    recovered = net.inverse(net(z))
    return float(((recovered - z).norm(dim=1) / z.norm(dim=1).clamp_min(1.0)).max())


def left_null_vector(w: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to the column space of a tall full-column-rank ``w``."""
    u, _, _ = torch.linalg.svd(w)
    return u[:, -1]


# ---------------------------------------------------------------------------------- local_affine
@given(networks(max_in_dim=4, max_depth=4, max_width=6), seeds)
def test_local_affine_matches_autograd_and_forward(net, seed):
    assert_local_affine_exact(net, latents(32, net.in_dim, seed))


@given(injective_networks(max_in_dim=4, max_depth=4), seeds)
def test_local_affine_matches_autograd_on_injective_networks(net, seed):
    assert_local_affine_exact(net, latents(32, net.in_dim, seed))


@pytest.mark.parametrize(
    "widths, slope",
    [
        ((3, 5), 0.2),  # depth 1: A = W, c = b everywhere
        ((2, 6, 6, 4), [0.1, 2.5]),  # per-layer slopes, one above 1
        ((2, 6, 6, 4), [0.0, 0.3]),  # a plain ReLU layer
        ((3, 8, 8, 8, 5), [3.0, 0.0, 0.05]),  # slope > 1, slope 0 and a small slope
        ((4, 3, 2, 6), 1.0),  # slope 1: the network is affine
        ((1, 16, 1), 0.0),
    ],
)
def test_local_affine_slope_configurations(widths, slope):
    net = random_network(widths, slope, injective=False, generator=11)
    z = latents(500, net.in_dim, seed=12)
    assert_local_affine_exact(net, z)


def test_local_affine_depth_one_is_the_layer():
    net = random_network((3, 5), 0.2, injective=False, generator=3)
    a, c = net.local_affine(latents(7, 3, seed=4))
    assert torch.equal(a, net.weights[0].expand(7, -1, -1))
    assert torch.equal(c, net.biases[0].expand(7, -1))


def test_local_affine_slope_one_is_constant():
    net = random_network((3, 6, 6, 4), 1.0, injective=False, generator=5)
    a, c = net.local_affine(latents(50, 3, seed=6))
    w = net.weights
    b = net.biases
    expected_a = w[2] @ w[1] @ w[0]
    expected_c = w[2] @ (w[1] @ b[0] + b[1]) + b[2]
    torch.testing.assert_close(a, expected_a.expand(50, -1, -1), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(c, expected_c.expand(50, -1), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("slope", [0.0, 0.25, 2.0])
def test_local_affine_hand_computed(slope):
    """f(z) = σ(z) + σ(−z): slope 1 − s for z > 0 and s − 1 for z < 0, c = 0."""
    net = LeakyReLUNetwork([[[1.0], [-1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]], slope)
    z = torch.tensor([[2.0], [-3.0], [0.5]], dtype=F64)
    a, c = net.local_affine(z)
    torch.testing.assert_close(a[:, 0, 0], torch.tensor([1 - slope, slope - 1, 1 - slope], dtype=F64), rtol=0, atol=1e-15)
    assert torch.equal(c, torch.zeros(3, 1, dtype=F64))
    torch.testing.assert_close(net(z)[:, 0], torch.tensor([2 * (1 - slope), 3 * (1 - slope), 0.5 * (1 - slope)], dtype=F64), rtol=0, atol=1e-15)


def test_local_affine_single_point():
    net = random_network((2, 4, 3), 0.3, injective=False, generator=1)
    z = latents(1, 2, seed=2)
    a, c = net.local_affine(z[0])
    a_batch, c_batch = net.local_affine(z)
    assert a.shape == (3, 2) and c.shape == (3,)
    assert torch.equal(a, a_batch[0]) and torch.equal(c, c_batch[0])


# ---------------------------------------------------------------------------------- inverse
@settings(max_examples=1000)
@given(injective_networks(max_in_dim=4, max_depth=4, max_growth=2), seeds)
def test_inverse_round_trip_hypothesis(net, seed):
    assert relative_inverse_error(net, latents(64, net.in_dim, seed)) <= INVERSE_RTOL


def test_inverse_round_trip_seeded_sweep():
    """2000 seeded injective networks of random shape, slope and conditioning."""
    worst = 0.0
    for seed in range(2000):
        gen = torch.Generator().manual_seed(seed)
        m = int(torch.randint(1, 5, (), generator=gen))
        depth = int(torch.randint(1, 5, (), generator=gen))
        widths = [m]
        for _ in range(depth):
            widths.append(widths[-1] + int(torch.randint(0, 3, (), generator=gen)))
        slopes = (0.05 + 2.95 * torch.rand(depth - 1, generator=gen, dtype=F64)).tolist()
        max_condition = float(1.0 + 49.0 * torch.rand((), generator=gen, dtype=F64))
        net = random_network(widths, slopes, max_condition=max_condition, generator=gen)
        error = relative_inverse_error(net, latents(16, m, seed + 10_000))
        assert error <= INVERSE_RTOL, f"seed {seed}: widths {widths}, slopes {slopes}, error {error:.3g}"
        worst = max(worst, error)
    assert worst > 0.0  # the sweep really compared floating-point results


def test_inverse_single_point():
    net = random_network((2, 3, 5), 0.4, generator=8)
    z = latents(1, 2, seed=9)[0]
    recovered = net.inverse(net(z))
    assert recovered.shape == (2,)
    torch.testing.assert_close(recovered, z, rtol=1e-12, atol=1e-12)


def test_inverse_of_square_network_is_defined_everywhere():
    """A square injective network is a bijection of R^m: every point has a preimage."""
    net = random_network((3, 3, 3), 0.5, generator=21)
    x = latents(200, 3, seed=22, scale=100.0)
    z, on_image = net.inverse(x, return_on_image=True)
    assert bool(on_image.all())
    torch.testing.assert_close(net(z), x, rtol=1e-10, atol=1e-10)


def test_not_injective_slope_zero():
    net = random_network((2, 4, 6), 0.0, injective=False, generator=2)
    with pytest.raises(NotInjectiveError, match="negative_slope"):
        net.inverse(net(latents(3, 2, seed=1)))


def test_not_injective_per_layer_slope_zero():
    net = random_network((2, 4, 6, 8), [0.3, 0.0], injective=False, generator=2)
    with pytest.raises(NotInjectiveError, match="hidden layer 1"):
        net.inverse(torch.zeros(1, 8, dtype=F64))


def test_not_injective_rank_deficient_layer():
    w0 = torch.tensor([[1.0, 2.0], [2.0, 4.0], [-1.0, -2.0]], dtype=F64)  # rank 1
    net = LeakyReLUNetwork([w0, torch.eye(3, dtype=F64)], [torch.zeros(3, dtype=F64)] * 2, 0.2)
    with pytest.raises(NotInjectiveError, match=r"weights\[0\].*rank 1"):
        net.inverse(torch.zeros(1, 3, dtype=F64))


def test_not_injective_narrowing_layer():
    net = random_network((3, 5, 2, 4), 0.2, injective=False, generator=4)
    with pytest.raises(NotInjectiveError, match=r"weights\[1\]"):
        net.inverse(torch.zeros(1, 4, dtype=F64))


def test_not_injective_error_is_a_value_error():
    assert issubclass(NotInjectiveError, ValueError)
    assert issubclass(OffImageError, ValueError)


# ---------------------------------------------------------------------------------- off-image points
def _off_image_batch(net: LeakyReLUNetwork, n: int, off_rows: list[int], distance: float, seed: int):
    z = latents(n, net.in_dim, seed)
    x = net(z)
    normal = left_null_vector(net.weights[-1])
    for row in off_rows:
        x[row] = x[row] + distance * (1.0 + x[row].norm()) * normal
    return z, x


@pytest.mark.parametrize("widths", [(2, 3), (2, 4, 5), (1, 2, 2, 3), (3, 3, 4)])
def test_off_image_points_are_flagged(widths):
    net = random_network(widths, 0.3, generator=31)
    off_rows = [1, 4, 7]
    z, x = _off_image_batch(net, 10, off_rows, distance=1e-3, seed=32)
    with pytest.raises(OffImageError) as info:
        net.inverse(x)
    error = info.value
    assert error.indices == off_rows
    assert len(error.residuals) == len(off_rows)
    assert all(r > error.tolerance for r in error.residuals)
    assert error.tolerance == pytest.approx(net.default_inverse_rtol())
    assert "row 1" in str(error)

    recovered, on_image = net.inverse(x, return_on_image=True)
    assert on_image.dtype == torch.bool
    assert torch.nonzero(~on_image).flatten().tolist() == off_rows
    assert bool(torch.isnan(recovered[off_rows]).all())
    on_rows = [i for i in range(10) if i not in off_rows]
    assert not bool(torch.isnan(recovered[on_rows]).any())
    torch.testing.assert_close(recovered[on_rows], z[on_rows], rtol=1e-10, atol=1e-10)


def test_off_image_in_hidden_layer_is_flagged():
    """A point whose last-layer preimage exists but leaves the image of an earlier layer."""
    w0 = torch.tensor([[1.0], [2.0]], dtype=F64)  # image of layer 1: the line t·(1, 2) (before the activation)
    net = LeakyReLUNetwork([w0, torch.eye(2, dtype=F64)], [torch.zeros(2, dtype=F64)] * 2, 0.5)
    on = net(torch.tensor([[1.5], [-2.0]], dtype=F64))
    off = torch.tensor([[1.0, -1.0]], dtype=F64)  # σ⁻¹(1, −1) = (1, −2), not on the line
    with pytest.raises(OffImageError) as info:
        net.inverse(torch.cat([on, off]))
    assert info.value.indices == [2]
    torch.testing.assert_close(net.inverse(on), torch.tensor([[1.5], [-2.0]], dtype=F64), rtol=1e-14, atol=1e-14)


@given(injective_networks(max_in_dim=3, max_depth=3), seeds)
def test_points_on_the_image_are_not_flagged(net, seed):
    z = latents(64, net.in_dim, seed, scale=1e3)  # far from the origin too
    _, on_image = net.inverse(net(z), return_on_image=True)
    assert bool(on_image.all())


def test_off_image_single_point_with_mask():
    net = random_network((2, 4), 0.3, generator=5)
    _, x = _off_image_batch(net, 1, [0], distance=1e-2, seed=6)
    z, on_image = net.inverse(x[0], return_on_image=True)
    assert z.shape == (2,) and on_image.shape == ()
    assert not bool(on_image) and bool(torch.isnan(z).all())


def test_off_image_tolerance_is_respected():
    """The same displacement is flagged under a tight rtol and accepted under a loose one."""
    net = random_network((2, 5), 0.3, generator=7)
    _, x = _off_image_batch(net, 4, [2], distance=1e-5, seed=8)
    with pytest.raises(OffImageError):
        net.inverse(x, rtol=1e-8)
    _, on_image = net.inverse(x, rtol=1e-2, return_on_image=True)
    assert bool(on_image.all())


# ---------------------------------------------------------------------------------- precompose
@st.composite
def networks_with_affine_maps(draw):
    net = draw(networks(max_in_dim=3, max_depth=3))
    h = draw(affine_maps(dim=net.in_dim))
    return net, h


@given(networks_with_affine_maps(), seeds)
def test_precompose_equals_composition(pair, seed):
    net, h = pair
    composed = net.precompose(h)
    z = latents(32, net.in_dim, seed)
    expected = net(h(z))
    scale = 1.0 + float(expected.abs().max())
    assert float((composed(z) - expected).abs().max()) <= 1e-12 * scale
    assert composed.slopes == net.slopes
    assert composed.widths == net.widths


def test_precompose_with_non_square_map():
    """h: R^2 -> R^3 composed with f: R^3 -> R^4 is a network R^2 -> R^4."""
    net = random_network((3, 5, 4), [0.7], injective=False, generator=3)
    h = AffineMap(torch.randn(3, 2, generator=torch.Generator().manual_seed(1), dtype=F64), torch.tensor([0.5, -1.0, 2.0], dtype=F64))
    composed = net.precompose(h)
    assert composed.in_dim == 2 and composed.out_dim == 4
    z = latents(100, 2, seed=2)
    torch.testing.assert_close(composed(z), net(h(z)), rtol=1e-12, atol=1e-12)


def test_precompose_then_inverse():
    """(f ∘ h)⁻¹ = h⁻¹ ∘ f⁻¹ for an injective f and invertible h."""
    net = random_network((2, 4, 5), 0.3, generator=13)
    h = AffineMap(torch.tensor([[2.0, 1.0], [0.0, -0.5]], dtype=F64), torch.tensor([1.0, 3.0], dtype=F64))
    z = latents(50, 2, seed=14)
    torch.testing.assert_close(net.precompose(h).inverse(net(h(z))), z, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------- activation pattern
@given(networks(max_in_dim=3, max_depth=4), seeds)
def test_activation_pattern_shape_and_convention(net, seed):
    z = latents(20, net.in_dim, seed)
    pattern = net.activation_pattern(z)
    hidden = sum(net.widths[1:-1])
    assert pattern.shape == (20, hidden) and pattern.dtype == torch.bool
    # Recompute the pre-activations by hand: unit active iff pre-activation >= 0, layer by layer.
    expected, h = [], z
    for w, b, s in zip(net.weights, net.biases, net.slopes):
        pre = h @ w.T + b
        expected.append(pre >= 0)
        h = torch.where(pre >= 0, pre, s * pre)
    if expected:
        assert torch.equal(pattern, torch.cat(expected, dim=1))


def test_activation_pattern_zero_pre_activation_counts_as_active():
    net = LeakyReLUNetwork([torch.eye(2, dtype=F64), torch.eye(2, dtype=F64)], [torch.zeros(2, dtype=F64)] * 2, 0.1)
    z = torch.tensor([[0.0, 0.0], [-1.0, 0.0], [0.0, -2.0], [1.0, 1.0]], dtype=F64)
    expected = torch.tensor([[True, True], [False, True], [True, False], [True, True]])
    assert torch.equal(net.activation_pattern(z), expected)


def test_activation_pattern_depth_one_and_single_point():
    net = random_network((3, 4), 0.2, generator=0)
    assert net.activation_pattern(latents(5, 3, seed=1)).shape == (5, 0)
    deep = random_network((3, 4, 6, 2), 0.2, injective=False, generator=0)
    assert deep.activation_pattern(latents(1, 3, seed=1)[0]).shape == (10,)


def test_activation_pattern_determines_local_affine():
    """Points with the same pattern share one affine piece (A, c)."""
    net = random_network((2, 3, 2), 0.2, injective=False, generator=9)
    z = latents(400, 2, seed=10)
    pattern = net.activation_pattern(z)
    a, c = net.local_affine(z)
    for row in range(1, 400):
        if torch.equal(pattern[row], pattern[0]):
            torch.testing.assert_close(a[row], a[0], rtol=1e-14, atol=1e-14)
            torch.testing.assert_close(c[row], c[0], rtol=1e-14, atol=1e-14)
    distinct = {tuple(p.tolist()) for p in pattern}
    assert len(distinct) > 1


# ---------------------------------------------------------------------------------- torch I/O
@given(networks(max_in_dim=3, max_depth=4), seeds)
def test_torch_round_trip_is_exact(net, seed):
    module = net.to_torch()
    back = LeakyReLUNetwork.from_torch(module)
    assert back.widths == net.widths
    assert back.slopes == net.slopes
    assert all(torch.equal(a, b) for a, b in zip(back.weights, net.weights))
    assert all(torch.equal(a, b) for a, b in zip(back.biases, net.biases))
    z = latents(32, net.in_dim, seed)
    assert torch.equal(back(z), net(z))
    with torch.no_grad():
        torch_out = module(z)
    scale = 1.0 + float(torch_out.abs().max())
    assert float((torch_out - net(z)).abs().max()) <= 1e-13 * scale


def test_to_torch_module_types():
    net = random_network((2, 3, 4, 5, 6), [0.0, 0.5, 1.5], generator=1, injective=False)
    module = net.to_torch()
    kinds = [type(layer) for layer in module]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.LeakyReLU, nn.Linear, nn.LeakyReLU, nn.Linear]
    assert module[3].negative_slope == 0.5 and module[5].negative_slope == 1.5
    assert all(p.dtype == F64 for p in module.parameters())
    assert all(p.dtype == torch.float32 for p in net.to_torch(dtype=torch.float32).parameters())


def test_from_torch_reads_a_float32_module():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(3, 6), nn.LeakyReLU(0.1), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2))
    net = LeakyReLUNetwork.from_torch(module)
    assert net.dtype == F64 and net.widths == (3, 6, 4, 2) and net.slopes == (pytest.approx(0.1), 0.0)
    z = latents(40, 3, seed=1).float()
    with torch.no_grad():
        torch.testing.assert_close(net(z.double()).float(), module(z), rtol=1e-5, atol=1e-5)


def test_from_torch_without_bias_and_single_linear():
    linear = nn.Linear(3, 2, bias=False, dtype=F64)
    net = LeakyReLUNetwork.from_torch(linear)
    assert net.depth == 1
    assert torch.equal(net.biases[0], torch.zeros(2, dtype=F64))
    assert torch.equal(net.weights[0], linear.weight.detach())


def test_from_torch_names_unsupported_module():
    module = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"module\[1\].*Tanh"):
        LeakyReLUNetwork.from_torch(module)
    with pytest.raises(ValueError, match=r"module\[2\].*Sigmoid"):
        LeakyReLUNetwork.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sigmoid()))


def test_from_torch_rejects_bad_layouts():
    with pytest.raises(ValueError, match=r"module\[1\]"):
        LeakyReLUNetwork.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)))
    with pytest.raises(ValueError, match=r"module\[0\]"):
        LeakyReLUNetwork.from_torch(nn.Sequential(nn.ReLU(), nn.Linear(2, 3)))
    with pytest.raises(ValueError, match=r"module\[2\]"):
        LeakyReLUNetwork.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.ReLU()))
    with pytest.raises(ValueError, match="module"):
        LeakyReLUNetwork.from_torch(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="module"):
        LeakyReLUNetwork.from_torch(nn.Tanh())


@pytest.mark.parametrize("activation", [nn.LeakyReLU(0.3), nn.ReLU()])
def test_from_torch_keeps_trailing_activation_exactly(activation):
    linear = nn.Linear(3, 5, dtype=F64)
    module = nn.Sequential(nn.Identity(), linear, activation)
    net = LeakyReLUNetwork.from_torch(module)
    assert net.widths == (3, 5, 5)
    assert torch.equal(net.weights[1], torch.eye(5, dtype=F64))
    assert torch.equal(net.biases[1], torch.zeros(5, dtype=F64))
    slope = activation.negative_slope if isinstance(activation, nn.LeakyReLU) else 0.0
    assert net.slopes == (slope,)
    z = latents(200, 3, seed=3)
    pre = z @ linear.weight.detach().T + linear.bias.detach()
    assert torch.equal(net(z), torch.where(pre >= 0, pre, slope * pre))
    with torch.no_grad():
        torch.testing.assert_close(net(z), module(z), rtol=1e-15, atol=1e-15)
    # The output is clipped exactly where the activation is: ReLU outputs are >= 0.
    if slope == 0.0:
        assert bool((net(z) >= 0).all())


def test_from_torch_per_layer_slopes_round_trip():
    net = random_network((2, 3, 4, 5), [0.2, 1.7], generator=0)
    back = LeakyReLUNetwork.from_torch(net.to_torch())
    assert back.slopes == (0.2, 1.7)
    assert back.negative_slope == (0.2, 1.7)


# ---------------------------------------------------------------------------------- attributes
def test_attributes_are_copies_and_shapes():
    net = random_network((2, 4, 3), 0.2, injective=False, generator=0)
    assert net.in_dim == 2 and net.out_dim == 3 and net.widths == (2, 4, 3) and net.depth == 2
    assert [tuple(w.shape) for w in net.weights] == [(4, 2), (3, 4)]
    z = latents(5, 2, seed=1)
    before = net(z)
    net.weights[0].zero_()
    net.biases[0].zero_()
    assert torch.equal(net(z), before)


def test_float32_network_agrees_with_float64():
    net = random_network((3, 8, 8, 6), 0.2, injective=False, generator=4)
    z = latents(100, 3, seed=5)
    net32 = net.to(dtype=torch.float32)
    assert net32.dtype == torch.float32
    out32 = net32(z.float())
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), net(z), rtol=1e-5, atol=1e-4)
    a32, _ = net32.local_affine(z.float())
    a64, _ = net.local_affine(z)
    torch.testing.assert_close(a32.double(), a64, rtol=1e-5, atol=1e-5)
    assert math.isclose(net32.default_inverse_rtol(), math.sqrt(torch.finfo(torch.float32).eps))


@pytest.mark.slow
def test_inverse_round_trip_long_sweep():
    """20000 seeded injective networks, wider and deeper than the default sweep."""
    for seed in range(20_000):
        gen = torch.Generator().manual_seed(seed)
        m = int(torch.randint(1, 7, (), generator=gen))
        depth = int(torch.randint(1, 6, (), generator=gen))
        widths = [m]
        for _ in range(depth):
            widths.append(widths[-1] + int(torch.randint(0, 5, (), generator=gen)))
        slopes = (0.05 + 2.95 * torch.rand(depth - 1, generator=gen, dtype=F64)).tolist()
        net = random_network(widths, slopes, max_condition=20.0, generator=gen)
        error = relative_inverse_error(net, latents(64, m, seed + 100_000))
        assert error <= INVERSE_RTOL, f"seed {seed}: widths {widths}, slopes {slopes}, error {error:.3g}"
