"""models.io: decoders and priors read safely from what users save, every layer accounted for."""

from __future__ import annotations

import builtins
import json
import math
import pickle

import pytest
import torch
from torch import nn

from models import LeakyReLUNetwork
from models.io import LoadedDecoder, SmoothDecoder, SquashedNetwork, load_decoder, load_prior, read_module
from models.io.spec import build_from_spec

Z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _seeded(module: nn.Module, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    for p in module.parameters():
        with torch.no_grad():
            p.copy_(torch.randn_like(p) * 0.7)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm1d):
            with torch.no_grad():
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
        if isinstance(m, nn.PReLU):
            with torch.no_grad():
                m.weight.uniform_(0.05, 0.5)
    return module.eval()


def _agrees(loaded: LoadedDecoder, module: nn.Module, z=Z, tol=1e-5) -> bool:
    with torch.no_grad():
        expected = module.double()(z)
    module.float()
    return float((loaded(z) - expected).abs().max()) <= tol * (1 + float(expected.abs().max()))


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.decoder = nn.Sequential(nn.Linear(2, 6), nn.LeakyReLU(0.2), nn.Linear(6, 5))
        self.encoder = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 4))


# ---------------------------------------------------------------------------- state dicts
def test_whole_vae_state_dict_is_ambiguous_and_lists_candidates(tmp_path):
    path = tmp_path / "vae.pt"
    vae = _seeded(VAE())
    torch.save(vae.state_dict(), path)
    with pytest.raises(ValueError, match=r"decoder: .*decoder \(2→6→5\), encoder \(5→6→4\).*--module"):
        load_decoder(path, negative_slope=0.2)
    loaded = load_decoder(path, module="decoder", negative_slope=0.2)
    assert loaded.module == "decoder" and loaded.in_dim == 2 and loaded.out_dim == 5
    assert _agrees(loaded, vae.decoder)
    with pytest.raises(ValueError, match="module: the file has no submodule 'decode'"):
        load_decoder(path, module="decode", negative_slope=0.2)


def test_named_layers_are_read_in_the_order_given(tmp_path):
    body, head = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 6)), nn.Linear(6, 5)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = body, head

    path = tmp_path / "net.pt"
    net = _seeded(Net())
    torch.save(net.state_dict(), path)
    with pytest.raises(ValueError, match=r"body \(2→6→6\), head \(6→5\).*--module a,b"):
        load_decoder(path, negative_slope=0.1)
    loaded = load_decoder(path, module="body,head", negative_slope=[0.1, 0.3])
    assert loaded.decoder.slopes == (0.1, 0.3)
    reference = nn.Sequential(body[0], nn.LeakyReLU(0.1), body[2], nn.LeakyReLU(0.3), head)
    assert _agrees(loaded, reference)


def test_parts_that_are_not_numbers_no_longer_share_an_index(tmp_path):
    # Before: "a.0.weight" and "b.0.weight" both mapped to (-1, 0) and were merged or reordered.
    state = {"a.0.weight": torch.randn(3, 2), "a.0.bias": torch.randn(3), "b.0.weight": torch.randn(4, 3), "b.0.bias": torch.randn(4)}
    path = tmp_path / "two.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"a \(2→3\), b \(3→4\)"):
        load_decoder(path, negative_slope=0.0)
    loaded = load_decoder(path, module="a,b", negative_slope=0.0)
    assert loaded.decoder.widths == (2, 3, 4)


def test_nested_sequential_state_dict_and_prefix_are_read(tmp_path):
    inner = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.2), nn.Linear(4, 4))
    module = _seeded(nn.Sequential(inner, nn.LeakyReLU(0.2), nn.Linear(4, 3)))

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = module

    path = tmp_path / "nested.pt"
    torch.save(Holder().state_dict(), path)  # net.0.0.weight, net.0.2.weight, net.2.weight
    loaded = load_decoder(path, negative_slope=0.2)
    assert loaded.module == "net" and loaded.decoder.widths == (2, 4, 4, 3)
    assert _agrees(loaded, module)


def test_state_dict_activations_are_given_not_read(tmp_path):
    # An ELU decoder's state dict looks like a leaky-ReLU one: the result must say the activations were given.
    elu = _seeded(nn.Sequential(nn.Linear(2, 6), nn.ELU(), nn.Linear(6, 5), nn.Sigmoid()))
    path = tmp_path / "elu.pt"
    torch.save(elu.state_dict(), path)
    loaded = load_decoder(path, negative_slope=0.2)
    assert loaded.activations_given and "not read from the file" in loaded.activations
    assert any("given, not read" in w for w in loaded.warnings)
    assert any("LeakyReLU(0.2) (given" in layer for layer in loaded.layers)
    with pytest.raises(ValueError, match="negative_slope: a state dict does not record its activations.*--negative-slope"):
        load_decoder(path)
    spec = {"layers": [{"type": "linear", "name": "0"}, {"type": "elu"}, {"type": "linear", "name": "2"}, {"type": "sigmoid"}]}
    described = load_decoder(path, spec=spec)
    assert described.kind == "smooth" and _agrees(described, elu)
    assert "architecture spec" in described.activations


def test_batchnorm_dropout_and_prelu_in_a_state_dict(tmp_path):
    module = _seeded(nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6), nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Linear(6, 6),
                                   nn.PReLU(6), nn.Linear(6, 5)))
    path = tmp_path / "bn.pt"
    torch.save(module.state_dict(), path)
    loaded = load_decoder(path, negative_slope=0.2)
    assert loaded.piecewise_affine and _agrees(loaded, module)
    assert any("BatchNorm1d(6) in eval mode" in layer for layer in loaded.layers)
    assert any("PReLU (6 slopes, read from the file)" in layer for layer in loaded.layers)
    assert any("doubling its width" in note for note in loaded.layers)
    assert any("eps" in w for w in loaded.warnings)


def test_checkpoint_with_a_state_dict_entry(tmp_path):
    module = _seeded(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4)))
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "state_dict": module.state_dict()}, path)
    loaded = load_decoder(path, negative_slope="0")
    assert "checkpoint" in loaded.format and _agrees(loaded, module)


def test_bad_state_dict_entries_are_named(tmp_path):
    path = tmp_path / "conv.pt"
    torch.save({"0.weight": torch.randn(3, 2, 3, 3), "0.bias": torch.randn(3)}, path)
    with pytest.raises(ValueError, match="convolutions"):
        load_decoder(path, negative_slope=0.2)
    torch.save({"0.weight": torch.randn(4, 2), "1.weight": torch.randn(4), "1.bias": torch.randn(4), "2.weight": torch.randn(3, 4)},
               path)
    with pytest.raises(ValueError, match="LayerNorm"):
        load_decoder(path, negative_slope=0.2)
    with pytest.raises(ValueError, match="negative_slope: expected one slope per hidden layer"):
        load_decoder(_two_layers(tmp_path), negative_slope="0.1,0.2")
    with pytest.raises(ValueError, match="negative_slope: expected finite slopes"):
        load_decoder(_two_layers(tmp_path), negative_slope="-1")


def _two_layers(tmp_path):
    path = tmp_path / "two_layers.pt"
    torch.save(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3)).state_dict(), path)
    return path


# ---------------------------------------------------------------------------- modules
def test_pickled_modules_need_the_opt_in_and_are_read_with_their_layers(tmp_path):
    module = _seeded(nn.Sequential(nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6)), nn.PReLU(), nn.Dropout(0.2),
                                   nn.Linear(6, 5)))
    path = tmp_path / "module.pt"
    torch.save(module, path)
    with pytest.raises(ValueError, match="allow_pickle"):
        load_decoder(path)
    with pytest.raises(ValueError, match="negative_slope: a module records its activations"):
        load_decoder(path, allow_pickle=True, negative_slope=0.2)
    loaded = load_decoder(path, allow_pickle=True)
    assert loaded.format == "pickled module" and loaded.activations == "read from the module"
    assert loaded.piecewise_affine and _agrees(loaded, module)


class Decoder(nn.Module):
    """A module subclass whose forward is a chain of layers, with functional activations."""

    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(2, 6), nn.Linear(6, 5)

    def forward(self, z):
        return self.second(torch.nn.functional.leaky_relu(self.first(z), 0.1)) * 2.0 + 1.0


def test_module_subclasses_are_traced_with_fx():
    module = _seeded(Decoder())
    loaded = read_module(module)
    assert isinstance(loaded.decoder, LeakyReLUNetwork) and loaded.decoder.slopes == (0.1,)
    assert _agrees(loaded, module)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2)

    def forward(self, z):
        return z + torch.relu(self.layer(z))


def test_a_skip_connection_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="skip connection"):
        read_module(Residual())


@pytest.mark.parametrize("activation, kind", [(nn.ELU(), "smooth"), (nn.Tanh(), "smooth"), (nn.SiLU(), "smooth"),
                                              (nn.GELU(), "smooth")])
def test_smooth_activations_are_classified_not_refused(activation, kind):
    module = _seeded(nn.Sequential(nn.Linear(2, 6), activation, nn.Linear(6, 5)))
    loaded = read_module(module)
    assert loaded.kind == kind and not loaded.piecewise_affine and loaded.network is None
    assert isinstance(loaded.decoder, SmoothDecoder) and _agrees(loaded, module)


@pytest.mark.parametrize("squash", [nn.Sigmoid(), nn.Tanh()])
def test_a_final_monotone_squashing_keeps_the_network(squash):
    module = _seeded(nn.Sequential(nn.Linear(2, 6), nn.LeakyReLU(0.2), nn.Linear(6, 5), squash))
    loaded = read_module(module)
    assert loaded.kind == "squashed" and isinstance(loaded.decoder, SquashedNetwork)
    assert isinstance(loaded.network, LeakyReLUNetwork) and _agrees(loaded, module)
    u, inside = loaded.decoder.to_network_space(loaded(Z))
    assert bool(inside.all()) and torch.allclose(u, loaded.network(Z), atol=1e-8)


# ---------------------------------------------------------------------------- formats with an architecture
def _onnx_model(path, *, with_elu=False):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    g = torch.Generator().manual_seed(1)
    w1, b1 = torch.randn(6, 2, generator=g), torch.randn(6, generator=g)
    w2, b2 = torch.randn(5, 6, generator=g), torch.randn(5, generator=g)
    scale, bias = torch.rand(6, generator=g) + 0.5, torch.randn(6, generator=g)
    mean, var = torch.randn(6, generator=g), torch.rand(6, generator=g) + 0.5
    inits = [numpy_helper.from_array(t.numpy(), name) for t, name in
             [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (scale, "s"), (bias, "t"), (mean, "m"), (var, "v")]]
    nodes = [helper.make_node("Gemm", ["z", "w1", "b1"], ["h1"], transB=1),
             helper.make_node("BatchNormalization", ["h1", "s", "t", "m", "v"], ["h2"], epsilon=1e-5),
             helper.make_node("Elu" if with_elu else "LeakyRelu", ["h2"], ["h3"], alpha=0.25 if not with_elu else 1.0),
             helper.make_node("Dropout", ["h3"], ["h4"]),
             helper.make_node("Gemm", ["h4", "w2", "b2"], ["x"], transB=1)]
    graph = helper.make_graph(nodes, "decoder", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", 2])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 5])], inits)
    onnx.save(helper.make_model(graph), str(path))
    reference = nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6), nn.ELU() if with_elu else nn.LeakyReLU(0.25), nn.Linear(6, 5))
    with torch.no_grad():
        reference[0].weight.copy_(w1), reference[0].bias.copy_(b1), reference[3].weight.copy_(w2), reference[3].bias.copy_(b2)
        reference[1].weight.copy_(scale), reference[1].bias.copy_(bias)
        reference[1].running_mean.copy_(mean), reference[1].running_var.copy_(var)
    return reference.eval()


def test_onnx_decoders_are_read_with_their_activations(tmp_path):
    path = tmp_path / "decoder.onnx"
    reference = _onnx_model(path)
    loaded = load_decoder(path)
    assert loaded.format == "ONNX" and loaded.activations == "read from the file" and loaded.piecewise_affine
    assert abs(loaded.decoder.slopes[0] - 0.25) < 1e-7 and _agrees(loaded, reference)
    with pytest.raises(ValueError, match="negative_slope: the file records its activations"):
        load_decoder(path, negative_slope=0.2)
    _onnx_model(path, with_elu=True)
    assert load_decoder(path).kind == "smooth"


def test_torch_export_programs_are_read_without_unpickling(tmp_path, monkeypatch):
    module = _seeded(nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6), nn.PReLU(), nn.Linear(6, 5), nn.Sigmoid()))
    path = tmp_path / "decoder.pt2"
    torch.export.save(torch.export.export(module, (torch.zeros(3, 2),)), path)

    def refuse(*args, **kwargs):
        raise AssertionError("the reader unpickled part of the file")

    monkeypatch.setattr(torch.export, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    loaded = load_decoder(path)
    assert loaded.format == "torch.export program" and loaded.kind == "squashed" and _agrees(loaded, module)


def test_safetensors_with_a_spec_or_with_slopes(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    module = _seeded(nn.Sequential(nn.Linear(2, 6), nn.LeakyReLU(0.2), nn.Linear(6, 5)))
    tensors = {f"decoder.{k}": v.contiguous() for k, v in module.state_dict().items()}
    tensors["encoder.weight"] = torch.randn(4, 5)
    path = tmp_path / "weights.safetensors"
    safetensors.save_file(tensors, str(path))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"layers": [{"type": "linear", "name": "decoder.0"}, {"type": "leaky_relu", "negative_slope": 0.2},
                                           {"type": "linear", "name": "decoder.2"}]}))
    loaded = load_decoder(path, spec=spec)
    assert loaded.format == "safetensors" and _agrees(loaded, module)
    assert any("not used by the spec: encoder.weight" in w for w in loaded.warnings)
    plain = load_decoder(path, module="decoder", negative_slope=0.2)
    assert _agrees(plain, module)


def test_missing_optional_packages_name_the_extra(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_formats(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.split(".")[0] in ("onnx", "safetensors"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_formats)
    (tmp_path / "d.onnx").write_bytes(b"\x00")
    with pytest.raises(ImportError, match=r"pip install 'identifiable-dgm\[formats\]'"):
        load_decoder(tmp_path / "d.onnx")
    (tmp_path / "d.safetensors").write_bytes(b"\x00")
    with pytest.raises(ImportError, match=r"pip install 'identifiable-dgm\[formats\]'"):
        load_decoder(tmp_path / "d.safetensors")


def test_spec_errors_name_the_layer():
    tensors = {"w": torch.randn(3, 2)}
    with pytest.raises(ValueError, match=r"spec: layers\[1\]"):
        build_from_spec(tensors, {"layers": [{"type": "linear", "weight": "w", "bias": None}, {"type": "swish"}]}, source="s",
                        format="safetensors")
    with pytest.raises(ValueError, match="names the tensor 'v'"):
        build_from_spec(tensors, {"layers": [{"type": "linear", "weight": "v"}]}, source="s", format="safetensors")


# ---------------------------------------------------------------------------- priors
def test_float32_softmax_weights_are_renormalised_and_reported(tmp_path):
    g = torch.Generator().manual_seed(0)
    weights = torch.softmax(torch.randn(11, generator=g), 0).tolist()  # float32: the sum misses 1 by a few ulps
    spec = {"weights": weights, "means": torch.randn(11, 2, generator=g).tolist(), "variances": (torch.rand(11, 2, generator=g) + 0.5).tolist()}
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(spec))
    loaded = load_prior(path, latent_dim=2)
    assert math.isclose(float(loaded.prior.weights.sum()), 1.0, rel_tol=0, abs_tol=1e-15)
    assert loaded.prior.n_components == 11 and "diagonal covariances (variances)" in loaded.notes
    if abs(sum(weights) - 1.0) > 0:
        assert any("renormalised" in n for n in loaded.notes)
    torch.testing.assert_close(torch.diagonal(loaded.prior.covariances, dim1=-2, dim2=-1), torch.tensor(spec["variances"], dtype=torch.float64))
    spec["weights"] = [w * 1.01 for w in weights]
    path.write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="prior: weights: expected weights summing to 1"):
        load_prior(path)
    with pytest.raises(ValueError, match="prior: dimension 2 does not match"):
        load_prior({"weights": [1.0], "means": [[0.0, 0.0]], "variances": [[1.0, 1.0]]}, latent_dim=3)


def test_the_weights_of_the_issue_are_accepted():
    loaded = load_prior({"weights": [0.3, 0.69999993], "means": [[0, 0], [1, 1]], "covariances": [[[1, 0], [0, 1]], [[2, 0], [0, 1]]]})
    assert any("renormalised" in n for n in loaded.notes)


def test_priors_from_torch_distributions():
    D = torch.distributions
    g = torch.Generator().manual_seed(0)
    logits, means, scales = torch.randn(3, generator=g), torch.randn(3, 2, generator=g), torch.rand(3, 2, generator=g) + 0.5
    diagonal = D.MixtureSameFamily(D.Categorical(logits=logits), D.Independent(D.Normal(means, scales), 1))
    loaded = load_prior(diagonal)
    z = torch.randn(20, 2, generator=g)
    torch.testing.assert_close(loaded.prior.log_prob(z.double()), diagonal.log_prob(z).double(), rtol=1e-5, atol=1e-5)
    full = D.MixtureSameFamily(D.Categorical(logits=logits), D.MultivariateNormal(means, torch.diag_embed(scales**2)))
    torch.testing.assert_close(load_prior(full).prior.covariances, loaded.prior.covariances, rtol=1e-6, atol=1e-6)
    single = load_prior(D.MultivariateNormal(torch.zeros(2), torch.eye(2)))
    assert single.prior.n_components == 1
