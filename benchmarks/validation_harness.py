"""Count how the public API answers bad input: a clear ValueError, an unclear one, another exception, or none.

Over every public callable that ``public_api.discover()`` finds and a fixed list of bad
inputs per argument (``public_api.cases``), each call ends in one of four classes:

- clear: a ``ValueError`` whose message starts with the name of an argument of the callable;
- unclear: a ``ValueError`` that names no argument;
- other exception: ``TypeError``, ``RuntimeError``, ``IndexError`` ...;
- accepted: no error, the bad input went through.

Valid alternatives (numpy arrays, lists, float32, numpy integers ...) are counted apart:
accepted, or refused. Run from the repository root::

    python benchmarks/validation_harness.py [--verbose] [--only NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import public_api  # noqa: E402
import torch  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="one line per call that is not a clear ValueError")
    parser.add_argument("--only", help="callables whose name contains this")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    found = public_api.discover()
    specs = public_api.specs()
    missing = sorted(set(found) - set(specs) - set(public_api.SKIP))
    counts, alternatives = Counter(), Counter()
    covered = 0
    for name in sorted(found):
        if name not in specs or (args.only and args.only not in name):
            continue
        spec = specs[name]
        covered += 1
        for argument, label, value in public_api.cases(spec):
            result, what = public_api.outcome(spec, name, argument, value)
            counts[result] += 1
            if args.verbose and result != "clear":
                print(f"{result:15} {name}({argument}={label}): {what}")
        valid = spec.args()
        for argument, kind in spec.kinds.items():
            if valid.get(argument) is None:
                continue
            for label, value in kind.alternatives(valid[argument]):
                result, what = public_api.outcome(spec, name, argument, value)
                alternatives["accepted" if result == "accepted" else "refused"] += 1
                if args.verbose and result != "accepted":
                    print(f"{'refused valid':15} {name}({argument}={label}): {what}")
    total = sum(counts.values())
    print(f"{covered} public callables ({len(found)} found, {len(public_api.SKIP)} skipped: no data to validate, "
          f"{len(missing)} without a spec{': ' + ', '.join(missing) if missing else ''})")
    print(f"{total} bad inputs: " + ", ".join(f"{counts[o]} {o}" for o in public_api.OUTCOMES))
    print(f"{sum(alternatives.values())} valid alternatives: {alternatives['accepted']} accepted, {alternatives['refused']} refused")
    print(f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
