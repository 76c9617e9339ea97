"""``run_sweep``: run tasks on an executor, store each record as it completes, summarise."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from models.validation import check_callable, check_instance

from .executor import Executor, InProcessExecutor
from .keys import TaskKey
from .store import MemoryStore, Store, record_key
from .summary import is_failure, summary_rows
from .tasks import Task, TaskFunction, check_kinds

Progress = Callable[[int, int, "dict | None"], None]


@dataclass
class SweepResult:
    """What a finished sweep gives back.

    Attributes
    ----------
    rows : list of dict
        ``summary.summary_rows`` of the sweep's records (``verify.cli.format_table`` prints them).
    failures : list of dict
        The records that raised, crashed or did not hold, in task order.
    ran, skipped : int
        Tasks run now, and tasks whose key the store already held (``resume``).
    seconds : float
        Wall time of the sweep.
    store : Store
    keys : list of TaskKey
        The sweep's keys in task order.
    """

    rows: list[dict]
    failures: list[dict]
    ran: int
    skipped: int
    seconds: float
    store: Store
    keys: list[TaskKey] = field(repr=False)

    def records(self) -> list[dict]:
        """The sweep's records in task order, read back from the store (all in memory: for a
        large sweep iterate ``store.records()`` instead)."""
        return _records_of(self.store, self.keys)


def run_sweep(tasks: Iterable[Task], *, executor: Executor | None = None, store: Store | None = None,
              resume: bool = False, progress: Progress | None = None,
              kinds: Mapping[str, TaskFunction] | None = None, compact: bool = True) -> SweepResult:
    """Run every task once, appending its record to ``store`` as it completes.

    Parameters
    ----------
    tasks : iterable of Task
        Repeats (the same key) run once.
    executor : Executor, optional
        Default ``InProcessExecutor()``. It is not closed here.
    store : Store, optional
        Default a ``MemoryStore``. Unless ``resume``, it must be empty.
    resume : bool
        Skip the tasks whose key the store already holds (a cut-off last line does not count).
    progress : callable, optional
        ``progress(done, total, record)`` after each task (``record`` None for the initial call);
        its ``close()``, if any, is called at the end. ``progress.ProgressBar`` draws a bar.
    kinds : mapping of str to callable, optional
        Task kinds that override the registry.
    compact : bool
        At the end, rewrite the store sorted by key (``Store.compact``), so that the file does
        not depend on the order the tasks completed in. An interrupted sweep is left as written.

    Returns
    -------
    SweepResult
    """
    start = time.perf_counter()
    executor = check_instance(executor, Executor, "executor") if executor is not None else InProcessExecutor()
    store = check_instance(store, Store, "store") if store is not None else MemoryStore()
    if progress is not None:
        check_callable(progress, "progress")
    check_kinds(kinds)
    todo = _distinct(tasks)
    keys, pending = list(todo), _pending(todo, store, resume)
    done = len(keys) - len(pending)
    skipped = done
    try:
        if progress is not None:
            progress(done, len(keys), None)
        # closing(): an interruption here stops the executor's tasks now, not when collected.
        with contextlib.closing(executor.run(pending, kinds=kinds)) as records:
            for record in records:
                store.append(record)
                done += 1
                if progress is not None:
                    progress(done, len(keys), record)
    finally:
        store.close()
        getattr(progress, "close", lambda: None)()
    if compact:
        store.compact()
    rows, failures = _summarise(store, keys)
    return SweepResult(rows, failures, done - skipped, skipped, time.perf_counter() - start, store, keys)


def _pending(todo: dict[TaskKey, Task], store: Store, resume: bool) -> list[Task]:
    if not resume:
        if not store.is_empty():
            raise ValueError(f"resume: {store!r} already holds records; resume to continue that sweep, or start a new store")
        return list(todo.values())
    held = store.keys()
    return [task for key, task in todo.items() if key not in held]


def _distinct(tasks: Iterable[Task]) -> dict[TaskKey, Task]:
    if isinstance(tasks, (str, bytes, Task, Mapping)) or not isinstance(tasks, Iterable):
        raise ValueError(f"tasks: expected an iterable of verify.sweep.Task, got {type(tasks).__name__}")
    todo: dict[TaskKey, Task] = {}
    for task in tasks:
        if not isinstance(task, Task):
            raise ValueError(f"tasks: expected verify.sweep.Task values, got {type(task).__name__}")
        todo.setdefault(task.key(), task)
    return todo


def _summarise(store: Store, keys: list[TaskKey]) -> tuple[list[dict], list[dict]]:
    """Summary rows and failed records of the sweep's keys, in one pass over the store that
    keeps no other record in memory (a sweep of 10^6 trials writes gigabytes)."""
    wanted, seen, failures = set(keys), set(), []

    def ours():
        for record in store.records():
            key = record_key(record)
            if key in wanted and key not in seen:  # run_sweep never stores a key twice
                seen.add(key)
                if is_failure(record):
                    failures.append(record)
                yield record

    rows = summary_rows(ours())
    if len(seen) != len(wanted):
        missing = next(k for k in keys if k not in seen)
        raise RuntimeError(f"store: no record for {len(wanted) - len(seen)} task(s), first {missing}")
    first = {}
    for key in keys:
        first.setdefault(key.id, len(first))
    position = {record_key(r): None for r in failures}
    for i, key in enumerate(k for k in keys if k in position):
        position[key] = i
    return sorted(rows, key=lambda row: first[row["theorem"]]), sorted(failures, key=lambda r: position[record_key(r)])


def _records_of(store: Store, keys: list[TaskKey]) -> list[dict]:
    wanted = set(keys)
    found = {}
    for record in store.records():
        key = record_key(record)
        if key in wanted:
            found[key] = record  # the last record of a key wins, as in compact
    missing = [k for k in keys if k not in found]
    if missing:
        raise RuntimeError(f"store: no record for {len(missing)} task(s), first {missing[0]}")
    return [found[k] for k in keys]
