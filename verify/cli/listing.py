"""``python -m verify list``: the registry of results, their checks, counterexamples and notes."""

from __future__ import annotations

from ..theorems import REGISTRY


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("list", help="the registry of results, their checks, counterexamples and notes")
    parser.set_defaults(func=run)


def run(args) -> int:
    for theorem in REGISTRY.values():
        print(f"{theorem.id:6} {theorem.title}")
        print(f"       {theorem.statement}")
        for name, path in theorem.assumptions:
            print(f"       assumption: {name}  [{path}]")
        print(f"       conclusion: {', '.join(theorem.conclusion)}")
        if theorem.counterexamples:
            print(f"       counterexamples: {', '.join(theorem.counterexamples)}")
        print(f"       note: {theorem.note}")
    return 0
