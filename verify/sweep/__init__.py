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
(written after measuring; see benchmarks/bench_sweep.py)
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
