"""The command line on bad input: one line, no traceback, before any work; Ctrl-C; interrupted writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from models import random_network
from verify import cli
from verify.atomic import remove_stale_temporaries, write_json_atomic

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def decoder(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("decoder") / "decoder.pt"
    torch.save(random_network((2, 3, 3), 0.5, generator=0).to_torch().state_dict(), path)
    return str(path)


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------------- output paths, before any work
BAD_OUTPUTS = {
    "a /proc file": ("--json", "/proc/self/status", "cannot write in folder /proc/self"),
    "a new file in /proc": ("--json", "/proc/report.json", "cannot write in folder /proc"),
    "a missing folder": ("--json", "{tmp}/missing/report.json", "does not exist"),
    "a folder for a file": ("--json", "{tmp}", "is a directory"),
    "a new folder in /proc": ("--plots", "/proc/figures", "cannot create a folder in /proc"),
    "a file for a folder": ("--plots", "{decoder}", "exists and is not a folder"),
}

COMMANDS = {
    "check": lambda decoder: ["check", decoder, "--negative-slope", "0.5"],
    "report": lambda decoder: ["report", decoder, "--negative-slope", "0.5", "--theorem", "T1"],
    "compare": lambda decoder: ["compare", decoder, decoder, "--negative-slope", "0.5", "--truth-negative-slope", "0.5"],
    "run": lambda decoder: ["run", "--theorem", "T2", "--trials", "1", "--quiet"],
    "probe": lambda decoder: ["probe", "--samples", "100", "--steps", "1"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(BAD_OUTPUTS))
def test_every_output_path_is_checked_before_any_work(command, case, decoder, tmp_path, capsys, monkeypatch):
    option, path, message = BAD_OUTPUTS[case]
    # Any work at all would read the decoder or draw a trial: neither may happen before the paths are checked.
    monkeypatch.setattr("verify.cli.check.load_decoder", _no_work)
    monkeypatch.setattr("verify.cli.run.torch.set_num_threads", _no_work)
    monkeypatch.setattr("verify.cli.probe.probe_data", _no_work)
    argv = COMMANDS[command](decoder) + [option, path.format(tmp=tmp_path, decoder=decoder)]
    assert cli.main(argv) == 2
    line = _error(capsys)
    assert line.startswith(f"error: {option}:") and message in line


def _no_work(*args, **kwargs):
    raise AssertionError("work started before the output paths were checked")


def test_every_command_with_an_output_path_is_covered():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    with_outputs = {name for name, sub in subparsers.items() if {"--json", "--plots"} & set(sub._option_string_actions)}
    assert with_outputs == set(COMMANDS)


# ---------------------------------------------------------------------- files that cannot be read
def _files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = tmp_path / "good.pt"
    torch.save(random_network((2, 3, 3), 0.5, generator=0).to_torch().state_dict(), good)
    cases = {}
    cases["random bytes"] = (tmp_path / "random.bin", "is not a file written by torch.save")
    cases["random bytes"][0].write_bytes(bytes(range(256)) * 3)
    cases["text"] = (tmp_path / "notes.pt", "is not a file written by torch.save")
    cases["text"][0].write_text("not a tensor file")
    cases["truncated archive"] = (tmp_path / "truncated.pt", "damaged torch.save archive")
    cases["truncated archive"][0].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases["pickled objects"] = (tmp_path / "objects.pt", "pickled Python objects")
    torch.save({"weight": torch.ones(2), "when": __import__("datetime").date(2020, 1, 1)}, cases["pickled objects"][0])
    cases["pickled module"] = (tmp_path / "module.pt", "pickled module (torch.nn.modules.container.Sequential)")
    torch.save(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3)), cases["pickled module"][0])
    return cases


def test_load_errors_say_what_is_wrong_with_the_file(tmp_path, capsys):
    for what, (path, message) in _files(tmp_path).items():
        assert cli.main(["check", str(path), "--negative-slope", "0.2"]) == 2, what
        line = _error(capsys)
        assert line.startswith(f"error: decoder: {path}") and message in line, (what, line)
        # Only a pickled module is read with --allow-pickle: no other error suggests it.
        assert ("--allow-pickle" in line) == (what == "pickled module"), (what, line)
        assert "\x1b" not in line


def test_data_errors_say_what_is_wrong_with_the_file(tmp_path, decoder, capsys):
    files = _files(tmp_path)
    for what in ("random bytes", "truncated archive"):
        path, message = files[what]
        assert cli.main(["report", decoder, "--negative-slope", "0.5", "--data", str(path)]) == 2
        line = _error(capsys)
        assert line.startswith(f"error: --data: {path}") and message in line


def test_a_deeply_nested_prior_is_a_clear_error(tmp_path, decoder, capsys):
    prior = tmp_path / "prior.json"
    prior.write_text("[" * 100_000 + "]" * 100_000)
    assert cli.main(["check", decoder, "--negative-slope", "0.5", "--prior", str(prior)]) == 2
    assert "nests arrays or objects too deeply" in _error(capsys)


@pytest.mark.parametrize("device", ["cpu:1", "tpu", "gpu", "cuda:99"])
def test_devices_that_do_not_exist_are_refused(device, capsys):
    assert cli.main(["run", "--device", device, "--trials", "1"]) == 2
    err = capsys.readouterr().err
    assert "argument --device" in err and "Traceback" not in err


# ---------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_prints_one_line_exits_130_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "report.json"
    # A process started in the background by a shell without job control inherits SIGINT ignored,
    # and Python then installs no handler: restore the one a terminal gives.
    driver = textwrap.dedent(f"""
        import signal
        import sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from verify import cli
        print("ready", flush=True)
        sys.exit(cli.main(["run", "--theorem", "T2", "--trials", "100000", "--quiet", "--json", {str(out)!r}]))
    """)
    process = subprocess.Popen([sys.executable, "-c", driver], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # inside the trials
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip() == "interrupted"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_an_atomic_write_removes_its_temporary_file(tmp_path):
    target = tmp_path / "out.json"

    def interrupted(handle):
        handle.write("{")
        raise KeyboardInterrupt

    from verify.atomic import write_atomic

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, interrupted)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- writes killed mid-way
def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_the_next_write_removes_the_temporary_file_of_a_killed_write(tmp_path):
    target = tmp_path / "report.json"
    stale = tmp_path / f".report.json.tmp-{_dead_pid()}-abc123"
    stale.write_text('{"half": ')
    alive = tmp_path / f".report.json.tmp-{os.getpid()}-def456"  # a concurrent write of a live process: kept
    alive.write_text("{")
    other = tmp_path / f".other.json.tmp-{_dead_pid()}-ghi789"  # another target's: not this write's to remove
    other.write_text("{")
    write_json_atomic(target, {"ok": True})
    assert json.loads(target.read_text()) == {"ok": True}
    assert not stale.exists() and alive.exists() and other.exists()


def test_a_sigkilled_write_leaves_a_file_the_next_write_removes(tmp_path):
    target = tmp_path / "report.json"
    driver = textwrap.dedent(f"""
        import time
        from verify.atomic import write_atomic
        def slow(handle):
            handle.write("{{")
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
        write_atomic({str(target)!r}, slow)
    """)
    process = subprocess.Popen([sys.executable, "-c", driver], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(f".report.json.tmp-{process.pid}-")
    assert remove_stale_temporaries(target) == [tmp_path / left[0]]
    write_json_atomic(target, [1])
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
