"""``python -m verify check``: a user's saved decoder — piecewise affine? injective? weakly injective? regions."""

from __future__ import annotations

from models import GenerativeModel
from models.io import load_decoder, load_prior

from ..analysis import DEFAULT_TIME_LIMIT, analyse_decoder
from ..atomic import write_json_atomic
from ..plots import write_plots
from .common import check_outputs


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("check", help="analyse a saved decoder: piecewise affine? injective? weakly injective? regions")
    parser.add_argument("decoder", help="a state dict of nn.Linear layers saved with torch.save")
    parser.add_argument("--negative-slope", type=float, help="slope of the activations between the layers (0 for ReLU)")
    parser.add_argument("--prior", metavar="PRIOR.json", help="a Gaussian-mixture prior: {weights, means, covariances}")
    parser.add_argument("--box", type=float, default=None,
                        help="half-width of the latent box for exact checks (default 3, or 4 prior standard deviations)")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT,
                        help=f"seconds each exact check may take before it answers unknown (default {DEFAULT_TIME_LIMIT:g})")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="load a whole pickled nn.Sequential; this RUNS CODE from the file, use only for files you trust")
    parser.add_argument("--json", metavar="PATH", help="write the verdicts as JSON (atomically)")
    parser.add_argument("--plots", metavar="DIR",
                        help="write PNG figures: the decoder's linear regions (1-D/2-D latents), the pushforward density with --prior")
    parser.set_defaults(func=run)


def run(args) -> int:
    check_outputs(args)
    decoder = load_decoder(args.decoder, negative_slope=args.negative_slope, allow_pickle=args.allow_pickle)
    prior = load_prior(args.prior, latent_dim=decoder.in_dim) if args.prior else None
    if args.box is not None and not args.box > 0:
        raise ValueError(f"--box: expected a positive half-width, got {args.box}")
    if not args.time_limit > 0:
        raise ValueError(f"--time-limit: expected a positive number of seconds, got {args.time_limit}")
    results = analyse_decoder(decoder, prior, box=args.box, time_limit=args.time_limit)
    print(f"decoder: {decoder}")
    verdicts = {"holds": "yes", "fails": "no", "unknown": "unknown"}
    for result in results:
        where = f" on {result.domain}" if result.domain else ""
        print(f"  {result.name:24} {verdicts[result.verdict]:8} {result.method or ''}{where}")
    if args.plots:
        paths = write_plots("regions", decoder, args.plots) if decoder.in_dim <= 2 else []
        if prior is not None and decoder.out_dim <= 2:
            paths += write_plots("density", GenerativeModel(decoder, prior), args.plots)
        print(f"plots: {len(paths)} files in {args.plots}")
    if args.json:
        write_json_atomic(args.json, {"command": "check", "decoder": args.decoder, "results": [r.to_dict() for r in results]})
    return 0
