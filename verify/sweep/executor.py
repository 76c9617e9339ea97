"""Executors: where the tasks of a sweep run.

``InProcessExecutor`` runs them one after another in this process (the default).
``DaskExecutor`` runs them on a Dask distributed cluster: a ``LocalCluster`` it starts
(``workers=N``) or an existing scheduler (``scheduler=ADDRESS``, e.g. one started by
dask-jobqueue or on Kubernetes). Both yield records as tasks complete.
"""

from __future__ import annotations

import abc
import logging
import traceback
from typing import Iterable, Iterator, Mapping

from .tasks import CRASHED, Task, TaskFunction, error_record, run_task, task_kind

INSTALL_HINT = "pip install 'identifiable-dgm[scale]'"
DEFAULT_RETRIES = 2
DEFAULT_MAX_IN_FLIGHT = 1000


class DaskUnavailableError(ImportError):
    """dask[distributed] is not installed."""


def import_distributed():
    """The ``distributed`` module, imported on first use: Dask is an optional extra."""
    try:
        import distributed
    except ImportError as exc:
        raise DaskUnavailableError(f"the Dask executor needs dask[distributed]: {INSTALL_HINT} ({exc})") from None
    return distributed


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
        for task in tasks:
            yield run_task(task, task_kind(task.kind, kinds), task.key())


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
    max_in_flight : int
        At most this many tasks are submitted and not yet collected, so that a sweep of
        millions of tasks keeps the scheduler's and this process's memory bounded.

    Notes
    -----
    Each task is submitted under its explicit key (``TaskKey.dask_key``), so no two seeds
    are ever merged; results are released as soon as they are collected. A cluster started
    here sends a worker one task at a time (``worker-saturation`` 1.0): a worker that dies
    then takes down only the task it was running, not one queued behind it.
    """

    name = "dask"

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None, client=None,
                 retries: int = DEFAULT_RETRIES, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT):
        given = [name for name, value in (("workers", workers), ("scheduler", scheduler), ("client", client)) if value is not None]
        if len(given) != 1:
            raise ValueError(f"workers, scheduler, client: expected exactly one, got {', '.join(given) or 'none'}")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise ValueError(f"scheduler: expected an address such as 'tcp://host:8786', got {scheduler!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries: expected an integer >= 0, got {retries!r}")
        if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1:
            raise ValueError(f"max_in_flight: expected an integer >= 1, got {max_in_flight!r}")
        import_distributed()  # fail now, with the install hint, rather than at the first task
        self.workers, self.scheduler, self.retries, self.max_in_flight = workers, scheduler, retries, max_in_flight
        self._client, self._owns_client, self._cluster = client, client is None, None

    def __repr__(self) -> str:
        where = f"workers={self.workers}" if self.workers is not None else f"scheduler={self.scheduler!r}" if self.scheduler else "client"
        return f"DaskExecutor({where}, retries={self.retries})"

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
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            self._cluster = distributed.LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR, scheduler_kwargs={"allowed_failures": self.retries},
            )
        return distributed.Client(self._cluster)

    def run(self, tasks, *, kinds=None):
        distributed = import_distributed()
        client, pending = self.client, iter(tasks)
        submitted: dict[str, tuple] = {}
        stream = distributed.as_completed(with_results=True, raise_errors=False)

        def submit_next() -> bool:
            task = next(pending, None)
            if task is None:
                return False
            key = task.key()
            function = task_kind(task.kind, kinds)  # resolved here: a worker may not have it registered
            future = client.submit(run_task, task, function, key, key=key.dask_key, retries=self.retries)
            submitted[future.key] = (task, key, future)
            stream.add(future)
            return True

        try:
            while len(submitted) < self.max_in_flight and submit_next():
                pass
            for future, value in stream:
                task, key, _ = submitted.pop(future.key)
                record = self._record(future, value, task, key, distributed)
                future.release()  # the cluster forgets the result once it is in the store
                submit_next()
                yield record
        finally:
            if submitted:  # interrupted: stop the rest rather than leave them running
                client.cancel([f for _, _, f in submitted.values()])

    @staticmethod
    def _record(future, value, task, key, distributed) -> dict:
        if future.status == "finished":
            return value
        if future.status == "cancelled":
            raise RuntimeError(f"scheduler: task {future.key} was cancelled (lost the cluster?); rerun with resume to continue")
        exc = future.exception()  # ``value`` is (type, exception, traceback) here
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
