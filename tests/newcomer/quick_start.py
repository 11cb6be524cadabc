"""The README's second terminal: each command, and what its output must say."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field

from contract.states import Strategy

STRATEGIES = [strategy.value for strategy in Strategy]
DEMO_URLS = 40

#: The sweep the README shows: the fewest worker counts the USL fit takes as evidence (four).
SWEEP_WORKERS = (1, 2, 4, 8)

#: The worker target the README's `fanout workers scale` sets.
WORKERS_SCALED = 4

#: The README's second terminal, in its order: `tests/test_docs.py` holds the README to this list,
#: and the newcomer test runs exactly these.
README_COMMANDS = (
    "fanout run --strategy threads --concurrency 32 --demo",
    "fanout compare --demo",
    "fanout compare --demo --repeat 3",
    "fanout compare --demo --workload cpu -c 2",
    f"fanout workers scale {WORKERS_SCALED}",
    f"fanout sweep --demo --workers {','.join(str(n) for n in SWEEP_WORKERS)}",
)


@dataclass
class Pages:
    """What the commands printed that the browser opens next."""

    run: str | None = None
    compare: str | None = None
    sweep: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)


def expect_ok(result: subprocess.CompletedProcess[str], command: str) -> str:
    assert result.returncode == 0, (
        f"`{command}` exited {result.returncode}; stderr ends:\n{result.stderr[-1500:]}"
        f"\nstdout ends:\n{result.stdout[-1500:]}"
    )
    return result.stdout


def page_url(stdout: str, label: str, kind: str, web_url: str) -> str:
    """The `[i] <label>: <url>` line's address, which must be the private stack's."""
    match = re.search(rf"^\[i\] {label}: (\S+)$", stdout, re.MULTILINE)
    assert match, f"no `[i] {label}:` line in:\n{stdout[-1500:]}"
    url = match.group(1)
    assert re.fullmatch(rf"{re.escape(web_url)}/{kind}/[0-9a-f]{{12}}", url), url
    return url


def expect_run(stdout: str, web_url: str) -> str:
    fetched = [line for line in stdout.splitlines() if line.startswith("[+] 127.0.0.1 [")]
    assert len(fetched) == DEMO_URLS, f"{len(fetched)} `[+]` lines, not {DEMO_URLS}:\n{stdout}"
    assert re.search(r"^\[i\] Time transcurred: \d+\.\d+ s$", stdout, re.MULTILINE), stdout
    assert f"threads x32 (fetch), {DEMO_URLS} URLs: ok {DEMO_URLS}" in stdout, stdout
    return page_url(stdout, "run page", "runs", web_url)


def expect_comparison(stdout: str, web_url: str, title: str, repeat: int) -> str:
    """The plain table (stdout is a pipe): its title, a header, one row per strategy with every
    task ok, then the page."""
    assert title in stdout, f"no title {title!r} in:\n{stdout}"
    lines = stdout.splitlines()
    assert any(line.startswith("strategy ") and line.endswith(" ok") for line in lines), stdout
    ok = f"{DEMO_URLS * repeat}/{DEMO_URLS * repeat}"
    for strategy in STRATEGIES:
        rows = [line for line in lines if line.split(" ", 1)[0] == strategy]
        assert len(rows) == 1, f"{strategy}: {len(rows)} rows in:\n{stdout}"
        assert rows[0].endswith(f" {ok}"), f"{strategy} row not all ok ({ok}): {rows[0]!r}"
    return page_url(stdout, "comparison page", "compare", web_url)


def expect_sweep(stdout: str, web_url: str) -> str:
    assert ": sweep done" in stdout.splitlines()[0], stdout
    points = [line for line in stdout.splitlines() if re.match(r"^\s+\d+\s+\d+\.\d+\s", line)]
    assert [int(line.split()[0]) for line in points] == list(SWEEP_WORKERS), stdout
    assert re.search(r"^\[i\] USL: sigma ", stdout, re.MULTILINE), stdout
    return page_url(stdout, "sweep page", "sweeps", web_url)
