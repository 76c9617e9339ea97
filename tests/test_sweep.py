"""verify.sweep: keys, the JSONL store, in-process and Dask executors, failures as data, resume.

The JSONL file is compared after ``Store.compact`` (run by ``run_sweep`` at the end), which
sorts it by key: two sweeps of the same tasks must then agree line by line, byte for byte,
once the timing fields (``verify.sweep.TIMING_FIELDS``) are removed from each record.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

import pytest

from verify.sweep import (
    DaskUnavailableError,
    InProcessExecutor,
    JsonlStore,
    MemoryStore,
    ProgressBar,
    Task,
    TaskKey,
    add_sweep_arguments,
    describe_failure,
    executor_from_arguments,
    register_task_kind,
    run_sweep,
    store_from_arguments,
    summary_rows,
    task_kind,
    trial_task,
    trial_tasks,
    without_timing,
)
from verify.sweep.executor import INSTALL_HINT, import_distributed
from verify.sweep.store import encode_record
from verify.sweep.tasks import TASK_KINDS

THEOREMS = ("T2", "T3")  # the quickest trials (about 0.2 s each)
SEEDS = range(3)


# --------------------------------------------------------------------------- test task kinds
# Worker processes cannot import this module: the Dask fixture pickles it by value.
def raise_on_seed(task: Task) -> dict:
    if task.seed == task.options["bad_seed"]:
        raise RuntimeError(f"planted failure for seed {task.seed}")
    return {"value": task.seed * 10}


def exit_on_seed(task: Task) -> dict:
    if task.seed == task.options["bad_seed"]:
        with open(task.options["attempts"], "a") as log:
            log.write(f"{os.getpid()}\n")
        os._exit(3)  # the worker process dies mid-task
    return {"value": task.seed * 10}


TEST_KINDS = {"raise-on-seed": raise_on_seed, "exit-on-seed": exit_on_seed}


def canonical_lines(path: Path) -> list[bytes]:
    """Each line of a compacted JSONL file with its timing fields removed."""
    return [encode_record(without_timing(json.loads(line))) for line in path.read_bytes().splitlines()]


def without_seconds(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The in-process sweep of THEOREMS x SEEDS, written to a JSONL file."""
    path = tmp_path_factory.mktemp("reference") / "sweep.jsonl"
    result = run_sweep(trial_tasks(THEOREMS, SEEDS), store=JsonlStore(path))
    return path, result


@pytest.fixture(scope="module")
def cluster():
    """A 2-worker LocalCluster; a dying worker's task is retried once, then recorded as crashed."""
    pytest.importorskip("distributed")
    cloudpickle = pytest.importorskip("cloudpickle")
    from verify.sweep import DaskExecutor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    executor = DaskExecutor(workers=2, retries=1)
    executor.client  # start it here, so the tests' own timings exclude the start
    yield executor
    executor.close()
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


# --------------------------------------------------------------------------- tasks and keys
def test_task_keys_tell_seeds_sizes_and_kinds_apart():
    from verify.suite.trial import Sizes

    a, b = trial_task("T2", 0), trial_task("T2", 1)
    assert a.key().dask_key != b.key().dask_key
    assert a.key().parameters_hash == b.key().parameters_hash
    assert trial_task("T2", 0, sizes=Sizes(n_samples=500)).key().parameters_hash != a.key().parameters_hash
    assert trial_task("t1p", 0).id == "T1'"
    assert Task.of("x", "T2", 0, b=1, a=2) == Task.of("x", "T2", 0, a=2, b=1)
    assert TaskKey.from_dict(a.key().to_dict()) == a.key()
    assert sorted([trial_task("T2", 10).key(), trial_task("T2", 9).key()])[0].seed == 9  # seeds sort as integers


@pytest.mark.parametrize("kwargs, argument", [
    (dict(kind="", id="T2", seed=0), "kind"), (dict(kind="trial", id="T2", seed=-1), "seed"),
    (dict(kind="trial", id="T2", seed=True), "seed"), (dict(kind="trial", id="T2", seed=0, parameters=(("a", object()),)), "parameters"),
    (dict(kind="trial", id="T2", seed=0, parameters=(("a", float("nan")),)), "parameters"),
])
def test_task_rejects_bad_values(kwargs, argument):
    with pytest.raises(ValueError, match=f"^{argument}:"):
        Task(**kwargs)


def test_task_kind_registry():
    assert task_kind("trial") is TASK_KINDS["trial"]
    with pytest.raises(ValueError, match="^kind: no task kind 'nope'"):
        task_kind("nope")
    with pytest.raises(ValueError, match="^kind: 'trial' is already registered"):
        register_task_kind("trial", raise_on_seed)
    try:
        assert register_task_kind("test-raise")(raise_on_seed) is raise_on_seed
        assert task_kind("test-raise") is raise_on_seed
    finally:
        TASK_KINDS.pop("test-raise", None)


# --------------------------------------------------------------------------- the store
def _record(seed: int, value: int = 0) -> dict:
    task = Task.of("test", "X", seed)
    return {"key": task.key().to_dict(), "status": "ok", "seconds": 0.1, "result": {"value": value}, "error": None}


def test_jsonl_store_ignores_and_rewrites_a_cut_off_last_line(tmp_path):
    path = tmp_path / "s.jsonl"
    store = JsonlStore(path)
    store.append(_record(0))
    store.append(_record(1))
    store.close()
    with open(path, "ab") as handle:
        handle.write(encode_record(_record(2))[:25])  # interrupted mid-write
    assert [r["key"]["seed"] for r in store.records()] == [0, 1]
    store.append(_record(3))
    store.close()
    lines = path.read_bytes().splitlines(keepends=True)
    assert [json.loads(line)["key"]["seed"] for line in lines] == [0, 1, 3] and all(line.endswith(b"\n") for line in lines)


def test_jsonl_store_compacts_sorted_by_key_last_record_wins(tmp_path):
    store = JsonlStore(tmp_path / "s.jsonl")
    for seed, value in [(10, 0), (2, 0), (10, 1)]:
        store.append(_record(seed, value))
    store.compact()
    assert [(r["key"]["seed"], r["result"]["value"]) for r in store.records()] == [(2, 0), (10, 1)]


def test_jsonl_store_reports_a_corrupt_line(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(encode_record(_record(0)) + b"{not json\n" + encode_record(_record(1)))
    with pytest.raises(ValueError, match=r"^jsonl: .*s\.jsonl:2: not a JSON record"):
        list(JsonlStore(path).records())
    with pytest.raises(ValueError, match="^jsonl: folder"):
        JsonlStore(tmp_path / "missing" / "s.jsonl")


def test_a_store_with_records_needs_resume(tmp_path):
    store = MemoryStore()
    run_sweep([Task.of("raise-on-seed", "X", 0, bad_seed=-1)], store=store, kinds=TEST_KINDS)
    with pytest.raises(ValueError, match="^resume:"):
        run_sweep([Task.of("raise-on-seed", "X", 1, bad_seed=-1)], store=store, kinds=TEST_KINDS)


# --------------------------------------------------------------------------- in-process sweeps
def test_in_process_summary_matches_cli_summarize(reference):
    from verify.summary import summarize
    from verify.theorems import get

    reports = [get(t).trial(s) for t in THEOREMS for s in SEEDS]
    path, result = reference
    rows = without_seconds(result.rows)
    assert [{k: v for k, v in row.items() if k != "errors"} for row in rows] == without_seconds(summarize(reports))
    assert all(row["errors"] == 0 for row in rows) and result.failures == []
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert [(r["key"]["id"], r["key"]["seed"]) for r in records] == [(t, s) for t in THEOREMS for s in SEEDS]
    assert summary_rows(records) == result.rows


def test_a_trial_that_raises_is_recorded_and_the_sweep_completes():
    tasks = [Task.of("raise-on-seed", "X", seed, bad_seed=1) for seed in range(3)]
    result = run_sweep(tasks, kinds=TEST_KINDS)
    records = result.records()
    assert [r["status"] for r in records] == ["ok", "error", "ok"]
    error = records[1]["error"]
    assert error["type"] == "RuntimeError" and "planted failure for seed 1" in error["message"]
    assert "raise_on_seed" in error["traceback"] and records[1]["key"]["seed"] == 1
    assert result.failures == [records[1]]
    assert describe_failure(records[1]) == "ERROR X seed=1: RuntimeError: planted failure for seed 1"


def test_a_trial_that_raises_counts_in_its_row_as_an_error():
    broken = Task.of("trial", "T2", 0, sizes="not sizes", device="cpu")
    result = run_sweep([broken])
    (record,) = result.records()
    assert record["status"] == "error" and record["error"]["message"].startswith("sizes: expected a verify.suite.Sizes")
    assert [(r["theorem"], r["trials"], r["held"], r["errors"]) for r in result.rows] == [("T2", 1, 0, 1)]


def test_describe_failure_of_a_trial_that_did_not_hold():
    record = {"key": trial_task("T3", 4).key().to_dict(), "status": "ok",
              "result": {"summary": {"held": False, "failed_steps": ["conclusion:orthogonal"]}}}
    assert describe_failure(record) == "FAILED T3 seed=4: conclusion:orthogonal"


def test_resume_runs_only_the_missing_keys_and_gives_the_same_summary(tmp_path, reference):
    reference_path, reference_result = reference
    path = tmp_path / "sweep.jsonl"
    tasks = trial_tasks(THEOREMS, SEEDS)

    def interrupt_after_two(done, total, record):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(tasks, store=JsonlStore(path), progress=interrupt_after_two)
    with open(path, "ab") as handle:  # the interruption also cut a third line short
        handle.write(reference_path.read_bytes().splitlines(keepends=True)[2][:40])
    log = io.StringIO()
    result = run_sweep(tasks, store=JsonlStore(path), resume=True, progress=ProgressBar(log, interactive=False))
    assert (result.skipped, result.ran) == (2, len(tasks) - 2)
    assert len(log.getvalue().splitlines()) == len(tasks) - 2  # one line per result
    assert without_seconds(result.rows) == without_seconds(reference_result.rows)
    assert canonical_lines(path) == canonical_lines(reference_path)
    again = run_sweep(tasks, store=JsonlStore(path), resume=True)
    assert again.ran == 0 and without_seconds(again.rows) == without_seconds(reference_result.rows)


# --------------------------------------------------------------------------- Dask
@pytest.mark.parametrize("batch_size", [1, 2])
def test_dask_sweep_gives_the_in_process_file(tmp_path, reference, cluster, batch_size):
    from verify.sweep import DaskExecutor

    reference_path, reference_result = reference
    path = tmp_path / "sweep.jsonl"
    executor = DaskExecutor(client=cluster.client, batch_size=batch_size)
    result = run_sweep(trial_tasks(THEOREMS, SEEDS), executor=executor, store=JsonlStore(path))
    assert canonical_lines(path) == canonical_lines(reference_path)
    assert without_seconds(result.rows) == without_seconds(reference_result.rows)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_dask_records_an_exception_with_its_traceback(cluster, batch_size):
    from verify.sweep import DaskExecutor

    tasks = [Task.of("raise-on-seed", "X", seed, bad_seed=2) for seed in range(4)]
    executor = DaskExecutor(client=cluster.client, batch_size=batch_size)
    records = run_sweep(tasks, executor=executor, kinds=TEST_KINDS).records()
    assert [r["status"] for r in records] == ["ok", "ok", "error", "ok"]
    assert "planted failure for seed 2" in records[2]["error"]["traceback"]
    assert [r["result"]["value"] for r in records if r["status"] == "ok"] == [0, 10, 30]


# Batched, the worker dies four times (twice with the batch, twice with the task alone).
@pytest.mark.parametrize("batch_size", [1, pytest.param(3, marks=pytest.mark.slow)])
def test_dask_retries_a_dying_worker_then_records_crashed(tmp_path, cluster, batch_size):
    from verify.sweep import DaskExecutor

    attempts = tmp_path / "attempts"
    tasks = [Task.of("exit-on-seed", "X", seed, bad_seed=1, attempts=str(attempts)) for seed in range(5)]
    executor = DaskExecutor(client=cluster.client, retries=cluster.retries, batch_size=batch_size)
    records = run_sweep(tasks, executor=executor, kinds=TEST_KINDS).records()
    assert [r["status"] for r in records] == ["ok", "crashed", "ok", "ok", "ok"]
    assert records[1]["error"]["type"] == "KilledWorker" and records[1]["key"]["seed"] == 1
    assert describe_failure(records[1]).startswith("CRASHED X seed=1: KilledWorker: ")
    assert [r["result"]["value"] for r in records if r["status"] == "ok"] == [0, 20, 30, 40]
    # The batch holding seed 1 dies on every attempt, then seed 1 alone does.
    runs = 2 if batch_size > 1 else 1
    assert len(attempts.read_text().splitlines()) == runs * (cluster.retries + 1)


# --------------------------------------------------------------------------- options
def _parse(*argv):
    return add_sweep_arguments(argparse.ArgumentParser()).parse_args(argv)


def test_sweep_arguments(tmp_path, capsys):
    args = _parse("--jsonl", str(tmp_path / "s.jsonl"), "--resume")
    assert isinstance(executor_from_arguments(args), InProcessExecutor) and args.batch_size == 1
    with pytest.raises(ValueError, match="^--batch-size: needs --workers or --scheduler"):
        executor_from_arguments(_parse("--batch-size", "4"))
    assert isinstance(store_from_arguments(args), JsonlStore)
    assert store_from_arguments(_parse()) is None
    with pytest.raises(ValueError, match="^--resume: needs --jsonl"):
        store_from_arguments(_parse("--resume"))
    for argv in (("--workers", "2", "--scheduler", "tcp://h:1"), ("--workers", "0"), ("--batch-size", "x")):
        with pytest.raises(SystemExit):
            _parse(*argv)
    assert "not allowed with argument" in capsys.readouterr().err


def test_importing_the_package_leaves_dask_unimported():
    import subprocess

    code = "import sys, verify.sweep; print(sorted({'dask', 'distributed'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "[]"


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setattr("verify.sweep.executor.DISTRIBUTED", "verify.sweep.no_such_module")
    with pytest.raises(DaskUnavailableError, match=INSTALL_HINT.replace("[", r"\[").replace("]", r"\]")):
        import_distributed()
    with pytest.raises(ValueError, match=r"^--workers: .*pip install 'identifiable-dgm\[scale\]'"):
        executor_from_arguments(_parse("--workers", "2"))


def test_progress_bar_draws_in_place_on_a_terminal():
    out = io.StringIO()
    bar = ProgressBar(out, interactive=True, width=10)
    record = {"key": {"id": "T2", "seed": 0}, "status": "ok", "result": {"summary": {"held": True}}}
    bar(0, 2, None)
    bar(1, 2, record)
    bar.close()
    assert out.getvalue().count("\r") == 2 and "1/2 T2 seed=0 held" in out.getvalue() and out.getvalue().endswith("\n")
