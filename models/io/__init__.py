"""Reading a user's saved decoder and prior, safely: no code from a file runs without ``allow_pickle``.

``load_decoder(path, ...)`` reads, by what the file holds:

=============================  ==================================  =============================
file                           reader                              activations
=============================  ==================================  =============================
state dict (``torch.save``)    ``state_dict`` (``weights_only``)   given (``negative_slope``, or a ``spec``)
safetensors                    ``safetensors``                     given (``negative_slope``, or a ``spec``)
ONNX                           ``onnx``                            read from the file
``torch.export`` (``.pt2``)    ``torch_export`` (JSON and raw      read from the file
                               weights, no unpickling)
pickled module                 ``torch_module`` (Sequentials,      read from the module
(``allow_pickle=True``)        ``torch.fx`` for subclasses)
=============================  ==================================  =============================

Every reader feeds ``chain.ChainBuilder``, and ``chain.assemble`` folds BatchNorm (eval mode)
into the adjacent linear layer, drops Dropout (the identity in eval mode) and classifies the
decoder: a ``LeakyReLUNetwork`` (piecewise affine), a ``SquashedNetwork`` (a network and a
final strictly increasing squashing such as Sigmoid: injectivity is kept, piecewise
affinity is not) or a ``SmoothDecoder`` (smooth activations: not piecewise affine). The
result, a ``LoadedDecoder``, says where the activations came from, lists the layers seen
and carries warnings.

``load_prior(source, latent_dim=...)`` reads a ``LoadedPrior`` (``prior.py``).

A file that cannot be read is a ``ValueError`` that says what it holds, from its bytes and without
running it (``torch_file.py``): not a file written by ``torch.save``, a damaged archive, pickled
objects that are not tensors, or a pickled module, the one case ``allow_pickle`` reads. JSON (priors,
specs) is read by ``json_text.parse_json``, whose errors give the line and column, or say that the
text nests too deeply to be read.

onnx and safetensors are optional (the ``formats`` extra:
``pip install 'identifiable-dgm[formats]'``) and imported only to read such a file.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..leaky_relu_network import LeakyReLUNetwork
from ..validation import check_text
from .loaded import KINDS, LoadedDecoder, SmoothDecoder, SquashedNetwork
from .prior import LoadedPrior, load_prior
from .spec import build_from_spec
from .state_dict import parse_slopes, read_state_dict, unwrap_checkpoint
from .torch_export import is_pt2_archive, read_exported_program, read_pt2
from .torch_file import load_tensors
from .torch_module import read_module

__all__ = ["KINDS", "LoadedDecoder", "LoadedPrior", "SmoothDecoder", "SquashedNetwork", "as_loaded_decoder", "load_decoder",
           "load_prior", "parse_slopes", "read_module"]


def load_decoder(path, *, module: str | None = None, negative_slope=None, allow_pickle: bool = False, spec=None) -> LoadedDecoder:
    """The decoder in a file (see the table above), as a ``LoadedDecoder``.

    Parameters
    ----------
    path : str or Path
        A state dict or checkpoint saved with ``torch.save``, a ``.safetensors`` file, an
        ``.onnx`` file, a ``torch.export`` archive (``.pt2``), or, with ``allow_pickle``, a
        pickled module.
    module : str, optional
        The submodule to read (``"decoder"`` of a whole VAE; ``"body,head"`` reads named layers
        in that order); for ONNX, the output to read.
    negative_slope : float, sequence of float or str, optional
        For weights without an architecture: the slope of the leaky ReLUs between the linear
        layers (0 for ReLU), one or one per hidden layer ("0.1,0.3").
    allow_pickle : bool
        Read a pickled module. Unpickling runs code from the file: only for files you trust.
    spec : dict, JSON text or path, optional
        The architecture of a weights file (``models.io.spec``).

    Raises
    ------
    ValueError
        Naming the argument: a file that cannot be read, an ambiguous file (the candidates are
        listed), a layer that is not read, a missing slope.
    ImportError
        For ONNX or safetensors files when their package is missing.
    """
    if not isinstance(path, (str, Path)):
        raise ValueError(f"path: expected a file name (str or Path), got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"decoder: {path} is a folder, not a file")
    if not path.is_file():
        raise ValueError(f"decoder: no file at {path}")
    check_text(module, "module", allow_none=True)
    if not isinstance(allow_pickle, bool):
        raise ValueError(f"allow_pickle: expected True or False, got {allow_pickle!r}")
    records_activations = "the file records its activations; negative_slope is for weights without an architecture"
    if is_pt2_archive(path):
        _refuse_options(negative_slope, spec, records_activations)
        if module is not None:
            raise ValueError("module: a torch.export program has one entry point; export the decoder alone")
        return read_pt2(path, allow_pickle=allow_pickle)
    if path.suffix.lower() == ".onnx":
        _refuse_options(negative_slope, spec, records_activations)
        from .onnx import read_onnx  # deferred with the optional onnx package

        return read_onnx(path, module=module)
    if path.suffix.lower() == ".safetensors" or _looks_like_safetensors(path):
        from .safetensors import read_safetensors  # deferred with the optional safetensors package

        return read_safetensors(path, module=module, negative_slope=negative_slope, spec=spec)
    content = _torch_load(path, allow_pickle)
    if isinstance(content, torch.nn.Module):
        _refuse_options(negative_slope, spec, "a module records its activations; negative_slope is for state dicts")
        return read_module(content, submodule=module, source=str(path), format="pickled module")
    if isinstance(content, torch.export.ExportedProgram):
        _refuse_options(negative_slope, spec, records_activations)
        return read_exported_program(content, source=str(path))
    state, key = unwrap_checkpoint(content)
    if not isinstance(state, dict):
        raise ValueError(f"decoder: {path} holds a {type(content).__name__}, not a state dict or a module")
    if spec is not None:
        if negative_slope is not None:
            raise ValueError("negative_slope: the spec gives the activations; pass one or the other")
        loaded = build_from_spec(state, spec, source=str(path), format="state dict")
    else:
        loaded = read_state_dict(state, source=str(path), module=module, negative_slope=negative_slope)
    if key is not None:
        loaded = LoadedDecoder(loaded.decoder, loaded.source, f"state dict (the {key!r} entry of a checkpoint)", loaded.module,
                               loaded.activations, loaded.layers, loaded.warnings)
    return loaded


def as_loaded_decoder(decoder, *, module: str | None = None) -> LoadedDecoder:
    """A ``LoadedDecoder`` from what a Python caller has: a ``LoadedDecoder``, a ``LeakyReLUNetwork``,
    an ``nn.Module``, a ``torch.export.ExportedProgram`` or a path (read with ``load_decoder``)."""
    check_text(module, "module", allow_none=True)
    if isinstance(decoder, LoadedDecoder):
        return decoder
    if isinstance(decoder, LeakyReLUNetwork):
        return LoadedDecoder(decoder.to("cpu", torch.float64), "a LeakyReLUNetwork", "LeakyReLUNetwork", None,
                             "read from the LeakyReLUNetwork", (repr(decoder),))
    if isinstance(decoder, (SquashedNetwork, SmoothDecoder)):
        return LoadedDecoder(decoder, f"a {type(decoder).__name__}", type(decoder).__name__, None, f"read from the {type(decoder).__name__}", (repr(decoder),))
    if isinstance(decoder, torch.nn.Module):
        return read_module(decoder, submodule=module)
    if isinstance(decoder, torch.export.ExportedProgram):
        return read_exported_program(decoder)
    if isinstance(decoder, (str, Path)):
        return load_decoder(decoder, module=module)
    raise ValueError(f"decoder: expected a LoadedDecoder, a LeakyReLUNetwork, an nn.Module, an ExportedProgram or a path, "
                     f"got {type(decoder).__name__}")


def _refuse_options(negative_slope, spec, reason: str) -> None:
    if negative_slope is not None:
        raise ValueError(f"negative_slope: {reason}")
    if spec is not None:
        raise ValueError(f"spec: {reason.replace('negative_slope', 'a spec')}")


def _looks_like_safetensors(path: Path) -> bool:
    """An 8-byte little-endian header length, then a JSON header."""
    with path.open("rb") as handle:
        head = handle.read(9)
    if len(head) < 9:
        return False
    size = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 2 <= size <= path.stat().st_size


def _torch_load(path: Path, allow_pickle: bool):
    # The file's own errors say what it holds ("decoder: ..."), as the command line's argument is named.
    return load_tensors(path, "decoder", allow_pickle=allow_pickle)
