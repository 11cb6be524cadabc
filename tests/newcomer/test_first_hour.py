"""A newcomer's first hour, as the README tells it: a fresh clone, `make up` (which builds its own
virtualenv and front-end assets), every command of the quick start in a second terminal, every
page in a browser, then Ctrl-C, which must stop the whole stack in order and leave nothing.

CI runs it (`make test-newcomer`): it is the one test that builds the project the way the README
tells a reader to, so a page that `make up` leaves without its assets fails here. The test runs
from the tree under test and clones its HEAD, or the commit FANOUT_NEWCOMER_REF names;
FANOUT_SCREENSHOTS=docs/img refreshes the docs' pictures with the pages that passed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.newcomer import pages, quick_start
from tests.newcomer.clone_stack import REF_ENV, Stack, clone, start
from tests.newcomer.findings import Findings
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

#: `make up` on a fresh clone: a virtualenv from PyPI, npm's assets, then the stack.
READY_TIMEOUT_S = float(os.environ.get("FANOUT_NEWCOMER_READY_S", "900"))
#: Ctrl-C to exit: workers may finish the job in hand (fanout/stack.py's grace), then the rest.
STOP_TIMEOUT_S = 120
WORKERS_SCALED = quick_start.WORKERS_SCALED

pytestmark = [pytest.mark.newcomer, pytest.mark.timeout(1800)]


def test_the_readme_quick_start_on_a_fresh_clone(tmp_path: Path) -> None:
    clone_dir = tmp_path / "fanout"
    commit = clone(clone_dir, os.environ.get(REF_ENV) or "HEAD")
    shutil.rmtree(pages.ARTIFACTS, ignore_errors=True)
    pages.ARTIFACTS.mkdir(parents=True)
    stack = start(clone_dir, pages.ARTIFACTS / "make-up.log")
    findings = Findings()
    try:
        stack.wait_ready(READY_TIMEOUT_S, workers=2)
        found = second_terminal(stack, findings)
        open_every_page(stack, found, findings)
        stop_with_ctrl_c(stack, findings)
    finally:
        stack.kill_leftovers()
        shutil.rmtree(clone_dir, ignore_errors=True)
    assert not findings.failures, f"commit {commit[:12]}: {findings.report()}"


def second_terminal(stack: Stack, findings: Findings) -> quick_start.Pages:
    """The README's commands, in its order, each judged by its exit code and its output."""
    found = quick_start.Pages()
    web = stack.web_url

    def command(*args: str) -> str:
        line = "fanout " + " ".join(args)
        result = stack.fanout(*args)
        found.outputs[line] = result.stdout + result.stderr
        (pages.ARTIFACTS / f"{re.sub(r'[^a-z0-9]+', '-', line)}.txt").write_text(
            f"$ {line}\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
        return quick_start.expect_ok(result, line)

    run, compare, repeat, cpu, scale, sweep = quick_start.README_COMMANDS
    with findings.check(run):
        found.run = quick_start.expect_run(command(*run.split()[1:]), web)
    with findings.check(compare):
        found.compare = quick_start.expect_comparison(
            command(*compare.split()[1:]), web, "40 URLs, concurrency 8, fetch", repeat=1
        )
    with findings.check(repeat):
        out = command(*repeat.split()[1:])
        quick_start.expect_comparison(out, web, "each strategy run 3 times", repeat=3)
    with findings.check(cpu):
        out = command(*cpu.split()[1:])
        quick_start.expect_comparison(out, web, "40 URLs, concurrency 2, cpu", repeat=1)
    with findings.check(scale):
        out = command(*scale.split()[1:])
        assert f"[i] target: {WORKERS_SCALED} workers in total" in out, out
    with findings.check(sweep):
        found.sweep = quick_start.expect_sweep(command(*sweep.split()[1:]), web)
    return found


def open_every_page(stack: Stack, found: quick_start.Pages, findings: Findings) -> None:
    """Each page once, in Debian's Chromium (never a downloaded browser)."""
    web = stack.web_url
    specs = [pages.home()]
    run_path = found.run.removeprefix(web) if found.run else None
    for url, spec in ((found.run, pages.run), (found.compare, pages.compare)):
        if url:
            specs.append(spec(url.removeprefix(web)))
    specs += [pages.runs(run_path), pages.workers(WORKERS_SCALED)]
    sweep_path = found.sweep.removeprefix(web) if found.sweep else None
    if sweep_path:
        specs.append(pages.sweep(sweep_path))
    specs += [pages.sweeps(sweep_path), pages.lessons(), pages.api()]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for spec in specs:
                pages.visit(browser, web, spec, findings)
        finally:
            browser.close()


def stop_with_ctrl_c(stack: Stack, findings: Findings) -> None:
    """Ctrl-C in `make up`'s terminal: out within the bound, workers stopped before Redis was
    asked to, nothing of the stack left running or listening."""
    code = stack.interrupt(STOP_TIMEOUT_S)
    log = stack.log()
    with findings.check("Ctrl-C: `make up` exits"):
        assert code is not None, f"still running {STOP_TIMEOUT_S} s after SIGINT:\n{log[-3000:]}"
    with findings.check("Ctrl-C: the stop is in order"):
        interrupted = log.find("SIGINT received")
        assert interrupted >= 0, f"no `SIGINT received` in the log:\n{log[-3000:]}"
        tail = log[interrupted:]
        worker_stopped = tail.find("worker.1 stopped (rc=")
        redis_asked = tail.find("sending SIGTERM to redis.1")
        assert 0 <= worker_stopped < redis_asked, f"workers not stopped before redis:\n{tail}"
        assert "redis.1 stopped (rc=" in tail[redis_asked:], f"redis did not stop:\n{tail}"
        assert "did not stop in" not in tail, f"a process had to be killed:\n{tail}"
    with findings.check("Ctrl-C: no traceback in the stack's log"):
        assert "Traceback" not in log, log[log.find("Traceback") - 500 :][:3000]
    with findings.check("Ctrl-C: nothing of the stack left"):
        left = stack.leftovers()
        assert not left, left
