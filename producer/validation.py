"""Turns untrusted input (form, JSON, CLI) into a RunSpec, or says exactly what is wrong."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy, Workload
from contract.urls import client_disagreement

MAX_URL_LENGTH = 2048


class InvalidInput(ValueError):
    """Bad input, with the field (and line) it concerns: shown to users, never a traceback."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field}


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


def is_unicode_scalars(text: str) -> bool:
    """Whether `text` can be stored and shown: JSON (and Python's `surrogateescape` argv) can
    carry a lone surrogate, which no UTF-8 page, CSV or Redis reply can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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


def url_problem(url: Any) -> str | None:
    """What is wrong with one URL, or None."""
    if not isinstance(url, str):
        return f"expected a URL string, got {type(url).__name__}"
    if not is_unicode_scalars(url):
        return "the URL is not valid Unicode (it holds a lone surrogate)"
    url = url.strip()
    if not url:
        return "empty URL"
    if len(url) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "URL contains control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    problem = client_disagreement(url)
    return None if problem is None else f"{url!r} {problem}"


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
            bad.append(f"line {number}: {problem}")
    if bad:
        shown = "; ".join(bad[:MAX_REPORTED])
        more = f"; and {len(bad) - MAX_REPORTED} more" if len(bad) > MAX_REPORTED else ""
        head = f"{len(bad)} bad lines: " if len(bad) > 1 else ""
        raise InvalidInput("urls", f"{head}{shown}{more}")
    return tuple(url.strip() for url in urls)


def check_choice(enum: type[Enum], field: str, value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InvalidInput(field, f"{field} must be one of: {choices} (got {value!r})") from None


def check_concurrency(value: Any, settings: Settings) -> int:
    if isinstance(value, bool):
        raise InvalidInput("concurrency", "concurrency must be an integer")
    if isinstance(value, float) and not math.isfinite(value):  # JSON's 1e400, Infinity, NaN
        raise InvalidInput("concurrency", f"concurrency must be a finite integer (got {value!r})")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            "concurrency", f"concurrency must be an integer (got {value!r})"
        ) from None
    if isinstance(value, float) and value != number:
        raise InvalidInput("concurrency", "concurrency must be an integer")
    if not 1 <= number <= settings.max_concurrency:
        raise InvalidInput(
            "concurrency", f"concurrency must be between 1 and {settings.max_concurrency}"
        )
    return number


def build_spec(
    data: Mapping[str, Any], settings: Settings, *, strategy_required: bool = True
) -> RunSpec:
    """Validate a submission (`urls`, `strategy`, `concurrency`, `workload`)."""
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
        strategy=check_choice(Strategy, "strategy", strategy),
        concurrency=check_concurrency(data.get("concurrency", 8), settings),
        workload=check_choice(Workload, "workload", data.get("workload", Workload.FETCH.value)),
    )
