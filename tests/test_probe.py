"""Probe by refitting: maximum-likelihood square leaky-ReLU flows recover latents affine in the
true ones when the assumptions hold, and not when the data come from CE2's smooth decoders."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from verify import fit_affine
from verify.cli import probe as probe_command
from verify.probe import FittedFlow, fit_flow, probe
from verify.probe.data import DROPS, bent_mixture_model, probe_data

D = torch.float64


@pytest.fixture(scope="module")
def bent_1d():
    z, x = bent_mixture_model(1).sample(1500, 3)
    return z, x


@pytest.fixture(scope="module")
def bent_1d_probe(bent_1d):
    z, x = bent_1d
    return probe(x, 1, z_reference=z, n_components=2, seed=3)


def test_all_assumptions_give_affine_latents(bent_1d, bent_1d_probe):
    z, x = bent_1d
    result = bent_1d_probe
    assert result.name == "probe_affine"
    assert result.holds and result.statistic >= 0.99, result.details
    assert result.tolerance == 0.99
    # Not trivially affine: x itself is clearly not an affine image of z.
    assert fit_affine(z, x).r2 < 0.985
    assert result.details["affine_r2"] >= 0.99 and result.details["r2_forward"] >= 0.99


def test_fitted_model_is_an_exact_flow(bent_1d, bent_1d_probe):
    _, x = bent_1d
    fit = bent_1d_probe.details["fit"]
    assert isinstance(fit, FittedFlow)
    assert torch.allclose(fit.model.decoder(fit.latents(x)), x, atol=1e-9)
    # The reported likelihood is the fitted model's exact density.
    assert float(fit.model.log_prob(x).mean()) == pytest.approx(fit.log_likelihood, abs=1e-8)
    # Close to the generating model's likelihood, which it should match at the maximum.
    assert fit.log_likelihood > float(bent_mixture_model(1).log_prob(x).mean()) - 0.01


def test_smooth_decoder_gives_non_affine_latents_in_1d():
    data = probe_data("piecewise_affine_1d", 1500, 0)
    result = probe(data.x, 1, z_reference=data.z, n_components=2, seed=0)
    assert result.holds is False and result.statistic < 0.9
    assert set(result.witness) == {"z_reference", "z_fitted"}


def test_smooth_decoder_gives_non_affine_latents_in_2d():
    data = probe_data("piecewise_affine", 1500, 0)
    result = probe(data.x, 2, z_reference=data.z, n_components=1, seed=0, n_candidates=60, steps=200)
    assert result.holds is False and result.statistic < 0.2


def test_without_reference_two_fits_are_compared(bent_1d):
    _, x = bent_1d
    result = probe(x, 1, n_components=2, seed=3, n_candidates=120, steps=300)
    assert result.details["compared_with"] == "a second fit (seed + 1)"
    assert result.holds, result.details


def test_fit_is_reproducible(bent_1d):
    _, x = bent_1d
    a = fit_flow(x[:400], 1, seed=5, n_candidates=20, n_starts=2, start_steps=10, keep=1, steps=20)
    b = fit_flow(x[:400], 1, seed=5, n_candidates=20, n_starts=2, start_steps=10, keep=1, steps=20)
    assert a.log_likelihood == b.log_likelihood
    assert torch.equal(a.latents(x[:10]), b.latents(x[:10]))


def test_bad_arguments_are_named(bent_1d):
    z, x = bent_1d
    with pytest.raises(ValueError, match="x_samples"):
        probe(torch.randn(100, 3, dtype=D), 2)
    with pytest.raises(ValueError, match="x_samples"):
        probe(x[:5], 1)
    with pytest.raises(ValueError, match="threshold"):
        probe(x, 1, threshold=1.5)
    with pytest.raises(ValueError, match="z_reference"):
        probe(x, 1, z_reference=z[:10])
    with pytest.raises(ValueError, match="learning_rate"):
        fit_flow(x, 1, learning_rate=2.0)
    with pytest.raises(ValueError, match="drop"):
        probe_data("continuity")


def _run(argv):
    top = argparse.ArgumentParser()
    probe_command.add_parser(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["probe", *argv])
    assert args.func is probe_command.run
    return probe_command.run(args)


def test_command_line_reports_the_expected_verdict(tmp_path, capsys):
    path = tmp_path / "probe.json"
    status = _run(["--drop", "piecewise_affine_1d", "--samples", "1000", "--steps", "200", "--json", str(path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "verdict: not affine (expected not affine)" in out
    report = json.loads(path.read_text())
    assert report["command"] == "probe" and report["expected_affine"] is False
    assert report["result"]["name"] == "probe_affine" and report["result"]["holds"] is False


def test_command_line_validates(tmp_path):
    with pytest.raises(ValueError, match="--samples"):
        _run(["--samples", "10"])
    with pytest.raises(SystemExit):
        _run(["--drop", "nothing"])
    assert set(DROPS) == {"none", "piecewise_affine", "piecewise_affine_1d", "gaussian_mixture_prior"}


def test_command_line_default_is_affine(capsys):
    assert _run(["--seed", "1"]) == 0
    assert "verdict: affine (expected affine)" in capsys.readouterr().out


def test_degenerate_samples_are_rejected():
    x = torch.randn(200, 1, dtype=D) @ torch.tensor([[1.0, 2.0]], dtype=D)
    with pytest.raises(ValueError, match="x_samples"):
        fit_flow(x, 2)
