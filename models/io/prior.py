"""Priors from JSON files, dicts, ``torch.distributions`` objects, or a ``GaussianMixture``.

JSON (or a dict)::

    {"weights": [0.3, 0.7], "means": [[0, 0], [2, 1]], "covariances": [[[1, 0], [0, 1]], [[2, 0], [0, 1]]]}

or ``"variances": [[1, 1], [2, 1]]`` instead of ``"covariances"`` for diagonal covariances.
Weights exported from float32 (a softmax) sum to 1 only to float32 precision; a sum within
``WEIGHT_SUM_FLOAT32_ULPS`` float32 ulps per component of 1 is renormalised and the change
reported; a sum further off is an error. From Python, a ``MixtureSameFamily`` of
``MultivariateNormal`` or ``Independent(Normal)`` components, or a single such Gaussian, is
read from its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..gaussian_mixture import GaussianMixture
from ..validation import DTYPE, check_int, check_tensor
from .json_text import parse_json

__all__ = ["LoadedPrior", "WEIGHT_SUM_FLOAT32_ULPS", "load_prior"]

WEIGHT_SUM_FLOAT32_ULPS = 4
"""Float32 ulps per component by which the weights' sum may miss 1 and still be renormalised:
a float32 softmax of J weights sums to 1 within about J/2 ulps."""


@dataclass(frozen=True)
class LoadedPrior:
    """A prior as read, with what was done to it.

    Attributes
    ----------
    prior : GaussianMixture
        In float64.
    source : str
    notes : tuple of str
        Changes made while reading (renormalised weights), and the form of the covariances.
    """

    prior: GaussianMixture
    source: str
    notes: tuple[str, ...] = ()

    @property
    def dim(self) -> int:
        return self.prior.dim

    def to_dict(self) -> dict:
        return {"source": self.source, "notes": list(self.notes), "n_components": self.prior.n_components, "dim": self.prior.dim,
                "weights": self.prior.weights.tolist(), "means": self.prior.means.tolist(),
                "covariances": self.prior.covariances.tolist()}


def load_prior(source, *, latent_dim: int | None = None) -> LoadedPrior:
    """A ``LoadedPrior`` from a JSON file, a dict, a ``torch.distributions`` Gaussian (mixture),
    a ``GaussianMixture`` or a ``LoadedPrior``; of dimension ``latent_dim`` when given."""
    if isinstance(source, LoadedPrior):
        loaded = source
    elif isinstance(source, GaussianMixture):
        loaded = LoadedPrior(source.to("cpu", DTYPE), "a GaussianMixture")
    elif isinstance(source, torch.distributions.Distribution):
        loaded = _from_distribution(source)
    elif isinstance(source, dict):
        loaded = _from_spec(source, "a dict")
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            raise ValueError(f"prior: {path} is a folder, not a JSON file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"prior: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
        spec = parse_json(data, "prior", str(path))
        loaded = _from_spec(spec, str(path))
    else:
        raise ValueError(f"prior: expected a JSON file, a dict, a torch.distributions mixture or a GaussianMixture, "
                         f"got {type(source).__name__}")
    if latent_dim is not None and loaded.prior.dim != check_int(latent_dim, "latent_dim"):
        raise ValueError(f"prior: dimension {loaded.prior.dim} does not match the decoder's input dimension {latent_dim}")
    return loaded


def _weights(values, notes: list[str]) -> torch.Tensor:
    weights = check_tensor(values, "prior: weights", ndim=1)
    if weights.numel() and bool((weights <= 0).any()):
        j = int(torch.nonzero(weights <= 0)[0])
        raise ValueError(f"prior: weights: expected every weight > 0, component {j} has {float(weights[j])!r}")
    total = float(weights.sum())
    tol = WEIGHT_SUM_FLOAT32_ULPS * weights.numel() * torch.finfo(torch.float32).eps
    if abs(total - 1.0) > tol:
        raise ValueError(f"prior: weights: expected weights summing to 1 (to float32 precision, {tol:.2g}), got sum {total!r}")
    if total != 1.0:
        renormalised = weights / weights.sum()
        change = float((renormalised - weights).abs().max())
        if change > 0:
            notes.append(f"weights summed to {total!r} (float32 rounding); renormalised, largest change {change:.2g}")
        weights = renormalised
    return weights


def _from_spec(spec: dict, source: str) -> LoadedPrior:
    if not isinstance(spec, dict):
        raise ValueError("prior: expected a JSON object with keys weights, means, and covariances or variances")
    keys = set(spec)
    if "means" not in keys or len(keys & {"covariances", "variances"}) != 1 or keys - {"weights", "means", "covariances", "variances"}:
        raise ValueError("prior: expected the keys means, covariances (J × m × m) or variances (J × m, diagonal), and weights; "
                         f"got {sorted(keys)}")
    notes: list[str] = []
    means = check_tensor(spec["means"], "prior: means", ndim=2)
    if "weights" in spec:
        weights = _weights(spec["weights"], notes)
    elif means.shape[0] == 1:
        weights = torch.ones(1, dtype=DTYPE)
    else:
        raise ValueError("prior: weights: needed for more than one component")
    if "variances" in spec:
        variances = check_tensor(spec["variances"], "prior: variances", ndim=2)
        if variances.shape != means.shape:
            raise ValueError(f"prior: variances: expected shape {tuple(means.shape)} to match means, got {tuple(variances.shape)}")
        if bool((variances <= 0).any()):
            raise ValueError("prior: variances: expected every variance > 0")
        covariances = torch.diag_embed(variances)
        notes.append("diagonal covariances (variances)")
    else:
        covariances = _symmetrised(check_tensor(spec["covariances"], "prior: covariances", ndim=3), notes)
    return LoadedPrior(_mixture(weights, means, covariances), source, tuple(notes))


def _symmetrised(covariances: torch.Tensor, notes: list[str]) -> torch.Tensor:
    """Covariances written from float32 are symmetric only to float32 precision: symmetrised (and said so)."""
    asymmetry = float((covariances - covariances.transpose(-1, -2)).abs().max())
    scale = float(covariances.abs().max()) or 1.0
    if 0 < asymmetry <= WEIGHT_SUM_FLOAT32_ULPS * torch.finfo(torch.float32).eps * scale:
        notes.append(f"covariances symmetric to float32 precision (asymmetry {asymmetry:.2g}); symmetrised")
        return 0.5 * (covariances + covariances.transpose(-1, -2))
    return covariances


def _mixture(weights, means, covariances) -> GaussianMixture:
    try:
        return GaussianMixture(weights, means, covariances)
    except ValueError as exc:
        raise ValueError(f"prior: {exc}") from None


def _gaussian_parameters(dist) -> tuple[torch.Tensor, torch.Tensor, str]:
    D = torch.distributions
    if isinstance(dist, D.MultivariateNormal):
        return dist.loc, dist.covariance_matrix, "full covariances"
    if isinstance(dist, D.Independent) and isinstance(dist.base_dist, D.Normal) and dist.reinterpreted_batch_ndims == 1:
        return dist.base_dist.loc, torch.diag_embed(dist.base_dist.scale.square()), "diagonal covariances"
    if isinstance(dist, D.Normal):
        return dist.loc.unsqueeze(-1), dist.scale.square().unsqueeze(-1).unsqueeze(-1), "one dimension"
    raise ValueError(f"prior: components of type {type(dist).__name__} are not read; expected MultivariateNormal, "
                     "Independent(Normal, 1) or Normal")


def _from_distribution(dist) -> LoadedPrior:
    D = torch.distributions
    notes: list[str] = []
    if isinstance(dist, D.MixtureSameFamily):
        probs = dist.mixture_distribution.probs.detach().to("cpu", DTYPE)
        if probs.ndim != 1:
            raise ValueError(f"prior: a batch of mixtures (probs of shape {tuple(probs.shape)}) is not one prior")
        weights = _weights(probs, notes)
        means, covariances, form = _gaussian_parameters(dist.component_distribution)
    else:
        means, covariances, form = _gaussian_parameters(dist)
        means, covariances = means.reshape(1, -1), covariances.reshape(1, means.shape[-1], means.shape[-1])
        weights = torch.ones(1, dtype=DTYPE)
    notes.append(form)
    means = means.detach().to("cpu", DTYPE)
    covariances = _symmetrised(covariances.detach().to("cpu", DTYPE), notes)
    return LoadedPrior(_mixture(weights, means, covariances), f"a torch.distributions.{type(dist).__name__}", tuple(notes))
