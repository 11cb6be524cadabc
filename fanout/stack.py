"""`fanout up`: the Procfile's processes under honcho, with `worker` scaled to WORKERS.

honcho stops everything when any process exits, so each `fanout worker` supervises its own RQ
worker (RQ's WorkerPool): a killed worker is respawned instead of taking the stack down.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"


def run_stack(workers: int, procfile: Path = PROCFILE) -> int:
    """Start every process; Ctrl-C (or SIGTERM) stops them all. Returns the exit code."""
    entries = parse_procfile(procfile.read_text()).processes
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PYTHONUNBUFFERED="1", WORKERS=str(workers))
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    manager = Manager(Printer(sys.stdout, colour=sys.stdout.isatty()))
    for name, command in entries.items():
        count = workers if name == "worker" else 1
        for number in range(1, count + 1):
            manager.add_process(f"{name}.{number}", command, env=env, quiet=False)
    manager.loop()
    return manager.returncode or 0
