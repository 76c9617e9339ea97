"""Time ``LeakyReLUNetwork.local_affine`` against the autograd baseline.

Baseline: ``torch.func.vmap(torch.func.jacrev(module))``
on the same batch, where ``module = network.to_torch()``. Both run in float64 on the
CPU (or ``--device``). The script prints both times (best of several repeats after
warm-up), their ratio and the largest absolute difference between the two Jacobians.

Usage::

    python benchmarks/bench_local_affine.py [--n 20000] [--in-dim 4] [--hidden 64 64 64]
                                            [--out-dim 64] [--repeats 5] [--threads T] [--device cpu]

The target is a ratio of at least 10 at an error of at most 1e-12; the exit status is 1
when it is missed.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from models import random_network

TARGET_RATIO = 10.0
TARGET_ERROR = 1e-12


def _timed(fn, device: torch.device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, result


def best_times(fns, repeats: int, warmup: int, device: torch.device) -> list[tuple[float, object]]:
    """Best wall-clock time of each ``fn()`` over ``repeats`` runs after ``warmup`` runs, and its last result.

    The functions are timed in turn within each repeat, so that a change in the machine's
    load during the run affects all of them alike.
    """
    results = [None] * len(fns)
    for _ in range(warmup):
        results = [fn() for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            elapsed, results[i] = _timed(fn, device)
            best[i] = min(best[i], elapsed)
    return list(zip(best, results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="batch size N")
    parser.add_argument("--in-dim", type=int, default=4, help="latent dimension m")
    parser.add_argument("--hidden", type=int, nargs="*", default=[64, 64, 64], help="hidden widths")
    parser.add_argument("--out-dim", type=int, default=64, help="output dimension n")
    parser.add_argument("--slope", type=float, default=0.2, help="negative slope of the leaky ReLU")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (best is kept)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed warm-up runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    widths = (args.in_dim, *args.hidden, args.out_dim)
    network = random_network(widths, args.slope, generator=args.seed, device=device, dtype=torch.float64)
    z = torch.randn(args.n, args.in_dim, generator=torch.Generator().manual_seed(args.seed + 1), dtype=torch.float64).to(device)

    module = network.to_torch()
    baseline = torch.func.vmap(torch.func.jacrev(module))

    def ours():
        return network.local_affine(z)[0]

    def theirs():
        with torch.no_grad():
            return baseline(z)

    (t_ours, a_ours), (t_base, a_base) = best_times([ours, theirs], args.repeats, args.warmup, device)
    error = float((a_ours - a_base).abs().max())
    ratio = t_base / t_ours

    print(f"local_affine benchmark: widths={widths}, N={args.n}, float64, device={device}, threads={torch.get_num_threads()}")
    print(f"  local_affine (masked products)  : {t_ours * 1e3:10.2f} ms")
    print(f"  vmap(jacrev(to_torch())) (base) : {t_base * 1e3:10.2f} ms")
    print(f"  speed ratio (baseline / ours)   : {ratio:10.1f}x   (target >= {TARGET_RATIO:g}x)")
    print(f"  max |A_ours - A_autograd|       : {error:10.3e}   (target <= {TARGET_ERROR:g})")
    met = ratio >= TARGET_RATIO and error <= TARGET_ERROR
    print(f"  target {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
