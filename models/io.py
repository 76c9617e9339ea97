"""Reading a user's saved decoder and prior from files."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch

from .gaussian_mixture import GaussianMixture
from .leaky_relu_network import LeakyReLUNetwork
from .validation import DTYPE, check_int

__all__ = ["load_decoder", "load_prior"]


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
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" not in str(exc):
            raise ValueError(f"decoder: {path} is not a file written by torch.save ({str(exc).splitlines()[0][:120]})") from None
        # weights_only refused an object that is not a tensor: a pickled module runs code when loaded.
        if not allow_pickle:
            raise ValueError(f"decoder: {path} is not a plain state dict ({str(exc).splitlines()[0][:120]}); a pickled module "
                             "runs code when loaded, so it is read only with --allow-pickle (for files you trust)") from None
        content = _load_pickled(path)
    except Exception as exc:
        raise ValueError(f"decoder: {path} is not a file written by torch.save ({type(exc).__name__}: {str(exc)[:120]})") from None
    if isinstance(content, torch.nn.Module):
        return LeakyReLUNetwork.from_torch(content)
    if not isinstance(content, dict):
        raise ValueError(f"decoder: expected a state dict or an nn.Sequential, got {type(content).__name__}")
    if negative_slope is None:
        raise ValueError("--negative-slope: a state dict does not record the activation; give its slope (0 for ReLU)")
    weights, biases = _layers_from_state_dict(content)
    return LeakyReLUNetwork(weights, biases, negative_slope)


def _load_pickled(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ValueError(f"decoder: {path} could not be unpickled ({type(exc).__name__}: {str(exc)[:120]})") from None


def _layers_from_state_dict(state: dict):
    """Layers in the order of their numeric ``nn.Sequential`` prefixes (``0.weight``, ``2.weight``, ...),
    every entry used, every value a real tensor of the right shape."""
    layers: dict[tuple[int, ...], dict] = {}
    for key, value in state.items():
        prefix, _, kind = key.rpartition(".")
        parts = prefix.split(".")
        if kind not in ("weight", "bias") or not prefix or not parts[-1].isdigit():
            raise ValueError(f"decoder: entry {key!r} is not <index>.weight / <index>.bias of an nn.Sequential of nn.Linear layers")
        if not isinstance(value, torch.Tensor) or value.is_complex() or not value.is_floating_point():
            raise ValueError(f"decoder: entry {key!r} is not a real floating-point tensor")
        layers.setdefault(tuple(int(p) if p.isdigit() else -1 for p in parts), {})[kind] = value
    weights, biases = [], []
    for index, entry in sorted(layers.items()):
        name = ".".join(map(str, index))
        if "weight" not in entry:
            raise ValueError(f"decoder: layer {name} has a bias but no weight")
        weight = entry["weight"]
        if weight.ndim != 2:
            raise ValueError(f"decoder: {name}.weight has shape {tuple(weight.shape)}; only nn.Linear layers are supported")
        bias = entry.get("bias")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"decoder: {name}.bias has shape {tuple(bias.shape)}, expected ({weight.shape[0]},)")
        weights.append(weight.to(DTYPE))
        biases.append(torch.zeros(weight.shape[0], dtype=DTYPE) if bias is None else bias.to(DTYPE))
    return weights, biases


def load_prior(path, *, latent_dim: int | None = None) -> GaussianMixture:
    """A prior from JSON ``{"weights": [...], "means": [[...]], "covariances": [[[...]]]}``, of
    dimension ``latent_dim`` when given."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"--prior: cannot read {path}: {exc}") from None
    if not isinstance(spec, dict) or set(spec) - {"weights", "means", "covariances"} or len(spec) != 3:
        raise ValueError("--prior: expected a JSON object with exactly the keys weights, means, covariances")
    prior = GaussianMixture(spec["weights"], spec["means"], spec["covariances"])
    if latent_dim is not None and prior.dim != check_int(latent_dim, "latent_dim"):
        raise ValueError(f"--prior: dimension {prior.dim} does not match the decoder's input dimension {latent_dim}")
    return prior


