"""T1': the latent dimension is identified as the dimension of the image."""

from __future__ import annotations

from models import GenerativeModel
from models.validation import check_generator, check_int, check_model_pair

from .check_result import CheckResult
from .counterexamples import check_full_rank_somewhere


def check_image_dimension(model_a: GenerativeModel, model_b: GenerativeModel, *, n: int = 1000, generator=0) -> CheckResult:
    """Both images are m-dimensional: each decoder has a piece of rank m (``check_full_rank_somewhere``
    at n prior samples of its model, exact where every piece can be seen).

    Returns
    -------
    CheckResult
        ``statistic``: the largest |rank − m| over the two models (0 when it holds);
        ``witness``: the two ranks when it fails.
    """
    check_model_pair(model_a, model_b)
    n = check_int(n, "n")
    gen = check_generator(generator)
    parts = [check_full_rank_somewhere(model.decoder, model.prior.sample(n, gen)) for model in (model_a, model_b)]
    ranks = [int(p.statistic) for p in parts]
    m = model_a.latent_dim
    verdicts = [p.holds for p in parts]
    holds = False if False in verdicts else (None if None in verdicts else True)
    return CheckResult("image_dimension", holds, float(max(abs(r - m) for r in ranks)), 0.0, "<=", None if holds else ranks,
                       domain=parts[0].domain, method="a piece of rank m in each decoder (check_full_rank_somewhere)",
                       details={"ranks": ranks, "m": m, "checks": parts})
