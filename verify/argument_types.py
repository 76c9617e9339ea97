"""Argument types for command lines (``argparse`` ``type=``): what ``verify``'s commands and the options
a sweep adds to any parser share, so that every integer option is read and refused the same way."""

from __future__ import annotations

import argparse

__all__ = ["nonnegative_int", "positive_int"]


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _integer_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    return _integer_at_least(text, 0)


def _integer_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text}")
    return value
