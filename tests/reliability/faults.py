"""Fault injectors that sit on loopback between a client and its server."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from enum import Enum

#: EXEC as redis-py sends it (RESP bulk string): the end of a MULTI/EXEC transaction.
EXEC = b"$4\r\nEXEC\r\n"


class Cut(str, Enum):
    NONE = "none"
    #: Drop the connection instead of forwarding EXEC: Redis discards the queued commands.
    BEFORE_EXEC = "before-exec"
    #: Forward EXEC, let Redis answer, then drop the connection before the client reads it.
    AFTER_EXEC = "after-exec"


#: How long a cut after EXEC waits for Redis to have executed it before dropping the connection.
AFTER_EXEC_WAIT_S = 0.2


class _Link:
    """One proxied connection."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.muted = False

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class RedisCutter:
    """A TCP proxy to a redis-server that cuts connections around EXEC.

    `cut` is what happens to each EXEC; `cuts_left` bounds how many are cut (None: all), and
    `pass_first` lets that many EXECs through untouched before cutting starts.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.cut = Cut.NONE
        self.cuts_left: int | None = None
        self.pass_first = 0
        self.execs_seen = 0
        self.cuts_made = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            link = _Link(client, upstream)
            threading.Thread(target=self._answers, args=(link,), daemon=True).start()
            threading.Thread(target=self._commands, args=(link,), daemon=True).start()

    def _decide(self) -> Cut:
        with self._lock:
            self.execs_seen += 1
            if self.cut is Cut.NONE or self.execs_seen <= self.pass_first:
                return Cut.NONE
            if self.cuts_left is not None:
                if self.cuts_left <= 0:
                    return Cut.NONE
                self.cuts_left -= 1
            self.cuts_made += 1
            return self.cut

    def _commands(self, link: _Link) -> None:
        """Client to Redis, watching for EXEC."""
        tail = b""
        try:
            while data := link.client.recv(65536):
                window = tail + data
                tail = window[-(len(EXEC) - 1) :]  # never a whole EXEC twice
                decision = self._decide() if EXEC in window else Cut.NONE
                if decision is Cut.BEFORE_EXEC:
                    break
                if decision is Cut.AFTER_EXEC:
                    link.muted = True
                    link.upstream.sendall(data)
                    time.sleep(AFTER_EXEC_WAIT_S)  # Redis executes and answers, to no one
                    break
                link.upstream.sendall(data)
        except OSError:
            pass
        finally:
            link.close()

    def _answers(self, link: _Link) -> None:
        """Redis to client, unless the link is muted."""
        try:
            while (data := link.upstream.recv(65536)) and not link.muted:
                link.client.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._closed = True
        self._server.close()
