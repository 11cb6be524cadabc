"""The smoke's last check finds what a stack could leave: a process running in the clone, and a
socket still listening on one of its ports (fast: no clone, no `make up`)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.newcomer.clone_stack import Stack


def test_a_process_in_the_clone_and_a_listener_on_its_port_are_leftovers(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stack = Stack(tmp_path, sleeper, tmp_path / "up.log", {}, {"WEB_PORT": port})
    try:
        left = stack.leftovers(settle_s=0)
        assert any(f"pid {sleeper.pid}:" in line for line in left), left
        assert any(f"WEB_PORT {port} listened on" in line for line in left), left
    finally:
        listener.close()
        stack.kill_leftovers()
    assert sleeper.poll() is not None
    assert stack.leftovers(settle_s=5) == []
