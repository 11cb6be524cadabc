"""DNS rebinding: a name that passes the check, then resolves somewhere forbidden.

`rebind.test` resolves to an allowlisted listener (127.0.0.2:P) the first time and to a sentinel
on 127.0.0.1:P (same port, not allowlisted) every time after. A client that checks the name,
then lets its HTTP library resolve it again to connect, reaches the sentinel: the control test
below shows it does. fanout's fetchers resolve once per connection and dial the address they
checked, for `requests` and for aiohttp (whose resolver runs getaddrinfo in a thread), on the
first hop and on a redirect hop. Nothing leaves loopback: the fake resolver answers for
`rebind.test` alone and passes every other name to the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import requests

from contract.states import TaskState
from tests.reliability.conftest import figure, in_own_thread
from worker.fetch import FetchLimits, FetchOutcome
from worker.fetch_async import fetch_async, new_async_session
from worker.fetch_sync import fetch, new_session
from worker.guard import Allowlist, resolve_checked

NAME = "rebind.test"
ALLOWED_IP = "127.0.0.2"
FORBIDDEN_IP = "127.0.0.1"


class Listener:
    """Counts connections on (ip, port); answers each with `reply` (None: close at once)."""

    def __init__(self, ip: str, port: int, reply: bytes | None) -> None:
        self.reply = reply
        self.connections = 0
        self.sock = socket.create_server((ip, port))
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                if self.reply is not None:
                    with contextlib.suppress(OSError):
                        conn.settimeout(2)
                        conn.recv(65536)
                        conn.sendall(self.reply)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def http_reply(status: str, headers: str = "", body: bytes = b"ok") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{headers}"
    return head.encode() + b"\r\n" + body


def _port_free_on_both() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((ALLOWED_IP, 0))
            port = probe.getsockname()[1]
        try:
            with socket.socket() as other:
                other.bind((FORBIDDEN_IP, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free on both 127.0.0.2 and 127.0.0.1")


class Rebinder:
    """A getaddrinfo that answers `rebind.test` with ALLOWED_IP once, FORBIDDEN_IP after."""

    def __init__(self, real: Callable) -> None:
        self.real = real
        self.lookups = 0

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host != NAME or flags & socket.AI_NUMERICHOST:
            return self.real(host, port, family, type, proto, flags)
        self.lookups += 1
        ip = ALLOWED_IP if self.lookups == 1 else FORBIDDEN_IP
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 0)))]


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bytes], tuple]]:
    """Factory: (port, allowed listener, sentinel, rebinder) with the allowed one's reply."""
    made: list[Listener] = []

    def make(reply: bytes) -> tuple[int, Listener, Listener, Rebinder]:
        port = _port_free_on_both()
        allowed = Listener(ALLOWED_IP, port, reply)
        sentinel = Listener(FORBIDDEN_IP, port, None)
        made.extend([allowed, sentinel])
        rebinder = Rebinder(socket.getaddrinfo)
        monkeypatch.setattr(socket, "getaddrinfo", rebinder)
        return port, allowed, sentinel, rebinder

    yield make
    for listener in made:
        listener.close()


def limits_for(port: int) -> FetchLimits:
    return FetchLimits(
        connect_timeout_s=2,
        read_timeout_s=2,
        deadline_s=5,
        max_bytes=1 << 20,
        max_redirects=3,
        allow=Allowlist.parse(f"{ALLOWED_IP}:{port}"),
    )


def fetch_requests(url: str, limits: FetchLimits) -> FetchOutcome:
    with new_session(limits.allow) as session:  # a fresh session: a new connection
        return fetch(session, url, limits)


def fetch_aiohttp(url: str, limits: FetchLimits) -> FetchOutcome:
    async def run() -> FetchOutcome:
        async with new_async_session(limits.allow, limit=2) as session:
            return await fetch_async(session, url, limits)

    return in_own_thread(lambda: asyncio.run(run()))


FETCHERS = {"requests": fetch_requests, "aiohttp": fetch_aiohttp}


def test_check_then_fetch_without_the_guard_is_rebound(rebinding):
    """The control: checking a name, then letting a plain client resolve it again, is the hole."""
    port, allowed, sentinel, rebinder = rebinding(http_reply("200 OK"))
    resolve_checked(NAME, port, limits_for(port).allow)  # passes: 127.0.0.2 is allowlisted
    with contextlib.suppress(requests.RequestException):
        requests.get(f"http://{NAME}:{port}/", timeout=2, proxies={"http": "", "https": ""})
    assert rebinder.lookups == 2
    assert sentinel.connections == 1 and allowed.connections == 0


@pytest.mark.parametrize("client", FETCHERS)
def test_each_connection_dials_the_address_its_one_lookup_checked(rebinding, client):
    port, allowed, sentinel, rebinder = rebinding(http_reply("200 OK"))
    get = FETCHERS[client]
    url = f"http://{NAME}:{port}/"

    first = get(url, limits_for(port))
    second = get(url, limits_for(port))  # a fresh session: a new connection, a new lookup

    assert first.state is TaskState.OK and first.bytes == 2, first
    assert second.state is TaskState.REFUSED, second
    assert f"{NAME} resolves to {FORBIDDEN_IP}:{port}" in (second.error or "")
    assert allowed.connections == 1
    assert sentinel.connections == 0
    assert rebinder.lookups == 2  # exactly one resolution per connection
    figure(
        f"rebinding ({client}): 2 fetches, {rebinder.lookups} lookups, allowed listener "
        f"{allowed.connections} connection, sentinel {sentinel.connections} connections"
    )


@pytest.mark.parametrize("client", FETCHERS)
def test_a_redirect_hop_is_resolved_and_checked_again(rebinding, client):
    """The allowed listener redirects to the same name and closes its connection, so the next
    hop needs a new connection: its lookup rebinds, and the guard refuses it."""
    port, allowed, sentinel, rebinder = rebinding(
        http_reply("302 Found", "Location: /next\r\n", b"")  # same name, same port
    )
    outcome = FETCHERS[client](f"http://{NAME}:{port}/", limits_for(port))
    assert outcome.state is TaskState.REFUSED, outcome
    assert allowed.connections == 1 and sentinel.connections == 0
    assert rebinder.lookups == 2
