"""A fresh clone of the repository under test, started with `make up` as the README says: its own
virtualenv and front-end assets, on private ports, in a process group of its own so that Ctrl-C
reaches it as a terminal sends it (SIGINT to the foreground group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from fanout.children import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]

#: Which commit to clone: HEAD of the tree under test unless this names another ref.
REF_ENV = "FANOUT_NEWCOMER_REF"

#: What a newcomer's shell does not have: where the caller's own stack, virtualenv or make run.
NOT_INHERITED = (
    "REDIS_URL",
    "ORIGIN_URL",
    "ORIGIN_HOST",
    "WEB_HOST",
    "WEB_PROCESSES",
    "WORKERS",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "PROMETHEUS_MULTIPROC_DIR",
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
)

#: The environment names that put the stack on private ports (contract/settings.py).
PORT_NAMES = ("WEB_PORT", "ORIGIN_PORT", "FANOUT_REDIS_PORT")


def clone(dest: Path, ref: str = "HEAD") -> str:
    """`git clone` of the repository under test into `dest`, checked out at `ref`; the commit."""
    sha = _git(ROOT, "rev-parse", "--verify", f"{ref}^{{commit}}")
    _git(ROOT.parent, "clone", "--quiet", "--no-checkout", str(ROOT), str(dest))
    _git(dest, "checkout", "--quiet", "--detach", sha)
    return sha


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=300
    )
    return result.stdout.strip()


def newcomer_env(ports: dict[str, int]) -> dict[str, str]:
    """The caller's environment without fanout's settings, a virtualenv or a parent make, plus
    the private ports: the shared Redis on 6379 and whatever listens on 8000 stay untouched."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in NOT_INHERITED and not name.startswith("FANOUT_")
    }
    venv = os.environ.get("VIRTUAL_ENV")
    path = [
        part
        for part in env.get("PATH", "").split(os.pathsep)
        if part and not part.endswith("/.venv/bin") and not (venv and part.startswith(venv))
    ]
    env["PATH"] = os.pathsep.join(path)
    env.update({name: str(port) for name, port in ports.items()})
    return env


@dataclass
class Stack:
    """`make up` running in `clone`, its output in `log_path`."""

    clone: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]
    ports: dict[str, int]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['WEB_PORT']}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def fanout(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        """The clone's `.venv/bin/fanout`, run in the clone as the README's second terminal."""
        return subprocess.run(
            [str(self.clone / ".venv" / "bin" / "fanout"), *args],
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout_s: float, workers: int) -> None:
        """Until /healthz answers ok and `workers` workers are live; a `make up` that exits
        first fails at once with the end of its log."""

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"`make up` exited ({self.proc.returncode}) before the stack answered; "
                    f"its log ends:\n{self.log()[-4000:]}"
                )
            try:
                health = requests.get(f"{self.web_url}/healthz", timeout=2)
                if not health.ok or health.json().get("status") != "ok":
                    return False
                live = requests.get(f"{self.web_url}/api/workers", timeout=5).json()["live"]
            except (requests.RequestException, ValueError, KeyError):
                return False
            return live >= workers

        try:
            wait_until(ready, timeout_s, "`make up`: /healthz ok and the workers live", poll_s=2)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; its log ends:\n{self.log()[-4000:]}") from None

    def interrupt(self, timeout_s: float) -> int | None:
        """Ctrl-C: SIGINT to `make up`'s group. The exit code, or None if it outlived
        `timeout_s`."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def leftovers(self, settle_s: float = 10) -> list[str]:
        """What of the stack is still there after `settle_s`: a process running in the clone
        or from it, or a socket listening on one of its ports."""
        deadline = time.monotonic() + settle_s
        while True:
            found = self._processes_of_clone() + self._listeners()
            if not found or time.monotonic() > deadline:
                return [description for description, _ in found]
            time.sleep(0.5)

    def kill_leftovers(self) -> None:
        """SIGKILL to `make up`'s group and to every process the scan finds."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for _, pid in self._processes_of_clone() + self._listeners():
            if pid not in (None, os.getpid()):
                with contextlib.suppress(psutil.Error):
                    psutil.Process(pid).kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def _processes_of_clone(self) -> list[tuple[str, int | None]]:
        inside = str(self.clone)
        found = []
        for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
            if proc.pid == os.getpid():
                continue
            cwd = proc.info["cwd"] or ""
            cmdline = proc.info["cmdline"] or []
            if cwd.startswith(inside) or any(inside in arg for arg in cmdline):
                found.append((f"pid {proc.pid}: {' '.join(cmdline)[:200]}", proc.pid))
        return found

    def _listeners(self) -> list[tuple[str, int | None]]:
        ports = {port: name for name, port in self.ports.items()}
        return [
            (f"{ports[conn.laddr.port]} {conn.laddr.port} listened on by pid {conn.pid}", conn.pid)
            for conn in psutil.net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in ports
        ]


def start(clone_dir: Path, log_path: Path) -> Stack:
    """`make up` in the clone, on free ports, in a new session (its own process group). WORKERS
    is left to the Makefile's default, 2, as the README's first command leaves it."""
    ports = {name: free_port() for name in PORT_NAMES}
    env = newcomer_env(ports)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["make", "up"],
            cwd=clone_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Stack(clone_dir, proc, log_path, env, ports)
