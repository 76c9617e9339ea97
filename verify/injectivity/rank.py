"""``rank``: the layerwise criterion, sufficient only, decided exactly.

All slopes > 0 and every layer of full column rank make every layer, hence f,
injective on all of R^m (and on any box). The ranks are computed in exact rationals,
so a "holds" is a proof; when the criterion fails it proves nothing: the verdict is
then unknown.
"""

from __future__ import annotations

import torch

from ..check_result import CheckResult
from ..exact import rank
from ..tolerances import RANK_RTOL
from ._shared import Options, base_details
from .tolerances import Frame, Tolerances, domain_name

NAME = "injective/rank"
KIND = "sufficient"  # a "holds" is a proof; a failed criterion proves nothing
NEEDS_BOX = False
SQUARE_ONLY = False


def decide(frame: Frame, tol: Tolerances, options: Options | None = None) -> CheckResult:
    net = frame.network
    ratios = []
    for w in net.weights:
        sv = torch.linalg.svdvals(w)
        ratios.append(float(sv[-1] / sv[0]) if w.shape[0] >= w.shape[1] and float(sv[0]) > 0 else 0.0)
    exact_ranks = [rank(w) for w in frame.exact.weights]
    full = all(r == w.ncols() for r, w in zip(exact_ranks, frame.exact.weights))
    slopes_ok = all(s > 0 for s in net.slopes)
    statistic = min(ratios)
    details = {**base_details(frame, tol, "rank"), "layer_condition_ratios": ratios, "exact_ranks": exact_ranks,
               "slopes": net.slopes}
    how = "layerwise rank criterion, ranks in exact rationals (sufficient only)"
    if slopes_ok and full:
        certificate = {"criterion": "every slope > 0 and every layer of full column rank (exact)", "domain": "R^m",
                       "exact_ranks": exact_ranks, "min_sigma_ratio": statistic}
        # Injective on R^m, hence on any box: the domain is R^m whatever box was asked for.
        return CheckResult(NAME, True, statistic, RANK_RTOL, ">", certificate, verified=True, domain=domain_name(net, None),
                           method=how, details={**details, "verdict": "injective on all of R^m (hence on any box)"})
    details["reason"] = "the layerwise criterion is sufficient, not necessary"
    return CheckResult(NAME, None, statistic, RANK_RTOL, ">", None, domain=frame.domain, method=how, details=details)
