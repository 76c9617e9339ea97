"""What the commands share: argument types, output paths checked before any work, devices."""

from __future__ import annotations

import argparse

from models.validation import check_device

from ..atomic import check_output_dir, check_output_file


def device(text: str) -> str:
    """A device that exists here ("cpu", "cuda", "cuda:k"), as its canonical string."""
    try:
        return str(check_device(text, "--device"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--device: ")) from None


def check_outputs(args) -> None:
    """Refuse unusable --json and --plots paths before any computation.

    Every command with an output path calls it first: a file is checked by creating a temporary
    file beside it, a folder by creating one in it (or in its nearest existing parent), since
    permissions alone do not tell (root passes them where /proc refuses any new file).
    """
    if getattr(args, "json", None):
        check_output_file(args.json, "--json")
    if getattr(args, "plots", None):
        check_output_dir(args.plots, "--plots")
