"""Reading a file written by ``torch.save`` without running its code, and saying what is wrong with one that fails.

``torch.load(weights_only=True)`` refuses anything that is not tensors and containers, but
its error is the same for random bytes, a pickled module and a pickled dict of other objects.
``inspect_torch_file`` tells them apart by reading the pickle's opcodes (``pickletools``, which
executes nothing): a zip archive or a legacy pickle, damaged or not, and the classes it names.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["TorchFile", "inspect_torch_file", "load_tensors"]

# Classes a pickled nn.Module names: its own class's submodules and the parameter rebuilder.
_MODULE_MARKERS = ("torch.nn.modules.", "torch.nn.parameter.", "torch._utils._rebuild_parameter")
# Names every torch.save pickle may use besides the classes it stores: builtins, containers, tensor rebuilders.
_HELPERS = ("__builtin__.", "builtins.", "collections.", "torch._utils.", "torch._tensor.", "torch.serialization.")


@dataclass(frozen=True)
class TorchFile:
    """What a file holds, as far as its bytes tell.

    Attributes
    ----------
    kind : str
        ``"pickled module"`` (an ``nn.Module``: loading it runs code), ``"pickled objects"``
        (classes other than tensors), ``"damaged archive"`` (a zip archive that cannot be read:
        truncated, or an entry missing), ``"not a torch file"`` (neither a zip archive nor a
        pickle) or ``"tensors"`` (nothing but tensors and containers).
    detail : str
        The classes named, or what is damaged.
    """

    kind: str
    detail: str = ""


def _globals(data: bytes) -> list[str]:
    """The ``module.name`` of every class a pickle names, read from its opcodes (nothing is executed).

    A legacy ``torch.save`` file is several pickles followed by raw storage bytes: they are read
    in turn, up to the first that does not parse (an error if that is the first).
    """
    names, strings = [], []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        start = stream.tell()
        try:
            for opcode, argument, _ in pickletools.genops(stream):
                if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                    strings.append(argument)
                elif opcode.name == "GLOBAL":
                    names.append(str(argument).replace(" ", "."))
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    names.append(f"{strings[-2]}.{strings[-1]}")
        except Exception:  # noqa: BLE001 - pickletools raises many kinds on bytes that are not a pickle
            if start == 0:
                raise ValueError("not a pickle") from None
            break
    return names


def inspect_torch_file(path) -> TorchFile:
    """What ``path`` holds (see ``TorchFile``), read without unpickling."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    entries = [n for n in archive.namelist() if n.endswith("data.pkl")]
                    if not entries:
                        return TorchFile("not a torch file", "a zip archive without the data.pkl entry torch.save writes")
                    data = archive.read(entries[0])
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                return TorchFile("damaged archive", str(exc))
        else:
            data = path.read_bytes()
            if data[:2] == b"PK":
                return TorchFile("damaged archive", "a zip archive cut short (truncated)")
        names = _globals(data)
    except (ValueError, EOFError, IndexError, KeyError, UnicodeDecodeError, pickle.UnpicklingError):
        return TorchFile("not a torch file", "neither a zip archive nor a pickle")
    classes = [n for n in names if not n.startswith(_HELPERS) and not n.endswith("Storage")]
    if any(n.startswith(_MODULE_MARKERS) for n in names):
        # The first class named is the module's own (its submodules and parameters follow).
        return TorchFile("pickled module", classes[0] if classes else "an nn.Module")
    others = sorted({n for n in classes if not n.startswith("torch.")})
    if others:
        return TorchFile("pickled objects", ", ".join(others[:3]) + (" ..." if len(others) > 3 else ""))
    return TorchFile("tensors")


def load_tensors(path, argument: str, *, allow_pickle: bool = False):
    """``torch.load(path)`` of tensors and containers, or, with ``allow_pickle``, of a pickled module.

    Raises
    ------
    ValueError
        Starting with ``argument``, saying what is wrong with the file: not a torch file, a
        damaged archive, pickled objects that are not tensors, or a pickled module (read only
        with ``allow_pickle``, which runs the file's code).
    """
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds on files it did not write; the file is inspected instead
        first_error = f"{type(exc).__name__}"
    found = inspect_torch_file(path)
    if found.kind == "not a torch file":
        raise ValueError(f"{argument}: {path} is not a file written by torch.save ({found.detail})") from None
    if found.kind == "damaged archive":
        raise ValueError(f"{argument}: {path} is a damaged torch.save archive ({found.detail})") from None
    if found.kind == "pickled objects":
        raise ValueError(f"{argument}: {path} holds pickled Python objects ({found.detail}), not a state dict of tensors") from None
    if found.kind == "pickled module" and not allow_pickle:
        raise ValueError(f"{argument}: {path} is a pickled module ({found.detail}); unpickling runs code from the file, so it "
                         "is read only with --allow-pickle (allow_pickle=True, for files you trust); ONNX and torch.export "
                         "files record the architecture without pickles") from None
    if found.kind == "tensors":
        raise ValueError(f"{argument}: {path} could not be read by torch.load ({first_error})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - unpickling runs the file's code: any error it raises
        raise ValueError(f"{argument}: {path} could not be unpickled ({type(exc).__name__}: {_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    """The first line of an error's message, whole words, without terminal escapes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= 160 else line[:160].rsplit(" ", 1)[0] + " ..."
