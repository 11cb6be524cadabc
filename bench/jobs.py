"""Bare RQ job functions: the baselines fanout's jobs are measured against.

They do what a plain RQ user would write, with nothing of fanout's: no records, no guard, no
heartbeat. Each thread keeps one `requests.Session` (keep-alive), as fanout's worker does.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

_local = threading.local()


def session_get(url: str) -> bytes:
    """GET with this thread's own keep-alive `requests` Session (made on first use)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False
    return session.get(url, timeout=(3, 10)).content


def noop() -> None:
    """The queue's own cost per job."""


def fetch(url: str) -> int:
    """One URL per job: the bytes of its body."""
    return len(session_get(url))


def fetch_chunk(urls: list[str], threads: int) -> int:
    """A chunk of URLs on a pool of `threads` (the bare twin of fanout's hybrid strategy)."""
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(urls)))) as pool:
        return sum(pool.map(fetch, urls))
