"""The catalogue of counterexamples, in the order of ``docs/theory.md``.

Adding an entry: a file ``ceN.py`` with ``build(embedding=None) -> Counterexample`` and
``evidence(ce, n, seed) -> list[CheckResult]``, and one line in ``ENTRIES`` (or in
``LIMITS`` for an entry that shows a limit rather than a dropped assumption).
"""

from __future__ import annotations

from models.validation import check_int, check_seed

from . import ce1, ce1b, ce2a, ce2b, ce3, ce4, ce5, ce6
from .entry import Counterexample

ENTRIES = {"CE1": ce1.build, "CE1b": ce1b.build, "CE2a": ce2a.build, "CE2b": ce2b.build, "CE3": ce3.build,
           "CE4": ce4.build, "CE5": ce5.build}
"""Counterexamples that drop one assumption: name -> builder."""

LIMITS = {"CE6": ce6.build}
"""Entries that show a limit (laws of x that merge) rather than a dropped assumption."""

NAMES = tuple(ENTRIES)
LIMIT_NAMES = tuple(LIMITS)


def catalog(embed_dim: int | None = None, seed: int = 0, *, include_limits: bool = False) -> list[Counterexample]:
    """Every counterexample, in the order of ``NAMES`` (and then ``LIMIT_NAMES``).

    Parameters
    ----------
    embed_dim : int, optional
        Compose every entry with a random injective leaky-ReLU network into R^embed_dim
        (``embed_dim`` > 2, the largest latent dimension).
    seed : int
        Seed of those networks.
    include_limits : bool
        Append the limits (CE6), whose evidence shows falling distances rather than equal laws.
    """
    if embed_dim is not None:
        check_int(embed_dim, "embed_dim", minimum=3, maximum=4096)
    check_seed(seed)
    names = NAMES + LIMIT_NAMES if include_limits else NAMES
    return [get(name, embed_dim, seed) for name in names]


def get(name: str, embed_dim: int | None = None, seed: int = 0) -> Counterexample:
    """One entry by name (case-insensitive), optionally embedded into R^embed_dim."""
    if not isinstance(name, str):
        raise ValueError(f"name: expected a counterexample name such as 'CE1', got {name!r}")
    check_seed(seed)
    for key, build in {**ENTRIES, **LIMITS}.items():
        if key.lower() == name.strip().lower():
            entry = build()
            if embed_dim is None:
                return entry
            # Named as the caller's argument, not as Counterexample.embedded's n.
            check_int(embed_dim, "embed_dim", minimum=entry.min_embed_dim, maximum=4096)
            return entry.embedded(embed_dim, seed)
    raise ValueError(f"name: unknown counterexample {name!r}; known: {', '.join(NAMES + LIMIT_NAMES)}")
