"""The probe's experiments: every registered experiment runs on a tiny budget; results, JSON and
figures are written; the command line reads a user's .npy files and names bad input."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest
import torch

from verify.check_result import CheckResult
from verify.cli import probe as probe_command
from verify.probe import (
    EXPERIMENTS,
    TRUTHS,
    Budget,
    ExperimentResult,
    ground_truth,
    load_samples,
    probe_samples,
    run_experiment,
)
from verify.probe.experiments import R2_TARGET, get

D = torch.float64
# Sample sizes kept as given (no cap), so that the sample-size figure has its x axis.
SMALL = Budget("small", 1, 20, None, 200, 4, 10)

SCORES = {"affine_r2", "mcc", "affine_mcc", "restart_affine_r2", "linear_affine_r2", "log_likelihood_fit",
          "log_likelihood_truth", "likelihood_gap", "restart_log_likelihood", "noise_fit", "noise_truth", "seconds",
          "n_samples", "assumptions_hold", "dropped"}


@pytest.fixture(scope="module")
def tiny_results():
    return {name: run_experiment(name, [0], budget="tiny") for name in EXPERIMENTS}


def test_every_experiment_runs_on_a_tiny_budget(tiny_results):
    assert set(EXPERIMENTS) == {"assumptions", "drop", "noise", "sample_size", "flow"}
    for name, result in tiny_results.items():
        experiment = EXPERIMENTS[name]
        assert isinstance(result, ExperimentResult) and result.seeds == (0,) and result.budget == "tiny"
        assert list(result.results) == [c.name for c in experiment.conditions]
        for condition, (row,) in result.results.items():
            assert SCORES <= set(row.scores), (name, condition)
            assert isinstance(row.check, CheckResult) and row.check.name == f"probe/{name}/{condition}"
            assert row.check.passes_when == ">=" and row.check.tolerance == R2_TARGET
            assert row.check.holds == (row.scores["affine_r2"] >= R2_TARGET)
            assert math.isfinite(row.scores["affine_r2"]) and math.isfinite(row.scores["likelihood_gap"])
            assert 0 <= row.scores["mcc"] <= 1 and 0 <= row.scores["affine_mcc"] <= 1
            assert row.z_true.shape == row.z_fitted.shape
        json.dumps(result.to_dict(), allow_nan=False)


def test_the_drop_experiment_drops_each_assumption_once(tiny_results):
    rows = {c: r[0].scores for c, r in tiny_results["drop"].results.items()}
    assert list(rows) == list(TRUTHS)
    assert rows["all_hold"]["assumptions_hold"] and rows["all_hold"]["dropped"] is None
    dropped = [rows[t]["dropped"] for t in TRUTHS[1:]]
    assert all(d and not rows[t]["assumptions_hold"] for t, d in zip(TRUTHS[1:], dropped))
    assert len(set(dropped)) == 5  # uniform and laplace both drop the Gaussian-mixture prior
    # The flow's conditions keep probe_data's verdicts: affine iff nothing is dropped.
    flow = {c: r[0].scores["assumptions_hold"] for c, r in tiny_results["flow"].results.items()}
    assert flow == {"none": True, "piecewise_affine": False, "piecewise_affine_1d": False, "gaussian_mixture_prior": False}


def test_summary_over_seeds():
    result = run_experiment("noise", [0, 1, 2], budget="tiny", conditions=["noise_0.01", "noise_0.3"])
    summary = result.summary()
    assert list(summary) == ["noise_0.01", "noise_0.3"] and result.seeds == (0, 1, 2)
    for row in summary.values():
        low, high = row["interval_affine_r2"]
        assert row["seeds"] == 3 and low <= row["median_affine_r2"] <= high
        assert 0 <= row["fraction_at_target"] <= 1
    again = EXPERIMENTS["noise"].run(1, budget="tiny", conditions=["noise_0.3"])
    assert again.results["noise_0.3"][0].scores["affine_r2"] == result.results["noise_0.3"][1].scores["affine_r2"]


def test_truths_drop_what_they_say():
    truth = ground_truth("all_hold", 2, 6, 0)
    assert truth.assumptions_hold and truth.generative_model() is not None and truth.observed_dim == 6
    z, x, labels = truth.sample(500, 0, return_labels=True)
    assert z.shape == (500, 2) and x.shape == (500, 6) and set(labels.tolist()) <= {0, 1, 2}
    fold = ground_truth("fold", 2, 6, 0)
    (mirror,) = fold.preimages(z[:20])
    assert torch.allclose(fold.decoder(mirror), fold.decoder(z[:20]), atol=1e-9) and not torch.allclose(mirror, z[:20])
    degenerate = ground_truth("degenerate", 2, 6, 0)
    z, _, labels = degenerate.sample(300, 1, return_labels=True)
    on_line = z[labels == 0] - degenerate.means[0]
    assert torch.linalg.matrix_rank(on_line) == 1 and degenerate.generative_model() is None
    uniform = ground_truth("uniform", 2, 6, 0)
    z, _, labels = uniform.sample(2000, 2, return_labels=True)
    u = torch.linalg.solve(uniform.factors[0], (z[labels == 0] - uniform.means[0]).T).T
    assert float(u.abs().max()) <= math.sqrt(3.0) + 1e-9
    for name in ("smooth", "discontinuous", "laplace"):
        assert not ground_truth(name, 2, 6, 0).assumptions_hold
    with pytest.raises(ValueError, match="name"):
        ground_truth("continuity")
    with pytest.raises(ValueError, match="latent_dim"):
        ground_truth("degenerate", 1, 4, 0)
    with pytest.raises(ValueError, match="observed_dim"):
        ground_truth("all_hold", 3, 2, 0)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="experiment"):
        run_experiment("paper")
    with pytest.raises(ValueError, match="seeds"):
        run_experiment("drop", [0, 0], budget="tiny")
    with pytest.raises(ValueError, match="condition"):
        run_experiment("drop", [0], budget="tiny", conditions=["continuity"])
    with pytest.raises(ValueError, match="budget"):
        run_experiment("drop", [0], budget="huge")
    with pytest.raises(ValueError, match="seed"):
        get("drop").run(-1)


def test_figures_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    from verify.probe.figures import plot_fitted_latents, write_figures

    result = run_experiment("sample_size", [0, 1], budget=SMALL, conditions=["n_500", "n_1000"])
    paths = write_figures(result, tmp_path / "figures")
    assert [p.name for p in paths] == ["sample_size_r2.png", "sample_size_latents.png", "sample_size_r2_vs_n.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    assert not [p for p in paths[0].parent.iterdir() if p.name.startswith(".")]
    single = plot_fitted_latents(torch.randn(50, 2, dtype=D), torch.randn(50, 2, dtype=D), tmp_path / "one.png")
    assert single.stat().st_size > 1000
    with pytest.raises(ValueError, match="result"):
        write_figures("not a result", tmp_path)
    with pytest.raises(ValueError, match="z_fitted"):
        plot_fitted_latents(torch.randn(50, 2, dtype=D), torch.randn(40, 2, dtype=D), tmp_path / "x.png")


# ---------------------------------------------------------------------------- the command line
def _run(argv):
    top = argparse.ArgumentParser()
    probe_command.add_parser(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["probe", *argv])
    return probe_command.run(args)


@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    z, x = ground_truth("all_hold", 2, 5, 0, n_components=2).sample(400, 3)
    np.save(folder / "x.npy", x.numpy())
    np.save(folder / "z.npy", z.numpy())
    return folder


def test_command_line_runs_an_experiment(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "probe.json"
    status = _run(["--experiment", "flow", "--seeds", "1", "--budget", "tiny", "--conditions", "none,piecewise_affine",
                   "--json", str(path), "--plots", str(tmp_path / "plots")])
    out = capsys.readouterr().out
    assert status in (0, 1) and "experiment flow" in out and "piecewise_affine" in out
    report = json.loads(path.read_text())
    assert report["mode"] == "experiment" and report["seeds"] == [0]
    (experiment,) = report["experiments"]
    assert experiment["experiment"] == "flow" and set(experiment["summary"]) == {"none", "piecewise_affine"}
    assert (tmp_path / "plots" / "flow_r2.png").exists() and (tmp_path / "plots" / "flow_latents.png").exists()


def test_command_line_reads_user_data(user_files, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "data.json"
    status = _run(["--data", str(user_files / "x.npy"), "--latents", str(user_files / "z.npy"), "--components", "2",
                   "--budget", "tiny", "--json", str(path), "--plots", str(tmp_path / "plots")])
    out = capsys.readouterr().out
    assert "against the given latents" in out and status in (0, 1)
    report = json.loads(path.read_text())
    assert report["mode"] == "data" and report["result"]["name"] == "probe/samples"
    assert report["result"]["holds"] == (status == 0)
    assert (tmp_path / "plots" / "probe_data_latents.png").exists()


def test_user_data_without_latents_compares_two_fits(user_files):
    x = load_samples(user_files / "x.npy")
    result = probe_samples(x, latent_dim=2, n_components=2, budget="tiny")
    assert result.details["compared_with"] == "a second fit (seed + 1)" and result.details["engine"] == "vade"
    square = probe_samples(x[:, :2], latent_dim=2, n_components=2, budget="tiny")
    assert square.details["engine"] == "flow"


def test_loading_validates_shapes_and_files(user_files, tmp_path):
    assert load_samples(user_files / "x.npy").shape == (400, 5)
    np.save(tmp_path / "one.npy", np.arange(30.0))
    assert load_samples(tmp_path / "one.npy").shape == (30, 1)
    np.save(tmp_path / "cube.npy", np.zeros((4, 3, 2)))
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "x.txt").write_text("1 2 3")
    for name, message in (("cube.npy", "dimensions"), ("nan.npy", "NaN"), ("objects.npy", "cannot read"),
                          ("x.txt", ".npy"), ("missing.npy", "no such file")):
        with pytest.raises(ValueError, match=f"--data.*{message}|{message}"):
            load_samples(tmp_path / name, "--data")
    x, z = str(user_files / "x.npy"), str(user_files / "z.npy")
    np.save(tmp_path / "short.npy", np.zeros((10, 2)))
    cases = [
        (["--data", x, "--latents", str(tmp_path / "short.npy")], "--latents"),
        (["--data", str(tmp_path / "cube.npy"), "--latent-dim", "2"], "--data"),
        (["--data", x], "--latent-dim"),
        (["--data", x, "--latent-dim", "9"], "--latent-dim"),
        (["--data", x, "--latents", z, "--latent-dim", "3"], "--latent-dim"),
        (["--data", x, "--latent-dim", "2", "--engine", "flow"], "--engine"),
        (["--latents", z], "--latents"),
        (["--data", x, "--latent-dim", "2", "--experiment", "drop"], "--experiment"),
        (["--drop", "none", "--experiment", "drop"], "--experiment"),
        (["--drop", "none", "--budget", "tiny"], "--budget"),
        (["--experiment", "drop", "--conditions", "continuity"], "--conditions"),
        (["--experiment", "all", "--conditions", "fold"], "--conditions"),
    ]
    for argv, name in cases:
        with pytest.raises(ValueError, match=name):
            _run(argv)
    for argv in (["--seeds", "x"], ["--seeds", "1,1"], ["--experiment", "paper"]):
        with pytest.raises(SystemExit):
            _run(argv)


def test_seed_lists():
    assert probe_command.seeds("3") == [0, 1, 2]
    assert probe_command.seeds("2-4") == [2, 3, 4]
    assert probe_command.seeds("5,1") == [5, 1]


@pytest.mark.slow
def test_default_run_finishes_in_two_minutes(capsys):
    import time

    start = time.perf_counter()
    _run([])
    assert time.perf_counter() - start < 120
    assert "experiment assumptions" in capsys.readouterr().out
