"""Every page passes axe-core in the real browser with no serious or critical violation.

axe-core comes from the npm registry at the version pinned in package-lock.json (`make test`
runs `npm ci` first), read from node_modules/ and evaluated in the page by Playwright (which is
not subject to the page's Content-Security-Policy): nothing is fetched from a CDN, and the app
never serves it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.web.conftest import DONE_TIMEOUT_MS

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does) to install the pinned axe")
    return AXE.read_text()


def violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]


def _submit(base: str, urls: list[str], *, compare: bool = False) -> str:
    """The page of a run (or, with `compare`, a comparison) submitted through the API."""
    body = {"urls": urls, "strategy": "threads", "concurrency": 2, "compare": compare}
    response = requests.post(f"{base}/api/runs", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()["url"]


def test_every_page_passes_axe(page, web_server, origin_url, axe_source):
    urls = [f"{origin_url}/delay/50?n={i}" for i in range(4)] + [f"{origin_url}/status/500"]
    run_url = _submit(web_server.url, urls)
    compare_url = _submit(web_server.url, urls[:2], compare=True)
    found: dict[str, list[dict[str, Any]]] = {}

    def check(name: str) -> None:
        found[name] = violations(page, axe_source)

    page.goto("/")
    check("new run")
    page.fill("#urls", "http://127.0.0.1/ok\nftp://files.example/nope")
    page.click("#run")
    page.locator("#urls-error").wait_for()
    check("new run, with an error")
    page.goto(run_url)
    page.wait_for_selector('[data-run-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    page.wait_for_selector('#timeline[data-final="true"]', timeout=DONE_TIMEOUT_MS)
    check("run")
    page.goto(compare_url)
    page.wait_for_selector('[data-comparison-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    check("comparison")
    page.goto("/runs")
    check("runs")
    page.goto("/workers")
    page.wait_for_selector("#throughput[data-points]")
    page.wait_for_selector("[data-proctree][data-updated] tr[data-role=worker]")  # the tree drawn
    check("workers")
    page.goto("/sweeps")
    check("sweeps")
    page.goto("/lessons?threads=" + compare_url.rsplit("/", 1)[1])  # a step with its answer
    page.wait_for_selector('#threads[data-final="true"]', timeout=DONE_TIMEOUT_MS)
    check("lessons")
    response = page.goto("/runs/" + "0" * 12)
    assert response is not None and response.status == 404
    check("not found")

    assert re.search(r"/runs/[0-9a-f]{12}$", run_url), run_url
    blocking = {name: v for name, v in found.items() if v}
    assert not blocking, blocking
