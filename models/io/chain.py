"""The one form every decoder file is read into: affine layers and elementwise activations.

A reader (state dict, architecture spec, module, ONNX, ``torch.export``) walks its layers
in the order of computation and feeds a ``ChainBuilder``: matrix layers (``linear``),
elementwise operations (``unary``, ``binary``: an activation, a bias, BatchNorm's scale
and shift) and aliases (Dropout in eval mode, Identity). For each value the builder keeps
the affine layers before it and the elementwise expression applied since the last one;
two values may be combined only when they share those layers (x · sigmoid(x) is one
elementwise activation; a skip connection over a linear layer is not a chain and is
refused). ``assemble`` then folds elementwise affine maps into the adjacent linear layer
and classifies what is left between the linear layers:

- leaky ReLUs only (ReLU, LeakyReLU, PReLU): a ``LeakyReLUNetwork``;
- a final strictly increasing squashing (Sigmoid, Tanh, ELU, Softplus, ...): a
  ``SquashedNetwork``, the network followed by a known coordinatewise bijection;
- anything smooth between the layers (ELU, Tanh, SiLU, GELU, ...): a ``SmoothDecoder``,
  evaluated exactly but not piecewise affine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..leaky_relu_network import LeakyReLUNetwork
from ..validation import DTYPE
from .loaded import SmoothDecoder, SquashedNetwork

__all__ = ["ChainBuilder", "Expr", "UNARY", "assemble"]


# ---------------------------------------------------------------------------- elementwise expressions
def _elu_inverse(y, alpha=1.0):
    return torch.where(y > 0, y, torch.log1p(torch.clamp(y / alpha, min=-1.0)))


def _celu_inverse(y, alpha=1.0):
    return torch.where(y > 0, y, alpha * torch.log1p(torch.clamp(y / alpha, min=-1.0)))


def _softplus_inverse(y, beta=1.0, threshold=20.0):
    return torch.where(beta * y > threshold, y, torch.log(torch.expm1(beta * y)) / beta)


@dataclass(frozen=True)
class UnaryOp:
    """An elementwise function: how to evaluate it, its kind, and its inverse when it is a
    strictly increasing bijection onto ``(low, high)``."""

    evaluate: object
    kind: str  # "affine", "leaky" (piecewise affine, of leaky-ReLU form) or "smooth"
    inverse: object = None
    low: float = -math.inf
    high: float = math.inf
    label: str = ""


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805

UNARY: dict[str, UnaryOp] = {
    "affine": UnaryOp(lambda u, scale, shift: u * scale + shift, "affine", label="elementwise affine map"),
    "relu": UnaryOp(torch.relu, "leaky", label="ReLU"),
    "leaky_relu": UnaryOp(lambda u, slope: torch.where(u >= 0, u, slope * u), "leaky", label="LeakyReLU"),
    "prelu": UnaryOp(lambda u, slopes: torch.where(u >= 0, u, slopes * u), "leaky", label="PReLU"),
    "elu": UnaryOp(lambda u, alpha=1.0: F.elu(u, alpha), "smooth", _elu_inverse, -1.0, math.inf, "ELU"),
    "celu": UnaryOp(lambda u, alpha=1.0: F.celu(u, alpha), "smooth", _celu_inverse, -1.0, math.inf, "CELU"),
    "selu": UnaryOp(F.selu, "smooth", lambda y: _elu_inverse(y / SELU_SCALE, SELU_ALPHA), -SELU_SCALE * SELU_ALPHA, math.inf, "SELU"),
    "tanh": UnaryOp(torch.tanh, "smooth", torch.atanh, -1.0, 1.0, "Tanh"),
    "sigmoid": UnaryOp(torch.sigmoid, "smooth", torch.logit, 0.0, 1.0, "Sigmoid"),
    "softplus": UnaryOp(lambda u, beta=1.0, threshold=20.0: F.softplus(u, beta, threshold), "smooth", _softplus_inverse, 0.0,
                        math.inf, "Softplus"),
    "softsign": UnaryOp(F.softsign, "smooth", lambda y: y / (1 - y.abs()), -1.0, 1.0, "Softsign"),
    "erf": UnaryOp(torch.erf, "smooth", torch.erfinv, -1.0, 1.0, "erf"),
    "exp": UnaryOp(torch.exp, "smooth", torch.log, 0.0, math.inf, "exp"),
    "silu": UnaryOp(F.silu, "smooth", label="SiLU"),
    "gelu": UnaryOp(lambda u, approximate="none": F.gelu(u, approximate=approximate), "smooth", label="GELU"),
    "mish": UnaryOp(F.mish, "smooth", label="Mish"),
}
"""Every elementwise function a reader may emit. The ``alpha`` of ELU and CELU enters their
range: (−alpha, ∞)."""

MONOTONE = tuple(name for name, op in UNARY.items() if op.inverse is not None)
"""Smooth activations that are strictly increasing bijections onto an interval (with their inverse)."""

_BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}


class Expr:
    """An elementwise expression in the pre-activation u (``VAR``)."""

    def involves_var(self) -> bool:
        raise NotImplementedError

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class _Var(Expr):
    def involves_var(self) -> bool:
        return True

    def __call__(self, u):
        return u

    def __repr__(self):
        return "u"


VAR = _Var()


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: torch.Tensor

    def involves_var(self) -> bool:
        return False

    def __call__(self, u):
        return self.value.to(u.dtype)

    def __repr__(self):
        return f"{float(self.value):g}" if self.value.numel() == 1 else f"c[{self.value.numel()}]"


@dataclass(frozen=True, eq=False)
class Unary(Expr):
    op: str
    arg: Expr
    params: dict = field(default_factory=dict)

    def involves_var(self) -> bool:
        return self.arg.involves_var()

    def __call__(self, u):
        params = {k: (v.to(u.dtype) if isinstance(v, torch.Tensor) else v) for k, v in self.params.items()}
        return UNARY[self.op].evaluate(self.arg(u), **params)

    def __repr__(self):
        return f"{self.op}({self.arg!r})"


@dataclass(frozen=True, eq=False)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr

    def involves_var(self) -> bool:
        return self.left.involves_var() or self.right.involves_var()

    def __call__(self, u):
        return _BINARY[self.op](self.left(u), self.right(u))

    def __repr__(self):
        return f"{self.op}({self.left!r}, {self.right!r})"


def is_affine(expr: Expr) -> bool:
    """Whether the expression is an elementwise affine map of u (a bias, a scale, BatchNorm)."""
    if isinstance(expr, (_Var, Const)):
        return True
    if isinstance(expr, Unary):
        return expr.op == "affine" and is_affine(expr.arg)
    if expr.op in ("add", "sub"):
        return is_affine(expr.left) and is_affine(expr.right)
    if expr.op == "mul":
        return (not expr.left.involves_var() and is_affine(expr.right)) or (not expr.right.involves_var() and is_affine(expr.left))
    return not expr.right.involves_var() and is_affine(expr.left)  # div


def ops_in(expr: Expr) -> set[str]:
    """The elementwise functions an expression uses; "product" for a product or quotient of two
    functions of u (which is not piecewise affine)."""
    if isinstance(expr, Unary):
        return {expr.op} | ops_in(expr.arg)
    if isinstance(expr, Binary):
        both = expr.left.involves_var() and expr.right.involves_var()
        return ops_in(expr.left) | ops_in(expr.right) | ({"product"} if both and expr.op in ("mul", "div") else set())
    return set()


def describe(expr: Expr) -> str:
    """A short name: "SiLU" for u·sigmoid(u), "GELU" for its erf form, else the functions used."""
    if isinstance(expr, Unary) and isinstance(expr.arg, _Var):
        return UNARY[expr.op].label
    names = ops_in(expr) - {"affine"}
    if names == {"sigmoid", "product"}:
        return "SiLU (u·sigmoid(u))"
    if names == {"erf", "product"}:
        return "GELU (u·(1 + erf(u/√2))/2)"
    if names == {"tanh", "product"}:
        return "GELU (tanh approximation)"
    labels = sorted(UNARY[n].label if n in UNARY else n for n in names)
    return "elementwise " + " / ".join(labels)


def affine_coefficients(expr: Expr, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(d, e) with expr(u) = d ⊙ u + e, for an affine expression of vectors of this width."""
    probe = torch.stack([torch.zeros(width, dtype=DTYPE), torch.ones(width, dtype=DTYPE)])
    try:
        values = expr(probe)
    except RuntimeError as exc:
        raise ValueError(f"decoder: an elementwise constant does not match the layer width {width} ({str(exc)[:100]})") from None
    values = values.expand(2, width) if values.shape != (2, width) else values
    return values[1] - values[0], values[0].clone()


def _substitute(expr: Expr, target: Expr, replacement: Expr) -> Expr:
    if expr is target:
        return replacement
    if isinstance(expr, Unary):
        return Unary(expr.op, _substitute(expr.arg, target, replacement), expr.params)
    if isinstance(expr, Binary):
        return Binary(expr.op, _substitute(expr.left, target, replacement), _substitute(expr.right, target, replacement))
    return expr


def split_activation(expr: Expr):
    """(inner, core, outer) with expr = outer ∘ core ∘ inner, inner and outer elementwise affine
    and core one named function (BatchNorm → ReLU, or 2·sigmoid(u) − 1); None if no such split."""
    node = expr
    while True:
        if isinstance(node, Unary) and node.op == "affine":
            node = node.arg
        elif isinstance(node, Binary) and node.left.involves_var() != node.right.involves_var():
            varying = node.left if node.left.involves_var() else node.right
            if node.op == "div" and varying is node.right:
                break
            node = varying
        else:
            break
    if not isinstance(node, Unary) or node.op == "affine" or not is_affine(node.arg):
        return None
    return node.arg, node, _substitute(expr, node, VAR)


# ---------------------------------------------------------------------------- the builder
@dataclass(frozen=True, eq=False)
class Affine:
    weight: torch.Tensor
    bias: torch.Tensor


@dataclass(frozen=True, eq=False)
class Act:
    expr: Expr
    sources: frozenset


@dataclass(frozen=True)
class _Value:
    prefix: tuple
    tail: Expr
    width: int | None
    sources: frozenset = frozenset()


class ChainBuilder:
    """Records a decoder's layers in the order of computation (see the module docstring).

    Values are named (an ONNX tensor, a graph node); a reader of a plain sequence of layers
    uses one running name. Every method raises a ``ValueError`` starting with "decoder:".
    """

    def __init__(self, input_name: str = "z", in_dim: int | None = None):
        self._values: dict[str, _Value] = {input_name: _Value((), VAR, in_dim)}
        self._consts: dict[str, torch.Tensor] = {}
        self.in_dim = in_dim
        self.seen: list[str] = []

    # -------------------------------------------------------------- values
    def const(self, name: str, value) -> None:
        self._consts[name] = torch.as_tensor(value).detach().to("cpu", DTYPE)

    def is_const(self, name) -> bool:
        return name in self._consts

    def get_const(self, name) -> torch.Tensor:
        return self._consts[name]

    def is_value(self, name) -> bool:
        return name in self._values

    def _value(self, name, what) -> _Value:
        if name not in self._values:
            raise ValueError(f"decoder: {what} reads {name!r}, which is neither the input nor computed from it")
        return self._values[name]

    def alias(self, out: str, x: str, what: str | None = None) -> None:
        if x in self._consts:
            self._consts[out] = self._consts[x]
            return
        self._values[out] = self._value(x, what or "an identity")
        if what:
            self.seen.append(what)

    # -------------------------------------------------------------- layers
    def linear(self, out: str, x: str, weight, bias=None, *, what: str) -> None:
        """out = x Wᵀ + b (W of shape (k, w))."""
        value = self._value(x, what)
        weight = torch.as_tensor(weight).detach().to("cpu", DTYPE)
        if weight.ndim != 2 or 0 in weight.shape:
            raise ValueError(f"decoder: {what} has a weight of shape {tuple(weight.shape)}; expected a non-empty matrix")
        if value.width is not None and weight.shape[1] != value.width:
            raise ValueError(f"decoder: {what} expects {weight.shape[1]} inputs, but the layer before it gives {value.width}")
        bias = torch.zeros(weight.shape[0], dtype=DTYPE) if bias is None else torch.as_tensor(bias).detach().to("cpu", DTYPE).reshape(-1)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"decoder: {what} has a bias of shape {tuple(bias.shape)}, expected ({weight.shape[0]},)")
        if not bool(torch.isfinite(weight).all() & torch.isfinite(bias).all()):
            raise ValueError(f"decoder: {what} has NaN or infinite parameters")
        prefix = value.prefix
        if value.tail is not VAR:
            prefix = prefix + (Act(value.tail, value.sources),)
        elif value.width is None and not prefix:
            self.in_dim = weight.shape[1]
        self._values[out] = _Value(prefix + (Affine(weight, bias),), VAR, weight.shape[0])
        self.seen.append(what)

    def unary(self, out: str, x: str, op: str, *, what: str | None = None, source: str = "read", **params) -> None:
        if op not in UNARY:
            raise ValueError(f"decoder: unknown elementwise function {op!r}")
        value = self._value(x, what or op)
        params = {k: (torch.as_tensor(v).detach().to("cpu", DTYPE).reshape(-1) if isinstance(v, torch.Tensor) else v)
                  for k, v in params.items()}
        for name, tensor in params.items():
            if isinstance(tensor, torch.Tensor) and not bool(torch.isfinite(tensor).all()):
                raise ValueError(f"decoder: {what or op} has a non-finite {name}")
        self._values[out] = _Value(value.prefix, Unary(op, value.tail, params), value.width,
                                   value.sources | ({source} if op != "affine" else set()))
        if what:
            self.seen.append(what)

    def scale_shift(self, out: str, x: str, scale, shift, *, what: str) -> None:
        """out = x ⊙ scale + shift (BatchNorm in eval mode, a bias, a scale)."""
        self.unary(out, x, "affine", what=what, scale=torch.as_tensor(scale, dtype=DTYPE), shift=torch.as_tensor(shift, dtype=DTYPE))

    def binary(self, out: str, op: str, a: str, b: str, *, what: str | None = None) -> None:
        """out = a op b, each a value or a constant."""
        if op not in _BINARY:
            raise ValueError(f"decoder: unknown elementwise operation {op!r}")
        if a in self._consts and b in self._consts:
            self._consts[out] = _BINARY[op](self._consts[a], self._consts[b])
            return
        values = [self._values.get(a), self._values.get(b)]
        for name, v in zip((a, b), values):
            if v is None and name not in self._consts:
                raise ValueError(f"decoder: {what or op} reads {name!r}, which is neither the input nor computed from it")
        chain = [v for v in values if v is not None]
        if len(chain) == 2 and not _same_prefix(chain[0].prefix, chain[1].prefix):
            raise ValueError(f"decoder: {what or op} combines two values computed through different linear layers "
                             "(a skip connection or two branches); only a chain of layers can be read")
        exprs = [v.tail if v is not None else Const(self._consts[name]) for name, v in zip((a, b), values)]
        base = chain[0]
        self._values[out] = _Value(base.prefix, Binary(op, *exprs), base.width, frozenset().union(*(v.sources for v in chain)))
        if what:
            self.seen.append(what)

    def finish(self, out: str) -> "Chain":
        value = self._value(out, "the output")
        steps = list(value.prefix)
        if value.tail is not VAR:
            steps.append(Act(value.tail, value.sources))
        if not any(isinstance(s, Affine) for s in steps):
            raise ValueError("decoder: contains no linear layer")
        return Chain(tuple(steps), self.in_dim, tuple(self.seen))


def _same_prefix(p, q) -> bool:
    return len(p) == len(q) and all(a is b for a, b in zip(p, q))


@dataclass(frozen=True)
class Chain:
    steps: tuple
    in_dim: int | None
    seen: tuple


# ---------------------------------------------------------------------------- assembling
@dataclass
class Assembled:
    """What ``assemble`` makes of a chain: the decoder and what it did to get there."""

    decoder: object
    notes: list
    sources: frozenset


def assemble(chain: Chain) -> Assembled:
    """Fold elementwise affine maps into the linear layers and classify the activations (module docstring)."""
    out: list = []  # ["affine", W, b] and ["act", core-or-expr, sources]
    notes: list[str] = []
    pending = None  # an elementwise affine map waiting for the next linear layer
    output_map = None
    width = chain.in_dim
    sources: set = set()

    def fold(d, e):
        if out and out[-1][0] == "affine":
            _, w, b = out[-1]
            out[-1] = ["affine", d.unsqueeze(1) * w, d * b + e]
        else:
            out.append(["affine", torch.diag(d), e])

    for index, step in enumerate(chain.steps):
        last = index == len(chain.steps) - 1
        if isinstance(step, Affine):
            w, b = step.weight, step.bias
            if pending is not None:
                d, e = pending
                w, b, pending = w * d.unsqueeze(0), w @ e + b, None
            if out and out[-1][0] == "affine":
                _, w0, b0 = out[-1]
                out[-1] = ["affine", w @ w0, w @ b0 + b]
                notes.append("two affine layers with nothing nonlinear between them were composed into one")
            else:
                out.append(["affine", w, b])
            width = w.shape[0]
            continue
        if width is None:
            raise ValueError("decoder: an activation comes before any linear layer and the input width is not recorded")
        sources |= step.sources
        expr = step.expr
        if is_affine(expr):
            fold(*affine_coefficients(expr, width))
            notes.append("an elementwise affine map (BatchNorm in eval mode, a bias or a scale) was folded into the linear layer before it")
            continue
        split = split_activation(expr)
        kind = UNARY[split[1].op].kind if split else None
        if split and kind == "leaky":
            inner, core, outer = split
            d1, e1 = affine_coefficients(inner, width)
            if inner is not VAR or not out:
                fold(d1, e1)
                if inner is not VAR:
                    notes.append("an elementwise affine map before an activation was folded into the linear layer before it")
            out.append(["act", Unary(core.op, VAR, core.params), step.sources])
            if outer is not VAR:
                pending = affine_coefficients(outer, width)
                notes.append("an elementwise affine map after an activation was folded into the linear layer after it")
            continue
        if split and last and split[1].op in MONOTONE:
            inner, core, outer = split
            d2, e2 = affine_coefficients(outer, width)
            if bool((d2 != 0).all()):
                if inner is not VAR:
                    fold(*affine_coefficients(inner, width))
                output_map = (core, d2, e2)
                continue
        out.append(["act", expr, step.sources])
    if pending is not None:
        d, e = pending
        out.append(["affine", torch.diag(d), e])
    if out[-1][0] == "act" and _is_leaky(out[-1][1]):
        n = width
        out.append(["affine", torch.eye(n, dtype=DTYPE), torch.zeros(n, dtype=DTYPE)])
        notes.append("a trailing activation is kept exactly by an identity last layer")
    acts = [item for item in out if item[0] == "act"]
    if all(_is_leaky(item[1]) for item in acts):
        network, network_notes = _network(out)
        notes += network_notes
        if output_map is None:
            return Assembled(network, _unique(notes), frozenset(sources))
        core, d, e = output_map
        return Assembled(SquashedNetwork(network, core.op, dict(core.params), d, e), _unique(notes), frozenset(sources))
    smooth = {n for n, op in UNARY.items() if op.kind == "smooth"} | {"product"}
    for item in acts:
        if not _is_leaky(item[1]) and not ops_in(item[1]) & smooth:
            raise ValueError(f"decoder: the activation {describe(item[1])} is piecewise affine but not a leaky ReLU, "
                             "which the checks do not handle")
    steps = [("affine", item[1], item[2]) if item[0] == "affine" else ("act", item[1], describe(item[1])) for item in out]
    if output_map is not None:
        core, d, e = output_map
        steps.append(("act", Binary("add", Binary("mul", core, Const(d)), Const(e)), UNARY[core.op].label))
    return Assembled(SmoothDecoder(tuple(steps), chain.in_dim), _unique(notes), frozenset(sources))


def _is_leaky(expr) -> bool:
    return isinstance(expr, Unary) and expr.op in ("relu", "leaky_relu", "prelu") and expr.arg is VAR


def _unique(items):
    return list(dict.fromkeys(items))


def _network(out) -> tuple[LeakyReLUNetwork, list[str]]:
    """The LeakyReLUNetwork of alternating affine layers and leaky ReLUs. A PReLU whose slopes
    differ (or are negative) is written exactly as ReLU(u) − a ⊙ ReLU(−u), doubling its width."""
    weights = [item[1].clone() for item in out if item[0] == "affine"]
    biases = [item[2].clone() for item in out if item[0] == "affine"]
    acts = [item[1] for item in out if item[0] == "act"]
    notes = []
    slopes: list[float] = []
    for k, act in enumerate(acts):
        if act.op == "relu":
            slopes.append(0.0)
            continue
        values = act.params["slope"] if act.op == "leaky_relu" else act.params["slopes"]
        values = torch.as_tensor(values, dtype=DTYPE).reshape(-1)
        if values.numel() == 1:
            values = values.expand(weights[k].shape[0])
        if values.shape[0] != weights[k].shape[0]:
            raise ValueError(f"decoder: a PReLU has {values.shape[0]} slopes for a layer of width {weights[k].shape[0]}")
        if bool((values == values[0]).all()) and float(values[0]) >= 0:
            slopes.append(float(values[0]))
            continue
        w, b, w_next = weights[k], biases[k], weights[k + 1]
        weights[k], biases[k] = torch.cat([w, -w]), torch.cat([b, -b])
        weights[k + 1] = torch.cat([w_next, -w_next * values.unsqueeze(0)], dim=1)
        slopes.append(0.0)
        notes.append(f"hidden layer {k + 1}: a PReLU with per-unit slopes was written exactly as ReLU(u) − a·ReLU(−u), "
                     f"doubling its width to {2 * w.shape[0]}")
    negative = slopes if len(set(slopes)) > 1 else (slopes[0] if slopes else 0.0)
    return LeakyReLUNetwork(weights, biases, negative), notes
