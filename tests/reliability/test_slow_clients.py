"""Slow clients must not freeze the web tier.

A client that sends its headers and then dribbles the body (slowloris on the body) used to hold
one of gunicorn's 8 app threads for as long as it liked: 16 of them made `/healthz` time out.
Here 512 such clients dribble a byte every half second and 512 more hold idle keep-alive
connections, against the real `fanout web`, while `/healthz` and a submission are timed.
Bounded: every socket is closed when the test ends, whatever happens.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.reliability.conftest import UNLIMITED, figure
from web.gunicorn_conf import DEFAULT_BODY_TIMEOUT_S, body_timeout_s

DRIBBLERS = 512
IDLE_KEEPALIVES = 512
#: The bound: each probe answers within this while the slow clients are connected.
ANSWER_WITHIN_S = 1.0
PROBES = 5


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _dribbler(url: str) -> socket.socket:
    """Headers announcing 100 bytes of JSON, then only the first few of them."""
    sock = _connect(url)
    sock.sendall(
        b"POST /api/runs HTTP/1.1\r\nHost: fanout\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"ur'
    )
    return sock


def _idle_keepalive(url: str) -> socket.socket:
    """One answered request, then the connection held open and silent."""
    sock = _connect(url)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: fanout\r\n\r\n")
    sock.recv(65536)
    return sock


@contextlib.contextmanager
def slow_clients(url: str) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(0.5):
            for sock in socks[IDLE_KEEPALIVES:]:
                with contextlib.suppress(OSError):
                    sock.send(b" ")

    try:
        socks += [_idle_keepalive(url) for _ in range(IDLE_KEEPALIVES)]
        socks += [_dribbler(url) for _ in range(DRIBBLERS)]
        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        time.sleep(1.0)  # every dribbler has been accepted and is mid-body
        yield socks
    finally:
        stop.set()
        for sock in socks:
            sock.close()


def _timed(call) -> tuple[float, requests.Response | None]:
    started = time.monotonic()
    try:
        response = call()
    except requests.RequestException:
        response = None
    return time.monotonic() - started, response


@pytest.mark.timeout(120)
def test_slow_bodies_and_idle_keepalives_do_not_freeze_the_web_tier(private_stack, origin_url):
    stack = private_stack(FANOUT_RATE_LIMIT_SUBMIT=UNLIMITED)
    web = stack.add_web(processes=2)
    body = {"urls": [f"{origin_url}/delay/0"], "strategy": "sequential"}
    health_s: list[float] = []
    submit_s: list[float] = []
    with slow_clients(web.url):
        for _ in range(PROBES):
            elapsed, response = _timed(lambda: requests.get(f"{web.url}/healthz", timeout=3))
            assert response is not None and response.status_code == 200, f"healthz {elapsed:.1f} s"
            health_s.append(elapsed)
            elapsed, response = _timed(
                lambda: requests.post(f"{web.url}/api/runs", json=body, timeout=3)
            )
            assert response is not None and response.status_code == 202, f"submit {elapsed:.1f} s"
            submit_s.append(elapsed)
    figure(
        f"slow clients ({DRIBBLERS} dribbling bodies + {IDLE_KEEPALIVES} idle keep-alives): "
        f"healthz max {max(health_s) * 1000:.0f} ms, submit max {max(submit_s) * 1000:.0f} ms"
    )
    assert max(health_s) < ANSWER_WITHIN_S, health_s
    assert max(submit_s) < ANSWER_WITHIN_S, submit_s
    assert requests.get(f"{web.url}/healthz", timeout=3).status_code == 200


#: Each kind of slow client the cut-off test holds.
HELD_PER_KIND = 64
#: How long the cut-off test waits for the server to close them all, at most.
CUT_OFF_WAIT_S = 70


def _silent(url: str) -> socket.socket:
    """Connected, then nothing: not even a request line."""
    return _connect(url)


def _header_dribbler(url: str) -> socket.socket:
    """A request line and a header, then the rest of the headers a byte at a time."""
    sock = _connect(url)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: fanout\r\nX-Slow: ")
    return sock


def _long_body_dribbler(url: str) -> socket.socket:
    """Headers announcing a megabyte of JSON, then a byte at a time: never done within the
    test."""
    sock = _connect(url)
    sock.sendall(
        b"POST /api/runs HTTP/1.1\r\nHost: fanout\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000000\r\n\r\n{"ur'
    )
    return sock


def _closed_by_server(sock: socket.socket, received: dict[socket.socket, bytes]) -> bool:
    """True once the server has closed the connection; what it sent first goes in `received`."""
    sock.setblocking(False)
    try:
        while data := sock.recv(65536):
            received[sock] = received.get(sock, b"") + data
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset
    return True


def test_idle_and_dribbling_connections_are_cut_off(private_stack):
    """A connection that sends nothing, or its headers or body a byte at a time, or sits idle
    after an answer, is closed by the server after a bounded time (`web.gunicorn_conf`)."""
    stack = private_stack(FANOUT_RATE_LIMIT_SUBMIT=UNLIMITED)
    web = stack.add_web(processes=2)
    kinds = {
        "silent": _silent,
        "header dribble": _header_dribbler,
        "body dribble": _long_body_dribbler,
        "idle keep-alive": _idle_keepalive,
    }
    held = {kind: [make(web.url) for _ in range(HELD_PER_KIND)] for kind, make in kinds.items()}
    dribbling = held["header dribble"] + held["body dribble"]
    started = time.monotonic()
    closed_after: dict[str, float] = {}
    received: dict[socket.socket, bytes] = {}
    try:
        while time.monotonic() - started < CUT_OFF_WAIT_S and len(closed_after) < len(held):
            time.sleep(0.5)
            for sock in dribbling:
                with contextlib.suppress(OSError):
                    sock.send(b"x")
            for kind, socks in held.items():
                if kind not in closed_after and all(_closed_by_server(s, received) for s in socks):
                    closed_after[kind] = time.monotonic() - started
        figure(
            f"slow clients cut off ({HELD_PER_KIND} of each kind), seconds until the last of "
            f"each kind was closed: { {k: round(v, 1) for k, v in closed_after.items()} }"
        )
        assert set(closed_after) == set(held), f"still open after {CUT_OFF_WAIT_S} s: " + str(
            sorted(set(held) - set(closed_after))
        )
        for sock in held["body dribble"]:  # told why, when the server had the time to say it
            assert received.get(sock, b"HTTP/1.1 408").startswith(b"HTTP/1.1 408"), received[sock]
        assert requests.get(f"{web.url}/healthz", timeout=3).status_code == 200
    finally:
        for socks in held.values():
            for sock in socks:
                sock.close()


@pytest.mark.parametrize("raw", ["soon", "0", "-1", "inf"])
def test_a_bad_body_timeout_is_refused_with_a_message(raw: str) -> None:
    with pytest.raises(ValueError, match="FANOUT_WEB_BODY_TIMEOUT_S must be"):
        body_timeout_s({"FANOUT_WEB_BODY_TIMEOUT_S": raw})
    assert body_timeout_s({}) == DEFAULT_BODY_TIMEOUT_S


def _answer_then_close(sock: socket.socket, wait_s: float) -> bytes:
    """Dribble a byte every 0.2 s until the server closes the connection (or `wait_s` passes);
    return what it sent."""
    received: dict[socket.socket, bytes] = {}
    until = time.monotonic() + wait_s
    while time.monotonic() < until and not _closed_by_server(sock, received):
        with contextlib.suppress(OSError):
            sock.send(b"x")
        time.sleep(0.2)
    assert time.monotonic() < until, f"still open after {wait_s} s"
    return received.get(sock, b"")


def test_the_body_deadline_is_configurable_and_ends_quietly(private_stack):
    """FANOUT_WEB_BODY_TIMEOUT_S=1: a dribbled body is answered 408 and its connection closed;
    a body the app never read (a 404) is not waited for either, and nothing is logged as an
    error (the stack's teardown checks the web log for tracebacks)."""
    stack = private_stack(FANOUT_RATE_LIMIT_SUBMIT=UNLIMITED)
    web = stack.add_web(processes=1, FANOUT_WEB_BODY_TIMEOUT_S="1")
    slow = _long_body_dribbler(web.url)
    unread = _connect(web.url)
    unread.sendall(b"POST /no-such-page HTTP/1.1\r\nHost: fanout\r\nContent-Length: 9999\r\n\r\nx")
    try:
        assert _answer_then_close(slow, 20).startswith(b"HTTP/1.1 408")
        assert _answer_then_close(unread, 20).startswith(b"HTTP/1.1 404")
    finally:
        slow.close()
        unread.close()
