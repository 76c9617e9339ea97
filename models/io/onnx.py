"""ONNX files: the graph and its weights in protobuf, read without running any code.

The graph must be a chain from its one input to the chosen output (``module`` names the
output when there are several): ``Gemm``/``MatMul`` (with constant weights), ``Add``,
``Sub``, ``Mul``, ``Div`` (with constants, or two values of the same layer, as SiLU's
``x · Sigmoid(x)``), ``BatchNormalization`` (inference mode), ``Dropout``, ``Identity``,
``Flatten``, and the activations ``Relu``, ``LeakyRelu``, ``PRelu``, ``Elu``, ``Celu``,
``Selu``, ``Tanh``, ``Sigmoid``, ``Softplus``, ``Softsign``, ``Erf``, ``Exp``, ``Gelu``,
``Mish``. Attributes stored as float32 (a LeakyRelu's 0.1 is 0.10000000149) are used as
stored. Needs the ``onnx`` package (``pip install 'identifiable-dgm[formats]'``).
"""

from __future__ import annotations

import numpy as np
import torch

from .chain import ChainBuilder, assemble
from .loaded import LoadedDecoder

__all__ = ["read_onnx"]

_UNARY = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Softsign": "softsign", "Erf": "erf", "Exp": "exp", "Mish": "mish"}
_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}


def _import_onnx():
    # Deferred: onnx is an optional dependency (the formats extra), needed only for .onnx files.
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("reading ONNX files needs the onnx package: pip install 'identifiable-dgm[formats]'") from None
    return onnx, helper, numpy_helper


def read_onnx(path, *, module: str | None = None) -> LoadedDecoder:
    """A ``LoadedDecoder`` from an ONNX file (module docstring)."""
    onnx, helper, numpy_helper = _import_onnx()
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf decoding errors come in several types
        raise ValueError(f"decoder: {path} is not an ONNX model ({type(exc).__name__}: {str(exc)[:120]})") from None
    graph = model.graph
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ValueError(f"decoder: {path} has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); a decoder takes one (z)")
    dims = inputs[0].type.tensor_type.shape.dim
    in_dim = int(dims[-1].dim_value) if len(dims) == 2 and dims[-1].dim_value > 0 else None
    outputs = [o.name for o in graph.output]
    if module is not None:
        if module not in outputs:
            raise ValueError(f"module: {path} has no output {module!r}; its outputs: {', '.join(outputs)}")
        output = module
    elif len(outputs) != 1:
        raise ValueError(f"decoder: {path} has several outputs ({', '.join(outputs)}); choose one with module (--module NAME)")
    else:
        output = outputs[0]
    builder = ChainBuilder(inputs[0].name, in_dim)
    warnings: list[str] = []
    for name, array in initializers.items():
        if array.dtype.kind in "fiub":
            builder.const(name, torch.from_numpy(np.array(array, dtype=np.float64)))
    for node in graph.node:
        _node(node, builder, helper, numpy_helper, warnings)
    assembled = assemble(builder.finish(output))
    return LoadedDecoder(assembled.decoder, str(path), "ONNX", module, "read from the file",
                         tuple(builder.seen) + tuple(assembled.notes), tuple(warnings))


def _const(builder, name, what) -> torch.Tensor:
    if not builder.is_const(name):
        raise ValueError(f"decoder: {what}: its weight {name!r} is computed from the input; only constant weights are read")
    return builder.get_const(name)


def _node(node, builder: ChainBuilder, helper, numpy_helper, warnings) -> None:
    op = node.op_type
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    ins, outs = list(node.input), list(node.output)
    what = f"{node.name or outs[0]}: {op}"
    if op == "Constant":
        if "value" in attrs:
            builder.const(outs[0], torch.from_numpy(np.array(numpy_helper.to_array(attrs["value"]), dtype=np.float64)))
        elif "value_float" in attrs or "value_floats" in attrs:
            builder.const(outs[0], torch.tensor(attrs.get("value_float", attrs.get("value_floats")), dtype=torch.float64))
        else:
            raise ValueError(f"decoder: {what} holds a constant of a kind that is not read ({', '.join(attrs)})")
        return
    if all(builder.is_const(i) for i in ins if i) and op in ("Identity", *_BINARY, "Reshape", "Flatten", "Transpose"):
        if op in _BINARY:
            builder.binary(outs[0], _BINARY[op], ins[0], ins[1])
        elif op == "Transpose":
            builder.const(outs[0], builder.get_const(ins[0]).T)
        else:
            builder.alias(outs[0], ins[0])
        return
    if op in ("Identity", "Flatten") or op == "Dropout":
        if op == "Dropout" and attrs.get("training_mode") or (op == "Dropout" and len(ins) > 2 and ins[2]
                                                               and builder.is_const(ins[2]) and bool(builder.get_const(ins[2]))):
            warnings.append(f"{what}: Dropout in training mode was read as the identity (eval mode)")
        if op == "Flatten" and attrs.get("axis", 1) != 1:
            raise ValueError(f"decoder: {what} with axis {attrs['axis']} is not read")
        builder.alias(outs[0], ins[0], what=f"{what} (the identity{' in eval mode' if op == 'Dropout' else ' on rows'})")
    elif op == "Gemm":
        if attrs.get("transA", 0):
            raise ValueError(f"decoder: {what} with transA = 1 is not read")
        b = _const(builder, ins[1], what)
        weight = float(attrs.get("alpha", 1.0)) * (b if attrs.get("transB", 0) else b.T)
        bias = None
        if len(ins) > 2 and ins[2]:
            bias = float(attrs.get("beta", 1.0)) * _const(builder, ins[2], what).reshape(-1).expand(weight.shape[0])
        builder.linear(outs[0], ins[0], weight, bias, what=f"{what} {weight.shape[1]}→{weight.shape[0]}")
    elif op == "MatMul":
        weight = _const(builder, ins[1], what).T
        builder.linear(outs[0], ins[0], weight, None, what=f"{what} {weight.shape[1]}→{weight.shape[0]}")
    elif op in _BINARY:
        builder.binary(outs[0], _BINARY[op], ins[0], ins[1])
    elif op in _UNARY:
        builder.unary(outs[0], ins[0], _UNARY[op], what=what, source="read")
    elif op == "LeakyRelu":
        slope = float(attrs.get("alpha", 0.01))
        builder.unary(outs[0], ins[0], "leaky_relu", what=f"{what}({slope:.9g})", source="read", slope=slope)
    elif op == "PRelu":
        builder.unary(outs[0], ins[0], "prelu", what=what, source="read", slopes=_const(builder, ins[1], what))
    elif op in ("Elu", "Celu"):
        alpha = float(attrs.get("alpha", 1.0))
        builder.unary(outs[0], ins[0], op.lower(), what=f"{what}(alpha {alpha:.9g})", source="read", alpha=alpha)
    elif op == "Selu":
        builder.unary(outs[0], ins[0], "selu", what=what, source="read")
    elif op == "Softplus":
        builder.unary(outs[0], ins[0], "softplus", what=what, source="read", beta=1.0, threshold=float("inf"))
    elif op == "Gelu":
        approximate = attrs.get("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
        builder.unary(outs[0], ins[0], "gelu", what=what, source="read", approximate=approximate)
    elif op == "BatchNormalization":
        if attrs.get("training_mode", 0):
            raise ValueError(f"decoder: {what} is in training mode (batch statistics); export the model in eval mode")
        scale, bias, mean, var = (_const(builder, name, what) for name in ins[1:5])
        eps = float(attrs.get("epsilon", 1e-5))
        factor = scale / torch.sqrt(var + eps)
        builder.scale_shift(outs[0], ins[0], factor, bias - mean * factor,
                            what=f"{what}({mean.numel()}), inference mode (eps {eps:.3g}), folded into the linear layer before it")
    else:
        raise ValueError(f"decoder: {what} is not read; only chains of linear layers and elementwise activations are")
