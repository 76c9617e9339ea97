"""``python -m verify``: list, run (table, JSON, exit status) and check (user decoders)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from verify import cli
from verify.check_result import CheckResult
from verify.suite import Step
from verify.theorems import REGISTRY


def test_list_prints_every_entry_with_its_note(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for theorem in REGISTRY.values():
        assert theorem.id in out and theorem.note in out


def test_run_prints_the_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "report.json"
    assert cli.main(["run", "--theorem", "T3", "--trials", "2", "--seed", "4", "--json", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "T3" in out and "2/2 trials held" in out
    report = json.loads(path.read_text())
    assert [r["seed"] for r in report["reports"]] == [4, 5]
    assert report["summary"][0]["held"] == 2
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


def test_run_exits_1_and_names_the_replay_when_a_trial_fails(monkeypatch, capsys):
    failing = lambda seed, sizes, device: [Step("conclusion", CheckResult("affine_equivalence", False, 5.0, 1.0, witness=[1.0]))]
    theorem = REGISTRY["T2"]
    monkeypatch.setitem(REGISTRY, "T2", type(theorem)(**{**theorem.__dict__, "run": failing}))
    assert cli.main(["run", "--theorem", "T2", "--trials", "1", "--quiet"]) == 1
    assert "replay: python -m verify run --theorem \"T2\" --seed 0" in capsys.readouterr().out


def test_run_rejects_unknown_theorem(capsys):
    assert cli.main(["run", "--theorem", "T42", "--quiet"]) == 2
    assert "theorem" in capsys.readouterr().err


def _save_state_dict(path):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.2), nn.Linear(4, 5)).double()
    torch.save(module.state_dict(), path)
    return module


def test_check_a_saved_state_dict(tmp_path, capsys):
    path = tmp_path / "decoder.pt"
    _save_state_dict(path)
    prior = tmp_path / "prior.json"
    prior.write_text(json.dumps({"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]], "covariances": [[[1, 0], [0, 1]], [[2, 0], [0, 1]]]}))
    out_json = tmp_path / "verdicts.json"
    assert cli.main(["check", str(path), "--negative-slope", "0.2", "--prior", str(prior), "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    for name in ("piecewise_affine", "injective", "weakly_injective", "linear_regions"):
        assert name in out
    verdicts = {r["name"]: r["holds"] for r in json.loads(out_json.read_text())["results"]}
    assert verdicts["injective"] and verdicts["weakly_injective"]


def test_check_needs_the_slope_for_a_state_dict(tmp_path, capsys):
    path = tmp_path / "decoder.pt"
    _save_state_dict(path)
    assert cli.main(["check", str(path)]) == 2
    assert "--negative-slope" in capsys.readouterr().err


def test_pickled_module_needs_the_opt_in_flag(tmp_path, capsys):
    path = tmp_path / "module.pt"
    torch.save(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3)), path)
    assert cli.main(["check", str(path)]) == 2
    assert "--allow-pickle" in capsys.readouterr().err
    assert cli.main(["check", str(path), "--allow-pickle"]) == 0


def test_unsupported_module_is_named(tmp_path, capsys):
    path = tmp_path / "module.pt"
    torch.save(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3)), path)
    assert cli.main(["check", str(path), "--allow-pickle"]) == 2
    assert "Tanh" in capsys.readouterr().err


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "verify", "list"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "T4.S3" in done.stdout


def test_run_writes_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["run", "--theorem", "T2", "--trials", "1", "--quiet", "--plots", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.glob("*.png")}
    assert {"regions.png", "density.png", "CE1.png", "CE3.png"} <= names
    assert all(p.stat().st_size > 1000 for p in tmp_path.glob("*.png"))


def test_check_writes_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "decoder.pt"
    _save_state_dict(path)
    assert cli.main(["check", str(path), "--negative-slope", "0.2", "--plots", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "regions.png").stat().st_size > 1000


def test_probe_is_wired(capsys):
    assert cli.main(["probe", "--help"]) == 0
    assert "--drop" in capsys.readouterr().out


def test_check_rejects_files_that_are_not_sequential_state_dicts(tmp_path, capsys):
    text = tmp_path / "notes.pt"
    text.write_text("not a tensor file")
    assert cli.main(["check", str(text), "--allow-pickle"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: decoder:") and "Traceback" not in err
    named = tmp_path / "named.pt"
    torch.save({"input.weight": torch.randn(3, 2), "input.bias": torch.randn(3)}, named)
    assert cli.main(["check", str(named), "--negative-slope", "0"]) == 2
    assert "'input.weight'" in capsys.readouterr().err


def test_check_decides_on_the_box_where_the_layerwise_criterion_does_not_apply(tmp_path, capsys):
    # [W; −W] then [I, −I]: injective (it is W z) but not layerwise; m = 5 is beyond region enumeration,
    # and the mixed-integer programs decide it on the default box.
    module = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 5)).double()
    w = torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        module[0].weight.copy_(torch.cat([w, -w]))
        module[0].bias.zero_()
        module[2].weight.copy_(torch.cat([torch.eye(5), -torch.eye(5)], 1))
        module[2].bias.zero_()
    path = tmp_path / "decoder.pt"
    torch.save(module.state_dict(), path)
    assert cli.main(["check", str(path), "--negative-slope", "0"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.strip().startswith("injective"))
    assert " yes " in line and "mixed-integer" in line and "box [-3, 3]^5" in line


def test_run_rejects_an_unknown_device(capsys):
    assert cli.main(["run", "--device", "tpu", "--quiet"]) == 2
    assert "--device" in capsys.readouterr().err


# ---------------------------------------------------------------------------- report and compare
def _vae_state_dict(path):
    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.decoder = nn.Sequential(nn.Linear(2, 6), nn.LeakyReLU(0.2), nn.Linear(6, 5))
            self.encoder = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 4))

    torch.manual_seed(0)
    torch.save(VAE().state_dict(), path)


def _prior_file(path, *, float32_weights=True):
    weights = torch.softmax(torch.tensor([0.3, -0.2, 0.5]), 0).tolist() if float32_weights else [0.2, 0.3, 0.5]
    path.write_text(json.dumps({"weights": weights, "means": [[0, 0], [2, 1], [-1, 2]],
                                "variances": [[1, 0.5], [0.7, 1.2], [0.4, 0.9]]}))
    return path


def test_report_a_whole_vae_state_dict(tmp_path, capsys):
    path = tmp_path / "vae.pt"
    _vae_state_dict(path)
    prior = _prior_file(tmp_path / "prior.json")
    assert cli.main(["report", str(path), "--negative-slope", "0.2", "--prior", str(prior)]) == 2
    err = capsys.readouterr().err
    assert "decoder (2→6→5)" in err and "encoder (5→6→4)" in err and "--module" in err
    assert cli.main(["report", str(path), "--module", "decoder", "--negative-slope", "0.2", "--prior", str(prior)]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    for theorem in REGISTRY.values():
        assert f"{theorem.id} {theorem.title} —" in flat
    assert "given (negative_slope 0.2), not read from the file" in flat
    assert "renormalised" in flat and "T4.S1 permutation and scaling from diagonal covariances — APPLIES" in flat
    assert "T3 does not apply: the prior is not N(0, I)" in flat


def _onnx_decoder(path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    g = torch.Generator().manual_seed(3)
    inits = [numpy_helper.from_array(torch.randn(*shape, generator=g).numpy(), name)
             for name, shape in (("w1", (6, 2)), ("b1", (6,)), ("w2", (5, 6)), ("b2", (5,)))]
    nodes = [helper.make_node("Gemm", ["z", "w1", "b1"], ["h"], transB=1), helper.make_node("LeakyRelu", ["h"], ["a"], alpha=0.2),
             helper.make_node("Gemm", ["a", "w2", "b2"], ["x"], transB=1)]
    graph = helper.make_graph(nodes, "decoder", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", 2])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 5])], inits)
    onnx.save(helper.make_model(graph), str(path))


def test_report_an_onnx_decoder(tmp_path, capsys):
    path = tmp_path / "decoder.onnx"
    _onnx_decoder(path)
    assert cli.main(["report", str(path), "--prior", str(_prior_file(tmp_path / "prior.json"))]) == 0
    out = capsys.readouterr().out
    assert "(ONNX)" in out and "activations: read from the file" in out and "conclusion:" in out


def test_report_a_decoder_with_batchnorm_and_dropout(tmp_path, capsys):
    torch.manual_seed(1)
    module = nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6), nn.LeakyReLU(0.2), nn.Dropout(0.2), nn.Linear(6, 5)).eval()
    pickled, state = tmp_path / "module.pt", tmp_path / "state.pt"
    torch.save(module, pickled)
    torch.save(module.state_dict(), state)
    prior = str(_prior_file(tmp_path / "prior.json"))
    assert cli.main(["report", str(pickled), "--allow-pickle", "--prior", prior]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "BatchNorm1d(6) in eval mode" in out and "Dropout(p=0.2), the identity in eval mode" in out and "— APPLIES" in out
    assert cli.main(["report", str(state), "--negative-slope", "0.2", "--prior", prior]) == 0
    assert "folded into the linear layer before it" in " ".join(capsys.readouterr().out.split())
    assert cli.main(["check", str(pickled), "--allow-pickle"]) == 0  # no longer refused
    capsys.readouterr()


def test_report_strict_json_and_witnesses(tmp_path, capsys):
    from models import random_network

    net = random_network((2, 3, 3), 0.0, injective=False, generator=3)
    path = tmp_path / "relu.pt"
    torch.save(net.to_torch().state_dict(), path)
    prior = str(_prior_file(tmp_path / "prior.json", float32_weights=False))
    report_json = tmp_path / "report.json"
    args = ["report", str(path), "--negative-slope", "0", "--prior", prior]
    assert cli.main(args + ["--json", str(report_json)]) == 0  # verdicts "no" are reported; without --strict the exit is 0
    out = " ".join(capsys.readouterr().out.split())
    assert "collision: f(z1) = f(z2) with z1 = (" in out
    data = json.loads(report_json.read_text())
    witness = data["checks"]["verify.injectivity.check_injective"]["witness"]
    assert data["checks"]["verify.injectivity.check_injective"]["verdict"] == "fails" and len(witness) == 2
    assert cli.main(args + ["--theorem", "T2", "--strict"]) == 1
    assert "strict: 1 assumption(s)" in capsys.readouterr().err
    assert cli.main(args + ["--theorem", "T1", "--strict"]) == 0


def test_a_smooth_decoder_is_classified(tmp_path, capsys):
    torch.manual_seed(2)
    path = tmp_path / "elu.pt"
    torch.save(nn.Sequential(nn.Linear(2, 5), nn.ELU(), nn.Linear(5, 4)), path)
    assert cli.main(["check", str(path), "--allow-pickle"]) == 2
    assert "verify report" in capsys.readouterr().err
    assert cli.main(["report", str(path), "--allow-pickle", "--theorem", "T1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "DOES NOT APPLY" in out and "second difference" in out


def test_check_reads_per_layer_slopes(tmp_path, capsys):
    module = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.1), nn.Linear(4, 4), nn.LeakyReLU(0.3), nn.Linear(4, 5)).double()
    path = tmp_path / "decoder.pt"
    torch.save(module.state_dict(), path)
    assert cli.main(["check", str(path), "--negative-slope", "0.1,0.3"]) == 0
    assert "negative_slope=(0.1, 0.3)" in capsys.readouterr().out
    assert cli.main(["check", str(path), "--negative-slope", "0.1,0.3,0.5"]) == 2
    assert "one slope per hidden layer" in capsys.readouterr().err


def test_compare_command(tmp_path, capsys):
    from models import AffineMap, random_model

    truth = random_model(latent_dim=2, observed_dim=5, hidden=(4,), n_components=3, generator=0)
    learned = truth.reparametrize(AffineMap(torch.tensor([[1.0, 0.5], [0.0, 2.0]], dtype=torch.float64)))
    for name, model in (("learned", learned), ("truth", truth)):
        torch.save(model.decoder.to_torch().state_dict(), tmp_path / f"{name}.pt")
        (tmp_path / f"{name}.json").write_text(json.dumps({"weights": model.prior.weights.tolist(), "means": model.prior.means.tolist(),
                                                           "covariances": model.prior.covariances.tolist()}))
    out_json = tmp_path / "compare.json"
    args = ["compare", str(tmp_path / "learned.pt"), str(tmp_path / "truth.pt"), "--negative-slope", "0.2",
            "--truth-negative-slope", "0.2", "--prior", str(tmp_path / "learned.json"), "--truth-prior", str(tmp_path / "truth.json"),
            "--samples", "400", "--bootstrap", "20", "--json", str(out_json)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "affine MCC  1.0000" in out and "exact: the layerwise inverse" in out
    data = json.loads(out_json.read_text())
    assert data["scores"]["affine_r2"]["value"] > 1 - 1e-9 and data["decoder_error"]["max"] < 1e-9
    assert cli.main(args[:3] + ["--negative-slope", "0.2"]) == 2  # the truth's slope is missing
    err = capsys.readouterr().err
    assert err.startswith("error: --truth-negative-slope:") and "--truth-negative-slope 0.2" in err


def test_check_prints_witnesses_and_strict_exits_1_for_no(tmp_path, capsys):
    from models import random_network

    path = tmp_path / "relu.pt"
    torch.save(random_network((2, 3, 3), 0.0, injective=False, generator=3).to_torch().state_dict(), path)
    assert cli.main(["check", str(path), "--negative-slope", "0"]) == 0
    out = capsys.readouterr().out
    assert "evidence: collision: f(z1) = f(z2) with z1 = (" in out
    assert "given (negative_slope 0), not read from the file" in out
    assert cli.main(["check", str(path), "--negative-slope", "0", "--strict"]) == 1


def test_report_plots_on_the_given_box_with_chosen_coordinates(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "vae.pt"
    _vae_state_dict(path)
    args = ["report", str(path), "--module", "decoder", "--negative-slope", "0.2", "--prior", str(_prior_file(tmp_path / "p.json")),
            "--box", "2", "--theorem", "T1", "--plots", str(tmp_path / "figs")]
    assert cli.main(args + ["--coords", "2,4"]) == 0
    assert "box      [-2, 2]^2 (given; " in capsys.readouterr().out
    assert (tmp_path / "figs" / "regions.png").stat().st_size > 10_000 and (tmp_path / "figs" / "density.png").exists()
    assert cli.main(args + ["--coords", "2,9"]) == 2
    assert capsys.readouterr().err.startswith("error: --coords:")
