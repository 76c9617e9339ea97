"""Executors: where the tasks of a sweep run.

``InProcessExecutor`` runs them one after another in this process (the default).
``DaskExecutor`` runs them on a Dask distributed cluster: a ``LocalCluster`` it starts
(``workers=N``) or an existing scheduler (``scheduler=ADDRESS``, e.g. one started by
dask-jobqueue or on Kubernetes). Both yield records as tasks complete.
"""

from __future__ import annotations

import abc
import collections
import hashlib
import importlib
import itertools
import logging
import traceback
from typing import Iterable, Iterator, Mapping

from models.validation import check_int

from .tasks import CRASHED, Task, TaskFunction, checked_jobs, error_record, run_task, run_tasks

INSTALL_HINT = "pip install 'identifiable-dgm[scale]'"
DISTRIBUTED = "distributed"  # the module imported on first use (tests point it at a missing one)
DEFAULT_RETRIES = 2
DEFAULT_MAX_IN_FLIGHT = 1000

# Dask settings of a LocalCluster started here. One task per worker at a time: a worker that
# dies takes down only the task it runs (a task queued behind it would count a failure too).
# The rest cut the idle CPU of the scheduler and workers (from about 12% of a core to 2% on
# two workers), which trials would otherwise share their cores with: the 20 ms event-loop
# health tick, the statistical profiler, and work stealing (idle: queued tasks are not stolen).
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
}


class DaskUnavailableError(ImportError):
    """dask[distributed] is not installed."""


def import_distributed():
    """The ``distributed`` module, imported on first use: Dask is an optional extra."""
    try:
        return importlib.import_module(DISTRIBUTED)
    except ImportError as exc:
        raise DaskUnavailableError(f"the Dask executor needs dask[distributed]: {INSTALL_HINT} ({exc})") from None


class Executor(abc.ABC):
    """Runs tasks and yields their records (``tasks.run_task``) as they complete, in any order."""

    name = "executor"

    @abc.abstractmethod
    def run(self, tasks: Iterable[Task], *, kinds: Mapping[str, TaskFunction] | None = None) -> Iterator[dict]:
        """Yield one record per task.

        Parameters
        ----------
        tasks : iterable of Task
            With distinct keys (``run_sweep`` removes repeats).
        kinds : mapping of str to callable, optional
            Task kinds that override the registry (``tasks.task_kind``).
        """

    def close(self) -> None:
        """Release what the executor started."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class InProcessExecutor(Executor):
    """One task after another in this process: today's behaviour of ``python -m verify run``.

    A task that kills the process (``os._exit``, a segfault) ends the sweep here; the
    Dask executor records it as "crashed" instead.
    """

    name = "in-process"

    def run(self, tasks, *, kinds=None):
        for task, function, key in checked_jobs(tasks, kinds):
            yield run_task(task, function, key)


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster.

    Parameters
    ----------
    workers : int, optional
        Start a ``LocalCluster`` of this many worker processes, one thread each.
    scheduler : str, optional
        Connect to the scheduler at this address (e.g. "tcp://10.0.0.5:8786") instead.
    client : distributed.Client, optional
        Use this client (it is not closed by ``close``). Exactly one of ``workers``,
        ``scheduler`` and ``client`` is given.
    retries : int
        A task whose worker dies is run again on another worker up to ``retries`` times, then
        recorded as "crashed". For a cluster started here this sets the scheduler's
        ``allowed_failures``; an existing scheduler keeps its own
        ``distributed.scheduler.allowed-failures`` (default 3). Tasks are also submitted with
        Dask's ``retries=retries``, which reruns a task whose exception escaped ``run_task``.
    batch_size : int
        Tasks per Dask task. Each Dask task costs the scheduler and this process a few
        milliseconds of CPU (see benchmarks/bench_sweep.py), which caps one scheduler at a
        few hundred tasks a second; batches of k tasks cut that k-fold. A batch whose
        worker dies (or that fails outside ``run_task``) is rerun one task at a time, so
        only the task that kills its worker is recorded as "crashed". Its records arrive together.
    max_in_flight : int
        At most this many Dask tasks are submitted and not yet collected, so that a sweep of
        millions of tasks keeps the scheduler's and this process's memory bounded.

    Notes
    -----
    Each task is submitted under its explicit key (``TaskKey.dask_key``), so no two seeds
    are ever merged; results are released as soon as they are collected. A cluster started
    here uses ``LOCAL_CLUSTER_CONFIG``: it sends a worker one task at a time
    (``worker-saturation`` 1.0), so a worker that dies takes down only the task it was
    running, and it idles at about 2% of a core rather than 12%. Give an existing
    cluster the same settings in its Dask configuration.
    """

    name = "dask"

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None, client=None,
                 retries: int = DEFAULT_RETRIES, batch_size: int = 1, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT):
        workers = None if workers is None else check_int(workers, "workers")
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise ValueError(f"scheduler: expected an address such as 'tcp://host:8786', got {scheduler!r}")
        given = [name for name, value in (("workers", workers), ("scheduler", scheduler), ("client", client)) if value is not None]
        if len(given) != 1:
            raise ValueError(f"workers, scheduler, client: expected exactly one, got {', '.join(given) or 'none'}")
        retries = check_int(retries, "retries", minimum=0)
        batch_size = check_int(batch_size, "batch_size")
        max_in_flight = check_int(max_in_flight, "max_in_flight")
        import_distributed()  # fail now, with the install hint, rather than at the first task
        self.workers, self.scheduler, self.retries = workers, scheduler, retries
        self.batch_size, self.max_in_flight = batch_size, max_in_flight
        self._client, self._owns_client, self._cluster = client, client is None, None

    def __repr__(self) -> str:
        where = f"workers={self.workers}" if self.workers is not None else f"scheduler={self.scheduler!r}" if self.scheduler else "client"
        return f"DaskExecutor({where}, retries={self.retries}, batch_size={self.batch_size})"

    @property
    def client(self):
        """The ``distributed.Client``, started (or connected) on first use."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self):
        import dask

        distributed = import_distributed()
        if self.scheduler is not None:
            try:
                return distributed.Client(self.scheduler)
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"scheduler: cannot connect to {self.scheduler}: {exc}") from None
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            self._cluster = distributed.LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=logging.ERROR, scheduler_kwargs={"allowed_failures": self.retries},
            )
        return distributed.Client(self._cluster)

    def run(self, tasks, *, kinds=None):
        # Kinds are resolved here: a worker may not have a kind registered (one from a test or a script).
        jobs = checked_jobs(tasks, kinds)
        distributed = import_distributed()
        client = self.client
        batches, singles = _chunks(jobs, self.batch_size), collections.deque()
        submitted: dict[str, tuple] = {}
        # Results are gathered here, batch by batch: as_completed(with_results=True) gathers
        # each future in its own callback, which can loop (dask/distributed#7331).
        stream = distributed.as_completed()

        def fill() -> None:
            while len(submitted) < self.max_in_flight:
                batch = singles.popleft() if singles else next(batches, None)
                if batch is None:
                    return
                future = self._submit(client, batch)
                submitted[future.key] = (batch, future)
                stream.add(future)

        try:
            fill()
            for done in stream.batches():
                finished = [f for f in done if f.status == "finished"]
                values = dict(zip([f.key for f in finished], client.gather(finished))) if finished else {}
                records = []
                for future in done:
                    batch, _ = submitted.pop(future.key)
                    if future.key in values:
                        records += values[future.key] if len(batch) > 1 else [values[future.key]]
                    elif len(batch) > 1 and future.status == "error":
                        singles.extend((job,) for job in batch)  # one by one: only the task that fails gets its record
                    else:
                        records.append(self._failure(future, *batch[0], distributed))
                    future.release()  # the cluster forgets the result once it is in the store
                fill()
                yield from records
        finally:
            if submitted:  # interrupted: stop the rest rather than leave them running
                client.cancel([f for _, f in submitted.values()])

    def _submit(self, client, batch: tuple):
        if len(batch) == 1:
            task, function, key = batch[0]
            return client.submit(run_task, task, function, key, key=key.dask_key, retries=self.retries)
        digest = hashlib.sha256("\n".join(key.dask_key for _, _, key in batch).encode()).hexdigest()[:16]
        return client.submit(run_tasks, list(batch), key=f"batch-{digest}-{len(batch)}", retries=self.retries)

    @staticmethod
    def _failure(future, task, function, key, distributed) -> dict:
        if future.status == "cancelled":
            raise RuntimeError(f"scheduler: task {future.key} was cancelled (lost the cluster?); rerun with resume to continue")
        exc = future.exception()
        if isinstance(exc, distributed.KilledWorker):
            return error_record(task, key, exc, "", status=CRASHED)
        return error_record(task, key, exc, "".join(traceback.format_exception(type(exc), exc, future.traceback())))

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = None if self._owns_client else self._client
        self._cluster = None


def _chunks(items: Iterator, size: int) -> Iterator[tuple]:
    iterator = iter(items)
    while chunk := tuple(itertools.islice(iterator, size)):
        yield chunk
