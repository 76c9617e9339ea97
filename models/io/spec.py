"""A small JSON architecture spec: the layers of a decoder, in order, naming the tensors they use.

For weights that do not record the architecture (safetensors files, state dicts)::

    {"layers": [
        {"type": "linear", "name": "decoder.0"},
        {"type": "batchnorm", "name": "decoder.1", "eps": 1e-5},
        {"type": "leaky_relu", "negative_slope": 0.2},
        {"type": "dropout"},
        {"type": "linear", "name": "decoder.4"},
        {"type": "sigmoid"}
    ]}

``linear`` uses ``NAME.weight`` and ``NAME.bias`` (or explicit ``"weight"``/``"bias"`` keys;
``"bias": null`` for none); ``batchnorm`` uses ``NAME.running_mean``, ``NAME.running_var``
and, when present, ``NAME.weight``/``NAME.bias`` (eval mode; ``eps`` defaults to 1e-5);
``prelu`` uses ``NAME.weight`` or ``"negative_slope": [...]``. Activations: ``relu``,
``leaky_relu`` (``negative_slope`` required), ``prelu``, ``elu``/``celu`` (``alpha``),
``selu``, ``tanh``, ``sigmoid``, ``silu``, ``gelu`` (``approximate``), ``softplus``
(``beta``, ``threshold``), ``softsign``, ``mish``; ``dropout`` and ``identity`` are the
identity. Tensors the spec does not use are listed in the result's warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from .chain import ChainBuilder, assemble
from .json_text import parse_json
from .loaded import LoadedDecoder
from .state_dict import BATCHNORM_EPS

__all__ = ["SPEC_TYPES", "build_from_spec", "read_spec"]

_PARAMS = {"elu": {"alpha": 1.0}, "celu": {"alpha": 1.0}, "softplus": {"beta": 1.0, "threshold": 20.0}, "gelu": {"approximate": "none"}}
_PLAIN = ("relu", "selu", "tanh", "sigmoid", "silu", "softsign", "mish")
SPEC_TYPES = ("linear", "batchnorm", "prelu", "leaky_relu", "dropout", "identity", *_PLAIN, *_PARAMS)


def read_spec(spec) -> dict:
    """A spec from a dict, a JSON string or a path to a JSON file."""
    if isinstance(spec, Mapping):
        return dict(spec)
    if isinstance(spec, (str, Path)):
        text = str(spec)
        if text.lstrip().startswith("{"):
            source = text
        else:
            try:
                source = Path(spec).read_text()
            except OSError as exc:
                raise ValueError(f"spec: cannot read {spec}: {exc}") from None
        value = parse_json(source, "spec", "the spec" if source is text else str(spec))
        if not isinstance(value, dict):
            raise ValueError("spec: expected a JSON object with a 'layers' list")
        return value
    raise ValueError(f"spec: expected a dict, a JSON string or a path, got {type(spec).__name__}")


def build_from_spec(tensors: Mapping, spec, *, source: str, format: str) -> LoadedDecoder:
    """A ``LoadedDecoder`` from named tensors and a spec (module docstring)."""
    spec = read_spec(spec)
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError("spec: expected a non-empty 'layers' list")
    unknown = set(spec) - {"layers", "input_dim"}
    if unknown:
        raise ValueError(f"spec: unknown keys {sorted(unknown)}; expected 'layers' (and 'input_dim')")
    used: set[str] = set()

    def tensor(key, what):
        if not isinstance(key, str) or key not in tensors:
            raise ValueError(f"spec: {what} names the tensor {key!r}, which the file does not hold")
        value = tensors[key]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise ValueError(f"spec: {what}: {key!r} is not a real floating-point tensor")
        used.add(key)
        return value

    builder = ChainBuilder("x", spec.get("input_dim"))
    warnings: list[str] = []
    for i, entry in enumerate(layers):
        if not isinstance(entry, dict) or entry.get("type") not in SPEC_TYPES:
            raise ValueError(f"spec: layers[{i}]: expected an object with a 'type' among {', '.join(SPEC_TYPES)}, got {entry!r}")
        kind, name = entry["type"], entry.get("name")
        what = f"layers[{i}] ({kind}{' ' + name if name else ''})"
        if kind == "linear":
            w = tensor(entry.get("weight", f"{name}.weight"), what)
            bias_key = entry["bias"] if "bias" in entry else f"{name}.bias"
            b = None if bias_key is None or (bias_key not in tensors and "bias" not in entry) else tensor(bias_key, what)
            builder.linear("x", "x", w, b, what=f"{name or what}: Linear {w.shape[1]}→{w.shape[0]}" if w.ndim == 2 else what)
        elif kind == "batchnorm":
            mean = tensor(f"{name}.running_mean", what).double()
            var = tensor(f"{name}.running_var", what).double()
            gamma = tensor(f"{name}.weight", what).double() if f"{name}.weight" in tensors else torch.ones_like(mean)
            beta = tensor(f"{name}.bias", what).double() if f"{name}.bias" in tensors else torch.zeros_like(mean)
            used.add(f"{name}.num_batches_tracked")
            eps = float(entry.get("eps", BATCHNORM_EPS))
            scale = gamma / torch.sqrt(var + eps)
            builder.scale_shift("x", "x", scale, beta - mean * scale,
                                what=f"{name}: BatchNorm1d({mean.numel()}) in eval mode, eps {eps:g}, folded into the linear layer before it")
        elif kind in ("dropout", "identity"):
            builder.seen.append(f"{what}: the identity" + (" (Dropout in eval mode)" if kind == "dropout" else ""))
        elif kind == "prelu":
            slopes = torch.as_tensor(entry["negative_slope"], dtype=torch.float64) if "negative_slope" in entry else tensor(f"{name}.weight", what)
            builder.unary("x", "x", "prelu", what=f"{what}: PReLU ({slopes.numel()} slopes)", source="spec", slopes=slopes)
        elif kind == "leaky_relu":
            if "negative_slope" not in entry:
                raise ValueError(f"spec: {what}: give its negative_slope")
            slope = float(entry["negative_slope"])
            builder.unary("x", "x", "leaky_relu", what=f"{what}: LeakyReLU({slope:g})", source="spec", slope=slope)
        else:
            params = {k: entry.get(k, default) for k, default in _PARAMS.get(kind, {}).items()}
            extra = set(entry) - {"type", "name", *params}
            if extra:
                raise ValueError(f"spec: {what}: unknown keys {sorted(extra)}")
            builder.unary("x", "x", kind, what=f"{what}", source="spec", **params)
    unused = [k for k in tensors if k not in used]
    if unused:
        warnings.append(f"{len(unused)} tensors of the file are not used by the spec: {', '.join(unused[:6])}"
                        + (", ..." if len(unused) > 6 else ""))
    assembled = assemble(builder.finish("x"))
    return LoadedDecoder(assembled.decoder, source, format, None, "given (architecture spec), not read from the weights file",
                         tuple(builder.seen) + tuple(assembled.notes), tuple(warnings))
