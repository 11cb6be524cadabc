"""The default allowlist admits the origin's socket, not whatever else listens on its port.

The origin listens on 127.0.0.1:P. A second server on [::1]:P is someone else's socket: a URL
that reaches it (`localhost` resolving to ::1 first, `[::1]` spelled out, `ip6-localhost`, a
redirect from the origin to any of them) must be refused, by every strategy, and the impostor
must see no connection at all.

A typical Debian /etc/hosts lists `::1 localhost ip6-localhost`; a machine whose hosts file
lists `localhost` as 127.0.0.1 only would not show the problem. The workers here get that
dual-stack view of the two names through a `sitecustomize` on their PYTHONPATH (every other
name goes to the real resolver); the servers and every connection are real.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.checker import check_run
from tests.reliability.conftest import figure

#: The workers' view of the two loopback names: a dual-stack machine's /etc/hosts.
SITECUSTOMIZE = """
import socket

_real = socket.getaddrinfo
_HOSTS = {"localhost": ("::1", "127.0.0.1"), "ip6-localhost": ("::1",)}


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    name = host.decode() if isinstance(host, bytes) else (host or "")
    answers = _HOSTS.get(name.rstrip(".").lower())
    if answers is None or flags & socket.AI_NUMERICHOST:
        return _real(host, port, family, type, proto, flags)
    number = int(port) if str(port).isdigit() else 0
    found = []
    for ip in answers:
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        if family in (0, fam):
            address = (ip, number, 0, 0) if fam == socket.AF_INET6 else (ip, number)
            found.append((fam, socket.SOCK_STREAM, 6, "", address))
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return found


socket.getaddrinfo = _getaddrinfo
"""


class _Impostor(ThreadingHTTPServer):
    """An HTTP server on [::1]:port that counts the connections it accepts."""

    address_family = socket.AF_INET6
    daemon_threads = True
    connections = 0

    def get_request(self) -> tuple[socket.socket, object]:
        request = super().get_request()
        self.connections += 1
        return request


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"not the origin"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _impostor_on(port: int) -> _Impostor:
    try:
        server = _Impostor(("::1", port), _Answer)
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback to bind [::1]:{port} on: {exc}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


STRATEGIES = ["sequential", "threads", "processes", "asyncio", "queue", "hybrid"]


def test_the_default_allowlist_refuses_another_server_on_the_origin_port(
    private_stack, origin_url: str, tmp_path: Path
) -> None:
    port = int(origin_url.rsplit(":", 1)[1])
    hosts_view = tmp_path / "dual-stack-hosts"
    hosts_view.mkdir()
    (hosts_view / "sitecustomize.py").write_text(SITECUSTOMIZE)
    impostor = _impostor_on(port)
    try:
        stack = private_stack(FANOUT_ALLOW_HOSTS="")  # the default: the origin's socket
        pythonpath = stack.env.get("PYTHONPATH", "")
        stack.env["PYTHONPATH"] = f"{hosts_view}:{pythonpath}" if pythonpath else str(hosts_view)
        stack.add_workers(1)
        settings = Settings.from_env(stack.env)
        hostile = (
            f"http://localhost:{port}/delay/0",
            f"http://[::1]:{port}/delay/0",
            f"http://ip6-localhost:{port}/delay/0",
            f"{origin_url}/redirect-to?url={quote(f'http://localhost:{port}/delay/0', safe='')}",
            f"{origin_url}/redirect-to?url={quote(f'http://[::1]:{port}/delay/0', safe='')}",
        )
        control = f"{origin_url}/delay/0"
        seen: dict[str, dict[str, int]] = {}
        for strategy in STRATEGIES:
            spec = RunSpec((*hostile, control), Strategy(strategy), 2)
            run_id = submit_run(stack.client, fanout_queue(stack.client), spec, settings)
            wait_for_run(stack.client, run_id, timeout_s=60)
            seen[strategy] = check_run(stack.client, run_id)
        figure(f"impostor on [::1]:{port}: {impostor.connections} connections; runs {seen}")
        for strategy, counts in seen.items():
            assert counts.get("refused") == len(hostile), (strategy, counts)
            assert counts.get("ok") == 1, (strategy, counts)  # the origin itself still answers
        assert impostor.connections == 0
    finally:
        impostor.shutdown()
        with contextlib.suppress(OSError):
            impostor.server_close()
