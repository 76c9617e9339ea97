"""Summary rows of a sweep, computed from its records (not from ``TrialReport`` objects)."""

from __future__ import annotations

from typing import Iterable, Mapping

from ..summary import empty_row, summarize
from .tasks import OK, STATUSES

TIMING_FIELDS = frozenset({"seconds"})


def summary_rows(records: Iterable[dict]) -> list[dict]:
    """One row per theorem of the "trial" records: ``verify.summary.summarize`` of their reports,
    with one more column.

    Parameters
    ----------
    records : iterable of dict
        Records as stored (``tasks.run_task``); other kinds are left out. Rows come in the
        order their theorems first appear.

    Returns
    -------
    list of dict
        The columns of ``verify.summary.summarize``, and errors: the trials that raised or
        crashed (counted in trials, not in held, failed or unknown).
    """
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
        raise ValueError(f"records: expected an iterable of sweep records, got {type(records).__name__}")
    order, reports, errors = {}, [], {}
    for record in (_checked(r, "records") for r in records):
        if record["key"]["kind"] != "trial":
            continue
        theorem = record["key"]["id"]
        order.setdefault(theorem, len(order))
        if record["status"] == OK:
            reports.append(_report(record))
        else:
            errors[theorem] = errors.get(theorem, 0) + 1
    rows = {row["theorem"]: {**row, "errors": 0} for row in summarize(reports)}
    for theorem, count in errors.items():
        row = rows.setdefault(theorem, {**empty_row(theorem), "errors": 0})
        row["trials"] += count
        row["errors"] = count
    return sorted(rows.values(), key=lambda row: order[row["theorem"]])


def _checked(record, name: str) -> dict:
    """A record as ``tasks.run_task`` makes it: a key (kind, id, seed) and a status."""
    key = record.get("key") if isinstance(record, Mapping) else None
    if not isinstance(key, Mapping) or not {"kind", "id", "seed"} <= key.keys() or record.get("status") not in STATUSES:
        raise ValueError(f"{name}: expected sweep records (a key with kind, id and seed, and a status), got {str(record)[:80]!r}")
    return record


def _report(record) -> dict:
    result = record.get("result")
    if not (isinstance(result, Mapping) and isinstance(result.get("report"), Mapping)):
        raise ValueError(f"records: the trial record of {record['key']['id']} seed={record['key']['seed']} has no report")
    return result["report"]


def is_failure(record: dict) -> bool:
    """Did this record's task raise, crash, or (a trial) not hold?"""
    if record["status"] != OK:
        return True
    summary = (record.get("result") or {}).get("summary")
    return isinstance(summary, dict) and "held" in summary and not summary["held"]


def describe_failure(record: dict) -> str:
    """One line for a failed record: "FAILED T2 seed=3: conclusion:affine_equivalence",
    "ERROR T2 seed=3: RuntimeError: ..." or "CRASHED T2 seed=3: KilledWorker: ..."."""
    key = _checked(record, "record")["key"]
    where = f"{key['id']} seed={key['seed']}"
    if record["status"] != OK:
        error = record.get("error") or {}
        message = str(error.get("message", "")).splitlines()[0] if error.get("message") else ""
        return f"{record['status'].upper()} {where}: {error.get('type', '?')}: {message}"
    summary = (record.get("result") or {}).get("summary", {})
    outcome = str(summary.get("outcome") or "failed").upper()
    return f"{outcome} {where}: {', '.join(summary.get('failed_steps', [])) or 'did not hold'}"


def without_timing(value):
    """``value`` with every field named in ``TIMING_FIELDS`` removed, at any depth: what two runs
    of the same sweep agree on byte for byte."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING_FIELDS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value
