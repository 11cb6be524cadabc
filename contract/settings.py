"""Configuration from the environment: the same names for the local stack, compose and the CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

#: Where `fanout up` starts its own redis-server when REDIS_URL is not set.
DEFAULT_REDIS_PORT = 6380
DEFAULT_REDIS_URL = f"redis://127.0.0.1:{DEFAULT_REDIS_PORT}/0"


N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N) -> N:
    """`name` as the type of its default (blank: the default)."""
    raw = env.get(name, "")
    if not raw.strip():
        return default
    try:
        return type(default)(raw)
    except ValueError as exc:
        kind = "an integer" if isinstance(default, int) else "a number"
        raise ValueError(f"{name} must be {kind}, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Every knob fanout reads. See docs/configuration.md."""

    redis_url: str = DEFAULT_REDIS_URL
    redis_url_is_default: bool = True
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    web_url: str = "http://127.0.0.1:8000"
    origin_host: str = "127.0.0.1"
    origin_port: int = 8081
    origin_url: str = "http://127.0.0.1:8081"
    workers: int = 2
    allow_hosts: str = "127.0.0.1:8081"
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0
    task_deadline_s: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_urls: int = 100_000
    max_concurrency: int = 500
    #: The most fetches one submission may ask: URLs x strategies x repeat (0: max_urls).
    max_fetches: int = 0
    ttl_s: int = 24 * 3600
    cpu_rounds: int = 350_000
    api_token: str = ""
    #: The most workers one host's supervisor runs, whatever the target says.
    max_workers_per_host: int = 16

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        origin_host = env.get("ORIGIN_HOST") or "127.0.0.1"
        origin_port = _number(env, "ORIGIN_PORT", 8081)
        origin_url = (env.get("ORIGIN_URL") or f"http://{origin_host}:{origin_port}").rstrip("/")
        web_host = env.get("WEB_HOST") or "127.0.0.1"
        web_port = _number(env, "WEB_PORT", 8000)
        redis_url = env.get("REDIS_URL") or ""
        embedded_port = _number(env, "FANOUT_REDIS_PORT", DEFAULT_REDIS_PORT)
        return cls(
            redis_url=redis_url or f"redis://127.0.0.1:{embedded_port}/0",
            redis_url_is_default=not redis_url,
            web_host=web_host,
            web_port=web_port,
            web_url=(env.get("FANOUT_WEB_URL") or default_web_url(web_host, web_port)).rstrip("/"),
            origin_host=origin_host,
            origin_port=origin_port,
            origin_url=origin_url,
            workers=_number(env, "WORKERS", 2),
            allow_hosts=env.get("FANOUT_ALLOW_HOSTS") or default_allow_hosts(origin_url),
            connect_timeout_s=_number(env, "FANOUT_CONNECT_TIMEOUT_S", 3.0),
            read_timeout_s=_number(env, "FANOUT_READ_TIMEOUT_S", 10.0),
            task_deadline_s=_number(env, "FANOUT_TASK_DEADLINE_S", 20.0),
            max_bytes=_number(env, "FANOUT_MAX_BYTES", 10 * 1024 * 1024),
            max_redirects=_number(env, "FANOUT_MAX_REDIRECTS", 5),
            max_urls=_number(env, "FANOUT_MAX_URLS", 100_000),
            max_concurrency=_number(env, "FANOUT_MAX_CONCURRENCY", 500),
            max_fetches=_number(env, "FANOUT_MAX_FETCHES", 0),
            ttl_s=_number(env, "FANOUT_TTL_S", 24 * 3600),
            cpu_rounds=_number(env, "FANOUT_CPU_ROUNDS", 350_000),
            api_token=env.get("FANOUT_API_TOKEN") or "",
            max_workers_per_host=_number(env, "FANOUT_MAX_WORKERS_PER_HOST", 16),
        )


def fetch_limit(settings: Settings) -> int:
    """The most fetches one submission may ask (FANOUT_MAX_FETCHES, by default FANOUT_MAX_URLS):
    a comparison of every strategy, repeated, counts each run's URLs."""
    return settings.max_fetches or settings.max_urls


def default_web_url(web_host: str, web_port: int) -> str:
    """Where people reach the web app when FANOUT_WEB_URL does not say: a server bound to every
    interface is reached on loopback from the machine the CLI runs on."""
    host = "127.0.0.1" if web_host in ("0.0.0.0", "::", "[::]") else web_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{web_port}"


def default_allow_hosts(origin_url: str) -> str:
    """The local origin's socket is the one private destination fanout may fetch by default:
    the address it listens on and its port, nothing else on that host. The local origin listens
    on 127.0.0.1, so an origin URL naming `localhost` admits 127.0.0.1 (not ::1, which another
    server may hold on the same port)."""
    parts = urlsplit(origin_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "127.0.0.1"
    if host.rstrip(".").lower() == "localhost":
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
