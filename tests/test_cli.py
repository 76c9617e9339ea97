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


def test_check_says_unknown_when_only_a_sufficient_criterion_applies(tmp_path, capsys):
    # [W; −W] then [I, −I]: injective (it is W z) but not layerwise; m = 5 is beyond the exact methods.
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
    assert "unknown" in line and "R^5" in line


def test_run_rejects_an_unknown_device(capsys):
    assert cli.main(["run", "--device", "tpu", "--quiet"]) == 2
    assert "--device" in capsys.readouterr().err
