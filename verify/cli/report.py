"""``python -m verify report``: which results of the hierarchy apply to a saved model, with the evidence."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from models.io.torch_file import load_tensors

from ..analysis import DEFAULT_TIME_LIMIT
from ..atomic import write_json_atomic
from ..report import report
from ..theorems import get
from .check import add_decoder_arguments, read_decoder
from .common import check_outputs

EXIT_FAILED = 1
"""Exit status of ``--strict`` when an assumption of a requested result fails."""


def add_data_argument(parser) -> None:
    parser.add_argument("--data", metavar="DATA.pt", help="observations saved with torch.save: a tensor (N, n), or a dict with "
                                                          "'x' and, optionally, their true latents 'z'")


def read_data(path):
    """(x, z or None) from a tensor file read with ``weights_only`` (no code runs)."""
    if Path(path).is_dir() or not Path(path).exists():
        raise ValueError(f"--data: no file at {path}")
    content = load_tensors(path, "--data")
    if isinstance(content, torch.Tensor):
        return content, None
    if isinstance(content, dict) and isinstance(content.get("x"), torch.Tensor):
        return content["x"], content.get("z")
    raise ValueError(f"--data: expected a tensor or a dict with 'x' (and 'z'), got {type(content).__name__}")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="which results apply to a saved model: every assumption with its evidence")
    parser.add_argument("decoder", help="a state dict, safetensors, ONNX or torch.export file (a pickled module with --allow-pickle)")
    add_decoder_arguments(parser)
    parser.add_argument("--prior", metavar="PRIOR.json", help="the prior: {weights, means, covariances or variances}")
    parser.add_argument("--box", type=float, default=None,
                        help="half-width of the latent box of the decoder checks (default: the cube holding 1 - 1e-6 of the prior's mass)")
    parser.add_argument("--noise-scale", type=float, default=None, help="σ of the observation noise N(0, σ² I), if known (T5)")
    add_data_argument(parser)
    parser.add_argument("--theorem", action="append", help="a result to report (repeat for several; default: all)")
    parser.add_argument("--strict", action="store_true",
                        help=f"exit with status {EXIT_FAILED} when an assumption of a requested result fails")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT,
                        help=f"seconds each exact check may take before it answers unknown (default {DEFAULT_TIME_LIMIT:g})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples the checks draw (default 0)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="load a whole pickled module; this RUNS CODE from the file, use only for files you trust")
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON, every witness as data (atomically)")
    parser.add_argument("--plots", metavar="DIR", help="write PNG figures: the regions on the checked box with the prior, "
                                                       "and the density of the observations")
    parser.add_argument("--coords", metavar="I,J", help="the two output coordinates (from 1) of the density figure when x has more "
                                                        "than two (default: the two of largest variance)")
    parser.set_defaults(func=run)


def run(args) -> int:
    check_outputs(args)
    # The checks work on small matrices: extra OpenMP threads only synchronise (and stall on a busy machine).
    torch.set_num_threads(1)
    theorems = [get(t).id for t in args.theorem] if args.theorem else None
    if args.box is not None and not args.box > 0:
        raise ValueError(f"--box: expected a positive half-width, got {args.box}")
    if args.seed < 0:
        raise ValueError(f"--seed: expected an integer >= 0, got {args.seed}")
    coords = None
    if args.coords:
        try:
            coords = tuple(int(c) - 1 for c in args.coords.split(","))
        except ValueError:
            raise ValueError(f"--coords: expected two coordinates such as 1,3, got {args.coords!r}") from None
        if len(coords) != 2 or min(coords) < 0:
            raise ValueError(f"--coords: expected two coordinates from 1, such as 1,3, got {args.coords!r}")
    loaded = read_decoder(args, args.decoder)
    x, z = read_data(args.data) if args.data else (None, None)
    if not args.time_limit > 0:
        raise ValueError(f"--time-limit: expected a positive number of seconds, got {args.time_limit}")
    result = report(loaded, args.prior, data=x, z_true=z, box=args.box, noise_scale=args.noise_scale, theorems=theorems,
                    time_limit=args.time_limit, generator=args.seed)
    print(result.text())
    if args.plots:
        try:
            paths = result.plot(args.plots, coords=coords)
        except ValueError as exc:  # the figure's own argument names the option
            raise ValueError(str(exc).replace("coords:", "--coords:", 1)) from None
        print(f"plots: {', '.join(str(p) for p in paths)}")
    if args.json:
        write_json_atomic(args.json, {"command": "report", "decoder": args.decoder, **result.to_dict()})
    failures = result.failures(theorems)
    if args.strict and failures:
        names = "; ".join(f"{tid}: {a.name}" for tid, a in failures)
        print(f"strict: {len(failures)} assumption(s) of the requested results fail ({names})", file=sys.stderr)
        return EXIT_FAILED
    return 0
