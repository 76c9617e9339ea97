"""Time to an exact injectivity verdict on a box, against a plain big-M MILP.

Ours: ``verify.injectivity.check_injective(network, box, method="auto")`` (the layerwise
rank criterion, then a sampling search for collisions, then the exact region method).

Baseline: a plain big-M MILP (interval bounds, one binary per unstable unit), solved by HiGHS (``scipy.optimize.milp``)
in the same run: two copies of the network, interval-arithmetic bounds on the box, one
binary per unstable unit and copy, f(z1) = f(z2), maximise ±(z1_k − z2_k) for k = 1..m
(2m programs, stopping at the first that finds a collision). Each program gets
``--time-limit`` seconds; a baseline that hits it is reported as "> T" and its ratio is a
lower bound. Both verdicts are printed, and disagreements flagged.

The networks: m in {2, 3}, depth <= 3 (at most two hidden layers), widths <= 16, of four
kinds: injective by construction (leaky, non-decreasing widths), random ReLU networks
that widen, random leaky networks that narrow at the output (not certified by the rank
criterion), and square leaky networks (m -> 16 -> 16 -> m).

    python benchmarks/bench_injectivity.py [--quick] [--time-limit 60] [--box 3]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from baseline_bigm import baseline_injective

from models.random import random_network
from verify.injectivity import check_injective, tolerances


def cases(quick: bool):
    """(label, widths, slope, injective-by-construction, seed)."""
    out = [
        ("injective", (2, 16, 16, 16), 0.2, True, 0),
        ("injective", (3, 16, 16, 16), 0.2, True, 0),
        ("relu-wide", (2, 16, 16, 8), 0.0, False, 1),
        ("relu-wide", (2, 16, 16, 8), 0.0, False, 0),
        ("relu-wide", (3, 16, 16, 12), 0.0, False, 0),
        ("narrowing", (2, 16, 16, 12), 0.2, False, 0),
        ("narrowing", (3, 16, 16, 12), 0.2, False, 0),
        ("narrowing", (3, 12, 16, 8), 0.2, False, 1),
        ("square", (2, 16, 16, 2), 0.2, False, 0),
        ("square", (3, 16, 16, 3), 0.2, False, 0),
        ("bottleneck", (3, 16, 2, 6), 0.2, False, 0),
    ]
    return out[::3] if quick else out


def baseline(network, box, time_limit: float):
    """Plain big-M MILP (``baseline_bigm``): (holds, seconds, hit the time limit)."""
    tol = tolerances(network, box)
    weights = [w.double().numpy() for w in network.weights]
    biases = [b.double().numpy() for b in network.biases]
    low, high = -box * np.ones(network.in_dim), box * np.ones(network.in_dim)
    verdict, seconds = baseline_injective(weights, biases, network.slopes, low, high, time_limit=time_limit,
                                          separation=tol.separation * tol.rho)
    return verdict, seconds, verdict is None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every third network only")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per baseline MILP (default 60)")
    parser.add_argument("--box", type=float, default=3.0, help="half-width r of the box [-r, r]^m (default 3)")
    args = parser.parse_args()
    header = f"{'kind':<11}{'widths':<17}{'slope':>6}{'regions':>9}{'ours':>7}{'by':>18}{'ours s':>9}{'MILP':>7}{'MILP s':>10}{'ratio':>10}"
    print(header)
    print("-" * len(header))
    ratios = []
    for label, widths, slope, injective, seed in cases(args.quick):
        net = random_network(widths, slope, injective=injective, generator=seed)
        start = time.perf_counter()
        ours = check_injective(net, box=args.box)
        ours_s = time.perf_counter() - start
        base, base_s, timed_out = baseline(net, args.box, args.time_limit)
        ratio = base_s / ours_s
        ratios.append((ratio, timed_out))
        regions = ours.details.get("regions", "-")
        verdict = {True: "inj", False: "not", None: "?"}
        flag = "" if base is None or base == ours.holds else "  DISAGREE"
        print(f"{label:<11}{str(widths):<17}{slope:>6}{regions!s:>9}{verdict[ours.holds]:>7}{ours.details['decided_by'].split('/')[-1]:>18}"
              f"{ours_s:>9.3f}{verdict[base]:>7}{('>' if timed_out else '') + f'{base_s:.2f}':>10}"
              f"{('>' if timed_out else '') + f'{ratio:.0f}x':>10}{flag}", flush=True)
    geo = math.exp(sum(math.log(r) for r, _ in ratios) / len(ratios))
    print(f"\ngeometric mean ratio (baseline / ours): {'>' if any(t for _, t in ratios) else ''}{geo:.0f}x; "
          f"min {min(r for r, _ in ratios):.1f}x")


if __name__ == "__main__":
    main()
