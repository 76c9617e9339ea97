"""``python -m verify list | run | check | probe``."""

from __future__ import annotations

import argparse
import math
import sys
import time

from .report import write_json_atomic

DEFAULT_TRIALS = 10


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verify", description="Executable identifiability theory of deep generative models.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="the registry of results, their checks, counterexamples and notes")

    run = sub.add_parser("run", help="run every registered result as randomized trials and print a summary")
    run.add_argument("--theorem", action="append", help="a registered id (repeat for several; default: all)")
    run.add_argument("--trials", type=_positive_int, default=DEFAULT_TRIALS, help=f"trials per result (default {DEFAULT_TRIALS})")
    run.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the first trial; trial i uses seed + i (default 0)")
    run.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    run.add_argument("--json", metavar="PATH", help="write the full report as JSON (atomically)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--plots", metavar="DIR", help="write PNG figures (needs the plot extra): the regions and density of the "
                                                     "seed's 2-D model, and every counterexample's two models side by side")

    check = sub.add_parser("check", help="analyse a saved decoder: piecewise affine? injective? weakly injective? regions")
    check.add_argument("decoder", help="a state dict of nn.Linear layers saved with torch.save")
    check.add_argument("--negative-slope", type=float, help="slope of the activations between the layers (0 for ReLU)")
    check.add_argument("--prior", metavar="PRIOR.json", help="a Gaussian-mixture prior: {weights, means, covariances}")
    check.add_argument("--box", type=float, default=None, help="half-width of the latent box for exact checks (default 3, or 4 prior standard deviations)")
    check.add_argument("--allow-pickle", action="store_true",
                       help="load a whole pickled nn.Sequential; this RUNS CODE from the file, use only for files you trust")
    check.add_argument("--json", metavar="PATH", help="write the verdicts as JSON (atomically)")
    check.add_argument("--plots", metavar="DIR", help="write PNG figures: the decoder's linear regions (1-D/2-D latents), the pushforward density with --prior")

    from .probe import add_probe_parser

    add_probe_parser(sub)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"list": cmd_list, "run": cmd_run, "check": cmd_check, "probe": _cmd_probe}[args.command](args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _cmd_probe(args) -> int:
    from .probe import cmd_probe

    return cmd_probe(args)


# --------------------------------------------------------------------------- list
def cmd_list(args) -> int:
    from .theorems import REGISTRY

    for theorem in REGISTRY.values():
        print(f"{theorem.id:6} {theorem.title}")
        print(f"       {theorem.statement}")
        for name, path in theorem.assumptions:
            print(f"       assumption: {name}  [{path}]")
        print(f"       conclusion: {', '.join(theorem.conclusion)}")
        if theorem.counterexamples:
            print(f"       counterexamples: {', '.join(theorem.counterexamples)}")
        print(f"       note: {theorem.note}")
    return 0


# --------------------------------------------------------------------------- run
def cmd_run(args) -> int:
    import torch

    from .theorems import REGISTRY, get

    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise ValueError(f"--device: expected cpu or cuda, got {args.device!r}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device: expected cpu or cuda, got {args.device!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device: CUDA is not available on this machine")
    if args.seed + args.trials > 2**62:
        raise ValueError(f"--seed: expected a seed below 2**62 - trials, got {args.seed}")
    theorems = [get(t) for t in args.theorem] if args.theorem else list(REGISTRY.values())
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
    failed = [r for r in reports if not r.held]
    for report in failed:
        bad = [s for s in report.steps if not s.passed]
        names = ", ".join(f"{s.role}:{s.result.name}" for s in bad)
        print(f"FAILED {report.theorem} seed={report.seed}: {names}  (replay: python -m verify run --theorem \"{report.theorem}\" --seed {report.seed} --trials 1)")
    print(f"{len(reports) - len(failed)}/{len(reports)} trials held in {time.perf_counter() - start:.1f} s")
    if args.plots:
        _run_plots(args.plots, args.seed)
    if args.json:
        write_json_atomic(args.json, {"command": "run", "seed": args.seed, "trials": args.trials, "device": args.device,
                                      "summary": rows, "reports": [r.to_dict() for r in reports]})
    return 1 if failed else 0


def _run_plots(directory: str, seed: int) -> None:
    from models import random_model

    from .plots import write_plots

    # Square and well conditioned: an exact density that fills the picture.
    model = random_model(2, 2, hidden=(2, 2), n_components=3, negative_slope=0.5, max_condition=2.0, generator=seed)
    paths = write_plots("regions", model, directory) + write_plots("density", model, directory) + write_plots("catalog", None, directory)
    print(f"plots: {len(paths)} files in {directory}")


def _progress(done: int, total: int, label: str, elapsed: float) -> None:
    width = 30
    filled = int(width * done / total)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:6} {elapsed:6.1f} s", end="", file=sys.stderr, flush=True)


def summarize(reports) -> list[dict]:
    """One row per theorem: trials, held, the worst conclusion statistic (largest relative
    to its tolerance) with that tolerance, failed steps (each with a witness), time."""
    rows: dict[str, dict] = {}
    for report in reports:
        row = rows.setdefault(report.theorem, {"theorem": report.theorem, "trials": 0, "held": 0, "worst_error": math.nan,
                                               "tolerance": math.nan, "worst_check": "", "witnesses": 0, "seconds": 0.0})
        row["trials"] += 1
        row["held"] += int(report.held)
        row["witnesses"] += report.witnesses
        row["seconds"] += report.seconds
        worst = report.worst_conclusion()
        current = row["worst_error"] / row["tolerance"] if row["worst_check"] else -math.inf
        if worst is not None and worst.statistic / worst.tolerance > current:
            row.update(worst_error=worst.statistic, tolerance=worst.tolerance, worst_check=worst.name)
    return list(rows.values())


def format_table(rows: list[dict]) -> str:
    header = f"{'theorem':8} {'trials':>6} {'held':>5} {'worst error':>12} {'tolerance':>10}  {'check':22} {'witnesses':>9} {'time s':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        worst = f"{r['worst_error']:.2e}" if math.isfinite(r["worst_error"]) else str(r["worst_error"])
        lines.append(f"{r['theorem']:8} {r['trials']:>6} {r['held']:>5} {worst:>12} {r['tolerance']:>10.1e}  {r['worst_check']:22} "
                     f"{r['witnesses']:>9} {r['seconds']:>7.1f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- check
def cmd_check(args) -> int:
    from .decoder_file import analyse_decoder, load_decoder, load_prior

    decoder = load_decoder(args.decoder, negative_slope=args.negative_slope, allow_pickle=args.allow_pickle)
    prior = load_prior(args.prior, decoder) if args.prior else None
    results = analyse_decoder(decoder, prior, box=args.box)
    print(f"decoder: {decoder}")
    for result in results:
        verdict = "yes" if result.holds else ("no" if result.details.get("conclusive", True) else "unknown")
        print(f"  {result.name:24} {verdict:4} {result.details.get('summary', '')}")
    if args.plots:
        from models import GenerativeModel

        from .plots import write_plots

        paths = write_plots("regions", decoder, args.plots) if decoder.in_dim <= 2 else []
        if prior is not None and decoder.out_dim <= 2:
            paths += write_plots("density", GenerativeModel(decoder, prior), args.plots)
        print(f"plots: {len(paths)} files in {args.plots}")
    if args.json:
        write_json_atomic(args.json, {"command": "check", "decoder": args.decoder, "results": [r.to_dict() for r in results]})
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
