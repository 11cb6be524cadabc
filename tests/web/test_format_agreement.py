"""The server (Jinja filters, web/formats.py) and the browser (web/static/fanout.js) write the same
numbers, labels and colours the same way: a page that JavaScript updates live shows, string for
string, what a reload without JavaScript shows.

In a real headless Chromium: the browser's formatters over a table of edge values (rounding ties
included: 0.125 is exactly 12.5 %, which Python's half-even and JavaScript's toFixed rounded
apart), then the run page of a real run and of runs written on exact ties, read once without
JavaScript (what the server rendered) and once after the scripts redrew it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
import requests

from contract import keys
from contract.states import RunState, Strategy, TaskState
from producer import hostnote
from tests.web.conftest import DONE_TIMEOUT_MS, assert_no_csp_violation
from tests.web.records import write_comparison, write_run
from web import compareview, formats, presentation, runnotes

pytestmark = pytest.mark.browser

#: Python's name of a formatter -> (the function, its name in the browser's modules).
FORMATTERS: dict[str, tuple[Any, str]] = {
    "seconds": (formats.seconds, "seconds"),
    "millis": (formats.millis, "millis"),
    "percent": (formats.percent, "percent"),
    "times": (formats.times, "times"),
    "rate": (formats.rate, "rate"),
    "count": (formats.count, "count"),
    "ago": (formats.ago, "ago"),
    "lane": (formats.lane, "lane"),
    "short_lane": (formats.short_lane, "shortLane"),
    "short_worker": (formats.short_worker, "shortWorker"),
    "fixed": (formats.fixed, "fixed"),
    "counted": (formats.counted, "counted"),
    "peak_text": (formats.peak_text, "peakText"),
    "workers_note": (runnotes.workers_note, "workersNote"),
    "host_load_note": (runnotes.host_load_note, "hostLoadNote"),
    "rerun_note": (runnotes.rerun_note, "rerunNote"),
    "pause_note": (runnotes.pause_note, "pauseNote"),
}

UUID = "0123456789abcdef0123456789ABCDEF"  # an RQ pool worker's name: shortened to 8


def _task(worker: str | None, host: str | None = "h1") -> dict[str, Any]:
    return {"host": host, "worker": worker, "pid": 4242, "thread": "fanout_0"}


def _load(others_cores: dict[str, float], *, comparison: str | None = None) -> dict[str, Any]:
    """A run whose host load the reader gave its note (`producer.hostnote`)."""
    load = {"busy": True, "others_cores": others_cores, "threshold_cores": 0.25}
    load["own_cores"] = {host: {"redis": 0.125, "web": 0.004} for host in others_cores}
    return {"host_load": hostnote.with_note(load, comparison=bool(comparison))} | (
        {"comparison": comparison} if comparison else {}
    )


#: (formatter, arguments). Ties are floats exactly halfway at the shown precision: 0.0625 s at
#: 3 decimals, 10.25 s at 1, 150.5 s to the whole second, 0.005 and 0.125 as percent.
CASES: list[tuple[str, tuple[Any, ...]]] = [
    *[
        ("seconds", (v,))
        for v in (None, 0, 0.0, -0.0, 0.0004, 0.0005, 0.0625, 1.0005, 9.9994, 9.9996, 10, 10.25)
    ],
    *[("seconds", (v,)) for v in (10.35, 119.94, 119.96, 120, 150.5, 152.5, 3599.6, 1234567)],
    *[("seconds", (v,)) for v in (-1, -0.0001, math.inf, math.nan)],
    *[
        ("millis", (v,))
        for v in (None, 0, 0.0004, 0.0005, 0.0015, 0.0025, 0.0625, 1.2345, 1234.5678, -0.25)
    ],
    *[
        ("percent", (v,))
        for v in (None, 0, -0.0, 0.004, 0.005, 0.015, 0.125, 0.625, 0.999, 1, 1.5, 12.345)
    ],
    *[("times", (v,)) for v in (None, 0, 1, 1.005, 1.125, 1.375, 2.675, 0.875, 1234.5, 1e6)],
    *[
        ("rate", (v,))
        for v in (None, 0, 0.05, 0.25, 0.75, 12.35, 999.95, 1234.25, 1234.56, 1234567.89, -3.25)
    ],
    *[
        ("count", (v,))
        for v in (None, 0, 1, 999, 1000, -1234, 1234567, 10**15, 2**53 - 1, 0.5, 2.5, 1234.5)
    ],
    *[("count", (v,)) for v in (1e21, 2.0**80, -1e25)],  # toFixed writes these as 1e+21
    *[("fixed", (v, d)) for v, d in ((0.00005, 4), (2.0**-20, 5), (-2.5, 0), (0.9995, 3))],
    *[("fixed", (v, d)) for v, d in ((1e-7, 2), (-1e-7, 2), (123.456, 0), (1e22, 2))],
    *[("fixed", (v, 1)) for v in (math.inf, -math.inf, math.nan)],
    *[("ago", (epoch, 1_000.0)) for epoch in (None, 1_000.0, 2_000.0, 999.5, 940.5, 940.0)],
    *[("ago", (0.0, now)) for now in (59.4, 60.0, 150.0, 900.0, 3599.0, 3600.0, 5400.0, 9000.0)],
    ("lane", ({},)),
    ("lane", (_task(UUID),)),
    ("lane", (_task(UUID) | {"pid": None},)),
    ("short_lane", ({"host": ""},)),
    ("short_lane", (_task(UUID),)),
    ("short_lane", (_task("w" * 31),)),
    ("short_lane", (_task("\u00e9" * 32),)),  # letters, but not an RQ uuid
    *[("short_worker", (name,)) for name in (None, "", UUID, "x" * 33, "\u0661" * 32, "a-b" * 11)],
    ("workers_note", (None,)),
    ("workers_note", ({"served": 1, "live": 1, "changes": []},)),
    ("workers_note", ({"served": 3, "live": 2, "changes": [[0.0, 2], [0.25, 4], [3.75, 3]]},)),
    ("workers_note", ({"served": 4, "live": 2, "changes": [[0, 2], [11.712, 3], [11.745, 4]]},)),
    ("workers_note", ({"served": 3, "live": 2, "changes": [[0, 2], [11.712, 3], [11.745, 2]]},)),
    ("workers_note", ({"served": 3, "live": 2, "changes": [[0, 2], [0.02, 3], [5, 1]]},)),
    *[("counted", (v, "URL")) for v in (0, 1, 2, 1234, None)],
    ("peak_text", ({"summary": {"peak_concurrency": 1234}, "counts": {"running": 2}},)),
    ("peak_text", ({"summary": {"peak_concurrency": None}, "counts": {"running": 8}},)),
    ("peak_text", ({"summary": {"peak_concurrency": None}, "counts": {"running": 0}},)),
    # The browser shows the server's words (runnotes.worded, in the timeline answer).
    *[("rerun_note", (runnotes.worded({"reruns": n}),)) for n in (0, 1, 854)],
    ("rerun_note", (None,)),
    *[("pause_note", (runnotes.worded({"paused_s": v}),)) for v in (0, 0.0, 1.25, 29.9, 754.5)],
    ("pause_note", (None,)),
    ("host_load_note", ({},)),
    ("host_load_note", (_load({"b-host": 0.5, "B-host": 0.5, "a-host": 0.125}),)),
    ("host_load_note", (_load({"zeta": 1.375}, comparison="c0ffee"),)),
]

BROWSER_FORMAT = """async (cases) => {
  const fanout = await import("/static/fanout.js");
  const modules = { ...fanout, ...(await import("/static/runnotes.js")) };
  return cases.map(([name, args]) => modules[name](...args));
}"""


def test_the_browser_formats_every_edge_value_as_the_server_does(page):
    page.goto("/")
    calls = [[FORMATTERS[name][1], list(args)] for name, args in CASES]
    written = page.evaluate(BROWSER_FORMAT, calls)
    disagreements = [
        f"{name}{args!r}: server {expected!r}, browser {got!r}"
        for (name, args), got in zip(CASES, written, strict=True)
        if got != (expected := FORMATTERS[name][0](*args))
    ]
    assert not disagreements, "\n".join(disagreements)


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
  return [colours, ...[m.STATE_LABELS, m.RUN_STATE_LABELS].map(Object.entries)];
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

    chart, labels, run_labels = page.evaluate(BROWSER_DEFINITIONS)
    states, runs = presentation.TASK_STATES.items(), presentation.RUN_STATES.items()
    assert chart == [[name, look.chart] for name, look in states]
    assert labels == [[name, look.label] for name, look in states]  # in the server's order
    assert run_labels == [[name, look.label] for name, look in runs]
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


#: Runs whose figures sit exactly on rounding ties: (start offset, duration) of each task, in s
#: (exact binary fractions, so the reader's sums and differences are exact too), and what the
#: page must say of them. The time from submission to the end is the task writer's clock's, so
#: no tie is put on it.
TIES = {
    # Wall 16 s, ideal 10 s: efficiency 62.5 %; sum 18 s: speed-up 1.125x; 4 tasks in 16 s:
    # 0.25 /s; a task of 62.5 ms.
    "figures": (
        [(0, 10), (0, 7.9375), (8, 0.0625), (16, 0)],
        {"efficiency": "63 %", "speedup": "1.13\u00d7", "throughput_per_s": "0.3 /s"},
    ),
    # 150.5 s of wall time: halfway between two whole seconds.
    "minutes": ([(0, 150.5)], {"wall_s": "2 min 31 s"}),
}


@pytest.mark.parametrize("name", sorted(TIES))
def test_a_run_on_rounding_ties_reads_the_same_before_and_after_the_scripts(
    browser, page, web_server, origin_url, redis_client, name
):
    """Sorted by URL too: URLs that a collation orders otherwise than code points do."""
    timings, expected = TIES[name]
    states = [TaskState.OK, TaskState.HTTP_ERROR, TaskState.ERROR, TaskState.TIMEOUT]
    urls = [f"{origin_url}/delay/0?n={n}" for n in ("b", "B", "_", "a")[: len(timings)]]
    run_id = write_run(redis_client, urls, states[: len(urls)], timings_s=timings)
    live = assert_rendered_alike(browser, page, web_server.url, f"/runs/{run_id}?sort=url")
    assert dict(live["fields"]) | expected == dict(live["fields"])
    if name == "figures":
        assert [row[1].rsplit("=", 1)[1] for row in live["rows"]] == ["B", "_", "a", "b"]
        assert "63 ms" in [row[6] for row in live["rows"]]


#: compareview's keys that compare_rows.js names in camelCase; `run_ids` it keeps to itself.
CAMEL = {"run_id": "runId", "peak_concurrency": "peakConcurrency"}


def _comparison(redis, name: str) -> str:
    """A comparison by what it shows: a strategy still going ("going"), two final ones with a
    verdict ("final"), three runs of each with the last threads run going ("repeated": medians,
    ranges, runs done)."""
    seq, thr = Strategy.SEQUENTIAL, Strategy.THREADS
    urls, ok = [f"http://a.example/{i}" for i in range(4)], [TaskState.OK] * 4

    def run(strategy: Strategy, duration_s: float, *, going: bool = False) -> str:
        going_args = {"ended": 1, "running": 1} if going else {}
        return write_run(redis, urls, ok, strategy=strategy, duration_s=duration_s, **going_args)

    if name == "going":
        run_ids = [run(seq, 0.2), run(thr, 0.1, going=True)]
    elif name == "final":
        run_ids = [run(seq, 0.2), run(thr, 0.0625)]
    else:
        run_ids = [
            run(s, 0.2 + 0.01 * i, going=s is thr and i == 2) for i in range(3) for s in (seq, thr)
        ]
    return write_comparison(redis, urls, run_ids)


@pytest.mark.parametrize("name", ["going", "final", "repeated"])
def test_the_browser_builds_the_compare_rows_as_the_server_does(page, redis_client, name):
    """compare_rows.js and web/compareview.py, over the same answer of the API."""
    comparison_id = _comparison(redis_client, name)
    page.goto("/")
    answer = page.request.get(f"/api/compare/{comparison_id}?tasks=false").json()
    browser_rows = page.evaluate(
        "async (c) => (await import('/static/compare_rows.js')).compareRows(c)", answer
    )
    server_rows = [
        {CAMEL.get(key, key): value for key, value in row.items() if key != "run_ids"}
        for row in compareview.compare_rows(answer)
    ]
    assert browser_rows == server_rows
    shown = {
        "going": any(not row["final"] for row in server_rows),
        "final": any(row["verdict"] for row in server_rows),
        "repeated": any(f["range"] for row in server_rows for f in row["figures"].values()),
    }
    assert shown[name], server_rows


def test_rendering_without_javascript_is_possible(browser):
    """The reading above needs a context whose page scripts do not run: make sure they do not."""
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.set_content("<p id=p>server</p><script>document.getElementById('p').id='js'</script>")
        assert plain.locator("#p").count() == 1
    finally:
        context.close()
