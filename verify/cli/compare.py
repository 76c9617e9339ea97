"""``python -m verify compare LEARNED TRUTH``: learned latents against the true ones, and the distance to affine
equivalence of the two models."""

from __future__ import annotations

import torch

from ..argument_types import nonnegative_int, positive_int
from ..atomic import write_json_atomic
from ..compare import compare
from .check import add_decoder_arguments, read_decoder
from .common import check_outputs
from .report import add_data_argument, read_data


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("compare", help="a learned model against the truth: MCC, affine MCC, affine R², and the "
                                                   "distance to affine equivalence")
    parser.add_argument("learned", help="the learned decoder (state dict, safetensors, ONNX, torch.export)")
    parser.add_argument("truth", help="the true decoder (same formats)")
    add_decoder_arguments(parser, what="the learned decoder")
    add_decoder_arguments(parser, prefix="truth-", what="the true decoder")
    parser.add_argument("--prior", metavar="PRIOR.json", help="the learned prior")
    parser.add_argument("--truth-prior", metavar="PRIOR.json", help="the true prior (needed to sample the truth without --data)")
    add_data_argument(parser)
    parser.add_argument("--samples", type=positive_int, default=2000, help="samples of the truth without --data (default 2000)")
    parser.add_argument("--bootstrap", type=nonnegative_int, default=200, help="bootstrap resamples of the intervals (default 200)")
    parser.add_argument("--box", type=float, default=None, help="half-width of the true latent box where the decoders are "
                                                                "compared (default: 4 true prior standard deviations)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the samples (default 0)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="load pickled modules; this RUNS CODE from the files, use only for files you trust")
    parser.add_argument("--json", metavar="PATH", help="write the comparison as JSON (atomically)")
    parser.add_argument("--plots", metavar="DIR", help="write PNG figures: learned against true latents")
    parser.set_defaults(func=run)


def run(args) -> int:
    check_outputs(args)
    # The checks work on small matrices: extra OpenMP threads only synchronise (and stall on a busy machine).
    torch.set_num_threads(1)
    if args.box is not None and not args.box > 0:
        raise ValueError(f"--box: expected a positive half-width, got {args.box}")
    learned = read_decoder(args, args.learned)
    truth = read_decoder(args, args.truth, prefix="truth_")
    x, z = read_data(args.data) if args.data else (None, None)
    result = compare(learned, truth, learned_prior=args.prior, true_prior=args.truth_prior, data=x, z_true=z, n=args.samples,
                     box=args.box, n_bootstrap=args.bootstrap, generator=args.seed)
    print(result.text())
    if args.plots:
        from ..report_figures import plot_latent_scatter  # deferred with the optional matplotlib

        print(f"plots: {plot_latent_scatter(result, args.plots)}")
    if args.json:
        write_json_atomic(args.json, {"command": "compare", **result.to_dict()})
    return 0
