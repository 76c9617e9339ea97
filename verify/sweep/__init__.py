"""Sweeps of tasks (randomized trials first) in this process or on a Dask cluster.

A sweep is a list of ``Task`` values (kind, id, seed, parameters); ``run_sweep`` runs
them on an ``Executor``, appends each record to a ``Store`` as it completes (a JSON
Lines file with ``--jsonl``, fsync'd line by line), skips the keys it already holds
with ``resume=True``, and builds the summary rows from the stored records. A task that
raises is stored with status "error" and its traceback; one whose worker dies on every
attempt, with status "crashed"; the sweep goes on. Records are keyed by (kind, id,
seed, hash of the parameters, package version); at the end the file is rewritten
sorted by key, so a sweep gives the same file, timing fields apart, whatever executor
ran it and in whatever order the tasks completed.

Running 10^6 trials on a cluster
--------------------------------
Install identifiable-dgm with its ``scale`` extra (``pip install
'identifiable-dgm[scale]'``), the same version, on the machine that runs the command and
on every worker; start a scheduler and workers of one thread each (with dask-jobqueue,
e.g. ``SLURMCluster(cores=1, processes=1)`` scaled to W jobs, or a Kubernetes
deployment), with the settings of ``executor.LOCAL_CLUSTER_CONFIG`` in their Dask
configuration; then run, for 8 theorems x 125 000 seeds::

    python -m verify run --trials 125000 --scheduler tcp://HOST:8786 --batch-size 20 --jsonl sweep.jsonl

and, if it stops, the same command with ``--resume``: only the keys the file lacks run.
Measured with ``benchmarks/bench_sweep.py`` on a 2-core machine under light other load,
a trial of the default theorems takes 151 ms (median) and one process runs about 5 trials
a second. A Dask task costs about 6 ms (4% of a median trial) at ``--batch-size 1`` and
0.8 ms per trial at ``--batch-size 10``; most of it is CPU time of the scheduler and the
client (about 4 ms a task), so one scheduler runs at most a few hundred Dask tasks a
second. Choose the batch size so that the trial rate of the whole cluster divided by it
stays well below that. W single-thread workers then run about 5 W trials a second:
10^6 trials are about 56 worker-hours, some 35 minutes on 100 workers (500 trials a
second: ``--batch-size 20`` keeps the scheduler at 25 tasks a second). Each record takes
about 3 kB, so 10^6 trials write about 3 GB of JSONL; a durable append (write, flush,
fsync) took 0.3-0.4 ms, so one writer stores at most a few thousand records a second, and
the final sort by key holds an index of offsets, not the records, in memory. The client
keeps under 1 kB per task (the tasks and their keys).
"""

from .arguments import add_sweep_arguments, executor_from_arguments, store_from_arguments
from .executor import DaskExecutor, DaskUnavailableError, Executor, InProcessExecutor
from .keys import TaskKey, package_version, parameters_hash
from .progress import ProgressBar
from .store import JsonlStore, MemoryStore, Store
from .summary import TIMING_FIELDS, describe_failure, summary_rows, without_timing
from .sweep import SweepResult, run_sweep
from .tasks import TASK_KINDS, Task, register_task_kind, run_task, task_kind, trial_task, trial_tasks

__all__ = [
    "DaskExecutor", "DaskUnavailableError", "Executor", "InProcessExecutor", "JsonlStore", "MemoryStore", "ProgressBar",
    "Store", "SweepResult", "TASK_KINDS", "TIMING_FIELDS", "Task", "TaskKey", "add_sweep_arguments", "describe_failure",
    "executor_from_arguments", "package_version", "parameters_hash", "register_task_kind", "run_sweep", "run_task",
    "store_from_arguments", "summary_rows", "task_kind", "trial_task", "trial_tasks", "without_timing",
]
