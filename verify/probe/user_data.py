"""The probe on a user's samples: refit, and compare the fitted latents with given ones (or with a second fit)."""

from __future__ import annotations

from models.validation import DTYPE, check_choice, check_int, check_tensor

from ..check_result import CheckResult
from ..metrics import affine_mcc, affine_r2, mcc
from .experiments import R2_TARGET, _budget
from .flow import fit_flow
from .vade import fit_vade

ENGINES = ("auto", "vade", "flow")


def probe_samples(x, *, latents=None, latent_dim: int | None = None, n_components: int = 3, engine: str = "auto",
                  budget="standard", seed: int = 0) -> CheckResult:
    """Refit a model to samples x and score its latents against ``latents`` (or a second fit's).

    Parameters
    ----------
    x : array_like, shape (N, n)
    latents : array_like, shape (N, m), optional
        The true latents, row for row. Without them a second model is fitted from ``seed + 1``
        and the two fits' latents are compared: the theory says they agree up to an affine map.
    latent_dim : int, optional
        m; by default the number of columns of ``latents`` (required without them).
    n_components : int
        J of the fitted prior.
    engine : {"auto", "vade", "flow"}
        "flow" (exact likelihood, square noise-free data) needs n = m; "auto" picks it then, and
        "vade" otherwise.
    budget : str or Budget
        Restarts and steps (``verify.probe.experiments.BUDGETS``).
    seed : int

    Returns
    -------
    CheckResult
        ``probe/samples``: holds when the held-out affine R² (``verify.metrics.affine_r2``, even rows
        fit, odd rows score) >= ``R2_TARGET``; details: MCC, affine MCC, the fit's log-likelihood,
        the engine and its options, and ``fit`` (the fitted object).
    """
    data, reference, latent_dim, engine, spent, seed = _arguments(x, latents, latent_dim, engine, budget, seed)
    n_components = check_int(n_components, "n_components", maximum=data.shape[0])

    def fit(fit_seed):
        if engine == "flow":
            return fit_flow(data, latent_dim, n_components=n_components, seed=fit_seed, steps=max(spent.steps // 5, 20),
                            **({} if spent.flow_candidates is None else {"n_candidates": spent.flow_candidates}))
        return fit_vade(data, latent_dim, n_components, restarts=spent.restarts, steps=spent.steps, seed=fit_seed)

    fitted = fit(seed)
    z_fit = fitted.latents(data)
    if reference is None:
        reference, against = fit(seed + 1).latents(data), "a second fit (seed + 1)"
    else:
        against = "the given latents"
    r2 = affine_r2(reference, z_fit)
    details = {"compared_with": against, "affine_r2": r2, "mcc": mcc(reference, z_fit), "affine_mcc": affine_mcc(reference, z_fit),
               "log_likelihood": fitted.log_likelihood, "engine": engine, "n_samples": data.shape[0],
               "observed_dim": data.shape[1], "latent_dim": latent_dim, "n_components": n_components,
               "budget": spent.name, "seed": seed, "fit": fitted, "z_fitted": z_fit, "z_reference": reference}
    method = ("square leaky-ReLU flow by exact maximum likelihood" if engine == "flow"
              else f"VaDE refit by the ELBO, best of {spent.restarts} restart(s) by likelihood")
    return CheckResult("probe/samples", r2 >= R2_TARGET, r2, R2_TARGET, ">=", domain=f"the {data.shape[0]} given samples",
                       method=method, details=details)


def _arguments(x, latents, latent_dim, engine, budget, seed):
    """(data, reference latents or None, m, engine, Budget, seed), checked."""
    data = check_tensor(x, "x", dtype=DTYPE, ndim=2)
    if latent_dim is not None:
        latent_dim = check_int(latent_dim, "latent_dim", maximum=data.shape[1])
    reference = None
    if latents is not None:
        reference = check_tensor(latents, "latents", dtype=DTYPE, ndim=2)
        if reference.shape[0] != data.shape[0]:
            raise ValueError(f"latents: expected {data.shape[0]} rows to match x, got {reference.shape[0]}")
        if latent_dim is None:
            latent_dim = check_int(reference.shape[1], "latents", maximum=data.shape[1])
        elif reference.shape[1] != latent_dim:
            raise ValueError(f"latents: expected {latent_dim} columns (latent_dim), got {reference.shape[1]}")
    if latent_dim is None:
        raise ValueError("latent_dim: give the latent dimension m (or latents to read it from)")
    check_choice(engine, ENGINES, "engine")
    if engine == "auto":
        engine = "flow" if data.shape[1] == latent_dim else "vade"
    if engine == "flow" and data.shape[1] != latent_dim:
        raise ValueError(f"engine: the flow fits square data (n = m), got n = {data.shape[1]}, m = {latent_dim}")
    # The second fit, without latents, is seeded seed + 1.
    return data, reference, latent_dim, engine, _budget(budget), check_int(seed, "seed", minimum=0, maximum=2**62 - 1)


__all__ = ["ENGINES", "probe_samples"]
