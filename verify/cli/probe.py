"""``python -m verify probe``: refit a model to samples and measure how far the latent map is from affine."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_json_atomic
from ..plots import save_samples_figure
from ..probe import DROPS, probe, probe_data
from .common import check_outputs, nonnegative_int, positive_int


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("probe", help="refit a model to samples and measure how far the latent map is from affine")
    parser.add_argument("--drop", choices=DROPS, default="none",
                        help="the assumption the generating model drops (default none: all hold, the map should be affine)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the data and the fit (default 0)")
    parser.add_argument("--samples", type=positive_int, default=2000, help="samples of x (default 2000)")
    parser.add_argument("--steps", type=positive_int, default=400, help="Adam steps (default 400)")
    parser.add_argument("--json", metavar="PATH", help="write the result as JSON (atomically)")
    parser.add_argument("--plots", metavar="DIR", help="write PNG figures (needs the plot extra): the data's pushforward density")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Run the probe; exit status 0 when the verdict is the expected one (affine iff nothing dropped)."""
    if args.samples < 100:
        raise ValueError(f"--samples: expected at least 100, got {args.samples}")
    check_outputs(args)
    data = probe_data(args.drop, args.samples, args.seed)
    result = probe(data.x, data.latent_dim, z_reference=data.z, n_components=data.n_components, steps=args.steps, seed=args.seed)
    expected = data.expected_affine
    d = result.details
    print(f"data: {data.description}")
    print(f"fitted: square leaky-ReLU flow, J = {data.n_components}, {args.steps} Adam steps, "
          f"mean log-likelihood {d['log_likelihood']:.4f}")
    print(f"R² (reference -> fitted) {d['r2_forward']:.4f}, (fitted -> reference) {d['r2_backward']:.4f}, "
          f"held-out affine R² {d['affine_r2']:.4f}; threshold {result.tolerance}")
    verdict = "affine" if result.holds else "not affine"
    print(f"verdict: {verdict} (expected {'affine' if expected else 'not affine'})")
    if args.json:
        write_json_atomic(args.json, {"command": "probe", "drop": args.drop, "seed": args.seed, "samples": args.samples,
                                      "expected_affine": expected, "result": result.to_dict()})
    if args.plots:
        path = save_samples_figure(data.x, Path(args.plots) / f"probe_{args.drop}.png", title=f"probe data: {data.description}")
        print(f"plots: {path}")
    return 0 if result.holds == expected else 1
