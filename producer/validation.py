"""Turns untrusted input (form, upload, JSON, CLI) into a RunSpec, or says exactly what is wrong.

The verdict on each value is contract.verdicts' (the worker asks it too); this module applies it
to a whole submission and reports every bad line at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contract import verdicts
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy, Workload
from contract.verdicts import InvalidInput, url_problem

__all__ = ["FleetConflict", "InvalidInput", "build_spec", "check_urls"]


class FleetConflict(InvalidInput):
    """Well-formed, but beyond what the live hosts can run right now (an API answers 409)."""


def whole_number(value: Any) -> int | None:
    """`value` as an int if JSON sent a whole number (`3`, or `3.0`, which JSON Schema calls an
    integer too), else None (booleans are not numbers here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


#: Bad lines named in one message; the count says how many more there were.
MAX_REPORTED = 20


def numbered_url_lines(text: str) -> list[tuple[int, str]]:
    """A text's URLs with their line numbers: one per line, blank lines and `#` comments
    skipped (a pasted list, an uploaded file, stdin)."""
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def parse_url_lines(text: str) -> list[str]:
    return [url for _, url in numbered_url_lines(text)]


def check_urls(
    urls: Sequence[Any], settings: Settings, *, lines: Sequence[int] | None = None
) -> tuple[str, ...]:
    """Every URL checked, and every bad one reported at once (by line: `lines` gives each URL's
    line in the text it came from, else its position)."""
    if not urls:
        raise InvalidInput("urls", "give at least one URL")
    if len(urls) > settings.max_urls:
        raise InvalidInput(
            "urls", f"{len(urls)} URLs is more than the limit of {settings.max_urls} per run"
        )
    numbers = lines if lines is not None else range(1, len(urls) + 1)
    bad = []
    for number, url in zip(numbers, urls, strict=True):
        problem = url_problem(url)
        if problem is not None:
            shown = f"{url[:100]!r}: " if isinstance(url, str) and url else ""
            bad.append(f"line {number}: {shown}{problem}")
    if bad:
        shown = "; ".join(bad[:MAX_REPORTED])
        more = f"; and {len(bad) - MAX_REPORTED} more" if len(bad) > MAX_REPORTED else ""
        head = f"{len(bad)} bad lines: " if len(bad) > 1 else ""
        raise InvalidInput("urls", f"{head}{shown}{more}")
    return tuple(urls)


def build_spec(
    data: Mapping[str, Any], settings: Settings, *, strategy_required: bool = True
) -> RunSpec:
    """Validate a submission (`urls` as a list or as text, one a line; `strategy`,
    `concurrency`, `workload`) as the form, the upload and the CLI send it."""
    urls = data.get("urls")
    lines = None
    if isinstance(urls, str):
        numbered = numbered_url_lines(urls)
        urls, lines = [url for _, url in numbered], [number for number, _ in numbered]
    if not isinstance(urls, list | tuple):
        raise InvalidInput("urls", "urls must be a list of URLs")
    strategy = data.get("strategy", None if strategy_required else Strategy.THREADS.value)
    if strategy is None:
        raise InvalidInput("strategy", "strategy is required")
    return RunSpec(
        urls=check_urls(urls, settings, lines=lines),
        strategy=verdicts.choice(Strategy, "strategy", strategy),
        concurrency=verdicts.whole_number(
            data.get("concurrency", 8), "concurrency", 1, settings.max_concurrency
        ),
        workload=verdicts.choice(Workload, "workload", data.get("workload", Workload.FETCH.value)),
    )
