"""The README's walkthrough runs as written: train a VaDE, save it, `verify report`, `verify compare`, Python."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from verify import cli
from verify.theorems import REGISTRY

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough_blocks() -> list[tuple[str, str]]:
    text = README.read_text()
    start = text.index("## Walkthrough")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```(py|bash)\n(.*?)```", text[start:end], re.S)


def test_the_walkthrough_has_code_and_commands():
    kinds = [kind for kind, _ in walkthrough_blocks()]
    assert kinds.count("py") == 2 and kinds.count("bash") == 2
    training = walkthrough_blocks()[0][1]
    assert "class VaDE(nn.Module)" in training and len(training.splitlines()) <= 52


def test_walkthrough_runs_as_written(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    outputs = []
    for kind, code in walkthrough_blocks():
        if kind == "py":
            exec(compile(code, str(README), "exec"), namespace)
            continue
        for line in code.splitlines():
            if line.startswith("python -m verify "):
                capsys.readouterr()
                assert cli.main(shlex.split(line)[3:]) == 0, line
                outputs.append(capsys.readouterr().out)
    report_text, compare_text = outputs
    flat = " ".join(report_text.split())  # the table wraps long lines
    # A per-theorem table with the evidence of every assumption.
    for theorem in REGISTRY.values():
        assert re.search(rf"^{re.escape(theorem.id)}\s+.* — (APPLIES|DOES NOT APPLY|UNDECIDED)$", report_text, re.M), theorem.id
    assert "given (negative_slope 0.2), not read from the file" in flat
    assert "renormalised" in flat and "diagonal covariances" in flat
    assert re.search(r"^T1 .* — APPLIES$", report_text, re.M) and re.search(r"^T2 .* — APPLIES$", report_text, re.M)
    assert "T3 does not apply: the prior is not N(0, I)" in flat
    assert "T4.S1's prior assumption holds" in flat
    assert "z0 = (" in flat and "residual RMS" in flat
    for name in ("regions.png", "density.png", "latents.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 10_000
    for label in ("MCC", "affine MCC", "affine R²", "h: A = ", "prior: h#P vs P'", "decoder: ‖f − f'∘h‖"):
        assert label in compare_text
    assert "approximate" in compare_text
    # The Python block's objects.
    checked, against = namespace["checked"], namespace["against_truth"]
    assert checked.theorem("T1").verdict == "applies" and checked.scores is not None
    low, value, high = (against.scores["affine_mcc"][k] for k in ("low", "value", "high"))
    assert 0.5 < low <= value <= high <= 1.0
