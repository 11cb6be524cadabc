"""Soft checks: each failed expectation is written down and the test goes on, so one run of the
ten-minute smoke says everything a newcomer would meet, not only the first thing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from subprocess import TimeoutExpired

from playwright.sync_api import Error as PlaywrightError

#: How much of one failure's message the summary quotes.
MESSAGE_CHARS = 1500


def short(message: str) -> str:
    """One line: a Playwright assertion's verdict and what it waited for, without its call log
    and the page's accessibility tree (the screenshot shows the page)."""
    head, _, call_log = message.partition("\nCall log:")
    waited = [line.strip(" -") for line in call_log.splitlines() if line.strip().startswith("- ")]
    text = " ".join(head.split())
    if waited:
        text += f" [{waited[0]}]"
    return text[:MESSAGE_CHARS]


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
            self.failures.append(f"{what}: {short(str(exc)) or type(exc).__name__}")

    def ok_since(self, count: int) -> bool:
        """No failure recorded after the first `count`."""
        return len(self.failures) == count

    def report(self) -> str:
        return f"{len(self.failures)} failed expectation(s):\n" + "\n".join(
            f"- {failure}" for failure in self.failures
        )
