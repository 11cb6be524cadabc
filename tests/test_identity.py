"""Where a task ran, as its records say."""

from __future__ import annotations

import os

from worker import identity


def test_a_forked_child_names_its_own_pid() -> None:
    """The pid is kept, not asked per task: a fork (RQ's work-horse, a pool child) notes anew."""
    assert identity.executor("t")[2] == os.getpid()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, str(identity.executor("t")[2]).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    assert int(os.read(read, 64)) == child
    os.close(read)
