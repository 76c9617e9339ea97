"""CPU and CUDA give the same numbers (the CPU path is the reference).

Every test is marked ``cuda``; tests/conftest.py skips them where no CUDA device exists.
Random numbers come from CPU generators or seeds, so both devices see the same draws.
"""

from __future__ import annotations

import pytest
import torch

from models import AffineMap, GenerativeModel, LeakyReLUNetwork, random_gmm, random_model, random_network

pytestmark = pytest.mark.cuda

F64 = torch.float64
DEVICE = "cuda"
RTOL = ATOL = 1e-12  # float64 on both devices; only the summation order differs


def latents(n: int, dim: int, seed: int) -> torch.Tensor:
    return 3.0 * torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=F64)


def assert_same(on_device: torch.Tensor, on_cpu: torch.Tensor, rtol: float = RTOL, atol: float = ATOL) -> None:
    assert on_device.device.type == torch.device(DEVICE).type
    torch.testing.assert_close(on_device.cpu(), on_cpu, rtol=rtol, atol=atol)


@pytest.fixture(params=[((3, 8, 8, 9), 0.2, True), ((2, 6, 6, 6, 7), [0.1, 1.5, 0.7], True), ((4, 16, 3), 0.0, False)], ids=["injective", "per-layer", "relu"])
def network_pair(request):
    widths, slope, injective = request.param
    net = random_network(widths, slope, injective=injective, generator=1)
    return net, net.to(DEVICE)


def test_network_lives_on_the_device(network_pair):
    _, gpu = network_pair
    assert gpu.device.type == torch.device(DEVICE).type
    assert all(w.device.type == gpu.device.type for w in gpu.weights)


def test_forward(network_pair):
    cpu, gpu = network_pair
    z = latents(1000, cpu.in_dim, seed=2)
    assert_same(gpu(z.to(DEVICE)), cpu(z))
    assert torch.equal(gpu.activation_pattern(z.to(DEVICE)).cpu(), cpu.activation_pattern(z))


def test_local_affine(network_pair):
    cpu, gpu = network_pair
    z = latents(1000, cpu.in_dim, seed=3)
    a_gpu, c_gpu = gpu.local_affine(z.to(DEVICE))
    a_cpu, c_cpu = cpu.local_affine(z)
    assert_same(a_gpu, a_cpu)
    assert_same(c_gpu, c_cpu)


def test_inverse():
    cpu = random_network((3, 5, 7), 0.3, generator=4)
    gpu = cpu.to(DEVICE)
    z = latents(500, 3, seed=5)
    x = cpu(z)
    x[::7] += 0.1  # some points off the image
    z_cpu, on_cpu = cpu.inverse(x, return_on_image=True)
    z_gpu, on_gpu = gpu.inverse(x.to(DEVICE), return_on_image=True)
    assert torch.equal(on_gpu.cpu(), on_cpu)
    assert not bool(on_cpu.all()) and bool(on_cpu.any())
    assert_same(z_gpu[on_gpu], z_cpu[on_cpu], rtol=1e-10, atol=1e-10)
    assert bool(torch.isnan(z_gpu[~on_gpu]).all())


def test_mixture_log_prob():
    cpu = random_gmm(3, 4, generator=6)
    gpu = cpu.to(DEVICE)
    z = latents(1000, 3, seed=7) * 5
    assert_same(gpu.log_prob(z.to(DEVICE)), cpu.log_prob(z))
    assert_same(gpu.mean(), cpu.mean())
    assert_same(gpu.covariance(), cpu.covariance())
    h = AffineMap(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 3.0]], dtype=F64), torch.ones(3, dtype=F64))
    assert_same(gpu.affine(h).log_prob(z.to(DEVICE)), cpu.affine(h).log_prob(z))


def test_model_log_prob_and_reparametrize():
    cpu = random_model(2, 5, hidden=(3, 4), n_components=3, generator=8)
    gpu = cpu.to(DEVICE)
    z = cpu.prior.sample(500, generator=9)
    x = cpu.decoder(z)
    assert_same(gpu.log_prob(x.to(DEVICE)), cpu.log_prob(x), rtol=1e-10, atol=1e-10)
    h = AffineMap(torch.tensor([[2.0, 1.0], [0.0, -1.0]], dtype=F64), torch.tensor([0.5, 1.0], dtype=F64))
    assert_same(gpu.reparametrize(h).log_prob(x.to(DEVICE)), cpu.log_prob(x), rtol=1e-9, atol=1e-9)


def test_mixture_sampling_with_cpu_generator():
    cpu = random_gmm(3, 3, generator=10)
    gpu = cpu.to(DEVICE)
    z_cpu, labels_cpu = cpu.sample(2000, generator=torch.Generator().manual_seed(11), return_labels=True)
    z_gpu, labels_gpu = gpu.sample(2000, generator=torch.Generator().manual_seed(11), return_labels=True)
    assert torch.equal(labels_gpu.cpu(), labels_cpu)
    assert_same(z_gpu, z_cpu)
    assert_same(gpu.sample(100, generator=12), cpu.sample(100, generator=12))


def test_model_sampling_with_cpu_generator():
    cpu = random_model(2, 4, hidden=(3,), noise_scale=0.2, generator=13)
    gpu = cpu.to(DEVICE)
    z_cpu, x_cpu = cpu.sample(1000, generator=14)
    z_gpu, x_gpu = gpu.sample(1000, generator=14)
    assert_same(z_gpu, z_cpu)
    assert_same(x_gpu, x_cpu)


def test_factories_on_the_device_draw_the_same_numbers():
    net_gpu = random_network((2, 4, 5), 0.3, generator=15, device=DEVICE)
    net_cpu = random_network((2, 4, 5), 0.3, generator=15)
    assert all(torch.equal(a.cpu(), b) for a, b in zip(net_gpu.weights, net_cpu.weights))
    gmm_gpu = random_gmm(3, 2, generator=16, device=DEVICE)
    gmm_cpu = random_gmm(3, 2, generator=16)
    assert gmm_gpu.device.type == torch.device(DEVICE).type
    assert torch.equal(gmm_gpu.covariances.cpu(), gmm_cpu.covariances)
    model = random_model(2, 3, generator=17, device=DEVICE)
    assert model.decoder.device.type == model.prior.device.type == torch.device(DEVICE).type
    assert isinstance(model, GenerativeModel)


def test_torch_round_trip_on_the_device(network_pair):
    cpu, gpu = network_pair
    module = gpu.to_torch()
    assert all(p.device.type == torch.device(DEVICE).type for p in module.parameters())
    back = LeakyReLUNetwork.from_torch(module)
    assert back.device.type == torch.device(DEVICE).type
    assert all(torch.equal(a.cpu(), b) for a, b in zip(back.weights, cpu.weights))
    z = latents(100, cpu.in_dim, seed=18)
    with torch.no_grad():
        assert_same(module(z.to(DEVICE)), cpu(z), rtol=1e-12, atol=1e-12)
