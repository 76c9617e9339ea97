"""Throughput of ``verify.sweep`` in this process and on a Dask LocalCluster, and the cost per task.

Runs ``--trials`` trials of each theorem (default: every registered one, as ``python -m
verify run`` does) three ways, each writing its JSONL file as a real sweep does (fsync per
line): in this process, and on a LocalCluster of 1 and of 2 worker processes (one thread
each). The stages take turns over ``--rounds`` slices of the seeds, so that load from other
processes, which comes and goes, weighs on all of them alike. Throughputs are given as
ratios against the in-process run of the same invocation. Clusters are started and warmed
(modules imported, one trial run per worker) before the clock starts; their start time is
printed apart.

The cost per task of the machinery is measured with a no-op task kind, which leaves only
submission, scheduling and the round trip of the record: the per-task time on the cluster,
less the in-process per-task time, with one task per Dask task and with ``--batch-size``
tasks per Dask task. It is printed as a percentage of the median trial time. Storing a
record durably (write, flush, fsync of one JSONL line) is measured apart, in this process.

Other processes on the machine change every figure. Each stage prints the share of the
CPUs that other processes used meanwhile (the machine's busy time less this benchmark's,
workers included) and the load average (which counts this benchmark's own processes too);
measure when the first is near zero.

    python benchmarks/bench_sweep.py [--trials 200] [--quick] [--theorem T2 ...] [--rounds 4] [--noops 2000] [--batch-size 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from verify.sweep import DaskExecutor, InProcessExecutor, JsonlStore, MemoryStore, Task, run_sweep, trial_tasks, without_timing


def noop(task: Task) -> dict:
    return {}


KINDS = {"noop": noop}


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


class OtherLoad:
    """CPU the *other* processes of the machine used over a stage, as a share of all its CPUs:
    the machine's busy time less that of this process and its children (the workers). The
    load average cannot tell the two apart."""

    def __init__(self):
        import psutil

        self._psutil = psutil
        self._wall, self._busy, self._own = time.perf_counter(), self._machine_busy(), self._tree()

    def _machine_busy(self) -> float:
        t = self._psutil.cpu_times()
        return sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))

    def _tree(self) -> dict[int, float]:
        me = self._psutil.Process()
        cpu = {}
        for process in [me, *me.children(recursive=True)]:
            try:
                times = process.cpu_times()
                cpu[process.pid] = times.user + times.system
            except self._psutil.Error:
                pass
        return cpu

    def percent(self) -> float:
        """Call before the stage's workers exit (their time would be lost)."""
        own_now = self._tree()
        own = sum(v - self._own.get(pid, 0.0) for pid, v in own_now.items())
        busy = self._machine_busy() - self._busy
        return max(0.0, 100 * (busy - own) / ((time.perf_counter() - self._wall) * (os.cpu_count() or 1)))


def _warm(theorems) -> None:
    """Import what a trial imports and run one trial of each theorem (torch's first calls are slow)."""
    import torch

    from verify.theorems import get

    torch.set_num_threads(1)
    for theorem in theorems:
        get(theorem).trial(10**9)


def _timed_sweep(tasks, executor, store, kinds=None, resume=False) -> tuple[float, object]:
    start = time.perf_counter()
    result = run_sweep(tasks, executor=executor, store=store, kinds=kinds, resume=resume)
    return time.perf_counter() - start, result


class Stage:
    """One way of running the trials, its store, and what it measured over the rounds."""

    def __init__(self, label: str, executor, path: Path):
        self.label, self.executor, self.path = label, executor, path
        self.seconds = self.tasks = self.other_cpu = 0.0
        self.trial_times: list[float] = []

    def run(self, tasks) -> None:
        meter = OtherLoad()
        seconds, result = _timed_sweep(tasks, self.executor, JsonlStore(self.path), resume=True)
        self.other_cpu += meter.percent() * seconds
        self.seconds += seconds
        self.tasks += len(tasks)
        self.trial_times += [r["result"]["summary"]["seconds"] for r in result.records()]

    def report(self, baseline: float | None) -> float:
        rate = self.tasks / self.seconds
        ratio = rate / baseline if baseline else 1.0
        print(f"  {self.label:22} {int(self.tasks):6} trials {self.seconds:8.1f} s {rate:8.2f} /s  {ratio:5.2f}x   "
              f"other processes {self.other_cpu / self.seconds:4.1f}% of the CPUs", flush=True)
        return rate


def _start_cluster(workers: int, theorems) -> tuple[DaskExecutor, float]:
    start = time.perf_counter()
    executor = DaskExecutor(workers=workers)
    executor.client.wait_for_workers(workers)
    executor.client.run(_warm, theorems)
    return executor, time.perf_counter() - start


def _canonical(path: Path) -> list[str]:
    return [json.dumps(without_timing(json.loads(line)), sort_keys=True) for line in path.read_bytes().splitlines()]


def _fsync_cost(folder: Path, n: int) -> float:
    """Seconds per durable append of a record of trial size (about 3 kB)."""
    store = JsonlStore(folder / "fsync.jsonl")
    record = {"key": Task.of("noop", "X", 0).key().to_dict(), "status": "ok", "seconds": 0.0, "result": {"pad": "x" * 3000}}
    start = time.perf_counter()
    for seed in range(n):
        record["key"]["seed"] = seed
        store.append(record)
    store.close()
    return (time.perf_counter() - start) / n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200, help="trials per theorem (default 200)")
    parser.add_argument("--quick", action="store_true", help="20 trials per theorem and 500 no-op tasks")
    parser.add_argument("--theorem", action="append", help="a registered id (repeat for several; default: all)")
    parser.add_argument("--noops", type=int, default=2000, help="no-op tasks to measure the cost per task (default 2000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="cluster sizes to measure (default 1 2)")
    parser.add_argument("--rounds", type=int, default=4, help="interleave the stages in this many rounds of seeds (default 4)")
    parser.add_argument("--batch-size", type=int, default=10, help="also measure the no-op cost per task with batches of this size (default 10)")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.noops = 20, 500
    from verify.theorems import REGISTRY, get

    theorems = [get(t).id for t in args.theorem] if args.theorem else list(REGISTRY)
    noops = [Task.of("noop", "X", seed) for seed in range(args.noops)]
    print(f"{len(theorems) * args.trials} trials a stage ({args.trials} x {', '.join(theorems)}), {os.cpu_count()} CPUs, "
          f"load {_load()}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _warm(theorems)
        stages = [Stage("in-process", InProcessExecutor(), folder / "in-process.jsonl")]
        for workers in args.workers:
            executor, started = _start_cluster(workers, theorems)
            print(f"LocalCluster of {workers}: started and warmed in {started:.1f} s (not counted)")
            stages.append(Stage(f"LocalCluster {workers} worker{'s' * (workers > 1)}", executor, folder / f"dask-{workers}.jsonl"))
        try:
            # Round by round, every stage runs the same slice of seeds: load from other
            # processes that comes and goes then weighs on every stage alike.
            for r in range(args.rounds):
                seeds = range(r * args.trials // args.rounds, (r + 1) * args.trials // args.rounds)
                for stage in stages:
                    stage.run(trial_tasks(theorems, seeds))
                print(f"round {r + 1}/{args.rounds} done, load {_load()}", flush=True)
            median = statistics.median(stages[0].trial_times)
            print(f"trials (JSONL store, fsync per line); median trial {median * 1e3:.1f} ms (in-process)")
            baseline = stages[0].report(None)
            for stage in stages[1:]:
                stage.report(baseline)
            agree = all(_canonical(stage.path) == _canonical(stages[0].path) for stage in stages[1:])
            print(f"JSONL files agree with in-process (timing fields removed): {'yes' if agree else 'NO'}")
            noop_inproc = _timed_sweep(noops, stages[0].executor, MemoryStore(), KINDS)[0] / len(noops)
            per_task = {}
            for workers, stage in zip(args.workers, stages[1:]):
                per_task[workers, 1] = _timed_sweep(noops, stage.executor, MemoryStore(), KINDS)[0] / len(noops)
                batched = DaskExecutor(client=stage.executor.client, batch_size=args.batch_size)
                per_task[workers, args.batch_size] = _timed_sweep(noops, batched, MemoryStore(), KINDS)[0] / len(noops)
        finally:
            for stage in reversed(stages):  # the last cluster started restores the log levels the first one set
                stage.executor.close()
        fsync = _fsync_cost(folder, min(args.noops, 500))

    print(f"cost per task (no-op tasks, {len(noops)}; load {_load()}):")
    print(f"  {'in-process':31} {noop_inproc * 1e6:9.1f} us per task")
    for (workers, batch), cost in per_task.items():
        overhead = cost - noop_inproc
        label = f"LocalCluster {workers} worker{'s' * (workers > 1)}, batch {batch}"
        print(f"  {label:31} {cost * 1e6:9.1f} us per task "
              f"(overhead {overhead * 1e6:.1f} us = {100 * overhead / median:.2f}% of the median trial)")
    print(f"  {'durable JSONL append':31} {fsync * 1e6:9.1f} us per record = {100 * fsync / median:.2f}% of the median trial")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
