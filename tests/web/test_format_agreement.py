"""A page that JavaScript updates live shows, string for string, what a reload without JavaScript
shows, with the labels and colours of web/presentation.py: the scripts place the server's
rendering (fanout.js refreshLive), they write no number of their own
(tests/web/test_one_rendering.py).

In a real headless Chromium: the run page of a real run, read once without JavaScript (what the
server rendered) and once after the scripts redrew it; the badges' and charts' colours.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from contract import keys
from contract.states import RunState, TaskState
from tests.web.conftest import DONE_TIMEOUT_MS, assert_no_csp_violation
from tests.web.records import write_run
from web import presentation

pytestmark = pytest.mark.browser


def rgb(colour: str) -> str:
    """#16a34a as getComputedStyle writes it: rgb(22, 163, 74)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def defined_colours(class_name: str) -> tuple[str, str] | None:
    """(background, text) that web/presentation.py gives an element of these classes: a badge's
    own, a chip's dot the chart colour (its text colour is no one's concern); None when no state
    class is among them."""
    classes = class_name.split()
    for kind, states in presentation.BADGES.items():
        for name, look in states.items():
            if f"{kind}-{name}" in classes:
                if "dot" in classes and look.chart:
                    return rgb(look.chart), "any"
                return rgb(look.background), rgb(look.text)
    return None


#: Every badge and chip dot on the page: its classes and its computed colours.
READ_COLOURS = """() => [...document.querySelectorAll(".badge, .dot")].map((el) => {
  const style = getComputedStyle(el);
  return [el.className, style.backgroundColor, style.color];
})"""


def assert_badges_have_the_defined_colours(page) -> int:
    """Every state badge and dot on the page, as the browser computes it; how many there were."""
    wrong, checked = [], 0
    for class_name, background, text in page.evaluate(READ_COLOURS):
        defined = defined_colours(class_name)
        if defined is None:
            continue
        checked += 1
        if (background, text if defined[1] != "any" else "any") != defined:
            wrong.append(f"{class_name!r}: {background} / {text}, defined {defined}")
    assert not wrong, "\n".join(wrong)
    return checked


ADD_BADGES = """(classes) => {
  const box = document.createElement("div");
  box.innerHTML = classes.map((c) => `<span class="${c}">x</span>`).join("");
  document.querySelector("main").append(box);
}"""

BROWSER_DEFINITIONS = """async () => {
  const m = await import("/static/fanout.js");
  const colours = Object.keys(m.STATE_LABELS).map((state) => [state, m.stateColour(state)]);
  return [colours, Object.entries(m.STATE_LABELS)];
}"""


def test_every_state_has_the_defined_colours_and_label_in_the_browser(page):
    page.goto("/")
    classes = [
        f"badge {kind}-{name}" for kind, states in presentation.BADGES.items() for name in states
    ]
    classes += [f"dot state-{name}" for name in presentation.TASK_STATES]
    page.evaluate(ADD_BADGES, classes)
    assert assert_badges_have_the_defined_colours(page) == len(classes)

    names = [f"chart-{name}" for name in presentation.CHART_COLOURS]
    read = page.evaluate(
        "async (names) => names.map((await import('/static/fanout.js')).colour)", names
    )
    assert read == list(presentation.CHART_COLOURS.values())

    chart, labels = page.evaluate(BROWSER_DEFINITIONS)
    states = presentation.TASK_STATES.items()
    assert chart == [[name, look.chart] for name, look in states]
    assert labels == [[name, look.label] for name, look in states]  # the legend, server's order
    assert_no_csp_violation(page)


#: The run timeline's drawn bars: each trace's name and its first bar's fill; the plot's and the
#: paper's backgrounds.
READ_TIMELINE_COLOURS = """() => {
  const el = document.getElementById("timeline");
  const bars = [...el.querySelectorAll(".barlayer .trace")].map((trace, i) =>
    [el.data[i].name, getComputedStyle(trace.querySelector(".point path")).fill]);
  const paper = getComputedStyle(el.querySelector(".main-svg")).backgroundColor;
  return { bars, plot: getComputedStyle(el.querySelector("rect.bg")).fill, paper };
}"""


#: A stylesheet's colours for the test below, overriding presentation.css's.
RESTYLED = {"state-ok": "#123456", "chart-plot": "#fefdfc"}


def test_the_charts_draw_with_the_stylesheets_colours(page, redis_client):
    """The timeline's bars take the states' colours, its backgrounds the chart frame's, from the
    stylesheet: a page whose stylesheet says otherwise draws otherwise, so the scripts hold no
    colour of their own."""

    def restyle(route) -> None:
        response = route.fetch()
        extra = " ".join(f"--{name}: {value};" for name, value in RESTYLED.items())
        route.fulfill(response=response, body=f"{response.text()}:root {{ {extra} }}")

    page.route("**/static/presentation*.css*", restyle)
    states = [TaskState.OK, TaskState.HTTP_ERROR, TaskState.TIMEOUT]
    run_id = write_run(redis_client, [f"http://127.0.0.1:9/{n}" for n in range(3)], states)
    page.goto(f"/runs/{run_id}")
    page.wait_for_selector('#timeline[data-final="true"] .barlayer .point')
    drawn = page.evaluate(READ_TIMELINE_COLOURS)
    looks = presentation.TASK_STATES
    expected = {state.value: rgb(looks[state.value].chart) for state in states}
    expected[TaskState.OK.value] = rgb(RESTYLED["state-ok"])
    assert sorted(drawn["bars"]) == sorted([looks[k].label, v] for k, v in expected.items())
    assert drawn["plot"] == rgb(RESTYLED["chart-plot"])
    assert drawn["paper"] == "rgba(255, 255, 255, 0)"  # --chart-paper, #ffffff00: transparent
    assert_no_csp_violation(page)


def test_the_definition_covers_every_task_and_run_state():
    assert list(presentation.TASK_STATES) == [state.value for state in TaskState]
    assert list(presentation.RUN_STATES) == [state.value for state in RunState]
    assert all(look.chart for look in presentation.TASK_STATES.values())


#: What the run page shows: every summary field, the state chips, the badges, the notes and the
#: task table, as text with its whitespace collapsed.
READ_RUN_PAGE = """() => {
  const text = (el) => el.textContent.replace(/\\s+/g, " ").trim();
  const root = document.querySelector("[data-run-id]");
  const shown = (selector) => {
    const el = root.querySelector(selector);
    return el.hidden ? null : text(el);
  };
  const runState = root.querySelector("h1 [data-run-state]");
  return {
    runState: [runState.className, text(runState)],
    fields: [...root.querySelectorAll("[data-field]")].map((el) => [el.dataset.field, text(el)]),
    chips: [...root.querySelectorAll("[data-count]")]
      .map((li) => [li.dataset.count, text(li), li.classList.contains("chip-zero")]),
    workersNote: shown("[data-workers-note]"),
    hostLoad: shown("[data-host-load]"),
    badges: [...root.querySelectorAll("table.tasks tbody .badge")]
      .map((el) => [el.className, text(el)]),
    rows: [...root.querySelectorAll("table.tasks tbody tr")].map((tr) => [...tr.cells].map(text)),
  };
}"""


def read_without_javascript(browser, base_url: str, path: str) -> dict[str, Any]:
    """The page as the server rendered it: a context whose scripts never run."""
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(path)
        return plain.evaluate(READ_RUN_PAGE)
    finally:
        context.close()


def assert_rendered_alike(browser, page, base_url: str, path: str) -> dict[str, Any]:
    server = read_without_javascript(browser, base_url, path)
    page.goto(path)
    page.wait_for_selector('#timeline[data-final="true"]', timeout=DONE_TIMEOUT_MS)
    live = page.evaluate(READ_RUN_PAGE)
    differences = [
        f"{part}:\n  server  {server[part]}\n  browser {live[part]}"
        for part in server
        if live[part] != server[part]
    ]
    assert not differences, "\n".join(differences)
    assert_badges_have_the_defined_colours(page)
    assert_no_csp_violation(page)
    return live


def test_a_real_run_reads_the_same_before_and_after_the_scripts_redraw_it(
    browser, page, web_server, origin_url, redis_client
):
    urls = [f"{origin_url}/delay/{ms}?n={i}" for i, ms in enumerate((40, 90, 10))]
    urls.append(f"{origin_url}/status/500")
    body = {"urls": urls, "strategy": "threads", "concurrency": 2}
    response = requests.post(f"{web_server.url}/api/runs", json=body, timeout=10)
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    deadline = time.monotonic() + DONE_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:  # done, and its facts kept: the record stops changing
        state = requests.get(f"{web_server.url}/api/runs/{run_id}", timeout=10).json()["state"]
        if state == "done" and not redis_client.sismember(keys.ended_runs_key(), run_id):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"run {run_id} did not end and settle")
    live = assert_rendered_alike(browser, page, web_server.url, f"/runs/{run_id}")
    assert [cls for cls, _ in live["badges"]].count("badge state-ok") == 3


def test_rendering_without_javascript_is_possible(browser):
    """The reading above needs a context whose page scripts do not run: make sure they do not."""
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.set_content("<p id=p>server</p><script>document.getElementById('p').id='js'</script>")
        assert plain.locator("#p").count() == 1
    finally:
        context.close()
