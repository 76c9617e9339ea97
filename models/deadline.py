"""Time limits: every exact computation checks a ``Deadline`` between its steps."""

from __future__ import annotations

import time

from .validation import check_real

__all__ = ["Deadline", "TimeLimitExceeded"]


class TimeLimitExceeded(TimeoutError):
    """A computation reached its time limit; ``what`` says where it stopped."""

    def __init__(self, what: str, seconds: float):
        super().__init__(f"time limit of {seconds:g} s reached during {what}")
        self.what = what
        self.seconds = seconds


class Deadline:
    """A point in time after which work stops (None: never).

    Parameters
    ----------
    seconds : float or None
        The time limit from now, > 0.
    """

    def __init__(self, seconds: float | None = None, *, name: str = "time_limit"):
        self.seconds = None if seconds is None else check_real(seconds, name, low=0.0, low_open=True)
        self.start = time.monotonic()
        self.end = None if self.seconds is None else self.start + self.seconds

    @classmethod
    def of(cls, value) -> "Deadline":
        """A Deadline as given, or a new one from a number of seconds (or None)."""
        return value if isinstance(value, Deadline) else cls(value)

    def remaining(self) -> float | None:
        """Seconds left (at least a millisecond, so that a solver given it still starts), or None."""
        return None if self.end is None else max(self.end - time.monotonic(), 1e-3)

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def check(self, what: str) -> None:
        """Raise ``TimeLimitExceeded`` when the time is up."""
        if self.expired():
            raise TimeLimitExceeded(what, self.seconds)

    def elapsed(self) -> float:
        return time.monotonic() - self.start
