"""The command line, ``python -m verify list | run | check | report | compare | probe``: one file per command.

Each command module has ``add_parser(subparsers)``, which registers the command and
its ``run(args) -> exit status``. User errors print one line and exit with status 2, never a
traceback: a ``ValueError`` naming the argument, a file that cannot be read or written
(``OSError``), an optional package that is missing (``ImportError``). Ctrl-C prints one line
and exits with 130; an atomic write it interrupts leaves no temporary file.
"""

from __future__ import annotations

import argparse
import sys

from . import check, compare, listing, probe, report, run

COMMANDS = (listing, run, check, report, compare, probe)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verify", description="Executable identifiability theory of deep generative models.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error (status 2) or the help (status 0)
        return int(exc.code or 0)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave that the checks before the work could not foresee (a full disk)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional package (matplotlib, onnx, safetensors)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


__all__ = ["COMMANDS", "build_parser", "main"]
