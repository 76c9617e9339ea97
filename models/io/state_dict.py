"""State dicts: the layers' tensors under their module paths, and nothing about activations.

A state dict records parameters and buffers by module path (``decoder.0.weight``), in
the order the modules were registered. It records neither the activations nor the order
of computation, so:

- the layers of an ``nn.Sequential`` are read in the order of their numbers, at any depth
  (``decoder.net.0.weight``); layers with names (``body.weight``, ``head.weight``) are read
  only when ``module`` names them, in the order given (``module="body,head"``);
- a file with several submodules (a whole VAE: ``encoder.*`` and ``decoder.*``) is read
  only with ``module``; the error lists the candidates;
- the activation between two linear layers is the caller's: a leaky ReLU of slope
  ``negative_slope`` (one, or one per hidden layer), placed after anything that follows the
  earlier linear layer (Linear → BatchNorm → activation, PyTorch's usual order); a PReLU
  is recognised by its single 1-D ``weight`` and its slopes are read;
- BatchNorm (``running_mean``/``running_var``) is read in eval mode and folded into the
  linear layer before it; its ``eps`` is not recorded (PyTorch's default 1e-5 is used, and
  the result says so). Dropout has no parameters and is the identity in eval mode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from .chain import ChainBuilder, assemble
from .loaded import LoadedDecoder

__all__ = ["BATCHNORM_EPS", "parse_slopes", "read_state_dict", "unwrap_checkpoint"]

BATCHNORM_EPS = 1e-5
"""PyTorch's default eps of BatchNorm, used when the file does not record it."""

_BN_KEYS = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}


def parse_slopes(value, name: str = "negative_slope"):
    """None, one slope, or one per hidden layer: a number, a sequence, or text such as "0.1,0.3"."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parts = [float(p) for p in value.replace(" ", "").split(",") if p]
        except ValueError:
            raise ValueError(f"{name}: expected a number or comma-separated numbers such as 0.1,0.3, got {value!r}") from None
        if not parts:
            raise ValueError(f"{name}: expected a number or comma-separated numbers, got {value!r}")
        value = parts[0] if len(parts) == 1 else parts
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number or a sequence of numbers, got {value!r}")
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    values = [value] if not isinstance(value, Sequence) else list(value)
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number or a sequence of numbers, got {value!r}") from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"{name}: expected finite slopes >= 0, got {value!r}")
    return values[0] if not isinstance(value, Sequence) else values


def unwrap_checkpoint(content):
    """The state dict inside a training checkpoint ({"state_dict": {...}, "epoch": ...}), or the content itself."""
    if isinstance(content, Mapping) and not all(isinstance(v, torch.Tensor) for v in content.values()):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = content.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return inner, key
    return content, None


# ---------------------------------------------------------------------------- the module tree
class _Node:
    def __init__(self):
        self.children: dict[str, _Node] = {}
        self.tensors: dict[str, torch.Tensor] = {}


def _tree(state: Mapping) -> _Node:
    root = _Node()
    for key, value in state.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"decoder: entry {key!r} is not a module path")
        if not isinstance(value, torch.Tensor) or value.is_complex():
            raise ValueError(f"decoder: entry {key!r} is not a real tensor (got {type(value).__name__})")
        *path, param = key.split(".")
        node = root
        for part in path:
            node = node.children.setdefault(part, _Node())
        node.tensors[param] = value
    return root


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _layers(node: _Node, path: str, warnings: list[str], named_ok: bool) -> list[tuple[str, dict]]:
    """(path, tensors) of every layer under node, in the order of computation."""
    if node.tensors and node.children:
        raise ValueError(f"decoder: {path or 'the file'} has its own entries ({', '.join(node.tensors)}) and submodules "
                         f"({', '.join(node.children)}); a state dict does not say how they combine")
    if node.tensors:
        return [(path, node.tensors)]
    names = list(node.children)
    if all(n.isdigit() for n in names):
        names.sort(key=int)
    elif not named_ok:
        first = next(n for n in names if not n.isdigit())
        key = _first_key(node.children[first], _join(path, first))
        raise ValueError(f"decoder: entry {key!r} belongs to a named layer {_join(path, first)!r}; a state dict records the "
                         "order of an nn.Sequential's numbered layers only, so named layers are read only when module "
                         f"(--module) names them, in the order of computation (e.g. --module {_join(path, first)})")
    else:
        warnings.append(f"the named submodules of {path or 'the file'} ({', '.join(names)}) were read in the file's order; "
                        "check that it is the order of computation")
    out = []
    for name in names:
        out += _layers(node.children[name], _join(path, name), warnings, named_ok)
    return out


def _first_key(node: _Node, path: str) -> str:
    while not node.tensors:
        name, node = next(iter(node.children.items()))
        path = _join(path, name)
    return _join(path, next(iter(node.tensors)))


def _summary(node: _Node, path: str) -> str:
    """"2→16→5" for a chain of linear layers, else the number of entries."""
    try:
        layers = _layers(node, path, [], named_ok=True)
    except ValueError:
        layers = []
    dims = [t["weight"].shape for _, t in layers if "weight" in t and t["weight"].ndim == 2]
    if dims and all(a[0] == b[1] for a, b in zip(dims, dims[1:])):
        return "→".join(str(d) for d in (dims[0][1], *(d[0] for d in dims)))
    count = sum(len(t) for _, t in layers) if layers else "?"
    return f"{count} entries"


def _candidates(node: _Node, path: str) -> str:
    parts = [f"{_join(path, name)} ({_summary(child, _join(path, name))})" for name, child in node.children.items()]
    if node.tensors:
        parts.append("entries " + ", ".join(_join(path, t) for t in node.tensors))
    return ", ".join(parts)


def select_layers(state: Mapping, module: str | None, warnings: list[str]) -> tuple[list[tuple[str, dict]], str | None]:
    """The layers of the decoder in the state dict (see the module docstring), and the module read."""
    root = _tree(state)
    if module is not None:
        if not isinstance(module, str) or not module.strip():
            raise ValueError(f"module: expected a submodule name such as 'decoder', got {module!r}")
        names = [m.strip() for m in module.split(",") if m.strip()]
        layers = []
        for name in names:
            node = root
            for part in name.split("."):
                if part not in node.children:
                    raise ValueError(f"module: the file has no submodule {name!r}; candidates: {_candidates(root, '')}")
                node = node.children[part]
            layers += _layers(node, name, warnings, named_ok=True)
        return layers, ",".join(names)
    node, path = root, ""
    while True:
        if node.tensors and not node.children:
            if path:  # a named layer reached through names
                _named_leaf_error(node, path)
            return [("", node.tensors)], None
        if not node.tensors and all(n.isdigit() for n in node.children):
            return _layers(node, path, warnings, named_ok=False), (path or None)
        if not node.tensors and len(node.children) == 1:
            name = next(iter(node.children))
            node, path = node.children[name], _join(path, name)
            continue
        raise ValueError(f"decoder: the file holds several parts ({_candidates(node, path)}); choose the decoder with "
                         "module (--module NAME), or several named layers in the order of computation (--module a,b)")


def _named_leaf_error(node: _Node, path: str):
    key = _join(path, next(iter(node.tensors)))
    raise ValueError(f"decoder: entry {key!r} belongs to a named layer {path!r}; a state dict records the order of an "
                     "nn.Sequential's numbered layers only, so named layers are read only when module (--module) names "
                     f"them (--module {path})")


# ---------------------------------------------------------------------------- reading
def _kind(path: str, tensors: dict) -> str:
    names = set(tensors)
    label = path or "the file"
    weight = tensors.get("weight")
    for name, t in tensors.items():
        if name != "num_batches_tracked" and not t.is_floating_point():
            raise ValueError(f"decoder: entry {_join(path, name)!r} is not a real floating-point tensor")
    if {"running_mean", "running_var"} <= names and names <= _BN_KEYS:
        return "batchnorm"
    if weight is not None and weight.ndim == 2 and names <= {"weight", "bias"}:
        return "linear"
    if weight is not None and weight.ndim > 2:
        raise ValueError(f"decoder: {_join(path, 'weight')} has shape {tuple(weight.shape)}; only linear layers are read, "
                         "not convolutions")
    if names == {"weight"} and weight.ndim == 1:
        return "prelu"
    if names == {"weight", "bias"} and weight.ndim == 1:
        raise ValueError(f"decoder: {label} has a 1-D weight and bias but no running statistics: a LayerNorm or a BatchNorm "
                         "that normalises by each batch, which is not a fixed function of z; only BatchNorm with running "
                         "statistics is read")
    key = _join(path, sorted(names - {"weight", "bias"} or names)[0])
    raise ValueError(f"decoder: entry {key!r} is not a parameter of a Linear, BatchNorm1d or PReLU layer")


def read_state_dict(state: Mapping, *, source: str, module: str | None = None, negative_slope=None,
                    format: str = "state dict") -> LoadedDecoder:
    """A ``LoadedDecoder`` from a state dict (module docstring)."""
    if not isinstance(state, Mapping) or not state:
        raise ValueError(f"decoder: {source} holds no state dict (got {type(state).__name__})")
    warnings: list[str] = []
    layers, chosen = select_layers(state, module, warnings)
    kinds = [_kind(path, tensors) for path, tensors in layers]
    linear = [i for i, k in enumerate(kinds) if k == "linear"]
    if not linear:
        raise ValueError(f"decoder: {source} holds no linear layer (weight of shape (out, in))")
    gaps = [(a, b) for a, b in zip(linear, linear[1:]) if "prelu" not in kinds[a + 1:b]]
    slopes = parse_slopes(negative_slope)
    if gaps and slopes is None:
        raise ValueError(f"negative_slope: a state dict does not record its activations; give the slope of the leaky ReLUs "
                         f"between its {len(linear)} linear layers (--negative-slope 0.2; 0 for ReLU; one per hidden layer "
                         "as 0.1,0.3), or describe the architecture with a spec (--spec), or save the decoder with ONNX or "
                         "torch.export, which record it")
    if isinstance(slopes, list) and len(slopes) != len(gaps):
        raise ValueError(f"negative_slope: expected one slope per hidden layer without a PReLU ({len(gaps)}), got {len(slopes)}")
    per_gap = dict(zip((b for _, b in gaps), slopes if isinstance(slopes, list) else [slopes] * len(gaps)))
    if linear[0] > 0:
        raise ValueError(f"decoder: {layers[0][0] or 'the first layer'} comes before the first linear layer; "
                         "a state dict does not say how it acts, describe the architecture with a spec (--spec)")
    builder = ChainBuilder("x")
    for index, ((path, tensors), kind) in enumerate(zip(layers, kinds)):
        label = path or "(root)"
        if index in per_gap:
            slope = per_gap[index]
            name = "ReLU" if slope == 0 else f"LeakyReLU({slope:g})"
            builder.unary("x", "x", "relu" if slope == 0 else "leaky_relu", what=f"{name} (given, not read from the file)",
                          source="given", **({} if slope == 0 else {"slope": slope}))
        if kind == "linear":
            w = tensors["weight"]
            builder.linear("x", "x", w, tensors.get("bias"), what=f"{label}: Linear {w.shape[1]}→{w.shape[0]}")
        elif kind == "batchnorm":
            mean, var = tensors["running_mean"].double(), tensors["running_var"].double()
            gamma = tensors.get("weight", torch.ones_like(mean)).double()
            beta = tensors.get("bias", torch.zeros_like(mean)).double()
            scale = gamma / torch.sqrt(var + BATCHNORM_EPS)
            builder.scale_shift("x", "x", scale, beta - mean * scale,
                                what=f"{label}: BatchNorm1d({mean.numel()}) in eval mode (running statistics), folded into "
                                     "the linear layer before it")
            warnings.append(f"{label}: a state dict does not record BatchNorm's eps; PyTorch's default {BATCHNORM_EPS:g} was used")
        else:
            a = tensors["weight"].double()
            builder.unary("x", "x", "prelu", what=f"{label}: PReLU ({a.numel()} slope{'s' if a.numel() > 1 else ''}, read "
                                                  "from the file)", source="read", slopes=a)
            warnings.append(f"{label}: a module with a single 1-D weight was read as a PReLU")
    assembled = assemble(builder.finish("x"))
    if gaps:
        given = ", ".join(f"{s:g}" for s in per_gap.values()) if isinstance(slopes, list) else f"{slopes:g}"
        activations = f"given (negative_slope {given}), not read from the file: a state dict records no activations"
        if "prelu" in kinds:
            activations += "; PReLU slopes read from the file"
        warnings.append("the activations were given, not read: if the decoder uses others (ELU, Tanh, a final Sigmoid), "
                        "these verdicts do not speak of it")
    elif "prelu" in kinds:
        activations = "PReLU slopes read from the file (a module with one 1-D weight)"
    else:
        activations = "none (a single affine layer)"
    warnings.append("a state dict records no activation after the last linear layer; none was assumed")
    return LoadedDecoder(assembled.decoder, source, format, chosen, activations, tuple(builder.seen) + tuple(assembled.notes),
                         tuple(warnings))
