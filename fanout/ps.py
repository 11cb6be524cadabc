"""`fanout ps`: every live host's process tree, drawn as `ps -f --forest` draws one.

The tutorial has the reader watch `ps -faux` while its multiprocessing script runs, to see the
children split off the main process. Here the trees come from Redis (`producer.proctree`), so
one terminal sees the workers of every host, each process with its threads, memory and CPU.
"""

from __future__ import annotations

from typing import Any

from fanout.report import DASH, mebibytes
from producer.numbers import counted, fixed
from producer.proctree import KEPT_IDLE_NOTE, host_counts, keeps_idle_children, process_label

HEADER = (
    f"{'PID':>8} {'PPID':>8} {'ROLE':<10} {'STATE':<8} {'%CPU':>5} {'THR':>4} {'RSS':>10}  COMMAND"
)


def command(process: dict[str, Any]) -> str:
    """What the COMMAND column says: the command line at the top of a tree, then what each
    process is, indented under its parent with `ps --forest`'s `\\_`."""
    depth = int(process.get("depth") or 0)
    label = process_label(process)
    return label if depth == 0 else "    " * (depth - 1) + " \\_ " + label


def process_line(process: dict[str, Any]) -> str:
    return (
        f"{process['pid']:>8} {process['ppid']:>8} {process.get('role')!s:<10} "
        f"{process.get('state') or DASH!s:<8} {fixed(process.get('cpu') or 0, 1):>5} "
        f"{process.get('threads', 0):>4} {mebibytes(int(process.get('rss') or 0)):>10}  "
        f"{command(process)}"
    )


def host_title(tree: dict[str, Any], now: float) -> str:
    workers, children = host_counts(tree)
    age = max(0.0, now - float(tree.get("at") or now))
    machine = tree.get("hostname")
    where = f" on {machine}" if machine and machine != tree.get("host") else ""
    return (
        f"host {tree.get('host')}{where}: {counted(workers, 'worker')}, "
        f"{counted(children, 'child', 'children')}; "
        f"{fixed(age, 1)} s ago; publisher {fixed(tree.get('cost_ms') or 0, 1)} ms CPU/s"
    )


def tree_lines(trees: dict[str, Any]) -> list[str]:
    """Each host's title, the column header, and a line per process, hosts in name order."""
    hosts = trees["hosts"]
    if not hosts:
        return ["[i] no live host publishes its process tree: start one with `fanout worker`"]
    lines: list[str] = []
    for tree in hosts:
        lines += ["", host_title(tree, trees["now"]), HEADER]
        lines += [process_line(process) for process in tree["processes"]]
    if keeps_idle_children(trees):
        lines += ["", f"[i] {KEPT_IDLE_NOTE}"]
    return lines[1:]
