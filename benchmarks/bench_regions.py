"""Linear-region enumeration: ``models.region_engine`` against Regioncam and ``models.regions``.

Part 1 (m = 2, box [-4, 4]^2): region counts and times of ``enumerate_regions`` and of
Regioncam (float32, Rust; it uses x @ weight + bias, so it gets transposed weights). Part 2
(m = 3..6, box [-3, 3]^m): regions per second of ``enumerate_regions`` against today's
the LP-based enumeration it replaced (``benchmarks/lp_regions.py``). Networks: ``random_network(widths, 0.2, injective=False)``
(Gaussian weights of variance 1/fan-in, N(0, 1) biases).

Run with one thread, e.g. ``OMP_NUM_THREADS=1 python benchmarks/bench_regions.py --quick``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from models.random import random_network
from models.region_engine import count_regions, enumerate_regions

PLANAR = [(2, 8, 8, 8, 3), (2, 16, 16, 16, 3), (2, 32, 3), (2, 32, 32, 3), (2, 32, 32, 32, 3),
          (2, 32, 32, 32, 32, 3), (2, 64, 64, 64, 3), (2, 128, 128, 128, 3)]
# Sized so that models.regions takes a few seconds.
HIGHER = [(3, 16, 16, 16, 4), (4, 12, 12, 5), (5, 10, 10, 6), (6, 14, 7)]
HIGHER_QUICK = [(3, 16, 16, 4), (4, 10, 10, 5), (5, 12, 6), (6, 10, 7)]
LARGE_3D = [(3, 64, 64, 64, 4), (3, 96, 96, 96, 4)]


def arrays(net):
    return [w.numpy() for w in net.weights], [b.numpy() for b in net.biases], net.slopes


def best_of(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def interleaved(fns, repeat: int):
    """Best times of several functions run in turn, so that a load on the machine that comes
    and goes weighs on all of them alike."""
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - t0)
    return [min(t) for t in times], outs


def regioncam_count(net, half: float) -> int:
    import regioncam

    rc = regioncam.Regioncam(size=half)
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        rc.linear(np.ascontiguousarray(w.numpy().T, dtype=np.float32), b.numpy().astype(np.float32))
        if i < len(net.weights) - 1:
            rc.leaky_relu(net.slopes[i])
    return rc.num_faces


def planar(args) -> None:
    print("m = 2, box [-4, 4]^2; times are the best of", args.repeat, "(ours and Regioncam run in turn)")
    print(f"{'widths':<26}{'ours':>9}{'regioncam':>10}{'ours s':>10}{'rc s':>10}{'ratio':>7}{'ours reg/s':>12}{'rc reg/s':>11}")
    box = (np.full(2, -4.0), np.full(2, 4.0))
    nets = PLANAR[:6] if args.quick else PLANAR
    for widths in nets:
        net = random_network(widths, 0.2, injective=False, generator=args.seed)
        W, b, s = arrays(net)
        (t_ours, t_rc), (regions, n_rc) = interleaved(
            [lambda W=W, b=b, s=s: enumerate_regions(W, b, s, box), lambda net=net: regioncam_count(net, 4.0)], args.repeat)
        n = len(regions)
        print(f"{widths!s:<26}{n:>9}{n_rc:>10}{t_ours:>10.4f}{t_rc:>10.4f}{t_ours / t_rc:>7.2f}"
              f"{n / t_ours:>12.0f}{n_rc / t_rc:>11.0f}")


def higher(args) -> None:
    from lp_regions import linear_regions

    print("\nm = 3..6, box [-3, 3]^m: ours against models.regions.linear_regions")
    print(f"{'widths':<24}{'regions':>9}{'old':>8}{'ours s':>9}{'old s':>9}{'ours reg/s':>12}{'old reg/s':>11}{'speed-up':>9}")
    for widths in (HIGHER_QUICK if args.quick else HIGHER):
        m = widths[0]
        net = random_network(widths, 0.2, injective=False, generator=args.seed)
        W, b, s = arrays(net)
        box = (np.full(m, -3.0), np.full(m, 3.0))
        t_ours, regions = best_of(lambda W=W, b=b, s=s, box=box: enumerate_regions(W, b, s, box), args.repeat)
        t0 = time.perf_counter()
        n_old = len(linear_regions(net, 3.0))
        t_old = time.perf_counter() - t0
        n = len(regions)
        print(f"{widths!s:<24}{n:>9}{n_old:>8}{t_ours:>9.3f}{t_old:>9.2f}{n / t_ours:>12.0f}{n_old / t_old:>11.0f}"
              f"{(n / t_ours) / (n_old / t_old):>9.0f}")


def large(args) -> None:
    print("\nm = 3, box [-3, 3]^3, streamed (count_regions)")
    for widths in LARGE_3D[:1] if args.quick else LARGE_3D:
        net = random_network(widths, 0.2, injective=False, generator=args.seed)
        W, b, s = arrays(net)
        box = (np.full(3, -3.0), np.full(3, 3.0))
        t0 = time.perf_counter()
        n = count_regions(W, b, s, box)
        t = time.perf_counter() - t0
        print(f"{widths!s:<24}{n:>9} regions {t:>8.2f} s {n / t:>10.0f} regions/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller networks, one repeat")
    parser.add_argument("--repeat", type=int, default=None, help="timing repeats (best is reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--part", choices=("all", "planar", "higher", "large"), default="all")
    args = parser.parse_args()
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    torch.set_num_threads(1)
    if args.part in ("all", "planar"):
        planar(args)
    if args.part in ("all", "higher"):
        higher(args)
    if args.part in ("all", "large"):
        large(args)


if __name__ == "__main__":
    main()
