"""What the commands share: argument types, output paths checked before any work, devices."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from models.validation import check_device

from ..atomic import check_output_file


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def device(text: str) -> str:
    """A device that exists here ("cpu", "cuda", "cuda:k"), as its canonical string."""
    try:
        return str(check_device(text, "--device"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--device: ")) from None


def check_outputs(args) -> None:
    """Refuse unusable --json and --plots paths before any computation."""
    if getattr(args, "json", None):
        check_output_file(args.json, "--json")
    if getattr(args, "plots", None):
        check_output_dir(args.plots, "--plots")


def check_output_dir(path, argument: str) -> Path:
    """A folder that exists and is writable, or can be created (its nearest existing parent is writable)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{argument}: {folder} exists and is not a folder")
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{argument}: cannot write in {probe}")
    return folder
