"""``python -m verify probe``: refit models to samples and measure how far their latents are from affine.

Three modes:

- ``--experiment NAME`` (the default, ``assumptions``): a registered experiment of
  ``verify.probe.experiments`` over ``--seeds``, printed as a table of conditions; exit status 1
  when a condition whose assumptions all hold reaches the target affine R² on fewer than 9 seeds in 10;
- ``--data x.npy [--latents z.npy]``: a user's samples (``verify.probe.user_data.probe_samples``);
  exit status 0 when the affine R² reaches the target;
- ``--drop D`` (or any of ``--seed``, ``--samples``, ``--steps`` alone, as before the experiments):
  the square flow probe on ``probe_data(D)``; exit status 0 when the verdict is the expected one
  (affine iff nothing is dropped).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..argument_types import nonnegative_int, positive_int
from ..atomic import write_json_atomic
from ..plots import save_samples_figure
from ..probe import DROPS, probe, probe_data
from ..probe.data import load_samples
from ..probe.experiments import BUDGETS, EXPERIMENTS, R2_TARGET, run_experiment
from ..probe.user_data import ENGINES, probe_samples
from .common import check_outputs

DEFAULT_EXPERIMENT = "assumptions"
DEFAULT_SEEDS = "1"
DEFAULT_BUDGET = "quick"
FLOW_SAMPLES, FLOW_STEPS = 2000, 400
# A condition whose assumptions all hold passes when at least this fraction of seeds reach R2_TARGET.
PASSING_FRACTION = 0.9


def seeds(text: str) -> list[int]:
    """"K" (seeds 0..K−1), "a-b" (a..b) or "a,b,c"."""
    text = text.strip()
    try:
        if "," in text:
            values = [int(v) for v in text.split(",") if v.strip()]
        elif "-" in text.strip("-"):
            low, high = (int(v) for v in text.split("-"))
            values = list(range(low, high + 1))
        else:
            values = list(range(int(text)))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K, a-b or a,b,c, got {text!r}") from None
    if not values or min(values) < 0 or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected distinct seeds >= 0, got {text!r}")
    return values


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("probe", help="refit models to samples and measure how far their latents are from affine")
    parser.add_argument("--experiment", choices=(*EXPERIMENTS, "all"),
                        help=f"a registered experiment, or all of them (default {DEFAULT_EXPERIMENT})")
    parser.add_argument("--seeds", type=seeds, help=f"seeds of an experiment: K (0..K−1), a-b or a,b,c (default {DEFAULT_SEEDS})")
    parser.add_argument("--budget", choices=tuple(BUDGETS), default=None,
                        help=f"restarts and steps of each fit (default {DEFAULT_BUDGET}; standard for the full measurement)")
    parser.add_argument("--conditions", help="comma-separated conditions of the experiment (default all)")
    parser.add_argument("--data", metavar="X.npy", help="probe a user's samples x (N, n), read by numpy.load")
    parser.add_argument("--latents", metavar="Z.npy", help="with --data: the true latents z (N, m), row for row")
    parser.add_argument("--latent-dim", type=positive_int, help="with --data and no --latents: m")
    parser.add_argument("--components", type=positive_int, default=3, help="with --data: J of the fitted prior (default 3)")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="with --data: vade, flow (square data) or auto (flow iff n = m; the default)")
    parser.add_argument("--drop", choices=DROPS, default=None,
                        help="the square flow probe: the assumption its generating model drops (none: all hold)")
    parser.add_argument("--seed", type=nonnegative_int, help="the flow probe, or with --data: seed of the data and the fit (default 0)")
    parser.add_argument("--samples", type=positive_int, help="the flow probe: samples of x (default 2000)")
    parser.add_argument("--steps", type=positive_int, help="the flow probe: Adam steps (default 400)")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON (atomically)")
    parser.add_argument("--plots", metavar="DIR", help="write PNG figures (needs the plot extra)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """One mode: the flow probe when a flag of its own is given (--drop, --samples, --steps, or --seed
    without --data: the command lines of the earlier probe keep their meaning), --data, else an experiment."""
    flow_flags = [f for f, v in (("--drop", args.drop), ("--samples", args.samples), ("--steps", args.steps)) if v is not None]
    if args.seed is not None and args.data is None:
        flow_flags.append("--seed")
    experiment_flags = [f for f, v in (("--experiment", args.experiment), ("--seeds", args.seeds),
                                       ("--conditions", args.conditions)) if v is not None]
    data_flags = [f for f, v in (("--data", args.data), ("--latents", args.latents), ("--latent-dim", args.latent_dim))
                  if v is not None]
    given = [flags for flags in (flow_flags, data_flags, experiment_flags) if flags]
    if len(given) > 1:
        raise ValueError(f"{given[1][0]}: cannot be combined with {given[0][0]} (one of --experiment, --data and --drop)")
    if data_flags and args.data is None:
        raise ValueError(f"{data_flags[0]}: needs --data")
    if flow_flags:
        if args.budget is not None:
            raise ValueError("--budget: belongs to --experiment and --data, not the flow probe (--drop)")
        return _run_drop(args)
    if args.data is not None:
        return _run_data(args)
    return _run_experiments(args)


# ---------------------------------------------------------------------------- --experiment
def _run_experiments(args) -> int:
    check_outputs(args)
    names = list(EXPERIMENTS) if args.experiment == "all" else [args.experiment or DEFAULT_EXPERIMENT]
    chosen_seeds = args.seeds if args.seeds is not None else seeds(DEFAULT_SEEDS)
    budget = args.budget or DEFAULT_BUDGET
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()] if args.conditions else None
    if conditions is not None and len(names) > 1:
        raise ValueError("--conditions: name one experiment with --experiment")
    if conditions is not None:
        for c in conditions:
            try:
                EXPERIMENTS[names[0]].condition(c)
            except ValueError as exc:
                raise ValueError(f"--conditions: {exc}".replace("condition: ", "")) from None
    results, status = [], 0
    for name in names:
        experiment = EXPERIMENTS[name]
        print(f"experiment {name}: {experiment.title}; seeds {_seed_text(chosen_seeds)}, budget {budget}")
        result = run_experiment(name, chosen_seeds, budget=budget, conditions=conditions)
        results.append(result)
        summary = result.summary()
        print(_table(result, summary))
        for condition, row in summary.items():
            first = result.results[condition][0].scores
            if first["assumptions_hold"] and row["fraction_at_target"] < PASSING_FRACTION:
                status = 1
        if args.plots:
            from ..probe.figures import write_figures  # matplotlib only when figures are asked for

            for path in write_figures(result, args.plots):
                print(f"plots: {path}")
    if args.json:
        write_json_atomic(args.json, {"command": "probe", "mode": "experiment", "budget": budget, "seeds": chosen_seeds,
                                      "r2_target": R2_TARGET, "experiments": [r.to_dict() for r in results]})
    return status


def _seed_text(values) -> str:
    if values == list(range(values[0], values[0] + len(values))) and len(values) > 2:
        return f"{values[0]}-{values[-1]}"
    return ",".join(map(str, values))


def _table(result, summary) -> str:
    header = (f"{'condition':<22} {'seeds':>5} {'affine R²':>9} {'10-90 %':>15} {'>= ' + str(R2_TARGET):>7} "
              f"{'gap':>7} {'MCC':>6} {'aff MCC':>7} {'PCA R²':>7} {'s/seed':>7}  assumptions")
    lines = [header]
    for condition, row in summary.items():
        first = result.results[condition][0].scores
        low, high = row["interval_affine_r2"]
        held = "all hold" if first["assumptions_hold"] else f"drops {first['dropped']}"
        lines.append(f"{condition:<22} {row['seeds']:>5} {row['median_affine_r2']:>9.4f} {f'[{low:.3f}, {high:.3f}]':>15} "
                     f"{row['fraction_at_target']:>7.0%} {row['median_likelihood_gap']:>7.3f} {row['median_mcc']:>6.3f} "
                     f"{row['median_affine_mcc']:>7.3f} {row['median_linear_affine_r2']:>7.4f} {row['seconds_per_seed']:>7.1f}  {held}")
    lines.append("affine R²: held-out, best-likelihood restart (median and 10-90 % over seeds); gap: truth's minus the fit's "
                 "mean log-likelihood per sample; PCA R²: the first m principal components of x")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- --data
def _run_data(args) -> int:
    check_outputs(args)
    x = load_samples(args.data, "--data")
    z = None
    if args.latents is not None:
        z = load_samples(args.latents, "--latents")
        if z.shape[0] != x.shape[0]:
            raise ValueError(f"--latents: expected {x.shape[0]} rows to match --data, got {z.shape[0]}")
        if args.latent_dim is not None and args.latent_dim != z.shape[1]:
            raise ValueError(f"--latent-dim: {args.latent_dim} disagrees with the {z.shape[1]} columns of --latents")
    elif args.latent_dim is None:
        raise ValueError("--latent-dim: give m, or --latents to read it from")
    m = z.shape[1] if z is not None else args.latent_dim
    if m > x.shape[1]:
        raise ValueError(f"--latent-dim: the latent dimension {m} exceeds the {x.shape[1]} columns of --data")
    if x.shape[0] < 10 * (m + 1):
        raise ValueError(f"--data: expected at least {10 * (m + 1)} samples, got {x.shape[0]}")
    if args.components > x.shape[0]:
        raise ValueError(f"--components: {args.components} exceeds the {x.shape[0]} samples")
    if args.engine == "flow" and x.shape[1] != m:
        raise ValueError(f"--engine: the flow fits square data (n = m), got n = {x.shape[1]}, m = {m}")
    result = probe_samples(x, latents=z, latent_dim=m, n_components=args.components, engine=args.engine,
                           budget=args.budget or "standard", seed=args.seed or 0)
    d = result.details
    print(f"data: {args.data}, {x.shape[0]} samples in R^{x.shape[1]}; fitted: {d['engine']}, m = {m}, J = {args.components}, "
          f"mean log-likelihood {d['log_likelihood']:.4f}")
    print(f"against {d['compared_with']}: affine R² {d['affine_r2']:.4f}, MCC {d['mcc']:.4f}, affine MCC {d['affine_mcc']:.4f}; "
          f"target {R2_TARGET}")
    print(f"verdict: {'affine' if result.holds else 'not affine'}")
    if args.json:
        payload = result.with_details(fit=None, z_fitted=None, z_reference=None).to_dict()
        write_json_atomic(args.json, {"command": "probe", "mode": "data", "data": args.data, "latents": args.latents,
                                      "result": payload})
    if args.plots:
        from ..probe.figures import plot_fitted_latents

        folder = Path(args.plots)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [save_samples_figure(x, folder / "probe_data.png", title=f"{args.data}: {x.shape[0]} samples"),
                 plot_fitted_latents(d["z_reference"], d["z_fitted"], folder / "probe_data_latents.png",
                                     title=f"{d['compared_with']} against the fit: affine R² {d['affine_r2']:.3f}")]
        for path in paths:
            print(f"plots: {path}")
    return 0 if result.holds else 1


# ---------------------------------------------------------------------------- --drop (the flow probe)
def _run_drop(args) -> int:
    """Run the flow probe; exit status 0 when the verdict is the expected one (affine iff nothing dropped)."""
    args.drop = args.drop or "none"
    args.seed = 0 if args.seed is None else args.seed
    args.samples = FLOW_SAMPLES if args.samples is None else args.samples
    args.steps = FLOW_STEPS if args.steps is None else args.steps
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
