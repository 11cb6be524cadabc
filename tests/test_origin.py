"""The origin server, run as a real subprocess and driven over loopback."""

from __future__ import annotations

import asyncio
import gzip
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import requests

from origin.app import MAX_BYTES, MIB, filler

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 15.0


@dataclass
class Origin:
    url: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_origin(tmp_dir: Path) -> Origin:
    port = _free_port()
    stderr_path = tmp_dir / f"origin-{port}.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", f"from origin.server import serve; serve('127.0.0.1', {port})"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    origin = Origin(f"http://127.0.0.1:{port}", proc, stderr_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"origin exited: {stderr_path.read_text()}")
        try:
            if requests.get(f"{origin.url}/healthz", timeout=1).text == "ok":
                return origin
        except requests.ConnectionError:
            time.sleep(0.05)
    _stop_origin(origin)
    raise RuntimeError(f"origin did not answer /healthz within {STARTUP_TIMEOUT_S}s")


def _stop_origin(origin: Origin) -> None:
    if origin.proc.poll() is None:
        origin.proc.kill()
    origin.proc.wait(timeout=10)
    assert origin.proc.stdout is not None
    origin.proc.stdout.close()


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    started = _start_origin(tmp_path_factory.mktemp("origin"))
    try:
        yield started
    finally:
        _stop_origin(started)
    stderr = started.stderr_path.read_text()
    assert "Traceback" not in stderr, stderr


@pytest.fixture
def base(origin: Origin) -> str:
    return origin.url


def test_prints_its_address_once_listening(origin: Origin) -> None:
    assert origin.proc.stdout is not None
    line = origin.proc.stdout.readline().decode().strip()
    assert line == f"origin listening on {origin.url}"


def test_healthz_and_index(base: str) -> None:
    assert requests.get(f"{base}/healthz", timeout=5).text == "ok"
    paths = {e["path"] for e in requests.get(f"{base}/", timeout=5).json()["endpoints"]}
    assert {"/delay/{ms}", "/bytes/{n}", "/gzip-bomb", "/huge", "/drip"} <= paths


def test_delay_sends_the_default_filler(base: str) -> None:
    r = requests.get(f"{base}/delay/0", timeout=5)
    assert r.status_code == 200
    assert r.content == filler(64)
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Length"] == "64"


@pytest.mark.parametrize("n", [0, 1, 1000, 3 * MIB + 7])
def test_delay_sends_the_asked_byte_count(base: str, n: int) -> None:
    r = requests.get(f"{base}/delay/20", params={"bytes": n}, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(n)
    assert r.content == filler(n)


def test_delay_waits_at_least_the_delay(base: str) -> None:
    started = time.monotonic()
    requests.get(f"{base}/delay/200", timeout=5).raise_for_status()
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("n", [0, 1, 14, 12345, MIB, 2 * MIB + 5, MAX_BYTES])
def test_bytes_sends_exactly_n(base: str, n: int) -> None:
    r = requests.get(f"{base}/bytes/{n}", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(n)
    assert r.content == filler(n)


def test_bytes_with_chunk_streams_without_a_length(base: str) -> None:
    r = requests.get(f"{base}/bytes/{MIB + 3}", params={"chunk": 70_000}, timeout=10)
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in r.headers
    assert r.content == filler(MIB + 3)


def test_head_gives_headers_and_no_body(base: str) -> None:
    r = requests.head(f"{base}/bytes/{5 * MIB}", timeout=5)
    assert (r.status_code, r.headers["Content-Length"], r.content) == (200, str(5 * MIB), b"")
    r = requests.head(f"{base}/huge", params={"gb": 2}, timeout=5)
    assert (r.status_code, r.headers["Content-Length"], r.content) == (200, str(2 << 30), b"")


@pytest.mark.parametrize("code", [200, 201, 299, 301, 400, 404, 418, 500, 503, 599])
def test_status_answers_that_code_with_a_short_body(base: str, code: int) -> None:
    r = requests.get(f"{base}/status/{code}", allow_redirects=False, timeout=5)
    assert r.status_code == code
    assert r.text == f"status {code}"


@pytest.mark.parametrize("code", [204, 304])
def test_status_without_body(base: str, code: int) -> None:
    r = requests.get(f"{base}/status/{code}", params={"delay": 10}, timeout=5)
    assert (r.status_code, r.content) == (code, b"")


def test_redirect_chain_counts_hops(base: str) -> None:
    r = requests.get(f"{base}/redirect/3", timeout=5)
    assert (r.status_code, r.text, len(r.history)) == (200, "redirected", 3)
    assert [h.headers["Location"] for h in r.history] == [
        "/redirect/2",
        "/redirect/1",
        "/redirect/0",
    ]


def test_redirect_chain_can_end_elsewhere(base: str) -> None:
    r = requests.get(f"{base}/redirect/2", params={"to": "/healthz"}, timeout=5)
    assert (r.status_code, r.text, len(r.history)) == (200, "ok", 2)


def test_redirect_to_goes_anywhere_with_the_asked_status(base: str) -> None:
    target = "http://127.0.0.1:6379/"
    r = requests.get(
        f"{base}/redirect-to",
        params={"url": target, "status": 307},
        allow_redirects=False,
        timeout=5,
    )
    assert (r.status_code, r.headers["Location"]) == (307, target)


def test_redirect_loop_never_ends(base: str) -> None:
    with pytest.raises(requests.TooManyRedirects):
        requests.get(f"{base}/redirect-loop", timeout=5)


def test_drip_is_slow_and_complete(base: str) -> None:
    started = time.monotonic()
    r = requests.get(f"{base}/drip", params={"bytes": 5, "interval_ms": 100}, timeout=(5, 1))
    elapsed = time.monotonic() - started
    assert r.content == filler(5)
    # The server sleeps one interval before each byte: a lower bound it sets itself.
    assert elapsed >= 5 * 0.1 * 0.8


def test_hang_never_answers(base: str) -> None:
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{base}/hang", timeout=(5, 0.3))
    assert requests.get(f"{base}/healthz", timeout=5).text == "ok"


@pytest.mark.parametrize("mb", [None, 8])
def test_gzip_bomb_is_small_on_the_wire(base: str, mb: int | None) -> None:
    params = {} if mb is None else {"mb": mb}
    decoded_len = (100 if mb is None else mb) * MIB
    with requests.get(f"{base}/gzip-bomb", params=params, stream=True, timeout=30) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        raw = r.raw.read(MIB, decode_content=False)
        assert r.raw.read(1, decode_content=False) == b""
    assert len(raw) == int(r.headers["Content-Length"]) < decoded_len // 500
    if mb is not None:
        assert gzip.decompress(raw) == bytes(decoded_len)


def test_huge_claims_gigabytes_and_survives_the_client_leaving(base: str) -> None:
    with requests.get(f"{base}/huge", stream=True, timeout=5) as r:
        assert r.headers["Content-Length"] == str(10 << 30)
        first = r.raw.read(MIB)
    assert first == bytes(MIB)
    with requests.get(f"{base}/huge", params={"gb": 0}, stream=True, timeout=5) as r:
        assert r.headers.get("Transfer-Encoding") == "chunked"
        assert r.raw.read(MIB) == bytes(MIB)
    assert requests.get(f"{base}/healthz", timeout=5).text == "ok"


def test_html_error_carries_script_in_body_reason_and_header(base: str) -> None:
    r = requests.get(f"{base}/html-error", timeout=5)
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<script>alert(1)</script>" in r.text
    assert r.reason == "<script>alert(1)</script>"
    assert r.headers["X-Origin-Error"] == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    "path",
    [
        "/delay/abc",
        "/delay/-1",
        "/delay/1.5",
        "/delay/60001",
        "/delay/99999999999999999999999999999",
        "/delay/%D9%A3",  # an Arabic-Indic digit: str.isdigit says yes, we say no
        "/delay/10?bytes=x",
        f"/delay/0?bytes={MAX_BYTES + 1}",
        f"/bytes/{MAX_BYTES + 1}",
        "/bytes/1?chunk=0",
        "/status/99",
        "/status/600",
        "/status/abc",
        "/status/200?delay=soon",
        "/redirect/x",
        "/redirect/1?to=",
        "/redirect-to",
        "/redirect-to?url=/&status=200",
        "/redirect-to?url=/a%0d%0aSet-Cookie:x=1",
        "/drip?bytes=-1",
        "/drip?interval_ms=x",
        "/gzip-bomb?mb=1025",
        "/huge?gb=x",
    ],
)
def test_bad_numbers_get_a_short_400(base: str, path: str) -> None:
    r = requests.get(base + path, allow_redirects=False, timeout=5)
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/plain")
    assert 0 < len(r.text) < 100


async def _fetch_all(url: str, count: int) -> list[tuple[int, int]]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one() -> tuple[int, int]:
            async with session.get(url) as response:
                return response.status, len(await response.read())

        return await asyncio.gather(*(one() for _ in range(count)))


def test_holds_a_thousand_concurrent_delays(base: str) -> None:
    started = time.monotonic()
    results = asyncio.run(_fetch_all(f"{base}/delay/300", 1000))
    elapsed = time.monotonic() - started
    print(f"\n1000 concurrent /delay/300: {elapsed:.3f}s")
    assert results == [(200, 64)] * 1000


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signal_mid_request(tmp_path: Path, sig: signal.Signals) -> None:
    started = _start_origin(tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", int(started.url.rsplit(":", 1)[1]))) as conn:
            conn.sendall(b"GET /hang HTTP/1.1\r\nHost: origin\r\n\r\n")
            time.sleep(0.1)
            started.proc.send_signal(sig)
            assert started.proc.wait(timeout=10) == 0
    finally:
        _stop_origin(started)
    stderr = started.stderr_path.read_text()
    assert "Traceback" not in stderr, stderr
