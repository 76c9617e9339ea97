"""What the loaders return: the decoder as read, classified, with where its parts came from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..leaky_relu_network import LeakyReLUNetwork
from ..validation import DTYPE, check_callable, check_choice, check_instance, check_int, check_points, check_tensor, check_text

__all__ = ["KINDS", "LoadedDecoder", "SmoothDecoder", "SquashedNetwork"]

KINDS = ("piecewise_affine", "squashed", "smooth")
"""``piecewise_affine``: a ``LeakyReLUNetwork``; ``squashed``: a network followed by a strictly
increasing coordinatewise map (a final Sigmoid or Tanh); ``smooth``: smooth activations
between the layers, not piecewise affine."""


class SquashedNetwork:
    """x = d ⊙ σ(f(z)) + e: a ``LeakyReLUNetwork`` f followed by a strictly increasing
    coordinatewise function σ (Sigmoid, Tanh, ELU, Softplus, ...) and an elementwise affine map.

    σ is a known bijection onto an interval, so x determines f(z): the model is injective iff
    f is, and every result about (f, P) is a result about the observations σ⁻¹((x − e) / d).
    """

    def __init__(self, network: LeakyReLUNetwork, activation: str, params: dict, scale: torch.Tensor, shift: torch.Tensor):
        from .chain import UNARY  # the table of elementwise functions lives with the builder

        self.network = check_instance(network, LeakyReLUNetwork, "network")
        self.activation = check_choice(activation, tuple(UNARY), "activation")
        self.params = dict(check_instance(params, dict, "params"))
        self.scale = _coordinatewise(scale, "scale", network.out_dim)
        if bool((self.scale == 0).any()):
            raise ValueError("scale: expected nonzero entries (x = scale * σ(f(z)) + shift must determine f(z))")
        self.shift = _coordinatewise(shift, "shift", network.out_dim)
        self._op = UNARY[activation]

    @property
    def label(self) -> str:
        return self._op.label

    @property
    def in_dim(self) -> int:
        return self.network.in_dim

    @property
    def out_dim(self) -> int:
        return self.network.out_dim

    @property
    def dtype(self) -> torch.dtype:
        return DTYPE

    def __call__(self, z: Any) -> torch.Tensor:
        points, single = check_points(z, "z", self.in_dim)
        out = self.scale * self._op.evaluate(self.network(points), **self.params) + self.shift
        return out[0] if single else out

    @property
    def range(self) -> tuple[float, float]:
        """The open interval σ maps onto."""
        low, high = self._op.low, self._op.high
        if "alpha" in self.params and low == -1.0:
            low = -float(self.params["alpha"])
        return low, high

    def to_network_space(self, x: Any, *, clamp: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(σ⁻¹((x − e) / d), inside). Rows outside the range of σ are NaN, or, with ``clamp`` = ε,
        first moved to within ε of the range's ends (an approximation for noisy observations)."""
        points, _ = check_points(x, "x", self.out_dim)
        t = (points - self.shift) / self.scale
        low, high = self.range
        inside = ((t > low) & (t < high)).all(dim=1)
        if clamp is not None:
            t = t.clamp(min=low + clamp if math.isfinite(low) else None, max=high - clamp if math.isfinite(high) else None)
        u = self._op.inverse(t, **self.params)
        if clamp is None:
            u = torch.where(inside.unsqueeze(1), u, torch.full_like(u, float("nan")))
        return u, inside

    def __repr__(self) -> str:
        return f"SquashedNetwork({self.label} after {self.network!r})"


class SmoothDecoder:
    """A chain of affine layers and elementwise activations some of which are smooth (ELU, Tanh,
    SiLU, GELU, ...): evaluated exactly in float64, but not piecewise affine.

    Parameters
    ----------
    steps : sequence of tuples
        ``("affine", W (out, in), b (out,))`` and ``("act", function, name)``, in order, with at
        least one affine step; consecutive affine steps chain.
    in_dim : int, optional
        The input dimension (default: the first affine step's).
    """

    def __init__(self, steps: tuple, in_dim: int | None = None):
        self.steps = _check_steps(steps)
        affine = [s for s in self.steps if s[0] == "affine"]
        first = affine[0][1].shape[1]
        self._in_dim = first if in_dim is None else check_int(in_dim, "in_dim")
        if self._in_dim != first:
            raise ValueError(f"in_dim: the first affine step takes {first} inputs, got in_dim={in_dim}")
        self._out_dim = affine[-1][1].shape[0]

    @property
    def in_dim(self) -> int:
        return self._in_dim

    @property
    def out_dim(self) -> int:
        return self._out_dim

    @property
    def dtype(self) -> torch.dtype:
        return DTYPE

    @property
    def activations(self) -> tuple[str, ...]:
        """The name of every activation, in order."""
        return tuple(s[2] for s in self.steps if s[0] == "act")

    @property
    def widths(self) -> tuple[int, ...]:
        return (self._in_dim, *(s[1].shape[0] for s in self.steps if s[0] == "affine"))

    def __call__(self, z: Any) -> torch.Tensor:
        points, single = check_points(z, "z", self.in_dim)
        h = points
        for step in self.steps:
            h = h @ step[1].T + step[2] if step[0] == "affine" else step[1](h)
        return h[0] if single else h

    def __repr__(self) -> str:
        return f"SmoothDecoder(widths={self.widths}, activations={', '.join(self.activations)})"


def _coordinatewise(value: Any, name: str, dim: int) -> torch.Tensor:
    """One number for every coordinate, or a vector of ``dim`` of them."""
    tensor = check_tensor(value, name, ndim=(0, 1))
    if tensor.ndim == 1 and tensor.shape[0] not in (1, dim):
        raise ValueError(f"{name}: expected a number or shape ({dim},), got shape {tuple(tensor.shape)}")
    return tensor.reshape(-1).expand(dim).clone()


def _check_steps(steps: Any) -> tuple:
    """The steps of a ``SmoothDecoder``, each checked, the affine ones chaining."""
    if isinstance(steps, (str, bytes)) or not isinstance(steps, (tuple, list)):
        raise ValueError(f"steps: expected a sequence of ('affine', W, b) and ('act', function, name) steps, got {type(steps).__name__}")
    checked, width = [], None
    for i, step in enumerate(steps):
        if not isinstance(step, (tuple, list)) or len(step) != 3 or step[0] not in ("affine", "act"):
            raise ValueError(f"steps[{i}]: expected ('affine', W, b) or ('act', function, name), got {step!r}")
        if step[0] == "act":
            check_callable(step[1], f"steps[{i}]")
            checked.append(("act", step[1], check_text(step[2], f"steps[{i}]")))
            continue
        weight = check_tensor(step[1], f"steps[{i}]", ndim=2)
        bias = check_tensor(step[2], f"steps[{i}]", shape=(weight.shape[0],))
        if width is not None and weight.shape[1] != width:
            raise ValueError(f"steps[{i}]: expected {width} input columns to chain with the previous affine step, got {tuple(weight.shape)}")
        width = weight.shape[0]
        checked.append(("affine", weight, bias))
    if width is None:
        raise ValueError("steps: expected at least one ('affine', W, b) step")
    return tuple(checked)


@dataclass(frozen=True)
class LoadedDecoder:
    """A decoder as read from a file or a module.

    Attributes
    ----------
    decoder : LeakyReLUNetwork, SquashedNetwork or SmoothDecoder
        The function, in float64 on the CPU.
    source : str
        The file (or "an nn.Module").
    format : str
        "state dict", "safetensors", "ONNX", "torch.export program", "pickled module", "nn.Module".
    module : str or None
        The submodule (or ONNX output) that was read.
    activations : str
        Where the activations came from: "given (...)" when the caller supplied them
        (a state dict records none), "read from the file" when the format records them.
    layers : tuple of str
        Every layer seen, in order, with what was done with it.
    warnings : tuple of str
        What the caller should check (assumptions the file could not settle).
    """

    decoder: Any
    source: str
    format: str
    module: str | None = None
    activations: str = "read from the file"
    layers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        if isinstance(self.decoder, LeakyReLUNetwork):
            return "piecewise_affine"
        return "squashed" if isinstance(self.decoder, SquashedNetwork) else "smooth"

    @property
    def piecewise_affine(self) -> bool:
        return self.kind == "piecewise_affine"

    @property
    def network(self) -> LeakyReLUNetwork | None:
        """The piecewise-affine part: the whole decoder, the network before a final squashing, or None."""
        if isinstance(self.decoder, LeakyReLUNetwork):
            return self.decoder
        return self.decoder.network if isinstance(self.decoder, SquashedNetwork) else None

    @property
    def activations_given(self) -> bool:
        return self.activations.startswith("given")

    @property
    def in_dim(self) -> int:
        return self.decoder.in_dim

    @property
    def out_dim(self) -> int:
        return self.decoder.out_dim

    @property
    def name(self) -> str:
        """A short label: the file name, and the submodule when one was chosen."""
        base = self.source.replace("\\", "/").rsplit("/", 1)[-1]
        return f"{base}:{self.module}" if self.module else base

    def __call__(self, z: Any) -> torch.Tensor:
        return self.decoder(z)

    def describe(self) -> str:
        """One line: what the decoder is."""
        if self.kind == "piecewise_affine":
            what = f"leaky-ReLU network, widths {self.decoder.widths}, slopes {_slopes(self.decoder)}"
        elif self.kind == "squashed":
            net = self.decoder.network
            what = f"leaky-ReLU network, widths {net.widths}, slopes {_slopes(net)}, then a final {self.decoder.label}"
        else:
            what = f"widths {self.decoder.widths}, activations {', '.join(self.decoder.activations)}"
        module = f", module {self.module!r}" if self.module else ""
        return f"{self.name} ({self.format}{module}): {what}"

    def to_dict(self) -> dict:
        return {"source": self.source, "format": self.format, "module": self.module, "kind": self.kind,
                "activations": self.activations, "layers": list(self.layers), "warnings": list(self.warnings),
                "in_dim": self.in_dim, "out_dim": self.out_dim, "description": self.describe()}


def _slopes(network: LeakyReLUNetwork) -> str:
    values = sorted(set(network.slopes))
    return "none" if not values else (f"{values[0]:g}" if len(values) == 1 else ", ".join(f"{s:g}" for s in network.slopes))
