"""Checks that return verdicts with witnesses, the theorem registry and the command line."""

from .check_result import CheckResult

__all__ = ["CheckResult"]
