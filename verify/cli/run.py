"""``python -m verify run``: every registered result as randomized trials, and a summary."""

from __future__ import annotations

import sys

import torch

from models import random_model

from ..argument_types import nonnegative_int, positive_int
from ..atomic import write_json_atomic
from ..plots import write_plots
from ..summary import format_table
from ..sweep import (
    ProgressBar,
    add_sweep_arguments,
    describe_failure,
    executor_from_arguments,
    run_sweep,
    store_from_arguments,
    trial_tasks,
)
from ..theorems import REGISTRY, get
from .common import check_outputs, device

DEFAULT_TRIALS = 10


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run every registered result as randomized trials and print a summary")
    parser.add_argument("--theorem", action="append", help="a registered id (repeat for several; default: all)")
    parser.add_argument("--trials", type=positive_int, default=DEFAULT_TRIALS, help=f"trials per result (default {DEFAULT_TRIALS})")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the first trial; trial i uses seed + i (default 0)")
    parser.add_argument("--device", type=device, default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON (atomically)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--plots", metavar="DIR", help="write PNG figures (needs the plot extra): the regions and density of the "
                                                       "seed's 2-D model, and every counterexample's two models side by side")
    add_sweep_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.seed + args.trials > 2**62:
        raise ValueError(f"--seed: expected a seed below 2**62 - trials, got {args.seed}")
    theorems = [get(t) for t in args.theorem] if args.theorem else list(REGISTRY.values())
    check_outputs(args)
    store, executor = store_from_arguments(args), executor_from_arguments(args)
    # Trials work on tiny matrices: extra OpenMP threads only synchronise (and stall on a busy machine).
    torch.set_num_threads(1)
    tasks = trial_tasks([t.id for t in theorems], range(args.seed, args.seed + args.trials), device=args.device)
    with executor:
        result = run_sweep(tasks, executor=executor, store=store, resume=args.resume,
                           progress=None if args.quiet else ProgressBar(sys.stderr))
    print(format_table(result.rows))
    for record in result.failures:
        key = record["key"]
        print(f"{describe_failure(record)}  (replay: python -m verify run --theorem \"{key['id']}\" --seed {key['seed']} --trials 1)")
    records = result.records()
    outcomes = [_outcome(record) for record in records]
    resumed = f", {result.skipped} read back from {args.jsonl}" if result.skipped else ""
    print(f"{outcomes.count('held')}/{len(records)} trials held, {outcomes.count('unknown')} unknown, "
          f"{outcomes.count('error')} errors, in {result.seconds:.1f} s{resumed}")
    if args.plots:
        _plots(args.plots, args.seed)
    if args.json:
        reports = [record["result"]["report"] for record in records if record["status"] == "ok"]
        write_json_atomic(args.json, {"command": "run", "seed": args.seed, "trials": args.trials, "device": args.device,
                                      "summary": result.rows, "reports": reports,
                                      "errors": [record for record in records if record["status"] != "ok"]})
    return 1 if any(outcome in ("failed", "error") for outcome in outcomes) else 0


def _outcome(record: dict) -> str:
    """held, failed or unknown for a trial that ran; error for one that raised or whose worker died."""
    return record["result"]["summary"]["outcome"] if record["status"] == "ok" else "error"


def _plots(directory: str, seed: int) -> None:
    # Square and well conditioned: an exact density that fills the picture.
    model = random_model(2, 2, hidden=(2, 2), n_components=3, negative_slope=0.5, max_condition=2.0, generator=seed)
    paths = write_plots("regions", model, directory) + write_plots("density", model, directory) + write_plots("catalog", None, directory)
    print(f"plots: {len(paths)} files in {directory}")
