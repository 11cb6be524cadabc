"""Turns untrusted input (form, JSON, CLI) into a RunSpec, or says exactly what is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy, Workload

MAX_URL_LENGTH = 2048


class InvalidInput(ValueError):
    """Bad input, with the field (and line) it concerns: shown to users, never a traceback."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field}


def parse_url_lines(text: str) -> list[str]:
    """A textarea's URLs: one per line, blank lines and `#` comments skipped."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def check_urls(urls: Iterable[Any], settings: Settings) -> tuple[str, ...]:
    checked: list[str] = []
    for line, url in enumerate(urls, start=1):
        if not isinstance(url, str):
            raise InvalidInput(
                "urls", f"line {line}: expected a URL string, got {type(url).__name__}"
            )
        url = url.strip()
        if not url:
            raise InvalidInput("urls", f"line {line}: empty URL")
        if len(url) > MAX_URL_LENGTH:
            raise InvalidInput("urls", f"line {line}: URL longer than {MAX_URL_LENGTH} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
            raise InvalidInput("urls", f"line {line}: URL contains control characters")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise InvalidInput("urls", f"line {line}: {url!r} is not a valid URL ({exc})") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InvalidInput("urls", f"line {line}: {url!r} is not an http(s) URL")
        checked.append(url)
    if not checked:
        raise InvalidInput("urls", "give at least one URL")
    if len(checked) > settings.max_urls:
        raise InvalidInput(
            "urls", f"{len(checked)} URLs is more than the limit of {settings.max_urls} per run"
        )
    return tuple(checked)


def check_choice(enum: type[Enum], field: str, value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InvalidInput(field, f"{field} must be one of: {choices} (got {value!r})") from None


def check_concurrency(value: Any, settings: Settings) -> int:
    if isinstance(value, bool):
        raise InvalidInput("concurrency", "concurrency must be an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
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
    if isinstance(urls, str):
        urls = parse_url_lines(urls)
    if not isinstance(urls, list | tuple):
        raise InvalidInput("urls", "urls must be a list of URLs")
    strategy = data.get("strategy", None if strategy_required else Strategy.THREADS.value)
    if strategy is None:
        raise InvalidInput("strategy", "strategy is required")
    return RunSpec(
        urls=check_urls(urls, settings),
        strategy=check_choice(Strategy, "strategy", strategy),
        concurrency=check_concurrency(data.get("concurrency", 8), settings),
        workload=check_choice(Workload, "workload", data.get("workload", Workload.FETCH.value)),
    )
