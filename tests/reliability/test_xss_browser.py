"""URLs that carry HTML and script, and an origin that answers with some, in a real Chromium:
nothing runs, nothing becomes a `javascript:` link, the text shows as typed, and every page
carries the Content-Security-Policy."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.reliability.conftest import UNLIMITED, figure, in_own_thread, start_web
from tests.support import Service
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, CSP_WATCH_SCRIPT
from web.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser

DONE_TIMEOUT_MS = 60_000


def hostile_batch(origin_url: str) -> list[str]:
    return [
        f"{origin_url}/html-error?x=<script>alert(1)</script>",
        f"{origin_url}/html-error",  # a 500 whose body, reason and a header carry script
        # A URL holds no space (refused at submission): `/` separates HTML attributes as well.
        f'{origin_url}/delay/0?q="><img/src=x/onerror=alert(2)>',
        f"{origin_url}/redirect-to?url=javascript:alert(3)",
        f"{origin_url}/status/404?x=<svg/onload=alert(4)>",
    ]


@pytest.fixture(scope="module")
def xss_web(
    tmp_path_factory: pytest.TempPathFactory, stack_env: dict[str, str], workers
) -> Iterator[Service]:
    service = start_web(
        tmp_path_factory.mktemp("xss-web"), dict(stack_env, FANOUT_RATE_LIMIT_SUBMIT=UNLIMITED)
    )
    yield service
    service.stop()
    assert "Traceback" not in service.log()


def launch_chromium(playwright):
    """Headless Debian Chromium, as in tests/web (missing Chromium fails: it never skips)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def watch(page) -> dict[str, list]:
    """Record the page's dialogs (dismissed), script errors and document responses."""
    seen: dict[str, list] = {"dialogs": [], "documents": [], "errors": []}

    def on_dialog(dialog) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on(
        "response",
        lambda r: (
            r.request.resource_type == "document"
            and seen["documents"].append(
                (r.url, r.status, r.headers.get("content-security-policy"))
            )
        ),
    )
    return seen


def assert_inert(page, seen) -> None:
    """Nothing the batch carried became markup, a link target or a script."""
    assert page.evaluate("window.__csp") == []  # nothing even tried to run and was blocked
    assert page.locator('a[href^="javascript:" i]').count() == 0
    assert page.locator("[onerror], [onload], img[src='x'], svg[onload]").count() == 0
    inline = page.locator("script:not([src]):not([type='application/json'])")
    assert inline.count() == 0
    assert seen["dialogs"] == [] and seen["errors"] == []


def test_hostile_urls_render_as_text_in_a_real_browser(xss_web, origin_url, tmp_path: Path):
    """Driven from a thread of its own (see `in_own_thread`), so it runs whatever ran before."""

    def scenario() -> dict[str, list]:
        with sync_playwright() as playwright:
            chromium = launch_chromium(playwright)
            context = chromium.new_context(
                base_url=xss_web.url, viewport={"width": 1360, "height": 900}
            )
            context.add_init_script(CSP_WATCH_SCRIPT)
            page = context.new_page()
            seen = watch(page)
            try:
                drive(page, seen, hostile_batch(origin_url), tmp_path)
            finally:
                context.close()
                chromium.close()
            return seen

    seen = in_own_thread(scenario)
    assert seen["dialogs"] == [] and seen["errors"] == []


def drive(page, seen: dict[str, list], batch: list[str], tmp_path: Path) -> None:
    """The browser's steps (a failed check raises here and reaches the test's thread)."""
    # 1. With a javascript: line the form refuses the batch and says why, as text.
    page.goto("/")
    page.fill("#urls", "\n".join([*batch, "javascript:alert(1)"]))
    page.click("#run")
    error = page.locator("#urls-error")
    error.wait_for()
    assert "line 6" in error.inner_text() and "'javascript:alert(1)'" in error.inner_text()
    assert_inert(page, seen)

    # 2. Without it, the run goes through real workers; the run page shows each URL as typed.
    page.fill("#urls", "\n".join(batch))
    page.fill("#concurrency", "2")
    page.click("#run")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]{12}$"))
    page.wait_for_selector('[data-run-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    page.wait_for_selector('#timeline[data-final="true"]', timeout=DONE_TIMEOUT_MS)
    table = page.inner_text("table.tasks")
    for url in batch:
        assert url in table, url
    states = page.locator("table.tasks .badge").all_inner_texts()
    assert len(states) == len(batch)
    # Hover every bar: Plotly's hover labels understand a little HTML.
    bars = page.locator("#timeline .barlayer .point path")
    for i in range(bars.count()):
        box = bars.nth(i).bounding_box()
        if box:
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_timeout(100)
    assert page.locator("#timeline .hoverlayer img, #timeline .hoverlayer script").count() == 0
    assert_inert(page, seen)
    page.screenshot(path=str(tmp_path / "xss-run.png"), full_page=True)

    # 3. The runs list, a comparison of the same batch, and the JSON of the run.
    page.goto("/runs")
    assert_inert(page, seen)
    page.goto("/")
    page.fill("#urls", "\n".join(batch))
    page.click("#compare")
    page.wait_for_url(re.compile(r"/compare/[0-9a-f]{12}$"))
    page.wait_for_selector('[data-comparison-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    assert_inert(page, seen)
    page.goto("/workers")
    assert_inert(page, seen)

    documents = seen["documents"]
    assert len(documents) >= 6
    assert all(csp == CONTENT_SECURITY_POLICY for _, _, csp in documents), documents
    figure(
        f"XSS in Chromium: {len(batch) + 1} hostile lines, {len(documents)} pages loaded, "
        f"{len(seen['dialogs'])} dialogs, 0 javascript: links, 0 CSP violations, "
        f"CSP on {len(documents)}/{len(documents)} documents"
    )
