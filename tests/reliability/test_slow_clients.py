"""Slow clients must not freeze the web tier.

A client that sends its headers and then dribbles the body (slowloris on the body) used to hold
one of gunicorn's 8 app threads for as long as it liked: 16 of them made `/healthz` time out.
Here 64 such clients dribble a byte every half second and 64 more hold idle keep-alive
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

DRIBBLERS = 64
IDLE_KEEPALIVES = 64
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
