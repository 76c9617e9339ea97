"""What the exact re-checks cost: each verdict's seconds, and the part spent in rational arithmetic.

Every conclusive "fails" of the injectivity checks rests on a witness re-checked in rationals
(``verify.exact``: the collision moved onto the exact solution set of its two pieces, the exact
forward pass, exact ranks and null spaces), every "holds" of the region methods and of weak
injectivity on the Farkas and dual certificates of ``verify.injectivity._certificate`` (found by
float programs, re-solved in rationals, on a second, exact enumeration of the original
network), and the region engine settles its ties in rationals (``models._region_engine_ties``). This benchmark runs the checks with every exact function
timed (a wrapper around each, at its definition and wherever it was imported; nested calls
count once) and prints

- ``total``: the verdict's seconds;
- ``exact``: the seconds inside the exact functions;
- ``ratio``: total / (total − exact), the cost of the verified verdict against the same verdict
  without its exact re-checks (the named baseline, measured in the same run).

Networks: ``random_network((m, w, w, n), 0.2, injective=False)`` (mostly not injective: a
witness is re-checked) and ``injective=True`` (holds: the certificate is re-solved), m in {2, 3}, w in
{8, 16, 32} (m = 3: 8, 16), n = 3, on the box [-2, 2]^m; and two degenerate first layers whose
hyperplanes meet in one point or are nearly parallel, where the engine settles ties exactly
(their enumeration against the same network with its first-layer offsets moved by random amounts
of about 1e-3, which has no ties).

    python benchmarks/bench_verification.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

# The packages of this checkout, not an installed copy elsewhere (an editable install of another worktree).
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

import models.exact
import verify.exact
from models import LeakyReLUNetwork, random_network
from models._region_engine_ties import Ties
from models.regions import linear_regions, region_count
from verify import check_injective, check_weakly_injective
from verify.injectivity import _certificate

D = torch.float64


class ExactClock:
    """Seconds spent inside the exact functions, outermost calls only."""

    def __init__(self):
        self.seconds = 0.0
        self._depth = 0
        self._undo = []

    def wrap(self, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self._depth -= 1
        return timed

    def __enter__(self):
        targets = [getattr(verify.exact, name) for name in verify.exact.__all__ if callable(getattr(verify.exact, name))
                   and not isinstance(getattr(verify.exact, name), type)]
        targets += [models.exact.ExactNetwork.forward, models.exact.ExactNetwork.piece, models.exact.ExactNetwork.layer_forms,
                    _certificate.certify, _certificate.certify_unique_preimage]
        wrapped = {id(fn): self.wrap(fn) for fn in targets}
        for module in list(sys.modules.values()):
            if module is None or not getattr(module, "__name__", "").startswith(("verify", "models")):
                continue
            for name, value in list(vars(module).items()):
                if id(value) in wrapped:
                    self._undo.append((module, name, value))
                    setattr(module, name, wrapped[id(value)])
        for cls, name in ((models.exact.ExactNetwork, "forward"), (models.exact.ExactNetwork, "piece"),
                          (models.exact.ExactNetwork, "layer_forms"), (Ties, "resolve")):
            original = getattr(cls, name)
            self._undo.append((cls, name, original))
            setattr(cls, name, self.wrap(original))
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self._undo):
            setattr(owner, name, value)
        return False


def timed(run):
    with ExactClock() as clock:
        start = time.perf_counter()
        result = run()
        total = time.perf_counter() - start
    return result, total, clock.seconds


def row(label, verdict, total, exact):
    float_only = max(total - exact, 1e-12)
    return {"case": label, "verdict": verdict, "total_s": total, "exact_s": exact, "ratio": total / float_only}


def check_rows(quick: bool) -> list[dict]:
    rows = []
    shapes = [(2, 8), (2, 16), (3, 8)] if quick else [(2, 8), (2, 16), (2, 32), (3, 8), (3, 16)]
    for m, w in shapes:
        for injective in (False, True):
            for seed in range(1 if quick else 2):
                widths = (m, w, w, 3) if not injective else (m, max(w, 3), max(w, 3), max(w, 3))
                net = random_network(widths, 0.2, injective=injective, generator=seed)
                for check in (check_injective, check_weakly_injective):
                    method = {"method": "regions"} if check is check_injective else {}
                    result, total, exact = timed(lambda: check(net, box=2.0, **method))
                    verdict = {True: "holds", False: "fails", None: "unknown"}[result.holds]
                    verdict += " (verified)" if result.verified else ""
                    rows.append(row(f"{check.__name__} {widths} seed {seed}", verdict, total, exact))
    return rows


def _degenerate(kind: str, offset: float = 0.0) -> LeakyReLUNetwork:
    if kind == "concurrent":  # 12 lines through the origin (integer directions): every vertex there is a tie
        rows = [[1.0, float(k)] for k in range(-6, 6)]
    else:  # pairs of lines at angles 1e-12 (slivers)
        rows = [r for k in range(6) for r in ([1.0, float(k)], [1.0, float(k) + 1e-12])]
    W = torch.tensor(rows, dtype=D)
    b = offset * torch.randn(len(rows), generator=torch.Generator().manual_seed(1), dtype=D)
    second = torch.randn(8, len(rows), generator=torch.Generator().manual_seed(0), dtype=D)
    return LeakyReLUNetwork([W, second, torch.ones(2, 8, dtype=D)], [b, torch.zeros(8, dtype=D), torch.zeros(2, dtype=D)], 0.2)


def tie_rows() -> list[dict]:
    rows = []
    for kind in ("concurrent", "nearly parallel"):
        for box in (None, 2.0):
            with_ties = _degenerate(kind)
            (count, exact), total, exact_s = timed(lambda: region_count(with_ties, box))
            baseline_net = _degenerate(kind, 1e-3)
            start = time.perf_counter()
            base_count = region_count(baseline_net, box).count
            base = time.perf_counter() - start
            domain = "R^2" if box is None else "[-2, 2]^2"
            rows.append({"case": f"regions, {kind} first layer, {domain}", "verdict": f"{count} regions, exact {exact}",
                         "total_s": total, "exact_s": exact_s, "ratio": total / max(base, 1e-12),
                         "baseline": f"offsets moved by ~1e-3 (no ties): {base_count} regions in {base:.3f} s"})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer networks")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    linear_regions(random_network((2, 4, 2), 0.2, injective=False, generator=0), 1.0)  # warm the imports
    rows = check_rows(args.quick)
    print(f"{'case':58s} {'verdict':22s} {'total s':>8s} {'exact s':>8s} {'ratio':>6s}")
    for r in rows:
        print(f"{r['case']:58s} {r['verdict']:22s} {r['total_s']:8.3f} {r['exact_s']:8.3f} {r['ratio']:6.2f}")
    ratios = np.array([r["ratio"] for r in rows])
    print(f"\nverified against float-only verdicts: median ratio {np.median(ratios):.2f}, max {ratios.max():.2f}, "
          f"{int((ratios <= 2).sum())} of {len(ratios)} within 2x")
    ties = tie_rows()
    print(f"\n{'case':58s} {'result':22s} {'total s':>8s} {'exact s':>8s} {'ratio':>6s}  baseline")
    for r in ties:
        print(f"{r['case']:58s} {r['verdict']:22s} {r['total_s']:8.3f} {r['exact_s']:8.3f} {r['ratio']:6.2f}  {r['baseline']}")
    if args.json is not None:
        args.json.write_text(json.dumps({"checks": rows, "ties": ties}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
