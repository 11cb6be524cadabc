"""What the web tier costs while a scenario reads it: timed GETs, and the gunicorn processes'
peak RSS sampled in a thread."""

from __future__ import annotations

import threading
import time
from types import TracebackType

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


class WebRssPeak:
    """The peak RSS (bytes) of the gunicorn master and of its worker processes (the largest
    one's), sampled every `every_s` seconds while the block runs."""

    def __init__(self, master_pid: int, every_s: float = 0.05) -> None:
        self.master = psutil.Process(master_pid)
        self.every_s = every_s
        self.worker_bytes = 0
        self.master_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="web-rss", daemon=True)

    def _sample(self) -> None:
        while True:
            try:
                self.master_bytes = max(self.master_bytes, self.master.memory_info().rss)
                for child in self.master.children():
                    self.worker_bytes = max(self.worker_bytes, child.memory_info().rss)
            except psutil.Error:
                pass  # a worker exiting between the listing and the read
            if self._stop.wait(self.every_s):
                return

    def __enter__(self) -> WebRssPeak:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
