"""``torch.nn`` modules: Sequentials (nested), eval-mode Dropout and BatchNorm, activations, and
module subclasses traced with ``torch.fx``.

The module records its activations, so they are read, not assumed. BatchNorm is read in eval
mode (its running statistics) and folded into the adjacent linear layer; Dropout is the
identity in eval mode. A module that is not a Sequential is traced symbolically
(``torch.fx.symbolic_trace``): its forward must be a chain of layers. The reading is then
checked against the module itself, run in eval mode on random latents.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

from .chain import ChainBuilder, assemble
from .loaded import LoadedDecoder

__all__ = ["read_module"]

_ACTIVATIONS = {
    nn.ReLU: ("relu", lambda m: {}), nn.LeakyReLU: ("leaky_relu", lambda m: {"slope": float(m.negative_slope)}),
    nn.PReLU: ("prelu", lambda m: {"slopes": m.weight.detach()}), nn.ELU: ("elu", lambda m: {"alpha": float(m.alpha)}),
    nn.CELU: ("celu", lambda m: {"alpha": float(m.alpha)}), nn.SELU: ("selu", lambda m: {}), nn.Tanh: ("tanh", lambda m: {}),
    nn.Sigmoid: ("sigmoid", lambda m: {}), nn.SiLU: ("silu", lambda m: {}),
    nn.GELU: ("gelu", lambda m: {"approximate": m.approximate}),
    nn.Softplus: ("softplus", lambda m: {"beta": float(m.beta), "threshold": float(m.threshold)}),
    nn.Softsign: ("softsign", lambda m: {}), nn.Mish: ("mish", lambda m: {}),
}
_FUNCTIONS = {
    F.relu: "relu", torch.relu: "relu", F.leaky_relu: "leaky_relu", torch.tanh: "tanh", F.tanh: "tanh",
    torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", F.elu: "elu", F.celu: "celu", F.selu: "selu", torch.selu: "selu",
    F.silu: "silu", F.gelu: "gelu", F.softplus: "softplus", F.softsign: "softsign", F.mish: "mish",
}
_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
_METHODS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid"}
_IDENTITY_METHODS = {"contiguous", "clone", "detach", "float", "double", "flatten", "view", "reshape"}
_BINARY = {operator.add: "add", torch.add: "add", operator.sub: "sub", torch.sub: "sub", operator.mul: "mul",
           torch.mul: "mul", operator.truediv: "div", torch.div: "div"}
_IDENTITY_FUNCTIONS = {torch.flatten, F.dropout, torch.clone}


def read_module(module: nn.Module, *, submodule: str | None = None, source: str = "an nn.Module",
                format: str = "nn.Module") -> LoadedDecoder:
    """A ``LoadedDecoder`` from a module (module docstring). ``submodule`` selects a part
    (``"decoder"``; ``"body,head"`` chains several in that order)."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    warnings: list[str] = []
    parts = [module]
    if submodule is not None:
        if not isinstance(submodule, str) or not submodule.strip():
            raise ValueError(f"module: expected a submodule name such as 'decoder', got {submodule!r}")
        parts = []
        for name in (n.strip() for n in submodule.split(",") if n.strip()):
            try:
                parts.append(module.get_submodule(name))
            except AttributeError:
                raise ValueError(f"module: {type(module).__name__} has no submodule {name!r}; candidates: "
                                 f"{', '.join(n for n, _ in module.named_children()) or 'none'}") from None
    builder = ChainBuilder("x")
    for part in parts:
        _walk(part, builder, warnings, "" if submodule is None else None)
    chain = builder.finish("x")
    assembled = assemble(chain)
    decoder = assembled.decoder
    _cross_check(parts, decoder)
    return LoadedDecoder(decoder, source, format, submodule, "read from the module", tuple(builder.seen) + tuple(assembled.notes),
                         tuple(dict.fromkeys(warnings)))


def _walk(module: nn.Module, builder: ChainBuilder, warnings: list[str], path: str | None) -> None:
    label = path if path else type(module).__name__
    if type(module) is nn.Sequential:  # a subclass may override forward: it is traced
        for name, child in module.named_children():
            _walk(child, builder, warnings, f"{path}.{name}" if path else name)
        return
    if _leaf(module, builder, warnings, label):
        return
    _trace(module, builder, warnings, label)


def _leaf(module: nn.Module, builder: ChainBuilder, warnings: list[str], label: str) -> bool:
    """Add a known layer; False for a module that is not one (a subclass to trace)."""
    kind = type(module)
    if kind is nn.Linear:
        builder.linear("x", "x", module.weight, module.bias, what=f"{label}: Linear {module.in_features}→{module.out_features}")
    elif kind in (nn.Identity, nn.Flatten):
        builder.seen.append(f"{label}: {kind.__name__} (the identity on rows)")
    elif kind in _DROPOUT:
        if module.training and module.p > 0:
            warnings.append(f"{label}: Dropout was in training mode; it was read in eval mode (the identity)")
        builder.seen.append(f"{label}: {kind.__name__}(p={module.p:g}), the identity in eval mode")
    elif kind in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
        if module.running_mean is None:
            raise ValueError(f"decoder: {label} is a BatchNorm without running statistics (track_running_stats=False): it "
                             "normalises by each batch, which is not a fixed function of z")
        if module.training:
            warnings.append(f"{label}: BatchNorm was in training mode; it was read in eval mode (its running statistics)")
        mean, var = module.running_mean.detach().double(), module.running_var.detach().double()
        gamma = module.weight.detach().double() if module.weight is not None else torch.ones_like(mean)
        beta = module.bias.detach().double() if module.bias is not None else torch.zeros_like(mean)
        scale = gamma / torch.sqrt(var + module.eps)
        builder.scale_shift("x", "x", scale, beta - mean * scale,
                            what=f"{label}: BatchNorm1d({mean.numel()}) in eval mode (running statistics), folded into the "
                                 "linear layer before it")
    elif kind in _ACTIVATIONS:
        op, params = _ACTIVATIONS[kind]
        builder.unary("x", "x", op, what=f"{label}: {_show(module)}", source="read", **params(module))
    elif kind.__module__.startswith("torch.nn"):
        raise ValueError(f"decoder: {label} is a {kind.__name__}, which is not read (supported: Linear, BatchNorm1d, Dropout, "
                         "Identity, Flatten, and the activations ReLU, LeakyReLU, PReLU, ELU, CELU, SELU, Tanh, Sigmoid, SiLU, "
                         "GELU, Softplus, Softsign, Mish)")
    else:
        return False
    return True


def _show(module) -> str:
    text = repr(module)
    return text if len(text) <= 60 else type(module).__name__


def _trace(module: nn.Module, builder: ChainBuilder, warnings: list[str], label: str) -> None:
    """Read a module subclass through its ``torch.fx`` graph (a chain of layers)."""
    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception as exc:  # tracing runs forward symbolically; data-dependent control flow raises many kinds
        raise ValueError(f"decoder: {label} ({type(module).__name__}) could not be traced with torch.fx "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); read its decoder submodule with "
                         "module (--module), or save it with ONNX or torch.export") from None
    names: dict = {}
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ValueError(f"decoder: {label}.forward takes {len(placeholders)} inputs; a decoder takes one (z)")
    counter = [0]

    def fresh():
        counter[0] += 1
        return f"{label}#{counter[0]}"

    names[placeholders[0]] = fresh()
    builder.alias(names[placeholders[0]], "x")

    def arg(value, what):
        if isinstance(value, torch.fx.Node):
            if value in names:
                return names[value]
            raise ValueError(f"decoder: {label}: {what} uses {value.name}, which is not computed from the input")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            name = fresh()
            builder.const(name, float(value))
            return name
        raise ValueError(f"decoder: {label}: {what} has an argument {value!r} that is not a tensor or a number")

    for node in graph.nodes:
        what = f"{label}.{node.name}"
        if node.op in ("placeholder", "output"):
            continue
        if node.op == "get_attr":
            value = _attribute(module, node.target)
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"decoder: {label}: attribute {node.target} is not a tensor")
            names[node] = fresh()
            builder.const(names[node], value.detach())
            continue
        out = fresh()
        if node.op == "call_module":
            sub = module.get_submodule(node.target)
            x = arg(node.args[0], what)
            builder.alias("x", x)  # the submodule's layers run on the builder's running value
            if not _leaf(sub, builder, warnings, f"{label}.{node.target}"):
                _walk(sub, builder, warnings, f"{label}.{node.target}")
            builder.alias(out, "x")
        elif node.op == "call_function" and node.target in _FUNCTIONS:
            op = _FUNCTIONS[node.target]
            params = {}
            if op == "leaky_relu":
                params["slope"] = float(node.args[1] if len(node.args) > 1 else node.kwargs.get("negative_slope", 0.01))
            elif op in ("elu", "celu"):
                params["alpha"] = float(node.args[1] if len(node.args) > 1 else node.kwargs.get("alpha", 1.0))
            elif op == "gelu":
                params["approximate"] = node.kwargs.get("approximate", "none")
            elif op == "softplus":
                params["beta"] = float(node.kwargs.get("beta", node.args[1] if len(node.args) > 1 else 1.0))
                params["threshold"] = float(node.kwargs.get("threshold", node.args[2] if len(node.args) > 2 else 20.0))
            builder.unary(out, arg(node.args[0], what), op, what=f"{what}: {op}", source="read", **params)
        elif node.op == "call_function" and node.target is F.linear:
            weight = _constant(builder, node.args[1] if len(node.args) > 1 else node.kwargs["weight"], names, what)
            bias_arg = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
            bias = None if bias_arg is None else _constant(builder, bias_arg, names, what)
            builder.linear(out, arg(node.args[0], what), weight, bias, what=f"{what}: linear {weight.shape[1]}→{weight.shape[0]}")
        elif node.op == "call_function" and node.target in _BINARY:
            a, b = (arg(v, what) for v in node.args[:2])
            builder.binary(out, _BINARY[node.target], a, b, what=None)
        elif node.op == "call_function" and node.target in _IDENTITY_FUNCTIONS:
            if node.target is F.dropout and node.kwargs.get("training", False):
                warnings.append(f"{what}: F.dropout(training=True) was read as the identity")
            builder.alias(out, arg(node.args[0], what), what=f"{what}: the identity")
        elif node.op == "call_method" and node.target in _METHODS:
            builder.unary(out, arg(node.args[0], what), _METHODS[node.target], what=f"{what}: {node.target}", source="read")
        elif node.op == "call_method" and node.target in _IDENTITY_METHODS:
            builder.alias(out, arg(node.args[0], what), what=f"{what}: {node.target} (the identity on rows)")
        else:
            raise ValueError(f"decoder: {label}: {node.op} {getattr(node.target, '__name__', node.target)!s} is not read; "
                             "only chains of linear layers and elementwise activations are")
        names[node] = out
    output = next(n for n in graph.nodes if n.op == "output")
    result = output.args[0]
    if not isinstance(result, torch.fx.Node) or result not in names:
        raise ValueError(f"decoder: {label}.forward returns {type(result).__name__}; a decoder returns one tensor")
    builder.alias("x", names[result])


def _attribute(module, target: str):
    value = module
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _constant(builder, value, names, what):
    if isinstance(value, torch.fx.Node) and value in names and builder.is_const(names[value]):
        return builder.get_const(names[value])
    raise ValueError(f"decoder: {what}: a linear layer whose weight is computed from the input is not read")


def _cross_check(parts, decoder) -> None:
    """The reading against the module itself, in eval mode, at random latents (float32 rounding allowed)."""
    generator = torch.Generator().manual_seed(0)
    z = 2.0 * torch.randn(64, decoder.in_dim, generator=generator, dtype=torch.float64)
    modes = [m.training for p in parts for m in p.modules()]
    try:
        for p in parts:
            p.eval()
        with torch.no_grad():
            first = next((t for p in parts for t in list(p.parameters()) + list(p.buffers()) if t.is_floating_point()), None)
            dtype = first.dtype if first is not None else torch.float32
            h = z.to(first.device if first is not None else "cpu", dtype)
            for p in parts:
                h = p(h)
    except Exception as exc:  # the module's own forward: any error means the reading cannot be confirmed
        raise ValueError(f"decoder: running the module to confirm its reading failed ({type(exc).__name__}: {str(exc)[:120]})") from None
    finally:
        for m, mode in zip((m for p in parts for m in p.modules()), modes):
            m.train(mode)
    if isinstance(h, torch.Tensor):
        h = h.detach().cpu()
    if not isinstance(h, torch.Tensor) or h.shape != (64, decoder.out_dim):
        raise ValueError(f"decoder: the module returns {getattr(h, 'shape', type(h).__name__)}, but its reading gives "
                         f"(64, {decoder.out_dim})")
    ours = decoder(z)
    scale = float(ours.abs().max()) + 1.0
    error = float((h.double() - ours).abs().max()) / scale
    tol = 1e3 * torch.finfo(h.dtype).eps
    if not error <= tol:
        raise ValueError(f"decoder: the module's output differs from its reading by {error:.3g} (relative; tolerance {tol:.3g}); "
                         "it computes something the reader does not see")
