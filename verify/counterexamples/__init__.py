"""Counterexamples: drop one assumption and the conclusion fails (``docs/theory.md``, CE1–CE6).

Each entry pairs two models with the same law of x that no affine map of the latent
space relates, and carries its evidence as ``CheckResult`` objects, all of which hold:

* ``same_law:*`` — the laws of x are equal: exactly (densities on a grid, or a map
  shown to preserve the prior), and by a two-sample test at a stated sample size;
* ``no_affine_relation:*`` — different numbers of components, or the only possible
  relation between the latents is far from affine;
* ``dropped:*`` — the check of the dropped assumption fails, with its witness.

CE6 is of another kind (a limit, not a dropped assumption): ``catalog(include_limits=True)``
or ``get("CE6")``; its evidence shows the laws of x of two families merging while their
latents stay non-affinely related.

Every entry also exists in a higher dimension: composed with a random injective
leaky-ReLU network g: R^k -> R^n (``catalog(embed_dim=n)`` or ``entry.embedded(n)``);
g being injective, the laws stay equal and the latents keep their relation, and the
checks then run on the composed decoders.

Files: ``entry.py`` (the ``Counterexample`` object), one file per entry (``ce1.py`` ...
``ce6.py``), ``catalog.py`` (the list), ``maps.py`` (maps, non-mixture priors and exact
1-D tools), ``evidence.py`` (the evidence blocks) and ``assumptions.py`` (checks of the
assumptions the entries drop, public: they return a witness when the assumption fails).

Examples
--------
>>> from verify.counterexamples import catalog
>>> for entry in catalog():
...     assert all(result.holds for result in entry.evidence())
"""

from .assumptions import (
    check_continuous,
    check_full_rank_somewhere,
    check_full_support,
    check_nondegenerate_covariance,
    check_piecewise_affine,
    dropped,
)
from .catalog import ENTRIES, LIMIT_NAMES, LIMITS, NAMES, catalog, get
from .entry import Counterexample, embedding_network
from .maps import SampledModel

__all__ = [
    "Counterexample",
    "ENTRIES",
    "LIMITS",
    "LIMIT_NAMES",
    "NAMES",
    "SampledModel",
    "catalog",
    "check_continuous",
    "check_full_rank_somewhere",
    "check_full_support",
    "check_nondegenerate_covariance",
    "check_piecewise_affine",
    "dropped",
    "embedding_network",
    "get",
]
