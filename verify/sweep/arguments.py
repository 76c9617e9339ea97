"""Command-line options of a sweep, for ``python -m verify run`` (or any other command)."""

from __future__ import annotations

import argparse

from models.validation import check_instance

from ..argument_types import positive_int
from .executor import DaskExecutor, DaskUnavailableError, Executor, InProcessExecutor
from .store import JsonlStore, Store


def add_sweep_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--workers N``, ``--scheduler ADDRESS`` (not both), ``--batch-size K``, ``--jsonl PATH`` and ``--resume``."""
    check_instance(parser, argparse.ArgumentParser, "parser")
    group = parser.add_argument_group("sweep", "where the tasks run and where their records go")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, metavar="N",
                       help="run on a local Dask cluster of N worker processes, one thread each (needs the scale extra)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786 (needs the scale extra)")
    group.add_argument("--batch-size", type=positive_int, default=1, metavar="K",
                       help="tasks per Dask task (default 1); raise it when the scheduler, not the workers, limits the rate")
    group.add_argument("--jsonl", metavar="PATH",
                       help="append each record to PATH as it completes (JSON Lines, fsync'd); sorted by key at the end")
    group.add_argument("--resume", action="store_true", help="with --jsonl: skip the tasks PATH already holds")
    return parser



def executor_from_arguments(args: argparse.Namespace) -> Executor:
    """The executor the options ask for: in-process unless ``--workers`` or ``--scheduler``.

    Raises
    ------
    ValueError
        Naming the option, when both are given or Dask is not installed.
    """
    check_instance(args, argparse.Namespace, "args")
    workers, scheduler = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if workers is not None and scheduler is not None:
        raise ValueError("--workers, --scheduler: give one, not both")
    batch_size = getattr(args, "batch_size", 1)
    if workers is None and scheduler is None:
        if batch_size != 1:
            raise ValueError("--batch-size: needs --workers or --scheduler")
        return InProcessExecutor()
    option = "--workers" if workers is not None else "--scheduler"
    try:
        return DaskExecutor(workers=workers, scheduler=scheduler, batch_size=batch_size)
    except DaskUnavailableError as exc:
        raise ValueError(f"{option}: {exc}") from None


def store_from_arguments(args: argparse.Namespace) -> Store | None:
    """A ``JsonlStore`` for ``--jsonl PATH``, else None (``run_sweep`` then keeps records in memory)."""
    check_instance(args, argparse.Namespace, "args")
    path, resume = getattr(args, "jsonl", None), getattr(args, "resume", False)
    if resume and not path:
        raise ValueError("--resume: needs --jsonl PATH")
    return JsonlStore(path) if path else None
