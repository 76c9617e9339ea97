"""Summary rows of a sweep, computed from its records (not from ``TrialReport`` objects)."""

from __future__ import annotations

import math
from typing import Iterable

from .tasks import OK

TIMING_FIELDS = frozenset({"seconds"})


def summary_rows(records: Iterable[dict]) -> list[dict]:
    """One row per theorem of the "trial" records, with the columns of ``verify.cli.summarize``.

    Parameters
    ----------
    records : iterable of dict
        Records as stored (``tasks.run_task``); other kinds are left out. Rows come in the
        order their theorems first appear.

    Returns
    -------
    list of dict
        theorem, trials, held, worst_error (the worst conclusion statistic, largest relative to
        its tolerance), tolerance, worst_check, witnesses (failed steps), seconds (trial time),
        and errors: the trials that raised or crashed (counted in trials, not in held).
    """
    rows: dict[str, dict] = {}
    for record in records:
        if record["key"]["kind"] != "trial":
            continue
        theorem = record["key"]["id"]
        row = rows.setdefault(theorem, {"theorem": theorem, "trials": 0, "held": 0, "worst_error": math.nan, "tolerance": math.nan,
                                        "worst_check": "", "witnesses": 0, "seconds": 0.0, "errors": 0})
        row["trials"] += 1
        if record["status"] != OK:
            row["errors"] += 1
            continue
        _add_trial(row, record["result"]["summary"])
    return list(rows.values())


def _add_trial(row: dict, summary: dict) -> None:
    row["held"] += int(bool(summary["held"]))
    row["witnesses"] += int(summary["witnesses"])
    row["seconds"] += _number(summary["seconds"])
    if not summary["worst_check"]:
        return
    statistic, tolerance = _number(summary["worst_statistic"]), _number(summary["worst_tolerance"])
    # The same rule as verify.cli.summarize: keep the largest statistic relative to its tolerance.
    current = row["worst_error"] / row["tolerance"] if row["worst_check"] else -math.inf
    if statistic / tolerance > current:
        row.update(worst_error=statistic, tolerance=tolerance, worst_check=summary["worst_check"])


def _number(value) -> float:
    """A stored number; ``verify.check_result.plain`` stores non-finite ones as "nan", "inf"."""
    return float(value)


def is_failure(record: dict) -> bool:
    """Did this record's task raise, crash, or (a trial) not hold?"""
    if record["status"] != OK:
        return True
    summary = (record.get("result") or {}).get("summary")
    return isinstance(summary, dict) and "held" in summary and not summary["held"]


def describe_failure(record: dict) -> str:
    """One line for a failed record: "FAILED T2 seed=3: conclusion:affine_equivalence",
    "ERROR T2 seed=3: RuntimeError: ..." or "CRASHED T2 seed=3: KilledWorker: ..."."""
    key = record["key"]
    where = f"{key['id']} seed={key['seed']}"
    if record["status"] != OK:
        error = record.get("error") or {}
        message = str(error.get("message", "")).splitlines()[0] if error.get("message") else ""
        return f"{record['status'].upper()} {where}: {error.get('type', '?')}: {message}"
    summary = (record.get("result") or {}).get("summary", {})
    return f"FAILED {where}: {', '.join(summary.get('failed_steps', [])) or 'did not hold'}"


def without_timing(value):
    """``value`` with every field named in ``TIMING_FIELDS`` removed, at any depth: what two runs
    of the same sweep agree on byte for byte."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING_FIELDS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value
