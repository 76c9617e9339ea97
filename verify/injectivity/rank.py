"""``rank``: the layerwise criterion, sufficient only.

All slopes > 0 and every layer of full column rank make every layer, hence f,
injective on all of R^m (and on any box). When the criterion fails it proves
nothing: the verdict is then unknown.
"""

from __future__ import annotations

import torch

from ..check_result import CheckResult
from ..tolerances import RANK_RTOL
from ._shared import Options, base_details
from .tolerances import Tolerances, domain_name

NAME = "injective/rank"
KIND = "sufficient"  # a "holds" is a proof; a failed criterion proves nothing
NEEDS_BOX = False
SQUARE_ONLY = False


def decide(net, box, tol: Tolerances, options: Options | None = None) -> CheckResult:
    ratios = []
    for w in net.weights:
        sv = torch.linalg.svdvals(w)
        ratios.append(float(sv[-1] / sv[0]) if w.shape[0] >= w.shape[1] and float(sv[0]) > 0 else 0.0)
    slopes_ok = all(s > 0 for s in net.slopes)
    statistic = min(ratios)
    holds = slopes_ok and statistic > RANK_RTOL
    details = {**base_details(net, box, tol, "rank"), "layer_condition_ratios": ratios, "slopes": net.slopes}
    how = "layerwise rank criterion (sufficient only)"
    if holds:
        certificate = {"criterion": "every slope > 0 and every layer of full column rank", "domain": "R^m",
                       "min_sigma_ratio": statistic}
        # Injective on R^m, hence on any box: the domain is R^m whatever box was asked for.
        return CheckResult(NAME, True, statistic, RANK_RTOL, ">", certificate, domain=domain_name(net, None), method=how,
                           details={**details, "verdict": "injective on all of R^m (hence on any box)"})
    details["reason"] = "the layerwise criterion is sufficient, not necessary"
    return CheckResult(NAME, None, statistic, RANK_RTOL, ">", None, domain=domain_name(net, box), method=how, details=details)
