"""Tasks of a sweep, the registry of task kinds, and the records a task produces.

A task is a small frozen value (kind, id, seed, parameters); its kind names the
function that runs it. ``run_task`` runs one task and always returns a record: an
exception becomes data (status "error" with its traceback), so a sweep never aborts
on one bad task.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch

from models.validation import check_callable, check_instance, check_seed, check_text

from ..check_result import as_data
from ..suite.trial import Sizes
from ..theorems import get
from .keys import TaskKey, canonical_json, package_version, parameters_hash

OK, ERROR, CRASHED = "ok", "error", "crashed"
STATUSES = (OK, ERROR, CRASHED)


@dataclass(frozen=True)
class Task:
    """One unit of work of a sweep.

    Attributes
    ----------
    kind : str
        A registered task kind ("trial", ...): ``task_kind(kind)`` runs the task.
    id : str
        What the task is about (for a trial, a theorem id such as "T1'").
    seed : int
        >= 0.
    parameters : tuple of (str, object)
        Sorted by name. Values are plain (``keys.canonical_json`` accepts them) or frozen
        dataclasses such as ``verify.trials.Sizes``; build with ``Task.of(kind, id, seed, **parameters)``.
    """

    kind: str
    id: str
    seed: int
    parameters: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self):
        if not isinstance(self.kind, str) or not self.kind:
            raise ValueError(f"kind: expected a non-empty string, got {self.kind!r}")
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"id: expected a non-empty string, got {self.id!r}")
        object.__setattr__(self, "seed", check_seed(self.seed))
        if isinstance(self.parameters, (str, bytes, dict)) or not isinstance(self.parameters, Iterable):
            raise ValueError(f"parameters: expected (name, value) pairs, got {self.parameters!r}")
        pairs = tuple(self.parameters)
        if not all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise ValueError(f"parameters: expected (name, value) pairs, got {self.parameters!r}")
        if len({name for name, _ in pairs}) != len(pairs):
            raise ValueError(f"parameters: a name is repeated in {self.parameters!r}")
        canonical_json(dict(pairs))  # raises now, not on a worker, for a value that cannot be keyed
        object.__setattr__(self, "parameters", tuple(sorted(pairs)))

    @classmethod
    def of(cls, kind: str, id: str, seed: int, **parameters) -> "Task":
        return cls(kind, id, seed, tuple(parameters.items()))

    @property
    def options(self) -> dict:
        """The parameters as a dict."""
        return dict(self.parameters)

    def key(self, version: str | None = None) -> TaskKey:
        """The record key; ``version`` defaults to ``package_version()``."""
        check_text(version, "version", allow_none=True)
        return TaskKey(self.kind, self.id, self.seed, parameters_hash(self.options), version or package_version())


TaskFunction = Callable[[Task], Mapping]
TASK_KINDS: dict[str, TaskFunction] = {}


def register_task_kind(kind: str, function: TaskFunction | None = None, *, replace: bool = False):
    """Register ``function(task) -> dict`` (JSON-plain after ``verify.check_result.plain``) as ``kind``.

    Usable as a decorator (``@register_task_kind("probe")``). The function must be importable
    by worker processes (a module-level function of an installed module), or pickled by value
    (``cloudpickle.register_pickle_by_value``); it runs once per task and should be pure.
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind: expected a non-empty string, got {kind!r}")

    def register(fn: TaskFunction) -> TaskFunction:
        if not callable(fn):
            raise ValueError(f"function: expected a callable, got {fn!r}")
        if kind in TASK_KINDS and TASK_KINDS[kind] is not fn and not replace:
            raise ValueError(f"kind: {kind!r} is already registered (pass replace=True)")
        TASK_KINDS[kind] = fn
        return fn

    return register if function is None else register(function)


def task_kind(kind: str, kinds: Mapping[str, TaskFunction] | None = None) -> TaskFunction:
    """The function of ``kind``: from ``kinds`` when it has it, else from the registry."""
    check_text(kind, "kind")
    check_kinds(kinds)
    if kinds is not None and kind in kinds:
        return kinds[kind]
    try:
        return TASK_KINDS[kind]
    except KeyError:
        known = sorted({*TASK_KINDS, *(kinds or {})})
        raise ValueError(f"kind: no task kind {kind!r}; known: {', '.join(known)}") from None


def check_kinds(kinds: Any, name: str = "kinds") -> Mapping[str, TaskFunction] | None:
    """None, or a mapping of task kind names to functions (kinds that override the registry)."""
    if kinds is not None and (not isinstance(kinds, Mapping) or
                              not all(isinstance(k, str) and callable(f) for k, f in kinds.items())):
        raise ValueError(f"{name}: expected a mapping of task kind names to functions, got {str(kinds)[:80]!r}")
    return kinds


def checked_jobs(tasks: Iterable[Task], kinds: Mapping[str, TaskFunction] | None) -> Iterator[tuple[Task, TaskFunction, TaskKey]]:
    """(task, function, key) of each task; ``kinds`` and the type of ``tasks`` are checked now, each task
    as it is drawn (its kind is resolved by the caller: a worker may not have it registered)."""
    check_kinds(kinds)
    if isinstance(tasks, (str, bytes, Task, Mapping)) or not isinstance(tasks, Iterable):
        raise ValueError(f"tasks: expected an iterable of verify.sweep.Task, got {type(tasks).__name__}")
    return (_job(task, kinds) for task in tasks)


def _job(task: Task, kinds) -> tuple[Task, TaskFunction, TaskKey]:
    if not isinstance(task, Task):
        raise ValueError(f"tasks: expected verify.sweep.Task values, got {type(task).__name__}")
    try:
        function = task_kind(task.kind, kinds)
    except ValueError as exc:
        raise ValueError(f"tasks: {str(exc).removeprefix('kind: ')}") from None
    return task, function, task.key()


# --------------------------------------------------------------------------- records
def run_task(task: Task, function: TaskFunction, key: TaskKey) -> dict:
    """Run ``function(task)`` and return its record; an exception becomes an "error" record.

    Parameters
    ----------
    task : Task
    function : callable
        ``task_kind(task.kind)``, resolved by the caller (a worker may not have the kind registered).
    key : TaskKey
        Made by the caller, so that the key carries the caller's package version.

    Returns
    -------
    dict
        JSON-plain: ``key`` (``TaskKey.to_dict``), ``parameters``, ``status`` ("ok" or "error"),
        ``seconds`` (wall time of the call), ``result`` (what ``function`` returned, or None)
        and ``error`` (None, or type, message and traceback).
    """
    _check_job(task, function, key)
    start = time.perf_counter()
    try:
        result = as_data(dict(function(task)))
    except Exception as exc:  # failures are data: the sweep goes on
        return _record(task, key, ERROR, time.perf_counter() - start, error=_error(exc, traceback.format_exc()))
    return _record(task, key, OK, time.perf_counter() - start, result=result)


def _check_job(task: Task, function: TaskFunction, key: TaskKey) -> None:
    check_instance(task, Task, "task")
    check_callable(function, "function")
    check_instance(key, TaskKey, "key")
    if (key.kind, key.id, key.seed, key.parameters_hash) != (task.kind, task.id, task.seed, parameters_hash(task.options)):
        raise ValueError(f"key: {key} is not the key of the task ({task.kind}, {task.id}, seed {task.seed}, its parameters)")


def run_tasks(jobs: list[tuple[Task, TaskFunction, TaskKey]]) -> list[dict]:
    """``run_task`` on each (task, function, key): a batch of tasks as one unit of work."""
    return [run_task(task, function, key) for task, function, key in jobs]


def error_record(task: Task, key: TaskKey, exc: BaseException, trace: str, *, status: str = ERROR) -> dict:
    """The record of a task that did not return: an exception raised outside ``run_task``
    (status "error") or a worker that died on every attempt (status "crashed")."""
    if status not in (ERROR, CRASHED):
        raise ValueError(f"status: expected 'error' or 'crashed', got {status!r}")
    return _record(task, key, status, math.nan, error=_error(exc, trace))


def _record(task: Task, key: TaskKey, status: str, seconds: float, *, result=None, error=None) -> dict:

    return {"key": key.to_dict(), "parameters": json.loads(canonical_json(task.options)), "status": status,
            "seconds": as_data(seconds), "result": result, "error": error}


def _error(exc: BaseException, trace: str) -> dict:
    return {"type": type(exc).__name__, "message": str(exc), "traceback": trace}


# --------------------------------------------------------------------------- the "trial" kind
def trial_task(theorem: str, seed: int, *, sizes=None, device: str = "cpu") -> Task:
    """The task of ``verify.theorems.get(theorem).trial(seed, sizes, device)``.

    The theorem id is made canonical ("t1p" -> "T1'") and ``sizes=None`` becomes the
    theorem's default sizes, so the key says what was run.
    """
    registered = get(theorem)
    if sizes is not None and not isinstance(sizes, Sizes):
        raise ValueError(f"sizes: expected a verify.suite.Sizes, got {type(sizes).__name__}")
    return Task.of("trial", registered.id, seed, sizes=sizes or registered.sizes, device=_device_name(device))


def _device_name(device: Any) -> str:
    """The device as a string: "cpu", "cuda" or "cuda:k". Not checked against this machine's devices:
    the workers of a cluster may have GPUs that the machine making the tasks lacks."""
    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"device: expected a string such as 'cpu' or 'cuda', got {device!r}")
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"device: expected 'cpu' or 'cuda' (or 'cuda:k'), got {device!r}") from None
    if parsed.type not in ("cpu", "cuda") or (parsed.type == "cpu" and parsed.index not in (None, 0)):
        raise ValueError(f"device: expected 'cpu' or 'cuda' (or 'cuda:k'), got {device!r}")
    return "cpu" if parsed.type == "cpu" else str(parsed)


def trial_tasks(theorems: Iterable[str], seeds: Iterable[int], *, sizes=None, device: str = "cpu") -> list[Task]:
    """Every (theorem, seed) trial, theorem by theorem, as ``cmd_run`` runs them."""
    for name, values in (("theorems", theorems), ("seeds", seeds)):
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ValueError(f"{name}: expected a sequence, got {values!r}")
    seeds = [check_seed(seed, "seeds") for seed in seeds]
    ids = []
    for theorem in theorems:
        try:
            ids.append(get(theorem).id)
        except ValueError as exc:
            raise ValueError(f"theorems: {str(exc).removeprefix('theorem: ')}") from None
    return [trial_task(theorem, seed, sizes=sizes, device=device) for theorem in ids for seed in seeds]


def run_trial_kind(task: Task) -> dict:
    """Run a trial task.

    Returns
    -------
    dict
        ``summary``: theorem, seed, held, outcome ("held", "failed" or "unknown"), witnesses, failed_steps ("role:check" of each step
        that gave the unexpected verdict), seconds, and worst_check, worst_statistic,
        worst_tolerance (``TrialReport.worst_conclusion``; "" and nan when there is none),
        what the summary table and the failure lines need; ``report``: ``TrialReport.to_dict()``.
    """
    # Trials work on tiny matrices, where extra threads only synchronise; one thread also
    # makes a trial give the same bits in this process and in a worker.
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    options = task.options
    sizes = options.get("sizes")
    if isinstance(sizes, Mapping):  # a task rebuilt from JSON
        sizes = Sizes(**{**sizes, "hidden": tuple(sizes.get("hidden", Sizes().hidden))})
    report = get(task.id).trial(task.seed, sizes=sizes, device=options.get("device", "cpu"))
    worst = report.worst_conclusion()
    summary = {
        "theorem": report.theorem, "seed": report.seed, "held": report.held, "outcome": report.outcome,
        "witnesses": report.witnesses,
        "failed_steps": [f"{s.role}:{s.result.name}" for s in report.steps if not s.passed],
        "seconds": report.seconds, "worst_check": worst.name if worst is not None else "",
        "worst_statistic": worst.statistic if worst is not None else math.nan,
        "worst_tolerance": worst.tolerance if worst is not None else math.nan,
    }
    return {"summary": summary, "report": report.to_dict()}


register_task_kind("trial", run_trial_kind)
