"""Headless Chromium on a private stack (its own Redis, supervisor and gunicorn, so the session's
workers never follow these targets): the Workers page's Scale control, then a sweep's page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib
import requests

from contract.target import Target, TargetMode, read_target, write_target
from tests.conftest import ARTIFACTS
from tests.support import (
    alive_workers,
    start_conductor,
    start_redis,
    start_web,
    start_worker,
    wait_until,
)
from tests.web.conftest import (
    CSP_WATCH_SCRIPT,
    assert_no_csp_violation,
    console_problem,
    response_problem,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def scaling_stack(tmp_path_factory, stack_env) -> Iterator[dict]:
    logs = tmp_path_factory.mktemp("scaling-stack")
    redis = start_redis(logs)
    env = dict(stack_env, REDIS_URL=redis.url, FANOUT_MAX_WORKERS_PER_HOST="4")
    client = redis_lib.Redis.from_url(redis.url)
    supervisor = start_worker(logs, env, name="sup-b1", extra_args=("--host", "b1"))
    web = start_web(logs, env, processes=1, name="scaling-web")
    conductor = start_conductor(logs, env)
    try:
        wait_until(lambda: len(alive_workers(client)) == 1, 30, "1 worker")
        yield {"client": client, "web": web}
    finally:
        supervisor.stop(timeout_s=30)
        conductor.stop()
        web.stop()
        redis.stop()
    assert "Traceback" not in web.log(), web.log()


@pytest.fixture
def page(browser, scaling_stack) -> Iterator[object]:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, base_url=scaling_stack["web"].url
    )
    context.add_init_script(CSP_WATCH_SCRIPT)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: console_problem(message, problems))
    page.on("response", lambda response: response_problem(response, problems))
    yield page
    context.close()
    assert not problems, problems


def _host_row(page) -> list[str]:
    return page.locator("[data-host-rows] tr").first.locator("td").all_inner_texts()


def test_scale_control_grows_then_refuses_out_of_bounds(page, scaling_stack):
    client = scaling_stack["client"]
    page.goto("/workers")
    page.fill("[data-scale-n]", "3")
    page.select_option("[data-scale-mode]", "total")
    page.click(".scale-form button[type=submit]")
    page.wait_for_url("**/workers")
    assert read_target(client) == Target(TargetMode.TOTAL, 3)
    # The page's own polling shows the pool grown: host b1, share 3, 3 live.
    wait_until(lambda: _host_row(page)[:3] == ["b1", "3", "3"], 30, "3 live on b1")
    assert "3 in total" in page.inner_text('[data-w="target"]')
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "workers-scale.png"), full_page=True)
    page.fill("[data-scale-n]", "9")  # over 1 host x 4
    page.evaluate("document.querySelector('[data-scale-n]').removeAttribute('max')")
    page.click(".scale-form button[type=submit]")
    assert "from 1 to 4" in page.inner_text("[data-target-error]")
    assert read_target(client) == Target(TargetMode.TOTAL, 3)

    # The refused form's page (at /workers/target, a POST-only address) keeps polling the
    # Workers page itself, and its message stays.
    def poll(response) -> bool:
        return response.request.method == "GET" and "/workers" in response.url

    with page.expect_response(poll, timeout=15_000) as polled:
        pass
    assert polled.value.url.endswith("/workers") and polled.value.status == 200, polled.value.url
    assert "from 1 to 4" in page.inner_text("[data-target-error]")


def test_sweep_page_draws_points_ideal_and_usl_fit(page, scaling_stack, origin_url):
    web = scaling_stack["web"]
    urls = [f"{origin_url}/delay/100?n={i}" for i in range(8)]
    response = requests.post(
        f"{web.url}/api/sweeps",
        json={"urls": urls, "strategy": "queue", "workers": [1, 2, 3, 4]},
    )
    assert response.status_code == 202, response.text
    page.goto(response.json()["url"])
    page.wait_for_selector('.sweep-root:is([data-state="done"], [data-state="failed"])',
                           timeout=180_000)  # fmt: skip
    assert page.get_attribute(".sweep-root", "data-state") == "done", page.inner_text("h1 + p")
    page.wait_for_selector('#sweep-chart[data-points="4"][data-traces="3"]')
    assert page.locator("#sweep-chart .scatterlayer .trace").count() == 3
    assert page.locator("[data-sweep-rows] tr").count() == 4
    fit = page.inner_text('[data-s="fit"]')
    assert "\u03c3 (contention)" in fit and "\u03ba (coherency)" in fit and "R\u00b2" in fit
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "sweep.png"), full_page=True)
    assert "Others" in page.inner_text(".sweep-root") and "cores that" not in fit
    assert "processes other than fanout" in page.inner_text(".sweep-root")
    page.reload()  # rendered on the server too: the table and the fit without polling
    assert page.locator("[data-sweep-rows] tr").count() == 4


def test_scale_box_follows_the_live_target_and_takes_the_servers_min(page, scaling_stack):
    client = scaling_stack["client"]
    write_target(client, Target(TargetMode.TOTAL, 3))
    page.goto("/workers")
    box = page.locator("[data-scale-n]")
    assert box.get_attribute("min") == "1", "the server refuses a total of 0"
    page.select_option("[data-scale-mode]", "per_host")
    assert box.get_attribute("min") == "0", "a host may run no worker"
    page.evaluate("document.activeElement.blur()")
    write_target(client, Target(TargetMode.TOTAL, 1))  # as `fanout workers scale 1` does
    mode = page.locator("[data-scale-mode]")
    wait_until(lambda: (box.input_value(), mode.input_value()) == ("1", "total"), 10, "follow")
    assert box.get_attribute("min") == "1"
    box.focus()  # a user editing the box keeps what they type
    box.fill("2")
    write_target(client, Target(TargetMode.TOTAL, 3))
    wait_until(lambda: "3 in total" in page.inner_text('[data-w="target"]'), 10, "the target")
    assert box.input_value() == "2"


def test_sweep_starts_from_the_workers_page_and_lands_on_its_page(page, scaling_stack):
    page.goto("/workers")
    page.select_option("[data-sweep-preset]", "io")
    page.fill("[data-sweep-workers]", "1")
    page.click("[data-sweep-form] button[type=submit]")
    page.wait_for_url("**/sweeps/*")
    page.wait_for_selector('.sweep-root[data-state="done"]', timeout=180_000)
    assert page.locator("[data-sweep-rows] tr").count() == 1
    assert "the USL needs 4" in page.inner_text('[data-s="fit"]')
    sweep_id = page.url.rsplit("/", 1)[1]
    page.click("nav >> text=Sweeps")
    page.wait_for_url("**/sweeps")
    assert page.locator(f'a[href="/sweeps/{sweep_id}"]').count() == 1
    assert_no_csp_violation(page)
