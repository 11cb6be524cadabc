"""Soft checks: each failed expectation is written down and the test goes on, so one run of the
ten-minute smoke says everything a newcomer would meet, not only the first thing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from subprocess import TimeoutExpired

from playwright.sync_api import Error as PlaywrightError

#: How much of one failure's message the summary quotes.
MESSAGE_CHARS = 1500


class Findings:
    def __init__(self) -> None:
        self.failures: list[str] = []

    @contextmanager
    def check(self, what: str) -> Iterator[None]:
        """Record an AssertionError, a Playwright error (its timeouts) or a command's timeout
        under `what`, instead of raising it."""
        try:
            yield
        except (AssertionError, PlaywrightError, TimeoutExpired, TimeoutError) as exc:
            message = str(exc).strip() or type(exc).__name__
            self.failures.append(f"{what}: {message[:MESSAGE_CHARS]}")

    def ok_since(self, count: int) -> bool:
        """No failure recorded after the first `count`."""
        return len(self.failures) == count

    def report(self) -> str:
        return f"{len(self.failures)} failed expectation(s):\n" + "\n".join(
            f"- {failure}" for failure in self.failures
        )
