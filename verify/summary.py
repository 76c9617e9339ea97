"""The run summary: one row per result from trial reports (objects or their dicts)."""

from __future__ import annotations

import math

__all__ = ["empty_row", "format_table", "summarize"]


def _record(report) -> dict:
    return report if isinstance(report, dict) else report.to_dict()


def summarize(reports) -> list[dict]:
    """One row per theorem: trials, held, failed, unknown, the worst conclusion (largest ratio of its
    statistic to its tolerance in the failing direction) with its tolerance and comparison, failed
    steps (each with a witness), time."""
    rows: dict[str, dict] = {}
    for report in map(_record, reports):
        row = rows.setdefault(report["theorem"], empty_row(report["theorem"]))
        row["trials"] += 1
        row[report["outcome"]] += 1
        row["witnesses"] += sum(step["outcome"] == "failed" for step in report["steps"])
        row["seconds"] += report["seconds"]
        worst = report.get("worst_check")
        ratio = _as_float(report["worst_error"])
        if worst is not None and not math.isnan(ratio) and not ratio <= _as_float(row["worst_ratio"]):
            row.update(worst_ratio=ratio, worst_statistic=_as_float(worst["statistic"]), tolerance=_as_float(worst["tolerance"]),
                       passes_when=worst["passes_when"], worst_check=worst["name"])
    return list(rows.values())


def empty_row(theorem: str) -> dict:
    """The row of a theorem before any trial."""
    return {"theorem": theorem, "trials": 0, "held": 0, "failed": 0, "unknown": 0, "worst_ratio": math.nan,
            "worst_statistic": math.nan, "tolerance": math.nan, "passes_when": None, "worst_check": "", "witnesses": 0,
            "seconds": 0.0}


def _as_float(value) -> float:
    """Floats of records read back from JSON, where non-finite numbers are strings ("nan", "inf")."""
    return float(value)


def format_table(rows: list[dict]) -> str:
    """The summary as text: the worst statistic with its comparison and tolerance, and their ratio."""
    header = (f"{'theorem':8} {'trials':>6} {'held':>5} {'failed':>6} {'unknown':>7} {'worst statistic':>24} {'ratio':>8}  "
              f"{'check':22} {'witnesses':>9} {'time s':>7}")
    lines = [header, "-" * len(header)]
    for r in rows:
        if math.isnan(r["worst_ratio"]):
            worst, ratio = "-", "-"
        else:
            worst = f"{r['worst_statistic']:.2e} {r['passes_when']} {r['tolerance']:.1e}"
            ratio = f"{r['worst_ratio']:.2e}"
        lines.append(f"{r['theorem']:8} {r['trials']:>6} {r['held']:>5} {r['failed']:>6} {r['unknown']:>7} {worst:>24} {ratio:>8}  "
                     f"{r['worst_check']:22} {r['witnesses']:>9} {r['seconds']:>7.1f}")
    return "\n".join(lines)
