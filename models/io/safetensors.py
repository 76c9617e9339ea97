"""safetensors files: named tensors only (no code, no architecture), with an optional JSON spec.

With a spec (``models.io.spec``) the architecture is the spec's; without one the tensors are
read as a state dict (``models.io.state_dict``: numbered layers, activations given by
``negative_slope``). Needs the ``safetensors`` package (``pip install 'identifiable-dgm[formats]'``).
"""

from __future__ import annotations

from .loaded import LoadedDecoder
from .spec import build_from_spec
from .state_dict import read_state_dict

__all__ = ["read_safetensors"]


def _load_file():
    # Deferred: safetensors is an optional dependency (the formats extra), needed only for .safetensors files.
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ImportError("reading safetensors files needs the safetensors package: pip install 'identifiable-dgm[formats]'") from None
    return load_file


def read_safetensors(path, *, module: str | None = None, negative_slope=None, spec=None) -> LoadedDecoder:
    """A ``LoadedDecoder`` from a safetensors file (module docstring)."""
    load_file = _load_file()
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:  # the safetensors parser raises its own error types
        raise ValueError(f"decoder: {path} is not a safetensors file ({type(exc).__name__}: {str(exc)[:120]})") from None
    if spec is not None:
        if module is not None:
            raise ValueError("module: not used with a spec, which names every tensor it reads")
        return build_from_spec(tensors, spec, source=str(path), format="safetensors")
    return read_state_dict(tensors, source=str(path), module=module, negative_slope=negative_slope, format="safetensors")
