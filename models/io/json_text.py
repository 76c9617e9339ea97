"""JSON read from a user's file or string, with an error that says what is wrong with it."""

from __future__ import annotations

import json

__all__ = ["parse_json"]


def parse_json(source: str | bytes, argument: str, where: str):
    """The value of the JSON text ``source`` (read from ``where``).

    Raises
    ------
    ValueError
        Starting with ``argument``: not UTF-8 text, not valid JSON (with the line and column),
        or nested too deeply for the parser (Python's JSON parser recurses once per level).
    """
    try:
        text = source.decode("utf-8") if isinstance(source, (bytes, bytearray)) else source
    except UnicodeDecodeError:
        raise ValueError(f"{argument}: {where} is not a text file (JSON is UTF-8 text)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{argument}: {where} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ValueError(f"{argument}: {where} nests arrays or objects too deeply to be read as JSON") from None
