"""Two stacks on one host never share a gunicorn control socket.

gunicorn 27 opens a control socket by default at `$XDG_RUNTIME_DIR/gunicorn.ctl` or
`~/.gunicorn/gunicorn.ctl`: the same path for every instance on the host, so the second
`fanout web` took the first one's over. fanout's gunicorn opens none.
"""

from __future__ import annotations

from pathlib import Path

import psutil

from tests.support import start_web


def _unix_listeners(pid: int) -> set[str]:
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return {c.laddr for p in procs for c in p.net_connections(kind="unix") if c.laddr}


def test_two_web_instances_share_no_control_socket(tmp_path: Path, stack_env):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in stack_env.items() if k != "XDG_RUNTIME_DIR"} | {"HOME": str(home)}
    webs = [start_web(tmp_path, env, processes=1, name=f"web{n}") for n in (1, 2)]
    try:
        listeners = [_unix_listeners(web.proc.pid) for web in webs]
        assert not (listeners[0] & listeners[1]), listeners
        assert not (home / ".gunicorn" / "gunicorn.ctl").exists()
        assert not any(path.endswith("gunicorn.ctl") for found in listeners for path in found)
    finally:
        for web in webs:
            web.stop()
