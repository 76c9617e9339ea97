"""Injectivity and weak injectivity of leaky-ReLU networks, with witnesses.

``check_injective(network, box=..., method=...)`` runs one method of the table
``METHODS`` (one file each), or ``"auto"``, which chains them:

- ``rank`` (``rank.py``): sufficient only; unknown when the layerwise criterion fails;
- ``orientation`` (``orientation.py``, square maps): coherent orientation and the degree;
- ``regions`` (``regions.py``): exact over every pair of linear regions;
- ``milp`` (``milp.py``): exact on a box by mixed-integer programs;
- ``search`` (``search.py``): sampling; it can only refute.

A box restricts f to the box: "injective on the box". ``box=None`` means all of
R^m (``milp`` needs a box). Every failing verdict carries a witness (z1, z2) with
z1 != z2 whose collision ‖f(z1) − f(z2)‖ <= tolerance was re-checked by a forward
pass of the network in float64; a verdict that cannot be decided (a failed
criterion that is only sufficient, a time limit, a search that found nothing) is
unknown, never "no". ``tolerances.py`` derives the scales and tolerances of a check
from the problem; ``_lp``, ``bigm``, ``_pairs``, ``_cover`` and ``_witness`` hold the
linear programs, the big-M encoding, the pair pruning, the polyhedral difference
and the witness re-check.

Adding a method: a file with ``NAME``, ``KIND``, ``NEEDS_BOX``, ``SQUARE_ONLY`` and
``decide(net, box, tol, options) -> CheckResult``, and its module in ``check.METHODS``.
"""

from .check import METHODS, check_injective, find_collision
from .preimages import InfinitePreimagesError, count_preimages, preimages
from .tolerances import Tolerances, tolerances
from .weak import check_weakly_injective

__all__ = [
    "METHODS",
    "InfinitePreimagesError",
    "Tolerances",
    "check_injective",
    "check_weakly_injective",
    "count_preimages",
    "find_collision",
    "preimages",
    "tolerances",
]
