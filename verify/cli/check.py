"""``python -m verify check``: a user's saved decoder — piecewise affine? injective? weakly injective? regions."""

from __future__ import annotations

from models import GenerativeModel
from models.io import load_decoder, load_prior, parse_slopes

from ..analysis import DEFAULT_TIME_LIMIT, analyse_decoder
from ..atomic import write_json_atomic
from ..plots import write_plots
from ..report import evidence
from .common import check_outputs


def add_decoder_arguments(parser, prefix: str = "", what: str = "the decoder") -> None:
    """The options that say how to read a decoder file (shared with ``report`` and ``compare``)."""
    parser.add_argument(f"--{prefix}module", metavar="NAME",
                        help=f"the submodule of {what} to read (decoder of a whole VAE; a,b reads named layers in that order; "
                             "the output of an ONNX file)")
    parser.add_argument(f"--{prefix}negative-slope", metavar="S",
                        help="for a state dict or safetensors file, which record no activations: the slope of the leaky ReLUs "
                             "between the layers (0 for ReLU), one or one per hidden layer (0.1,0.3)")
    parser.add_argument(f"--{prefix}spec", metavar="SPEC.json", help="the architecture of a weights file (see models.io.spec)")


def read_decoder(args, path, prefix: str = ""):
    """The decoder at ``path``, read with the options ``add_decoder_arguments`` added (dests ``{prefix}module``, ...).
    Errors name the options the caller passed (``--truth-negative-slope`` for the truth's file)."""
    dash = prefix.replace("_", "-")
    try:
        return load_decoder(path, module=getattr(args, f"{prefix}module"),
                            negative_slope=parse_slopes(getattr(args, f"{prefix}negative_slope"), f"--{dash}negative-slope"),
                            allow_pickle=args.allow_pickle, spec=getattr(args, f"{prefix}spec"))
    except ValueError as exc:
        if not prefix:
            raise
        text = str(exc)
        for name in ("negative_slope", "module", "spec"):
            option = f"--{dash}{name.replace('_', '-')}"
            if text.startswith(f"{name}:"):
                text = option + text[len(name):]
            text = text.replace(f"--{name.replace('_', '-')} ", f"{option} ").replace(f"({name.replace('_', '-')})", option)
        if text.startswith("decoder:"):
            text = f"{prefix.rstrip('_')}:" + text[len("decoder:"):]
        raise ValueError(text) from None


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("check", help="analyse a saved decoder: piecewise affine? injective? weakly injective? regions")
    parser.add_argument("decoder", help="a state dict, safetensors, ONNX or torch.export file (a pickled module with --allow-pickle)")
    add_decoder_arguments(parser)
    parser.add_argument("--prior", metavar="PRIOR.json", help="a Gaussian-mixture prior: {weights, means, covariances or variances}")
    parser.add_argument("--box", type=float, default=None,
                        help="half-width of the latent box of the exact checks (default: the cube holding 1 - 1e-6 of the prior's mass, or 3)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="load a whole pickled module; this RUNS CODE from the file, use only for files you trust")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a verdict is no")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT,
                        help=f"seconds each exact check may take before it answers unknown (default {DEFAULT_TIME_LIMIT:g})")
    parser.add_argument("--json", metavar="PATH", help="write the verdicts as JSON (atomically)")
    parser.add_argument("--plots", metavar="DIR",
                        help="write PNG figures: the decoder's linear regions (1-D/2-D latents), the pushforward density with --prior")
    parser.set_defaults(func=run)


def run(args) -> int:
    check_outputs(args)
    loaded = read_decoder(args, args.decoder)
    if loaded.network is None or not loaded.piecewise_affine:
        activations = ", ".join(loaded.decoder.activations) if loaded.kind == "smooth" else f"a final {loaded.decoder.label}"
        raise ValueError(f"decoder: not a piecewise-affine decoder ({activations}); `python -m verify report` classifies it "
                         "and says which results still apply")
    decoder = loaded.network
    prior = load_prior(args.prior, latent_dim=decoder.in_dim).prior if args.prior else None
    if args.box is not None and not args.box > 0:
        raise ValueError(f"--box: expected a positive half-width, got {args.box}")
    if not args.time_limit > 0:
        raise ValueError(f"--time-limit: expected a positive number of seconds, got {args.time_limit}")
    results = analyse_decoder(loaded, prior, box=args.box, time_limit=args.time_limit)
    print(f"decoder: {decoder}")
    print(f"  activations: {loaded.activations}")
    verdicts = {"holds": "yes", "fails": "no", "unknown": "unknown"}
    for result in results:
        where = f" on {result.domain}" if result.domain else ""
        print(f"  {result.name:24} {verdicts[result.verdict]:8} {result.method or ''}{where}")
        if result.holds is False:
            print(f"  {'':24} {'':8} evidence: {evidence(result, decoder)}")
    for warning in loaded.warnings:
        print(f"  warning: {warning}")
    if args.plots:
        paths = write_plots("regions", decoder, args.plots) if decoder.in_dim <= 2 else []
        if prior is not None and decoder.out_dim <= 2:
            paths += write_plots("density", GenerativeModel(decoder, prior), args.plots)
        print(f"plots: {len(paths)} files in {args.plots}")
    if args.json:
        write_json_atomic(args.json, {"command": "check", "decoder": args.decoder, "loaded": loaded.to_dict(),
                                      "results": [r.to_dict() for r in results]})
    return 1 if args.strict and any(r.holds is False for r in results) else 0
