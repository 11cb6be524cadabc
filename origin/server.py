"""Run the origin in its own process: one event loop, a deep accept queue, no access log."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal

from aiohttp import web

from origin.app import create_app

#: Deep accept queue, so a burst of 1,000 connects is queued rather than refused or retried.
BACKLOG = 2048
#: On shutdown aiohttp waits this long for in-flight requests (a /hang, a long /delay), then as
#: long again for them to take their cancellation: shutdown takes at most about twice this.
SHUTDOWN_TIMEOUT_S = 0.5


def _raise_open_files_limit() -> None:
    """Each concurrent client costs a file descriptor; the default soft limit may be 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


async def _serve(host: str, port: int) -> None:
    runner = web.AppRunner(
        create_app(),
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=BACKLOG, reuse_address=True)
        await site.start()
        bound_port = runner.addresses[0][1]
        shown_host = f"[{host}]" if ":" in host else host
        print(f"origin listening on http://{shown_host}:{bound_port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then stop within about a second. Port 0 picks a free one.

    Prints one line, "origin listening on http://HOST:PORT", once the socket accepts.
    """
    _raise_open_files_limit()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before the signal handlers are set.
        asyncio.run(_serve(host, port))
