"""The fetcher against the real origin, a sentinel listener and a header-dripping server.

Every case runs twice: `fetch` (requests) and `fetch_async` (aiohttp) must agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import resource
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import requests

from contract.settings import Settings
from contract.states import TaskState
from worker.fetch import NO_DIGEST, FetchLimits, FetchOutcome
from worker.fetch_async import fetch_async, new_async_session
from worker.fetch_sync import fetch, new_session
from worker.guard import Allowlist, Refused

#: (url, limits, *, digest=False) -> FetchOutcome, with either client.
Fetcher = Callable[..., FetchOutcome]
#: "LOCALHOST" in fullwidth letters, which IDNA maps back to ASCII.
FULLWIDTH_LOCALHOST = "".join(chr(ord(c) + 0xFEE0) for c in "LOCALHOST")
MIB = 1024 * 1024
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def limits(allow: Allowlist, **overrides: float) -> FetchLimits:
    values: dict = {
        "connect_timeout_s": 2.0,
        "read_timeout_s": 5.0,
        "deadline_s": 10.0,
        "max_bytes": 10 * MIB,
        "max_redirects": 5,
        "allow": allow,
    }
    values.update(overrides)
    return FetchLimits(**values)


def fetch_sync(url: str, lim: FetchLimits, *, digest: bool = False) -> FetchOutcome:
    with new_session(lim.allow) as session:
        return fetch(session, url, lim, digest=digest)


def fetch_in_loop(url: str, lim: FetchLimits, *, digest: bool = False) -> FetchOutcome:
    async def run() -> FetchOutcome:
        async with new_async_session(lim.allow, limit=4) as session:
            return await fetch_async(session, url, lim, digest=digest)

    return asyncio.run(run())


@pytest.fixture(params=["requests", "aiohttp"])
def get(request: pytest.FixtureRequest) -> Fetcher:
    return fetch_sync if request.param == "requests" else fetch_in_loop


class Listener:
    """A TCP listener that counts connections and answers nothing: it must never see one."""

    def __init__(self, reply: Callable[[socket.socket], None] | None = None) -> None:
        self.accepted = 0
        self._reply = reply
        self._socks = [socket.create_server(("127.0.0.1", 0))]
        self.port = self._socks[0].getsockname()[1]
        with contextlib.suppress(OSError):  # Same port on ::1, where IPv6 exists.
            self._socks.append(socket.create_server(("::1", self.port), family=socket.AF_INET6))
        self._stop = threading.Event()
        for sock in self._socks:
            sock.settimeout(0.1)
            threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            self.accepted += 1
            if self._reply is None:
                conn.close()
            else:
                threading.Thread(target=self._reply, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        for sock in self._socks:
            sock.close()


@pytest.fixture
def sentinel() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture
def allow(origin_url: str) -> Allowlist:
    return Allowlist.parse(f"127.0.0.1:{origin_url.rsplit(':', 1)[1]}")


def hostile_urls(port: int) -> list[str]:
    """Every spelling of "the sentinel on loopback" we know of."""
    return [
        f"http://127.0.0.1:{port}/",
        f"https://127.0.0.1:{port}/",
        f"http://2130706433:{port}/",
        f"http://0177.0.0.1:{port}/",
        f"http://0x7f.0.0.1:{port}/",
        f"http://0x7f000001:{port}/",
        f"http://017700000001:{port}/",
        f"http://127.1:{port}/",
        f"http://0:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://localhost:{port}/",
        f"http://LocalHost:{port}/",
        f"http://localhost.:{port}/",
        f"http://[::1]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://[::ffff:7f00:1]:{port}/",
        f"http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/",
        f"http://[::ffff:0.0.0.0]:{port}/",
        f"http://[::]:{port}/",
        f"http://example.com@127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}/#@example.com/",
    ]


@pytest.mark.parametrize("allow_text", ["", "127.0.0.1:1,localhost:1"])
def test_hostile_spellings_never_reach_the_sentinel(
    get: Fetcher, sentinel: Listener, allow_text: str
) -> None:
    lim = limits(Allowlist.parse(allow_text))
    for url in hostile_urls(sentinel.port):
        outcome = get(url, lim)
        assert outcome.state is TaskState.REFUSED, (url, outcome)
        assert outcome.error and outcome.error.startswith("refused: "), (url, outcome)
    assert sentinel.accepted == 0


def test_parser_differential_spellings_never_reach_the_sentinel(
    get: Fetcher, sentinel: Listener
) -> None:
    """requests rejects Unicode-digit hosts itself (ERROR); aiohttp maps them to 127.0.0.1 and
    the connection guard refuses them. Neither may connect."""
    port = sentinel.port
    for url in (
        f"http://127。0。0。1:{port}/",
        f"http://①②⑦.0.0.1:{port}/",
        f"http://{FULLWIDTH_LOCALHOST}:{port}/",
        f"http://%31%32%37.0.0.1:{port}/",
    ):
        outcome = get(url, limits(Allowlist()))
        assert outcome.state in (TaskState.REFUSED, TaskState.ERROR), (url, outcome)
    assert sentinel.accepted == 0


def test_a_guarded_requests_session_refuses_on_its_own(sentinel: Listener) -> None:
    """No pre-checks from `fetch` here: the connection layer alone must say no."""
    with new_session(Allowlist()) as session:
        for url in hostile_urls(sentinel.port):
            if "@" in url:
                continue  # requests would send the userinfo as credentials; check_url refuses it
            with pytest.raises(Refused):
                session.get(url, timeout=2)
    assert sentinel.accepted == 0


def test_a_guarded_aiohttp_session_refuses_on_its_own(
    sentinel: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp 3.14 rejects legacy IPv4 spellings itself, resolves hex ones through our resolver,
    and skips the resolver for IP literals, which the socket factory then refuses."""
    resolved: list[str] = []
    from worker import fetch_async as async_module

    original = async_module._GuardedResolver.resolve

    async def recording(self, host, port=0, family=socket.AF_INET):  # type: ignore[no-untyped-def]
        resolved.append(host)
        return await original(self, host, port, family)

    monkeypatch.setattr(async_module._GuardedResolver, "resolve", recording)

    async def run() -> dict[str, str]:
        errors: dict[str, str] = {}
        async with new_async_session(Allowlist(), limit=4) as session:
            for url in hostile_urls(sentinel.port):
                if "@" in url:
                    continue
                with pytest.raises(Exception) as info:  # the kind is the point
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)):
                        pass
                errors[url.split("//")[1].rsplit(":", 1)[0]] = type(info.value).__name__
        return errors

    errors = asyncio.run(run())
    assert sentinel.accepted == 0
    assert errors["2130706433"] == "InvalidUrlClientError"
    assert errors["127.1"] == "InvalidUrlClientError"
    assert errors["0x7f.0.0.1"] == "Refused"
    assert errors["[::ffff:127.0.0.1]"] == "ClientConnectorError"  # wraps our refusal
    assert "0x7f.0.0.1" in resolved and "localhost" in resolved
    assert "2130706433" not in resolved and "127.0.0.1" not in resolved


def test_proxy_environment_is_ignored(
    get: Fetcher,
    origin_url: str,
    allow: Allowlist,
    sentinel: Listener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in PROXY_VARS:
        monkeypatch.setenv(name, f"http://127.0.0.1:{sentinel.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    outcome = get(f"{origin_url}/bytes/100", limits(allow))
    assert outcome.state is TaskState.OK, outcome
    assert sentinel.accepted == 0


def test_ok_counts_bytes_and_digests_the_body(
    get: Fetcher, origin_url: str, allow: Allowlist
) -> None:
    from origin.app import filler

    for path, n in (("/bytes/12345", 12345), ("/bytes/70000?chunk=1000", 70000)):
        outcome = get(f"{origin_url}{path}", limits(allow), digest=True)
        assert outcome == FetchOutcome(
            state=TaskState.OK,
            status_code=200,
            bytes=n,
            error=None,
            digest=hashlib.sha256(filler(n)).digest(),
        )
        # Not asked for: the body is counted, not hashed (the fetch workload never reads it).
        assert get(f"{origin_url}{path}", limits(allow)) == FetchOutcome(
            state=TaskState.OK, status_code=200, bytes=n, error=None, digest=NO_DIGEST
        )
    empty = get(f"{origin_url}/bytes/0", limits(allow), digest=True)
    empty_digest = hashlib.sha256(b"").digest()
    assert (empty.state, empty.bytes, empty.digest) == (TaskState.OK, 0, empty_digest)


def test_404_is_http_error(get: Fetcher, origin_url: str, allow: Allowlist) -> None:
    outcome = get(f"{origin_url}/status/404", limits(allow))
    assert (outcome.state, outcome.status_code, outcome.error) == (TaskState.HTTP_ERROR, 404, None)


def test_redirect_chain_within_the_cap_is_followed(
    get: Fetcher, origin_url: str, allow: Allowlist
) -> None:
    outcome = get(f"{origin_url}/redirect/5", limits(allow, max_redirects=5))
    assert (outcome.state, outcome.status_code) == (TaskState.OK, 200)


def test_redirect_loop_is_an_error(get: Fetcher, origin_url: str, allow: Allowlist) -> None:
    outcome = get(f"{origin_url}/redirect-loop", limits(allow))
    assert outcome.state is TaskState.ERROR
    assert "more than 5 redirects" in (outcome.error or "")


def test_redirect_to_a_forbidden_port_is_refused(
    get: Fetcher, origin_url: str, allow: Allowlist, sentinel: Listener
) -> None:
    for target in (
        f"http://127.0.0.1:{sentinel.port}/",
        f"http://2130706433:{sentinel.port}/",
        f"http://[::ffff:127.0.0.1]:{sentinel.port}/",
        "file:///etc/passwd",
    ):
        outcome = get(f"{origin_url}/redirect-to?url={target}", limits(allow))
        assert outcome.state is TaskState.REFUSED, (target, outcome)
    assert sentinel.accepted == 0


def test_drip_ends_at_the_total_deadline(get: Fetcher, origin_url: str, allow: Allowlist) -> None:
    started = time.monotonic()
    outcome = get(
        f"{origin_url}/drip?bytes=100&interval_ms=300",
        limits(allow, read_timeout_s=1.0, deadline_s=1.5),
    )
    elapsed = time.monotonic() - started
    assert outcome.state is TaskState.TIMEOUT, outcome
    assert "deadline" in (outcome.error or "")
    assert 1.4 < elapsed < 1.5 + 3, elapsed  # the drip alone would take 30 s
    assert 0 < outcome.bytes < 100


def test_header_drip_ends_at_the_total_deadline(get: Fetcher) -> None:
    """A per-read timeout never fires on a header line that grows a byte at a time."""

    def drip_headers(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            for _ in range(300):
                time.sleep(0.2)
                conn.sendall(b"x")

    server = Listener(reply=drip_headers)
    try:
        lim = limits(
            Allowlist.parse(f"127.0.0.1:{server.port}"), read_timeout_s=1.0, deadline_s=1.5
        )
        started = time.monotonic()
        outcome = get(f"http://127.0.0.1:{server.port}/", lim)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert outcome.state is TaskState.TIMEOUT, outcome
    assert elapsed < 1.5 + 1, elapsed


def _slow_redirect(conn: socket.socket) -> None:
    """Each request answered after 0.6 s, with a redirect to the next one."""
    with contextlib.suppress(OSError), conn:
        conn.recv(65536)
        time.sleep(0.6)
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n"
            b"Connection: close\r\n\r\n"
        )


def test_slow_redirects_end_at_the_total_deadline(get: Fetcher) -> None:
    """No hop passes its own timeouts; the deadline covers them all together."""
    server = Listener(reply=_slow_redirect)
    try:
        lim = limits(
            Allowlist.parse(f"127.0.0.1:{server.port}"),
            read_timeout_s=1.0,
            deadline_s=1.5,
            max_redirects=10,
        )
        started = time.monotonic()
        outcome = get(f"http://127.0.0.1:{server.port}/", lim)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert outcome.state is TaskState.TIMEOUT, outcome
    assert "deadline" in (outcome.error or ""), outcome
    assert outcome.status_code == 302
    assert 1.4 < elapsed < 1.5 + 1, elapsed
    assert server.accepted == 3


def test_hang_is_a_read_timeout(get: Fetcher, origin_url: str, allow: Allowlist) -> None:
    started = time.monotonic()
    outcome = get(f"{origin_url}/hang", limits(allow, read_timeout_s=1.0))
    assert outcome.state is TaskState.TIMEOUT, outcome
    assert time.monotonic() - started < 3


def test_gzip_bomb_is_counted_raw_and_never_inflated(
    get: Fetcher, origin_url: str, allow: Allowlist
) -> None:
    get(f"{origin_url}/gzip-bomb?mb=200", limits(allow, deadline_s=60))  # let the origin build it
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = get(f"{origin_url}/gzip-bomb?mb=200", limits(allow))
    growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib) / 1024
    assert outcome.state is TaskState.OK, outcome
    assert 0 < outcome.bytes < MIB  # 200 MiB of zeros gzip to about 200 KiB
    assert growth_mib < 100


def test_body_over_max_bytes_stops_at_the_cap(
    get: Fetcher, origin_url: str, allow: Allowlist
) -> None:
    for path in ("/huge", "/huge?gb=0"):
        outcome = get(f"{origin_url}{path}", limits(allow, max_bytes=MIB))
        assert outcome.state is TaskState.ERROR, outcome
        assert outcome.error == f"BodyTooLarge: body exceeds max_bytes {MIB}"
        assert outcome.bytes == MIB + 1


def test_connection_refused_on_an_allowlisted_port_is_an_error(get: Fetcher) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    outcome = get(f"http://127.0.0.1:{port}/", limits(Allowlist.parse(f"127.0.0.1:{port}")))
    assert outcome.state is TaskState.ERROR, outcome
    assert outcome.error and len(outcome.error) <= 300


def test_unresolvable_name_is_an_error(get: Fetcher) -> None:
    outcome = get("http://no-such-host.invalid/", limits(Allowlist()))
    assert outcome.state is TaskState.ERROR, outcome


@pytest.fixture
def hung_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A name whose lookup hangs like a dead nameserver's, until the test ends."""
    name, release = "hung-dns.test", threading.Event()
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == name:
            release.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "the resolver never answered")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield name
    release.set()


def test_a_hung_name_lookup_ends_at_the_connect_timeout(get: Fetcher, hung_resolver: str) -> None:
    """No socket timeout covers getaddrinfo; glibc can retry a dead nameserver for 30 s."""
    outcome = get(f"http://{hung_resolver}/", limits(Allowlist(), connect_timeout_s=0.5))
    assert outcome.state is TaskState.TIMEOUT, outcome


def test_a_plain_session_is_refused(origin_url: str, allow: Allowlist) -> None:
    with requests.Session() as session:
        outcome = fetch(session, f"{origin_url}/bytes/1", limits(allow))
    assert outcome.state is TaskState.REFUSED
    assert "no address guard" in (outcome.error or "")


def test_limits_from_settings() -> None:
    settings = Settings(allow_hosts="127.0.0.1:8081", task_deadline_s=7.0, max_bytes=5)
    lim = FetchLimits.from_settings(settings)
    assert (lim.deadline_s, lim.max_bytes, lim.max_redirects) == (7.0, 5, 5)
    assert lim.allow == Allowlist.parse("127.0.0.1:8081")


#: A self-signed certificate for DNS:localhost only (no IP), valid until 2126. Test use only.
LOCALHOST_CERT = """\
-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUQcj+gfgKnAMp34fXT3Rgsf4qdWYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNTA5MDAyMloYDzIxMjYxMTAx
MDkwMDIyWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASmCC50BaROflptsI8JMs8HE8O3Dm5eAIUnUYCUASzF2WKdooZjA9VX
O0EGkQaPUq/vO/dDKu5DtZ9Y56qDw5Dpo2kwZzAdBgNVHQ4EFgQUhEZf+idxzalV
wT/xjyCsKesPbC0wHwYDVR0jBBgwFoAUhEZf+idxzalVwT/xjyCsKesPbC0wFAYD
VR0RBA0wC4IJbG9jYWxob3N0MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIgHHUXfsJLWYeSg+T9uHsNB/UsfP+gE98HcOhyoN8X/24CIQDqlWuCVv3d
aQHW2bC3E4u92MJfF4qVYTh1amPGz54WNg==
-----END CERTIFICATE-----
"""
LOCALHOST_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9ixaFzWIRCJTSqHm
nQnoPigNTYNkqfGI2eeZ06YpDpihRANCAASmCC50BaROflptsI8JMs8HE8O3Dm5e
AIUnUYCUASzF2WKdooZjA9VXO0EGkQaPUq/vO/dDKu5DtZ9Y56qDw5Dp
-----END PRIVATE KEY-----
"""


@pytest.fixture
def tls_localhost(tmp_path: Path) -> Iterator[tuple[Listener, Path, list[str | None]]]:
    """An HTTPS server for "localhost" that records the SNI name each client sent."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(LOCALHOST_CERT)
    key.write_text(LOCALHOST_KEY)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_ctx.sni_callback = lambda _sock, name, _ctx: names.append(name)

    def answer(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    server = Listener(reply=answer)
    yield server, cert, names
    server.close()


def test_https_dials_the_checked_ip_but_verifies_the_url_host(
    tls_localhost: tuple[Listener, Path, list[str | None]],
) -> None:
    server, cert, names = tls_localhost
    # [::1] spelled: a dual-stack host's localhost resolves to ::1 too, which a name never admits.
    allowed = f"127.0.0.1:{server.port},[::1]:{server.port},localhost:{server.port}"
    lim = limits(Allowlist.parse(allowed))
    with new_session(lim.allow) as session:
        session.verify = str(cert)
        outcome = fetch(session, f"https://localhost:{server.port}/", lim)
        assert (outcome.state, outcome.bytes) == (TaskState.OK, 2), outcome
        assert names == ["localhost"]
        # The certificate names localhost, not 127.0.0.1: dialling the IP must not verify.
        by_ip = fetch(session, f"https://127.0.0.1:{server.port}/", lim)
        assert by_ip.state is TaskState.ERROR
        assert "certificate" in (by_ip.error or "").lower()

    async def run() -> int:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        async with new_async_session(lim.allow, limit=2) as session:
            url = f"https://localhost:{server.port}/"
            async with session.get(url, ssl=client_ctx) as resp:
                return resp.status

    assert asyncio.run(run()) == 200
    assert names[-1] == "localhost"


def test_rq_job_timeout_is_not_swallowed(get: Fetcher, origin_url: str, allow: Allowlist) -> None:
    """RQ ends an overlong job by raising from a SIGALRM handler; a fetch must let it through."""
    from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty

    started = time.monotonic()
    with (
        pytest.raises(JobTimeoutException),
        UnixSignalDeathPenalty(1, JobTimeoutException),
    ):
        get(f"{origin_url}/hang", limits(allow, read_timeout_s=10.0))
    assert time.monotonic() - started < 3


def test_fetch_async_lets_cancellation_through(origin_url: str, allow: Allowlist) -> None:
    async def run() -> None:
        async with new_async_session(allow, limit=2) as session:
            task = asyncio.create_task(fetch_async(session, f"{origin_url}/hang", limits(allow)))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(run())


def test_the_deadline_watchdog_sleeps_through_fetches_that_end_in_time() -> None:
    """Each sync fetch arms the watchdog; one that ends before its deadline must not wake it
    (a thread wakeup per tiny task), while an earlier deadline still does, and fires on time."""
    from worker.fetch_sync import _Alarm, _Watch

    alarm = _Alarm()
    for _ in range(200):
        watch = _Watch()
        alarm.arm(time.monotonic() + 20, watch)
        watch.done = True
    time.sleep(0.2)
    assert alarm.wakeups <= 1  # the thread's first look at its heap

    urgent = _Watch()
    alarm.arm(time.monotonic() + 0.2, urgent)
    started = time.monotonic()
    while not urgent.fired and time.monotonic() - started < 3:
        time.sleep(0.01)
    assert urgent.fired
    assert 0.15 < time.monotonic() - started < 1


def test_a_warm_async_fetch_arms_no_timer_of_its_own(origin_url: str, allow: Allowlist) -> None:
    """aiohttp's total and read timeouts armed two or three loop timers per tiny fetch (the read
    one again on every chunk): a fifth of its client CPU. The watchdog's one sleep per interval
    replaces them, so fetches on a pooled connection arm (almost) none."""
    armed = 0

    class CountingLoop(asyncio.SelectorEventLoop):
        def call_at(self, when, callback, *args, context=None):  # type: ignore[no-untyped-def]
            nonlocal armed
            armed += 1
            return super().call_at(when, callback, *args, context=context)

    async def run() -> list[FetchOutcome]:
        nonlocal armed
        lim = limits(allow)
        async with new_async_session(allow, limit=1) as session:
            await fetch_async(session, f"{origin_url}/delay/0", lim)  # the connection is made
            armed = 0
            return [
                await fetch_async(session, f"{origin_url}/delay/0?i={i}", lim) for i in range(50)
            ]

    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        outcomes = runner.run(run())
    assert all(outcome.state is TaskState.OK for outcome in outcomes)
    assert armed < 10, f"{armed} timers for 50 fetches"
