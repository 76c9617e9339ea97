"""Exact verdicts at the sizes people train: weak injectivity, injectivity and decoder agreement.

Decoders (m, w, w, n): latent m in {2, 4, 8, 16}, two hidden layers of width w in {64, 128, 256},
narrowing to n = 20, 50, 100 for w = 64, 128, 256; slopes spread over 0.01 to 0.3. Half are
random (``random_network(..., injective=False)``: Gaussian weights of variance 1 / fan-in), half
trained: a float32 torch decoder of the same shape fitted by Adam (``TRAIN_STEPS`` steps, fresh
z ~ N(0, I) each step) to x = t(z) of a random teacher t, then read by
``LeakyReLUNetwork.from_torch`` in float64, so that its units are shaped by data, not drawn.

Every check runs on the box [-r, r]^m holding 1 − 1e-6 of the standard normal prior
(``verify.prior_box.default_box``; ``--box`` sets r):

- weak injectivity, ``check_weakly_injective(net, box=r, time_limit=60)``; target: decided in
  <= 60 s for every m <= 16 and w <= 256;
- injectivity, ``check_injective(net, box=r, time_limit=T)`` against the plain big-M MILP of
  ``baseline_bigm.py`` with the same box and the same T, run in the same process tree; target:
  decided in <= T = 300 s for m <= 8 and w <= 128, and >= 10x faster than the baseline where
  the baseline finishes;
- decoder agreement, ``check_same_decoder(f, g, latent_scale=1, points=prior samples, box=r,
  time_limit=60)`` for (a) g = f with its hidden units permuted and positively rescaled (the same
  map: the verdict should hold) and (b) g = f with one first-layer bias moved by 1e-2 (a different
  map: it should fail); target: decided correctly in <= 60 s for m <= 8 and w <= 64.

Each check runs in a forked child under a hard cap of twice its time limit plus 5 s: a check that
overruns its own limit is stopped there and shown as "killed", so that one case cannot hold up
the run; "seconds" is measured in the child. Weak injectivity runs first on every decoder, then
agreement, then injectivity, each in order of size.

The full grid is one seed per (m, w, kind): 24 decoders. With every check at its full limit the
worst case is about 24 × (60 + 2 × 300 + 2 × 60) s, over five hours on two cores, so the full run
is restricted: weak injectivity on all 24; agreement for w = 64 (every m: the target's shapes and
m = 16); injectivity on the target's shapes only (m <= 8, w <= 128), with the baseline only where
ours decided (there alone a ratio and a comparison of verdicts exist; where ours is unknown the
baseline, the same encoding with looser bounds, is shown as "skip"), and no injectivity check
started once less than T is left of a 75-minute budget ("budget"). ``--all-checks`` lifts all
three restrictions.

    python benchmarks/bench_trained.py [--quick] [--json PATH] [--box R] [--budget S] [--checks C ...] [--all-checks]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

# The packages of this checkout, not an installed copy elsewhere (an editable install of another worktree).
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import torch
from bench_injectivity import baseline

import verify
from models import GaussianMixture, LeakyReLUNetwork
from models.random import random_network
from verify.decoder_agreement import check_same_decoder
from verify.injectivity import check_injective, check_weakly_injective
from verify.prior_box import default_box

LATENTS = (2, 4, 8, 16)
WIDTHS = (64, 128, 256)
OUTPUTS = {64: 20, 128: 50, 256: 100}
SLOPES = (0.01, 0.05, 0.1, 0.2, 0.3)
KINDS = ("random", "trained")

TRAIN_STEPS = 300
TRAIN_BATCH = 256
TEACHER_WIDTH = 32
BIAS_MOVE = 1e-2
PRIOR_POINTS = 1024

# Time limits (seconds) of the full run and of --quick.
LIMITS = {"full": {"weak": 60.0, "injective": 300.0, "agreement": 60.0},
          "quick": {"weak": 5.0, "injective": 5.0, "agreement": 5.0}}
# Shapes of each target (largest m and w it speaks of).
TARGETS = {"weak": (16, 256), "injective": (8, 128), "agreement": (8, 64)}
# The full run's shapes per check: all for weak injectivity, the target's for injectivity (at 300 s
# per check it dominates the run), agreement up to w = 64 for every m.
FULL_SCOPE = {"weak": (16, 256), "injective": (8, 128), "agreement": (16, 64)}
FULL_BUDGET = 4500.0
SPEEDUP_TARGET = 10.0


@dataclass(frozen=True)
class Case:
    """One decoder of the grid: shape (m, w, w, n), slope, kind and seed."""

    m: int
    w: int
    n: int
    slope: float
    kind: str
    seed: int

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.m, self.w, self.w, self.n)

    @property
    def label(self) -> str:
        return f"({self.m},{self.w},{self.w},{self.n})"


def cases(quick: bool) -> list[Case]:
    """The grid in order of size (m·w, then m), slopes cycling through ``SLOPES``."""
    if quick:
        return [Case(2, 64, 20, 0.1, "random", 0), Case(2, 64, 20, 0.3, "trained", 0),
                Case(4, 64, 20, 0.2, "trained", 1), Case(8, 64, 20, 0.05, "random", 1)]
    out = []
    for i, m in enumerate(LATENTS):
        for j, w in enumerate(WIDTHS):
            for k, kind in enumerate(KINDS):
                out.append(Case(m, w, OUTPUTS[w], SLOPES[(i + 2 * j + 3 * k) % len(SLOPES)], kind, i * len(WIDTHS) + j))
    return sorted(out, key=lambda c: (c.m * c.w, c.m, c.kind))


def trained_decoder(case: Case) -> tuple[LeakyReLUNetwork, float, float]:
    """A decoder of the case's shape fitted to a random teacher: (network, relative error, seconds).

    The teacher t = random_network((m, 32, 32, n)) gives x = t(z), z ~ N(0, I); the student is a
    float32 ``nn.Sequential`` with torch's default initialisation, trained by Adam on the mean
    squared error. The relative error is ‖student − t‖² / ‖t − mean t‖² on fresh points.
    """
    start = time.perf_counter()
    torch.manual_seed(case.seed)
    teacher = random_network((case.m, TEACHER_WIDTH, TEACHER_WIDTH, case.n), 0.2, injective=False,
                             generator=1000 + case.seed).to(dtype=torch.float32)
    layers = []
    for fan_in, fan_out in zip(case.widths, case.widths[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.LeakyReLU(case.slope)]
    student = torch.nn.Sequential(*layers[:-1])
    optimiser = torch.optim.Adam(student.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(case.seed)
    for _ in range(TRAIN_STEPS):
        z = torch.randn(TRAIN_BATCH, case.m, generator=gen)
        loss = torch.mean((student(z) - teacher(z)) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        z = torch.randn(4096, case.m, generator=gen)
        x = teacher(z)
        error = float(((student(z) - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())
    return LeakyReLUNetwork.from_torch(student), error, time.perf_counter() - start


def decoder(case: Case) -> tuple[LeakyReLUNetwork, dict]:
    """The case's network (float64) and what its making measured."""
    if case.kind == "random":
        return random_network(case.widths, case.slope, injective=False, generator=case.seed), {}
    net, error, seconds = trained_decoder(case)
    return net, {"train_relative_error": error, "train_seconds": seconds}


def relabelled(net: LeakyReLUNetwork, generator: torch.Generator) -> LeakyReLUNetwork:
    """f with every hidden layer's units permuted and scaled by c_j > 0, the next layer's columns
    divided by c_j: σ(c x) = c σ(x) for c > 0, so the map is the same."""
    weights, biases = [w.clone() for w in net.weights], [b.clone() for b in net.biases]
    perm_in, scale_in = torch.arange(net.in_dim), torch.ones(net.in_dim, dtype=torch.float64)
    for layer in range(len(weights) - 1):
        k = weights[layer].shape[0]
        perm = torch.randperm(k, generator=generator)
        scale = torch.exp(2 * torch.rand(k, generator=generator, dtype=torch.float64) - 1)
        weights[layer] = scale[:, None] * weights[layer][perm][:, perm_in] / scale_in[None, :]
        biases[layer] = scale * biases[layer][perm]
        perm_in, scale_in = perm, scale
    weights[-1] = weights[-1][:, perm_in] / scale_in[None, :]
    return LeakyReLUNetwork(weights, biases, net.negative_slope)


def bias_moved(net: LeakyReLUNetwork, generator: torch.Generator) -> LeakyReLUNetwork:
    """f with the bias of one first-layer unit moved by ``BIAS_MOVE``: a different map (with a slope
    > 0 the unit's output changes on both sides of its kink)."""
    biases = [b.clone() for b in net.biases]
    j = int(torch.randint(biases[0].shape[0], (1,), generator=generator))
    biases[0][j] += BIAS_MOVE
    return LeakyReLUNetwork(net.weights, biases, net.negative_slope)


def bounded(fn, limit: float) -> dict:
    """``fn()`` (a dict) in a forked child, stopped after 2 limit + 5 s.

    The child inherits the networks (fork), so nothing but the small result dict is pickled.
    Returns the dict with "seconds" (the child's own clock), or {"verdict": "killed"} past the
    cap, or {"verdict": "error"} with the traceback's last line.
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        start = time.perf_counter()
        try:
            out = fn()
        except Exception:  # reported in the table, not raised: one failing check must not end the run
            out = {"verdict": "error", "error": traceback.format_exc().strip().splitlines()[-1]}
        send.send({**out, "seconds": time.perf_counter() - start})

    cap = 2 * limit + 5
    start = time.perf_counter()
    process = context.Process(target=child, daemon=True)
    process.start()
    out = receive.recv() if receive.poll(cap) else {"verdict": "killed", "seconds": time.perf_counter() - start}
    process.kill()
    process.join()
    return out


VERDICT = {True: "yes", False: "no", None: "?"}


def weak_check(net, r: float, limit: float) -> dict:
    result = check_weakly_injective(net, box=r, time_limit=limit)
    fraction = result.details.get("remaining_fraction")
    return {"verdict": VERDICT[result.holds], "method": result.method, "rests_on": result.details.get("rests_on"),
            "remaining_fraction": None if fraction is None else float(fraction)}


def injective_check(net, r: float, limit: float) -> dict:
    result = check_injective(net, box=r, time_limit=limit)
    return {"verdict": VERDICT[result.holds], "decided_by": result.details.get("decided_by"), "method": result.method}


def baseline_check(net, r: float, limit: float) -> dict:
    holds, _, _ = baseline(net, r, limit)
    return {"verdict": VERDICT[holds]}


def agreement_check(f, g, points, r: float, limit: float) -> dict:
    result = check_same_decoder(f, g, latent_scale=1.0, points=points, box=r, time_limit=limit)
    # m <= 3 enumerates the cells of the joint network (no "by": their number says how); above, "by"
    # names unit matching or the program.
    how = result.details.get("how", "")
    cells = how.replace("2m + 1 points inside each of the ", "").replace(" of the common refinement on R^m", "")
    return {"verdict": VERDICT[result.holds], "method": result.method, "by": result.details.get("by") or cells}


def in_scope(case: Case, scope: tuple[int, int]) -> bool:
    return case.m <= scope[0] and case.w <= scope[1]


def standard_normal(m: int) -> GaussianMixture:
    return GaussianMixture(torch.ones(1, dtype=torch.float64), torch.zeros(1, m, dtype=torch.float64),
                           torch.eye(m, dtype=torch.float64)[None])


def run(chosen: list[Case], r_arg: float | None, limits: dict, scope: dict, budget: float | None, baseline_always: bool,
        save) -> list[dict]:
    """Every check of every decoder, check by check: the rows of the JSON output.

    Weak injectivity and agreement run first, on every decoder of their scope; injectivity, the
    longest, runs last in order of size, and is not started once less than its time limit is left
    of ``budget`` (seconds for the whole run). Unless ``baseline_always``, the baseline runs only
    where ours decided: that is where a ratio and a comparison of verdicts exist.
    """
    start = time.perf_counter()
    made = []
    for case in chosen:
        net, info = decoder(case)
        r = default_box(standard_normal(case.m)) if r_arg is None else r_arg
        made.append((case, net, r, {**asdict(case), "box": r, **info}))
    rows = [row for *_, row in made]

    def log(case: Case, text: str) -> None:
        print(f"[{time.perf_counter() - start:5.0f}s] {case.label:<19} {case.kind:<8} slope {case.slope:<5} {text}", flush=True)

    for case, net, r, row in made:
        if in_scope(case, scope["weak"]):
            row["weak"] = bounded(lambda: weak_check(net, r, limits["weak"]), limits["weak"])
            log(case, f"weak {row['weak']['verdict']} in {row['weak']['seconds']:.1f} s")
    save(rows)
    for case, net, r, row in made:
        if in_scope(case, scope["agreement"]):
            gen = torch.Generator().manual_seed(case.seed)
            points = standard_normal(case.m).sample(PRIOR_POINTS, generator=gen)
            same, moved = relabelled(net, gen), bias_moved(net, gen)
            row["same"] = bounded(lambda: agreement_check(net, same, points, r, limits["agreement"]), limits["agreement"])
            row["moved"] = bounded(lambda: agreement_check(net, moved, points, r, limits["agreement"]), limits["agreement"])
            log(case, f"agreement (a) {row['same']['verdict']} in {row['same']['seconds']:.1f} s, "
                      f"(b) {row['moved']['verdict']} in {row['moved']['seconds']:.1f} s")
    save(rows)
    limit = limits["injective"]
    for case, net, r, row in made:
        if not in_scope(case, scope["injective"]):
            continue
        if budget is not None and budget - (time.perf_counter() - start) < limit:
            row["injective"], row["baseline"] = {"verdict": "budget", "seconds": 0.0}, {"verdict": "budget", "seconds": 0.0}
            continue
        row["injective"] = bounded(lambda: injective_check(net, r, limit), limit)
        if baseline_always or row["injective"]["verdict"] in ("yes", "no"):
            row["baseline"] = bounded(lambda: baseline_check(net, r, limit), limit)
        else:
            row["baseline"] = {"verdict": "skip", "seconds": 0.0}
        log(case, f"injective {row['injective']['verdict']} in {row['injective']['seconds']:.1f} s, "
                  f"baseline {row['baseline']['verdict']} in {row['baseline']['seconds']:.1f} s")
        save(rows)
    return rows


def decided(out: dict | None, limit: float) -> bool:
    return out is not None and out["verdict"] in ("yes", "no") and out["seconds"] <= limit


def ratio(row: dict, limit: float) -> tuple[float | None, bool]:
    """(baseline seconds / ours, whether it is only a lower bound), None where ours did not decide."""
    ours, base = row.get("injective"), row.get("baseline")
    if ours is None or ours["verdict"] not in ("yes", "no"):
        return None, False
    if base["verdict"] in ("yes", "no"):
        return base["seconds"] / ours["seconds"], False
    # The baseline ran out of time: its limit over our time bounds the speed-up from below.
    return min(base["seconds"], limit) / ours["seconds"], True


def agreement_with_baseline(row: dict) -> str:
    ours, base = row.get("injective"), row.get("baseline")
    if ours is None or ours["verdict"] not in ("yes", "no") or base["verdict"] not in ("yes", "no"):
        return "-"
    return "yes" if ours["verdict"] == base["verdict"] else "DISAGREE"


def _seconds(out: dict, limit: float) -> str:
    if out["verdict"] in ("skip", "budget"):
        return "-"
    return f"{'>' if out['verdict'] not in ('yes', 'no') and out['seconds'] >= limit else ''}{out['seconds']:.1f}"


def _head(extra: str) -> str:
    return f"{'shape':<19}{'slope':>6} {'kind':<8}{'verdict':>8}{'seconds':>9}{extra}"


def _case_cols(row: dict) -> str:
    return f"{Case(**{k: row[k] for k in ('m', 'w', 'n', 'slope', 'kind', 'seed')}).label:<19}{row['slope']:>6} {row['kind']:<8}"


def print_tables(rows: list[dict], limits: dict) -> None:
    print("\nweak injectivity (check_weakly_injective, box holding 1 - 1e-6 of N(0, I))")
    head = _head(f"  {'open':>6}  rests on")
    print(head + "\n" + "-" * 100)
    for row in rows:
        if "weak" in row:
            out = row["weak"]
            fraction = out.get("remaining_fraction")
            print(f"{_case_cols(row)}{out['verdict']:>8}{_seconds(out, limits['weak']):>9}  "
                  f"{'-' if fraction is None else f'{fraction:.1%}':>6}  {out.get('rests_on') or out.get('error', '')}")

    print(f"\ninjectivity (check_injective) against the plain big-M MILP (baseline_bigm), T = {limits['injective']:g} s each")
    head = _head(f"{'base':>6}{'base s':>9}{'ratio':>9}{'agree':>10}  decided by")
    print(head + "\n" + "-" * len(head))
    for row in rows:
        if "injective" in row:
            ours, base = row["injective"], row["baseline"]
            value, lower = ratio(row, limits["injective"])
            shown = "-" if value is None else f"{'>' if lower else ''}{value:.1f}x"
            by = ours.get("decided_by") or ours.get("method") or ours.get("error", "")
            print(f"{_case_cols(row)}{ours['verdict']:>8}{_seconds(ours, limits['injective']):>9}{base['verdict']:>6}"
                  f"{_seconds(base, limits['injective']):>9}{shown:>9}{agreement_with_baseline(row):>10}  {by}")

    print("\ndecoder agreement (check_same_decoder): (a) units permuted and rescaled (same map), (b) one bias moved by 1e-2")
    head = _head(f"{'(b)':>8}{'(b) s':>9}{'agree':>7}  by (a) / (b)")
    print(head.replace("verdict", "    (a)").replace("seconds", "  (a) s") + "\n" + "-" * 100)
    for row in rows:
        if "same" in row:
            same, moved = row["same"], row["moved"]
            right = "yes" if same["verdict"] == "yes" and moved["verdict"] == "no" else (
                "WRONG" if same["verdict"] == "no" or moved["verdict"] == "yes" else "-")
            print(f"{_case_cols(row)}{same['verdict']:>8}{_seconds(same, limits['agreement']):>9}{moved['verdict']:>8}"
                  f"{_seconds(moved, limits['agreement']):>9}{right:>7}  {same.get('by') or same.get('error', '')} / "
                  f"{moved.get('by') or moved.get('error', '')}")


def print_summary(rows: list[dict], limits: dict) -> None:
    """How many cases met each target (cases inside the target's shapes only)."""
    print("\nsummary")
    weak = [r for r in rows if "weak" in r and in_scope(Case(**_case_fields(r)), TARGETS["weak"])]
    hit = sum(decided(r["weak"], limits["weak"]) for r in weak)
    print(f"  weak injectivity decided in <= {limits['weak']:g} s (m <= 16, w <= 256): {hit} of {len(weak)}")
    inj = [r for r in rows if "injective" in r and in_scope(Case(**_case_fields(r)), TARGETS["injective"])]
    hit = sum(decided(r["injective"], limits["injective"]) for r in inj)
    not_run = sum(r["injective"]["verdict"] == "budget" for r in inj)
    print(f"  injectivity decided in <= {limits['injective']:g} s (m <= 8, w <= 128): {hit} of {len(inj)}"
          + (f" ({not_run} not run: past the budget)" if not_run else ""))
    both = [ratio(r, limits["injective"]) for r in inj if ratio(r, limits["injective"])[0] is not None]
    finished = [v for v, lower in both if not lower]
    bounded_below = [v for v, lower in both if lower]
    print(f"  >= {SPEEDUP_TARGET:g}x faster than the baseline where both finish: {sum(v >= SPEEDUP_TARGET for v in finished)} of "
          f"{len(finished)}; where only ours finishes, the lower bound is >= {SPEEDUP_TARGET:g}x in "
          f"{sum(v >= SPEEDUP_TARGET for v in bounded_below)} of {len(bounded_below)}")
    base_only = sum(1 for r in inj if r["baseline"]["verdict"] in ("yes", "no") and r["injective"]["verdict"] not in ("yes", "no"))
    skipped = sum(r["baseline"]["verdict"] == "skip" for r in inj)
    print(f"  decided by the baseline but not by ours: {base_only}"
          + (f" (baseline skipped on the {skipped} where ours is unknown)" if skipped else "") + "; "
          f"verdicts disagreeing with the baseline: {sum(agreement_with_baseline(r) == 'DISAGREE' for r in rows)}")
    agree = [r for r in rows if "same" in r and in_scope(Case(**_case_fields(r)), TARGETS["agreement"])]
    for key, want, what in (("same", "yes", "(a) same map: holds"), ("moved", "no", "(b) moved bias: fails")):
        hit = sum(r[key]["verdict"] == want and r[key]["seconds"] <= limits["agreement"] for r in agree)
        print(f"  agreement {what} in <= {limits['agreement']:g} s (m <= 8, w <= 64): {hit} of {len(agree)}")
    wrong = sum(r[k]["verdict"] == bad for r in rows for k, bad in (("same", "no"), ("moved", "yes")) if k in r)
    print(f"  wrong agreement verdicts (anywhere): {wrong}")


def _case_fields(row: dict) -> dict:
    return {k: row[k] for k in ("m", "w", "n", "slope", "kind", "seed")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four small decoders, each check limited to 5 s")
    parser.add_argument("--box", type=float, default=None, help="half-width r of the box [-r, r]^m (default: 1 - 1e-6 of N(0, I))")
    parser.add_argument("--json", default=None, help="write the rows to this JSON file (after every stage)")
    parser.add_argument("--m", type=int, nargs="*", default=None, help="only these latent dimensions")
    parser.add_argument("--widths", type=int, nargs="*", default=None, help="only these hidden widths")
    parser.add_argument("--kinds", nargs="*", default=None, choices=KINDS, help="only these kinds")
    parser.add_argument("--budget", type=float, default=None,
                        help=f"seconds for the whole run; no injectivity check starts past it (default {FULL_BUDGET:g} in the full run)")
    parser.add_argument("--checks", nargs="*", default=None, choices=("weak", "agreement", "injective"),
                        help="only these checks (default: all three)")
    parser.add_argument("--all-checks", action="store_true",
                        help="every check on every decoder, the baseline even where ours is unknown, no budget (over five hours)")
    args = parser.parse_args()
    # One thread: the machine is shared, and forked children must not inherit a busy thread pool.
    torch.set_num_threads(1)
    limits = LIMITS["quick" if args.quick else "full"]
    every = args.quick or args.all_checks
    scope = {key: (16, 256) for key in FULL_SCOPE} if every else dict(FULL_SCOPE)
    for key in scope if args.checks is not None else ():
        if key not in args.checks:
            scope[key] = (0, 0)
    budget = args.budget if args.budget is not None else (None if every else FULL_BUDGET)
    chosen = [c for c in cases(args.quick) if (args.m is None or c.m in args.m) and (args.widths is None or c.w in args.widths)
              and (args.kinds is None or c.kind in args.kinds)]

    def save(rows):
        if args.json:
            with open(args.json, "w") as handle:
                json.dump({"limits": limits, "rows": rows}, handle, indent=1, default=float)

    print(f"toolkit: {Path(verify.__file__).resolve().parent.parent}; limits {limits}; budget {budget}")
    start = time.perf_counter()
    rows = run(chosen, args.box, limits, scope, budget, every, save)
    print_tables(rows, limits)
    print_summary(rows, limits)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
