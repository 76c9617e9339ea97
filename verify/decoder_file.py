"""Reading a user's saved decoder and prior, and the verdicts ``python -m verify check`` prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from models import GaussianMixture, LeakyReLUNetwork

from .check_result import CheckResult

DEFAULT_BOX = 3.0
# Exact region-based checks are exponential in the latent dimension; above this they fall back.
MAX_EXACT_LATENT_DIM = 3


def load_decoder(path, *, negative_slope: float | None = None, allow_pickle: bool = False) -> LeakyReLUNetwork:
    """A ``LeakyReLUNetwork`` from a file saved with ``torch.save``.

    By default the file must hold a state dict of ``nn.Linear`` layers (keys
    ``<prefix>.weight`` / ``<prefix>.bias``, in the order of their numeric prefixes),
    read with ``weights_only=True``; the slope between layers is ``negative_slope``.
    A whole pickled ``nn.Sequential`` is read only with ``allow_pickle=True``,
    because unpickling runs code from the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"decoder: no file at {path}")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError and others for non-tensor content
        if not allow_pickle:
            raise ValueError(f"decoder: {path} is not a plain state dict ({type(exc).__name__}); a pickled module runs code "
                             "when loaded, so it is read only with --allow-pickle (for files you trust)") from None
        content = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(content, torch.nn.Module):
        return LeakyReLUNetwork.from_torch(content)
    if not isinstance(content, dict):
        raise ValueError(f"decoder: expected a state dict or an nn.Sequential, got {type(content).__name__}")
    if negative_slope is None:
        raise ValueError("--negative-slope: a state dict does not record the activation; give its slope (0 for ReLU)")
    weights, biases = _layers_from_state_dict(content)
    return LeakyReLUNetwork(weights, biases, negative_slope)


def _layers_from_state_dict(state: dict):
    prefixes = sorted({key.rsplit(".", 1)[0] for key in state if key.endswith(".weight")}, key=_numeric_key)
    unknown = [k for k in state if not k.endswith((".weight", ".bias"))]
    if unknown or not prefixes:
        raise ValueError(f"decoder: expected only <layer>.weight / <layer>.bias entries of nn.Linear layers, found {unknown or list(state)}")
    weights, biases = [], []
    for prefix in prefixes:
        weight = state[f"{prefix}.weight"]
        if weight.ndim != 2:
            raise ValueError(f"decoder: {prefix}.weight has shape {tuple(weight.shape)}; only nn.Linear layers are supported")
        weights.append(weight.to(torch.float64))
        bias = state.get(f"{prefix}.bias")
        biases.append(torch.zeros(weight.shape[0], dtype=torch.float64) if bias is None else bias.to(torch.float64))
    return weights, biases


def _numeric_key(prefix: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"[.]", prefix)]


def load_prior(path, decoder: LeakyReLUNetwork) -> GaussianMixture:
    """A prior from JSON ``{"weights": [...], "means": [[...]], "covariances": [[[...]]]}``."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"--prior: cannot read {path}: {exc}") from None
    if not isinstance(spec, dict) or set(spec) - {"weights", "means", "covariances"} or len(spec) != 3:
        raise ValueError("--prior: expected a JSON object with exactly the keys weights, means, covariances")
    prior = GaussianMixture(spec["weights"], spec["means"], spec["covariances"])
    if prior.dim != decoder.in_dim:
        raise ValueError(f"--prior: dimension {prior.dim} does not match the decoder's input dimension {decoder.in_dim}")
    return prior


def default_box(prior: GaussianMixture | None) -> float:
    """A cube that holds the prior's mass: 4 standard deviations around the means, or 3."""
    if prior is None:
        return DEFAULT_BOX
    spread = torch.sqrt(torch.diagonal(prior.covariances, dim1=-2, dim2=-1)).max()
    return float(prior.means.abs().max() + 4 * spread)


def analyse_decoder(decoder: LeakyReLUNetwork, prior: GaussianMixture | None = None, *, box: float | None = None) -> list[CheckResult]:
    """Piecewise affine?  Injective?  Weakly injective?  How many linear regions in the box?"""
    from models.regions import count_linear_regions

    from .injectivity import check_injective, check_weakly_injective

    box = default_box(prior) if box is None else float(box)
    if not box > 0:
        raise ValueError(f"--box: expected a positive half-width, got {box}")
    results = [CheckResult("piecewise_affine", True, details={"summary": f"Linear + (leaky) ReLU layers, widths {decoder.widths}"})]
    exact = decoder.in_dim <= MAX_EXACT_LATENT_DIM
    injective = check_injective(decoder, box=box if exact else None)
    results.append(_summarised(injective, f"method {injective.details.get('method', '?')}, box {box:g}"))
    if exact:
        weak = check_weakly_injective(decoder, box=box)
        results.append(_summarised(weak, f"box {box:g}"))
        regions = count_linear_regions(decoder, box)
        results.append(CheckResult("linear_regions", True, float(regions), details={"summary": f"{regions} regions meet the box [-{box:g}, {box:g}]^{decoder.in_dim}"}))
    return results


def _summarised(result: CheckResult, summary: str) -> CheckResult:
    return CheckResult(result.name, result.holds, result.statistic, result.tolerance, result.witness, {**result.details, "summary": summary})
