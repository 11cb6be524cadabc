"""Children that die with their parent: Linux's parent-death signal (`PR_SET_PDEATHSIG`).

`fanout up` runs each service in a session of its own, and a worker's RQ scheduler, a fork
worker's work-horse and a supervisor's workers are forked children: when their parent is
SIGKILLed, nothing else tells them to stop, and they keep their ports and locks with no parent.

The kernel sends the signal when the *thread* that forked the child ends, so children are forked
from a main thread here; a child asks for it itself, after the fork (the setting is not
inherited by a fork, but it survives an exec), then checks that its parent has not died in
between. Elsewhere than Linux these are no-ops.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

#: From <linux/prctl.h>.
PR_SET_PDEATHSIG = 1

_prctl: Callable[..., int] | None = None
if sys.platform.startswith("linux"):
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved now, not after a fork


def die_with_parent(sig: int, parent_pid: int) -> None:
    """Ask for `sig` when the parent dies; if `parent_pid` is no longer our parent (it died
    before we asked), take `sig` now."""
    if _prctl is None:
        return
    if _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def preexec_die_with_parent(sig: int) -> Callable[[], None]:
    """A `subprocess.Popen(preexec_fn=...)` that makes the child die with the caller."""
    parent_pid = os.getpid()

    def preexec() -> None:
        die_with_parent(sig, parent_pid)

    return preexec
