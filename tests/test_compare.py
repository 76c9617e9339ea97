"""verify.compare: learned against true latents, and the distance to affine equivalence, with or without a layerwise inverse."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from models import AffineMap, GenerativeModel, LeakyReLUNetwork, NotInjectiveError, random_model
from verify import check_affine_equivalence, compare
from verify.compare import estimate_latents, latent_scores

H = AffineMap(torch.tensor([[2.0, 1.0], [0.0, 1.0]], dtype=torch.float64), torch.tensor([1.0, -0.5], dtype=torch.float64))


@pytest.fixture(scope="module")
def truth():
    return random_model(latent_dim=2, observed_dim=5, hidden=(4,), n_components=3, generator=0)


def _widen_then_narrow(network: LeakyReLUNetwork, slope: float = 0.2) -> LeakyReLUNetwork:
    """The same function through z -> σ([I; -I] z) -> [I, -I] / (1 + s) (σ(u) − σ(−u) = (1 + s) u): injective, but
    its second layer has rank m < 2m columns, so there is no layerwise inverse."""
    eye = torch.eye(network.in_dim, dtype=torch.float64)
    w, b = network.weights, network.biases
    weights = [torch.cat([eye, -eye]), w[0] @ torch.cat([eye, -eye], dim=1) / (1 + slope), *w[1:]]
    biases = [torch.zeros(2 * network.in_dim, dtype=torch.float64), *b]
    return LeakyReLUNetwork(weights, biases, [slope, *network.slopes])


def test_an_affine_reparametrisation_is_at_distance_zero(truth):
    result = compare(truth.reparametrize(H), truth, n=600, n_bootstrap=30)
    assert result.estimate.exact and "layerwise inverse" in result.estimate.method
    for name in ("affine_mcc", "affine_r2"):
        assert result.scores[name]["value"] > 1 - 1e-9
        assert result.scores[name]["low"] <= result.scores[name]["value"] <= result.scores[name]["high"] + 1e-12
    assert result.fit.relative_residual < 1e-9
    torch.testing.assert_close(result.h.matrix, H.matrix, atol=1e-8, rtol=0)
    assert result.prior_error["parameter_error"] < 1e-6 and result.decoder_error["max"] < 1e-9
    text = result.text()
    assert "affine MCC" in text and "h: A = " in text and "decoder: ‖f − f'∘h‖ on the box" in text


def test_decoders_without_a_layerwise_inverse_are_compared(truth):
    learned = GenerativeModel(_widen_then_narrow(truth.decoder).precompose(H.inverse()), truth.prior.affine(H))
    with pytest.raises(ValueError):  # NotInjectiveError, or the infinite condition bound of a rank-deficient layer
        check_affine_equivalence(truth, learned)
    with pytest.raises(NotInjectiveError):
        learned.decoder.inverse(learned.decoder(torch.zeros(1, 2, dtype=torch.float64)))
    result = compare(learned, truth, n=400, n_bootstrap=20)
    assert bool(result.estimate.on_image.all()) and "least squares through the local affine pieces" in result.estimate.method
    assert "all preimages listed exactly (verify.injectivity.preimages)" in result.estimate.method
    assert result.estimate.non_unique == []
    assert result.scores["affine_mcc"]["value"] > 1 - 1e-8 and result.decoder_error["max"] < 1e-8
    assert result.prior_error["parameter_error"] < 1e-6


def test_non_unique_preimages_are_found_and_named():
    fold = LeakyReLUNetwork([torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]),
                             torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0], [1.0, 1.0, 1.0, -1.0]])],
                            [torch.zeros(4), torch.zeros(3)], 0.0)  # (|z1|, z2, |z1| + z2)
    x = fold(torch.tensor([[1.0, 0.5], [-2.0, 1.0]], dtype=torch.float64))
    estimate = estimate_latents(fold, x, box=3.0)
    assert bool(estimate.on_image.all()) and not estimate.exact
    assert len(estimate.non_unique) == 2 and all(item["preimages"].shape == (2, 2) for item in estimate.non_unique)


def test_off_image_points_get_a_stated_approximation(truth):
    torch.manual_seed(0)
    smooth = nn.Sequential(nn.Linear(2, 8), nn.ELU(), nn.Linear(8, 5))
    result = compare((smooth, truth.prior), truth, n=300, n_bootstrap=10)
    assert result.estimate.method.startswith("approximate: Gauss–Newton") and not result.estimate.exact
    z, x = truth.sample(300, generator=3)
    noisy = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(4), dtype=x.dtype)
    estimate = estimate_latents(truth.decoder, noisy, box=8.0)
    assert not bool(estimate.on_image.any()) and "approximate" in estimate.method
    assert float((estimate.z - z).norm(dim=1).median()) < 0.5


def test_given_latents_and_scores(truth):
    z = truth.prior.sample(300, torch.Generator().manual_seed(0))
    result = compare(truth, truth, z_true=z, z_learned=H(z), n_bootstrap=0)
    assert result.estimate is None and result.scores["affine_mcc"]["value"] > 1 - 1e-9
    assert math.isnan(result.scores["mcc"]["low"])
    with pytest.raises(ValueError, match="z_learned: expected 300 rows"):
        latent_scores(z, z[:10])
    with pytest.raises(ValueError, match="n_bootstrap"):
        latent_scores(z, z, n_bootstrap=-1)
    with pytest.raises(ValueError, match="true_prior: needed"):
        compare(truth.decoder, truth.decoder)


def test_the_latent_scatter(truth, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import verify.report_figures as figures

    result = compare(truth.reparametrize(H), truth, n=300, n_bootstrap=5, generator=7)
    path = figures.plot_latent_scatter(result, tmp_path)
    assert path.name == "latents.png" and path.stat().st_size > 10_000
    drawn = []
    monkeypatch.setattr(figures, "save_atomic", lambda figure, p: drawn.append(figure) or p)
    figures.plot_latent_scatter(result, tmp_path)
    assert len(drawn[0].axes) == 6 and "seed 7" in drawn[0]._suptitle.get_text()
