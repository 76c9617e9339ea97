"""verify.report: every assumption of every registered result with its evidence, and what follows."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from models import GaussianMixture, LeakyReLUNetwork, random_model, random_network
from verify import report
from verify.theorems import REGISTRY

DIAGONAL_PRIOR = GaussianMixture([0.3, 0.7], [[0.0, 0.0], [1.5, 1.0]], [[[1.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [0.0, 1.5]]])


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def injective_report():
    return report(random_model(latent_dim=2, observed_dim=5, hidden=(4,), n_components=3, generator=0))


def test_every_result_and_assumption_is_reported(injective_report):
    rep = injective_report
    assert [t.id for t in rep.theorems] == list(REGISTRY)
    for t in rep.theorems:
        registry_paths = {path for _, path in REGISTRY[t.id].assumptions}
        assert registry_paths <= {a.check for a in t.assumptions}
        assert all(a.verdict in ("holds", "fails", "unknown") and a.evidence for a in t.assumptions)
    assert {"T1", "T1'", "T2", "T4.S3"} <= set(rep.applies())
    assert rep.theorem("T3").verdict == "does not apply" and rep.theorem("T3").reason == "the prior is not N(0, I)"
    assert rep.theorem("T5").verdict == "undecided"
    text = _flat(rep.text())
    for theorem in REGISTRY.values():
        assert f"{theorem.id} {theorem.title} —" in text
    assert "T1, T1' and T2 apply" in text and "T3 does not apply: the prior is not N(0, I)" in text


def test_json_carries_every_witness_and_html_renders(injective_report):
    data = injective_report.to_dict()
    json.dumps(data, allow_nan=False)
    injective = data["checks"]["verify.injectivity.check_injective"]
    assert injective["verdict"] == "holds" and "min_sigma_ratio" in injective["witness"]
    assert data["theorems"][0]["assumptions"][0]["evidence"]
    html = injective_report._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "applies" in html


def test_the_issue_prior_passes_s1_and_s3_and_fails_t3():
    rep = report(random_network((2, 6, 6), 0.2, injective=True, generator=1), DIAGONAL_PRIOR)
    assert rep.theorem("T4.S1").verdict == "applies" and rep.theorem("T4.S3").verdict == "applies"
    assert rep.theorem("T3").verdict == "does not apply"
    summary = rep.summary()
    assert "T4.S1's prior assumption holds, so the latents are identified up to permutation and scaling" in summary
    assert "T3 does not apply: the prior is not N(0, I)" in summary


def test_a_collision_is_printed_with_its_witness():
    net = random_network((2, 3, 3), 0.0, injective=False, generator=3)
    rep = report(net, DIAGONAL_PRIOR)
    assert rep.theorem("T2").verdict == "does not apply" and rep.theorem("T1").verdict == "applies"
    text = _flat(rep.text())
    assert "collision: f(z1) = f(z2) with z1 = (" in text and "‖f(z1) − f(z2)‖ = " in text
    failed = {(tid, a.name) for tid, a in rep.failures(["T2"])}
    assert failed == {("T2", "f injective (layerwise full column rank, slopes > 0)")}
    witness = rep.to_dict()["checks"]["verify.injectivity.check_injective"]["witness"]
    assert len(witness) == 2 and len(witness[0]) == 2


def test_smooth_decoders_are_not_piecewise_affine_with_a_witness():
    torch.manual_seed(0)
    rep = report(nn.Sequential(nn.Linear(2, 6), nn.ELU(), nn.Linear(6, 5)), DIAGONAL_PRIOR)
    assert all(t.verdict == "does not apply" for t in rep.theorems)
    pa = rep.theorem("T1").assumptions[0]
    assert pa.verdict == "fails" and "second difference" in pa.evidence and "ELU" in pa.evidence
    assert isinstance(pa.result.witness, dict) and "z" in pa.result.witness
    assert rep.theorem("T2").verdict == "does not apply"


def test_a_final_sigmoid_keeps_injectivity_and_says_what_the_results_speak_of():
    torch.manual_seed(0)
    rep = report(nn.Sequential(nn.Linear(2, 6), nn.LeakyReLU(0.2), nn.Linear(6, 6), nn.Sigmoid()), DIAGONAL_PRIOR)
    assert rep.decoder.kind == "squashed"
    assert rep.theorem("T1").verdict == "applies"
    assert rep.summary().startswith("For the observations mapped back through the decoder's final Sigmoid")
    whole = next(r for r in rep.decoder_checks if r.name == "piecewise_affine")
    assert whole.holds is False  # the decoder with its Sigmoid is not piecewise affine


def test_without_a_prior_its_assumptions_are_unknown():
    rep = report(random_network((2, 4, 4), 0.2, injective=True, generator=0))
    assert rep.theorem("T1").verdict == "undecided" and "no prior is given" in rep.theorem("T1").reason
    assert rep.box == 3.0 and rep.box_mass is None


def test_data_give_latents_noise_and_scores():
    model = random_model(latent_dim=2, observed_dim=5, hidden=(4,), n_components=3, generator=0)
    z, x = model.sample(600, generator=1)
    clean = report(model, data=x, z_true=z, theorems=["T1"])
    assert clean.data["on_image"] == 600 and clean.estimate.exact and "layerwise inverse" in clean.estimate.method
    assert clean.scores["affine_mcc"]["value"] > 1 - 1e-9
    noisy = x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2), dtype=x.dtype)
    rep = report(model, data=noisy, z_true=z, theorems=["T1"])
    assert 0.03 < rep.data["residual_rms"] < 0.06 and "off the decoder's image" in rep.data["text"]
    assert rep.scores["affine_r2"]["value"] > 0.95
    with pytest.raises(ValueError, match="z_true: the true latents of data"):
        report(model, z_true=z)


# ---------------------------------------------------------------------------- figures
@pytest.fixture
def captured(monkeypatch):
    pytest.importorskip("matplotlib")
    import verify.report_figures as figures

    drawn = []
    monkeypatch.setattr(figures, "save_atomic", lambda figure, path: drawn.append(figure) or path)
    return drawn


def test_the_regions_picture_answers_on_the_checked_box(captured):
    net = random_network((2, 3, 3), 0.0, injective=False, generator=3)
    rep = report(net, DIAGONAL_PRIOR, box=2.0, generator=5)
    rep.plot("unused")
    regions, density = captured
    ax = regions.axes[0]
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-2.0, 2.0)
    assert len(regions.axes) == 2  # the colour bar
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("prior" in label for label in labels) and any("prior samples" in label for label in labels)
    assert "collision f(z1) = f(z2)" in labels and any("rank-deficient" in label for label in labels)
    assert "a LeakyReLUNetwork" in ax.get_title() and "seed 5" in ax.get_title() and "[-2, 2]" in ax.get_title()
    assert "x1 and x2" in density._suptitle.get_text()


def test_the_density_picture_names_two_coordinates_for_n_above_two(captured):
    rep = report(random_model(latent_dim=2, observed_dim=5, hidden=(4,), n_components=2, generator=2), theorems=["T1"])
    rep.plot("unused")
    title = captured[1]._suptitle.get_text()
    assert "the two coordinates of largest variance" in title and "R^5" in title
    from verify.report_figures import plot_report_density

    plot_report_density(rep, "unused", coords=(0, 3))
    assert "x1 and x4 (the coordinates asked for)" in captured[2]._suptitle.get_text()
    with pytest.raises(ValueError, match="coords"):
        plot_report_density(rep, "unused", coords=(0, 9))


def test_pictures_for_one_and_three_latent_dimensions(captured):
    one = LeakyReLUNetwork([torch.tensor([[1.0], [-1.0]]), torch.tensor([[1.0, 1.0]])], [torch.zeros(2), torch.zeros(1)], 0.0)
    prior = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [[[1.0]], [[1.0]]])
    report(one, prior, theorems=["T2"]).plot("unused")
    assert "collision f(z1) = f(z2)" in [t.get_text() for t in captured[0].axes[0].get_legend().get_texts()]
    three = random_network((3, 4, 4), 0.2, injective=True, generator=0)
    report(three, theorems=["T1"]).plot("unused")
    assert "the plane of z1, z2 through the prior mean" in captured[2].axes[0].get_title()


def test_plots_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    rep = report(random_model(latent_dim=2, observed_dim=3, hidden=(3,), n_components=2, generator=4), theorems=["T1"])
    paths = rep.plot(tmp_path / "figures")
    assert [p.name for p in paths] == ["regions.png", "density.png"] and all(p.stat().st_size > 10_000 for p in paths)
