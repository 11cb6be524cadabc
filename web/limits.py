"""Per-client rate limits, counted in Redis so every gunicorn process (and every web host) shares
one budget per client.

Submissions (`POST /api/runs` and the pages' forms) cost workers real time, so they are limited:
`FANOUT_RATE_LIMIT_SUBMIT` (default `DEFAULT_SUBMIT_LIMIT`), one budget per client address over
both, counted in runs: a comparison weighs its strategies x repeat. Reads are unlimited unless
`FANOUT_RATE_LIMIT_READ` is set (a run page polls its run about once a second, and every read
is one Redis round trip more when limited). A limit is Flask-Limiter's notation, `;`-separated:
`120/minute;60/second`; empty or `off` means none.

Counters live under `fanout:limits:` next to the queue and the records (same `REDIS_URL`), each
with a TTL of its window. When Redis does not answer, counting falls back to each process's
memory (the same limits, per process) instead of failing the request: the view then answers its
own 503. A client is its socket's address (`request.remote_addr`): behind a reverse proxy every
client shares the proxy's address unless the proxy's `X-Forwarded-For` is trusted first.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

from contract import keys
from contract.settings import Settings
from contract.states import Strategy
from producer.submit import MAX_REPEAT
from producer.sweep import MAX_COUNTS as MAX_SWEEP_COUNTS
from web import lessons
from web.security import token_problem

#: Every counter key starts with this (then `:LIMITER/<client>/<scope>/<amount>/<n>/<unit>`).
KEY_PREFIX = keys.rate_limits_prefix()

#: Per client address, counted in runs: a submission weighs the runs it creates (a comparison
#: of every strategy repeated 10 times weighs 60; see `submission_runs`). A person clicking Run
#: or Compare never meets it; a script looping on POST /api/runs does. `off` for none.
DEFAULT_SUBMIT_LIMIT = "120/minute;60/second"
#: The strategies a comparison runs when it names none.
ALL_STRATEGIES = len(Strategy)
DEFAULT_READ_LIMIT = ""

#: Endpoints whose POST is a submission.
SUBMIT_ENDPOINTS = frozenset(
    {"api.submit", "pages.new_run", "pages.lesson_run", "scaling_api.post_sweep"}
)
#: Submissions by a page's form, which carry a CSRF token rather than the API token.
FORM_SUBMITS = frozenset({"pages.new_run", "pages.lesson_run"})
#: Endpoints that are never limited: probes, metrics and static files.
UNLIMITED_ENDPOINTS = frozenset({"ops.healthz", "metrics.scrape", "ops.openapi"})
EXTENSION = "fanout_limiter"

#: Seconds a Redis call of the limiter may take before it counts in memory instead.
STORAGE_TIMEOUT_S = 2


def limit_text(value: object) -> str:
    """A configured limit as Flask-Limiter reads it; empty, `off`, `none` or null: no limit."""
    text = str(value).strip()  # None is "None"
    return "" if text.lower() in ("", "off", "none", "0") else text


def _is_submission() -> bool:
    """A POST that submits work. One the API refuses for its token (401) is not: it costs
    workers nothing, and a wrong token must not use up the client's budget."""
    return (
        request.method == "POST"
        and request.endpoint in SUBMIT_ENDPOINTS
        and (request.endpoint in FORM_SUBMITS or token_problem() is None)
    )


def submission_runs() -> int:
    """How many runs this submission asks (its weight in the submit limit): 1 for a run,
    strategies x repeat for a comparison, a run per worker count for a sweep. Read leniently: a
    body the view then refuses weighs 1 (it is still a request)."""
    if request.endpoint == "api.submit":
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or data.get("compare") is not True:
            return 1
        strategies = data.get("strategies")
        count = len(strategies) if isinstance(strategies, list) and strategies else ALL_STRATEGIES
        return min(count, ALL_STRATEGIES) * _repeat(data.get("repeat"))
    if request.endpoint == "scaling_api.post_sweep":
        data = request.get_json(silent=True)
        counts = data.get("workers") if isinstance(data, dict) else None
        return min(len(counts), MAX_SWEEP_COUNTS) if isinstance(counts, list) and counts else 1
    if request.endpoint == "pages.new_run" and request.form.get("compare"):
        return ALL_STRATEGIES * _repeat(request.form.get("repeat"))
    if request.endpoint == "pages.lesson_run":
        lesson = lessons.BY_KEY.get((request.view_args or {}).get("key", ""))
        return len(lesson.strategies) if lesson else 1
    return 1


def _repeat(value: object) -> int:
    """A comparison's repeat as sent; 1 when it is not a whole number the view would take."""
    text = "" if isinstance(value, bool) else str(value).strip()
    if text.isascii() and text.isdigit() and len(text) <= 2:
        return max(1, min(int(text), MAX_REPEAT))
    return 1


def _is_read() -> bool:
    endpoint = request.endpoint or ""
    return (
        request.method in ("GET", "HEAD")
        and endpoint not in UNLIMITED_ENDPOINTS
        and not endpoint.startswith("assets.")
    )


def init_limits(app: Flask, settings: Settings) -> None:
    """One Limiter per app (tests build several apps in one process, each on its own Redis)."""
    submit = limit_text(app.config.get("RATE_LIMIT_SUBMIT", DEFAULT_SUBMIT_LIMIT))
    read = limit_text(app.config.get("RATE_LIMIT_READ", DEFAULT_READ_LIMIT))
    for name, text in (("FANOUT_RATE_LIMIT_SUBMIT", submit), ("FANOUT_RATE_LIMIT_READ", read)):
        if text:
            try:
                parse_many(text)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
    groups = [
        ApplicationLimit(
            submit,
            scope="submit",
            cost=lambda: submission_runs() if _is_submission() else 1,
            exempt_when=lambda: not _is_submission(),
        ),
        ApplicationLimit(read, scope="read", exempt_when=lambda: not _is_read()),
    ]
    limiter = Limiter(
        get_remote_address,
        application_limits=[group for group in groups if group.limit_provider],
        storage_uri=settings.redis_url,
        storage_options={
            "key_prefix": KEY_PREFIX,
            "socket_connect_timeout": STORAGE_TIMEOUT_S,
            "socket_timeout": STORAGE_TIMEOUT_S,
        },
        strategy=app.config.get("RATELIMIT_STRATEGY", "fixed-window"),
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        enabled=bool(submit or read) and app.config.get("RATELIMIT_ENABLED", True),
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter


def retry_after_s() -> int:
    """Seconds until the limit this request broke lets the client in again (at least 1)."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 1
    try:
        return max(1, math.ceil(current.reset_at - time.time()))
    except Exception:  # the storage went away between the hit and this answer
        return max(1, int(current.limit.get_expiry()))
