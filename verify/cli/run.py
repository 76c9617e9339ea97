"""``python -m verify run``: every registered result as randomized trials, and a summary."""

from __future__ import annotations

import sys
import time

import torch

from models import random_model

from ..atomic import write_json_atomic
from ..plots import write_plots
from ..summary import format_table, summarize
from ..theorems import REGISTRY, get
from .common import check_outputs, device, nonnegative_int, positive_int

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
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.seed + args.trials > 2**62:
        raise ValueError(f"--seed: expected a seed below 2**62 - trials, got {args.seed}")
    theorems = [get(t) for t in args.theorem] if args.theorem else list(REGISTRY.values())
    check_outputs(args)
    # Trials work on tiny matrices: extra OpenMP threads only synchronise (and stall on a busy machine).
    torch.set_num_threads(1)
    total = len(theorems) * args.trials
    reports, done, start = [], 0, time.perf_counter()
    interactive = sys.stderr.isatty()
    for theorem in theorems:
        for i in range(args.trials):
            reports.append(theorem.trial(args.seed + i, device=args.device))
            done += 1
            if not args.quiet and interactive:
                _progress(done, total, theorem.id, time.perf_counter() - start)
        if not args.quiet and not interactive:  # a log, not a terminal: one line per result
            print(f"{done}/{total} trials done ({theorem.id}) after {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if not args.quiet and interactive:
        print(file=sys.stderr)
    rows = summarize(reports)
    print(format_table(rows))
    for report in reports:
        if report.outcome == "held":
            continue
        bad = [s for s in report.steps if s.outcome != "passed"]
        names = ", ".join(f"{s.role}:{s.result.name} {s.outcome}" for s in bad)
        print(f"{report.outcome.upper()} {report.theorem} seed={report.seed}: {names}  "
              f"(replay: python -m verify run --theorem \"{report.theorem}\" --seed {report.seed} --trials 1)")
    held = sum(r.outcome == "held" for r in reports)
    unknown = sum(r.outcome == "unknown" for r in reports)
    print(f"{held}/{len(reports)} trials held, {unknown} unknown, in {time.perf_counter() - start:.1f} s")
    if args.plots:
        _plots(args.plots, args.seed)
    if args.json:
        write_json_atomic(args.json, {"command": "run", "seed": args.seed, "trials": args.trials, "device": args.device,
                                      "summary": rows, "reports": [r.to_dict() for r in reports]})
    return 1 if any(r.outcome == "failed" for r in reports) else 0


def _plots(directory: str, seed: int) -> None:
    # Square and well conditioned: an exact density that fills the picture.
    model = random_model(2, 2, hidden=(2, 2), n_components=3, negative_slope=0.5, max_condition=2.0, generator=seed)
    paths = write_plots("regions", model, directory) + write_plots("density", model, directory) + write_plots("catalog", None, directory)
    print(f"plots: {len(paths)} files in {directory}")


def _progress(done: int, total: int, label: str, elapsed: float) -> None:
    width = 30
    filled = int(width * done / total)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:6} {elapsed:6.1f} s", end="", file=sys.stderr, flush=True)
