"""What the web tier costs while a scenario reads it: timed GETs, and the gunicorn processes'
peak RSS sampled in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
import requests


def session() -> requests.Session:
    """One keep-alive client, never through a proxy (the web app is on loopback)."""
    client = requests.Session()
    client.trust_env = False
    return client


def timed_get(client: requests.Session, url: str) -> float:
    """Milliseconds to the whole body (read, not parsed)."""
    started = time.perf_counter()
    response = client.get(url, timeout=300)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


@dataclass
class RssPeak:
    """The peak RSS (bytes) of the gunicorn master and of its worker processes (the largest
    one's)."""

    master_bytes: int = 0
    worker_bytes: int = 0


@contextmanager
def web_rss_peak(master_pid: int, every_s: float = 0.05) -> Iterator[RssPeak]:
    """The peaks, sampled every `every_s` seconds in a thread while the block runs."""
    master, peak, stop = psutil.Process(master_pid), RssPeak(), threading.Event()

    def sample() -> None:
        while True:
            try:
                peak.master_bytes = max(peak.master_bytes, master.memory_info().rss)
                for child in master.children():
                    peak.worker_bytes = max(peak.worker_bytes, child.memory_info().rss)
            except psutil.Error:
                pass  # a worker exiting between the listing and the read
            if stop.wait(every_s):
                return

    thread = threading.Thread(target=sample, name="web-rss", daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
