"""``torch.export`` programs (``.pt2`` archives of ``torch.export.save``), read without unpickling.

``torch.export.load`` unpickles parts of the archive (its sample inputs, and weights saved
with pickle), so it runs code from the file. The archive also holds the graph as JSON
(``models/<name>.json``) and each weight as raw bytes described by
``data/weights/<name>_weights_config.json``; this reader uses only those. A weight stored
with pickle is read only with ``allow_pickle`` (through ``torch.export.load``). An
``ExportedProgram`` already in memory is read from its graph.

The graph must be a chain of ATen operations: ``linear``, ``addmm``/``mm``/``matmul`` with
constant weights, elementwise ``add``/``sub``/``mul``/``div``, ``batch_norm`` (not
training), ``dropout`` (not training), identities, and the activations ``relu``,
``leaky_relu``, ``prelu``, ``elu``, ``celu``, ``selu``, ``tanh``, ``sigmoid``, ``silu``,
``gelu``, ``softplus``, ``mish``, ``erf``, ``exp``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import PurePosixPath

import torch

from .chain import ChainBuilder, assemble
from .loaded import LoadedDecoder

__all__ = ["is_pt2_archive", "read_exported_program", "read_pt2"]

_DTYPES = {1: torch.uint8, 2: torch.int8, 3: torch.int16, 4: torch.int32, 5: torch.int64, 6: torch.float16, 7: torch.float32,
           8: torch.float64, 12: torch.bool, 13: torch.bfloat16}
_UNARY = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "silu": "silu", "selu": "selu", "mish": "mish", "erf": "erf",
          "exp": "exp"}
_BINARY = {"add": "add", "sub": "sub", "mul": "mul", "div": "div"}
_IDENTITY = {"clone", "alias", "detach", "_to_copy", "contiguous", "lift_fresh_copy"}
_CONST_OPS = {"t", "permute", "transpose", "numpy_T", "unsqueeze", "squeeze", "view", "reshape", "_unsafe_view", "clone",
              "detach", "alias", "_to_copy", "mul", "add", "sub", "div", "rsqrt", "sqrt", "lift_fresh_copy"}


def is_pt2_archive(path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(PurePosixPath(n).parent.name == "models" and n.endswith(".json") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


# ---------------------------------------------------------------------------- the archive
def read_pt2(path, *, allow_pickle: bool = False) -> LoadedDecoder:
    """A ``LoadedDecoder`` from a ``.pt2`` archive, without unpickling (module docstring)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        models = [n for n in names if PurePosixPath(n).parent.name == "models" and n.endswith(".json")]
        chosen = next((n for n in models if n.endswith("/model.json")), models[0] if models else None)
        if chosen is None:
            raise ValueError(f"decoder: {path} is a zip archive but not a torch.export program")
        root = str(PurePosixPath(chosen).parent.parent)
        stem = PurePosixPath(chosen).stem
        program = json.loads(archive.read(chosen))
        tensors, pickled = {}, []
        for kind in ("weights", "constants"):
            config_name = f"{root}/data/{kind}/{stem}_{kind}_config.json"
            if config_name not in names:
                continue
            config = json.loads(archive.read(config_name)).get("config", {})
            for key, entry in config.items():
                if entry.get("use_pickle"):
                    pickled.append(key)
                    continue
                tensors[key] = _raw_tensor(archive.read(f"{root}/data/{kind}/{entry['path_name']}"), entry["tensor_meta"], key)
        order = archive.read(f"{root}/byteorder").decode().strip() if f"{root}/byteorder" in names else "little"
    if order != "little":
        raise ValueError(f"decoder: {path} stores its weights {order}-endian; only little-endian archives are read")
    if pickled:
        if not allow_pickle:
            raise ValueError(f"decoder: {path} stores {len(pickled)} tensor(s) with pickle ({', '.join(pickled[:3])}); "
                             "unpickling runs code from the file, so it is read only with allow_pickle (--allow-pickle)")
        return read_exported_program(torch.export.load(str(path)), source=str(path))
    graph = program["graph_module"]["graph"]
    signature = program["graph_module"]["signature"]
    values, user_inputs = {}, []
    for spec in signature["input_specs"]:
        (kind, content), = spec.items()
        if kind == "user_input":
            user_inputs.append(content["arg"]["as_tensor"]["name"])
            continue
        key = content.get("parameter_name") or content.get("buffer_name") or content.get("tensor_constant_name")
        if key is None or key not in tensors:
            raise ValueError(f"decoder: {path}: the graph input {content['arg']['name']!r} ({kind}) has no stored tensor")
        values[content["arg"]["name"]] = tensors[key]
    outputs = [spec["user_output"]["arg"]["as_tensor"]["name"] for spec in signature["output_specs"] if "user_output" in spec]
    nodes = [(node["target"].removeprefix("torch.ops."), {i["name"]: _json_arg(i["arg"]) for i in node["inputs"]},
              [n for o in node["outputs"] for n in _json_output(o)]) for node in graph["nodes"]]
    return _read_nodes(nodes, values, user_inputs, outputs, source=str(path), format="torch.export program")


def _raw_tensor(data: bytes, meta: dict, key: str) -> torch.Tensor:
    dtype = _DTYPES.get(meta["dtype"])
    if dtype is None:
        raise ValueError(f"decoder: the stored tensor {key!r} has a dtype code {meta['dtype']} that is not read")
    sizes = [s["as_int"] for s in meta["sizes"]]
    strides = [s["as_int"] for s in meta["strides"]]
    offset = meta["storage_offset"]["as_int"]
    storage = torch.frombuffer(bytearray(data), dtype=dtype) if data else torch.empty(0, dtype=dtype)
    return torch.as_strided(storage, sizes, strides, offset).clone()


def _json_arg(arg):
    (kind, value), = arg.items()
    if kind == "as_tensor":
        return ("tensor", value["name"])
    if kind == "as_none":
        return None
    if kind in ("as_float", "as_int", "as_bool", "as_string", "as_ints", "as_floats", "as_bools"):
        return value
    if kind == "as_scalar_type":
        return ("dtype", value)
    return ("other", kind)


def _json_output(out):
    if "as_tensor" in out:
        return [out["as_tensor"]["name"]]
    if "as_tensors" in out:
        return [t["name"] for t in out["as_tensors"]]
    return [None]


# ---------------------------------------------------------------------------- a program in memory
def read_exported_program(program, *, source: str = "an ExportedProgram") -> LoadedDecoder:
    """A ``LoadedDecoder`` from a ``torch.export.ExportedProgram``."""
    if not isinstance(program, torch.export.ExportedProgram):
        raise ValueError(f"program: expected a torch.export.ExportedProgram, got {type(program).__name__}")
    signature = program.graph_signature
    state = {**program.state_dict, **program.constants}
    values = {}
    for name, key in {**signature.inputs_to_parameters, **signature.inputs_to_buffers,
                      **getattr(signature, "inputs_to_lifted_tensor_constants", {})}.items():
        values[name] = state[key].detach()
    nodes = []
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        if getattr(node.target, "__name__", "") == "getitem":  # multi-output nodes: only the first output is a value
            if node.args[1] == 0:
                nodes.append(("alias", {"self": ("tensor", node.args[0].name)}, [node.name]))
            continue
        target = str(node.target)
        schema = getattr(node.target, "_schema", None)
        names = [a.name for a in schema.arguments] if schema is not None else [str(i) for i in range(len(node.args))]
        args = {n: _fx_arg(v) for n, v in zip(names, node.args)}
        args.update({k: _fx_arg(v) for k, v in node.kwargs.items()})
        nodes.append((target, args, [node.name]))
    outputs = list(signature.user_outputs)
    return _read_nodes(nodes, values, list(signature.user_inputs), outputs, source=source, format="torch.export program")


def _fx_arg(value):
    if isinstance(value, torch.fx.Node):
        return ("tensor", value.name)
    if isinstance(value, (list, tuple)):
        return [_fx_arg(v) for v in value]
    if isinstance(value, torch.dtype):
        return ("dtype", str(value))
    return value


# ---------------------------------------------------------------------------- the interpreter
def _read_nodes(nodes, values, user_inputs, outputs, *, source, format) -> LoadedDecoder:
    if len(user_inputs) != 1:
        raise ValueError(f"decoder: {source} takes {len(user_inputs)} inputs; a decoder takes one (z)")
    if len(outputs) != 1:
        raise ValueError(f"decoder: {source} returns {len(outputs)} outputs; a decoder returns one")
    builder = ChainBuilder(user_inputs[0])
    for name, tensor in values.items():
        builder.const(name, tensor.double() if tensor.is_floating_point() else tensor)
    warnings: list[str] = []
    for target, args, outs in nodes:
        _aten(target, args, outs, builder, warnings)
    assembled = assemble(builder.finish(outputs[0]))
    return LoadedDecoder(assembled.decoder, source, format, None, "read from the file", tuple(builder.seen) + tuple(assembled.notes),
                         tuple(warnings))


def _ref(value):
    return value[1] if isinstance(value, tuple) and value and value[0] == "tensor" else None


def _aten(target: str, args: dict, outs, builder: ChainBuilder, warnings) -> None:
    parts = target.split(".")
    op = parts[1] if parts[0] == "aten" and len(parts) > 1 else target
    out = outs[0]
    what = f"{out}: aten.{op}"
    first = _ref(args.get("self", args.get("input")))
    refs = [_ref(v) for v in args.values() if _ref(v) is not None]
    if refs and all(builder.is_const(r) for r in refs) and op in _CONST_OPS:
        builder.const(out, _constant_op(op, args, builder))
        return

    def const(key):
        name = _ref(args.get(key))
        if name is None or not builder.is_const(name):
            raise ValueError(f"decoder: {what}: its {key} is computed from the input; only constant weights are read")
        return builder.get_const(name)

    def number(key, default):
        value = args.get(key, default)
        return default if value is None else value

    if op == "linear":
        weight = const("weight")
        bias = const("bias") if _ref(args.get("bias")) else None
        builder.linear(out, first, weight, bias, what=f"{what} {weight.shape[1]}→{weight.shape[0]}")
    elif op == "addmm":
        weight = float(number("alpha", 1.0)) * const("mat2").T
        bias = float(number("beta", 1.0)) * const("self").reshape(-1).expand(weight.shape[0])
        builder.linear(out, _ref(args["mat1"]), weight, bias, what=f"{what} {weight.shape[1]}→{weight.shape[0]}")
    elif op in ("mm", "matmul"):
        weight = const("mat2" if "mat2" in args else "other").T
        builder.linear(out, first, weight, None, what=f"{what} {weight.shape[1]}→{weight.shape[0]}")
    elif op in _BINARY:
        other = args.get("other")
        if _ref(other) is None:
            name = f"{out}#scalar"
            builder.const(name, float(other))
            other = ("tensor", name)
        alpha = number("alpha", 1)
        if alpha != 1:
            name = f"{out}#alpha"
            builder.binary(name, "mul", _ref(other), _const_name(builder, f"{out}#a", float(alpha)))
            other = ("tensor", name)
        builder.binary(out, _BINARY[op], first, _ref(other))
    elif op in _UNARY:
        builder.unary(out, first, _UNARY[op], what=what, source="read")
    elif op == "leaky_relu":
        slope = float(number("negative_slope", 0.01))
        builder.unary(out, first, "leaky_relu", what=f"{what}({slope:g})", source="read", slope=slope)
    elif op in ("prelu", "_prelu_kernel"):
        builder.unary(out, first, "prelu", what=what, source="read", slopes=const("weight"))
    elif op in ("elu", "celu"):
        alpha = float(number("alpha", 1.0))
        if float(number("scale", 1.0)) != 1.0 or float(number("input_scale", 1.0)) != 1.0:
            raise ValueError(f"decoder: {what} with a scale is not read")
        builder.unary(out, first, op, what=f"{what}(alpha {alpha:g})", source="read", alpha=alpha)
    elif op == "gelu":
        builder.unary(out, first, "gelu", what=what, source="read", approximate=number("approximate", "none"))
    elif op == "softplus":
        builder.unary(out, first, "softplus", what=what, source="read", beta=float(number("beta", 1.0)),
                      threshold=float(number("threshold", 20.0)))
    elif op in ("batch_norm", "_native_batch_norm_legit_no_training", "native_batch_norm"):
        if args.get("training"):
            raise ValueError(f"decoder: {what} is in training mode (batch statistics); export the model in eval mode")
        mean, var = const("running_mean"), const("running_var")
        gamma = const("weight") if _ref(args.get("weight")) else torch.ones_like(mean)
        beta = const("bias") if _ref(args.get("bias")) else torch.zeros_like(mean)
        eps = float(number("eps", 1e-5))
        scale = gamma / torch.sqrt(var + eps)
        builder.scale_shift(out, first, scale, beta - mean * scale,
                            what=f"{what}({mean.numel()}), eval mode (eps {eps:g}), folded into the linear layer before it")
        for extra in outs[1:]:
            if extra:
                builder.alias(extra, out)
    elif op == "dropout":
        if args.get("train"):
            warnings.append(f"{what}: dropout in training mode was read as the identity (eval mode)")
        builder.alias(out, first, what=f"{what} (the identity in eval mode)")
    elif op in _IDENTITY or op in ("view", "reshape", "_unsafe_view", "flatten"):
        builder.alias(out, first, what=None if op in _IDENTITY else f"{what} (the identity on rows)")
    else:
        raise ValueError(f"decoder: {what} is not read; only chains of linear layers and elementwise activations are")


def _const_name(builder, name, value):
    builder.const(name, value)
    return name


def _constant_op(op, args, builder) -> torch.Tensor:
    """Operations on constants only (a transposed weight, a folded scale), computed here."""

    def get(value):
        name = _ref(value)
        return builder.get_const(name) if name is not None else value

    x = get(args.get("self", args.get("input")))
    if op in ("t", "numpy_T"):
        return x.T
    if op == "permute":
        return x.permute(*args["dims"])
    if op == "transpose":
        return x.transpose(args["dim0"], args["dim1"])
    if op == "unsqueeze":
        return x.unsqueeze(args["dim"])
    if op == "squeeze":
        return x.squeeze()
    if op in ("view", "reshape", "_unsafe_view"):
        return x.reshape(args.get("size", args.get("shape")))
    if op in ("rsqrt", "sqrt"):
        return torch.rsqrt(x) if op == "rsqrt" else torch.sqrt(x)
    if op in _BINARY:
        return getattr(torch, op)(x, get(args["other"]))
    return x
