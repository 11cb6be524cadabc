"""The run page says how many tasks ran again after their worker stopped, and for how long none
of the run's tasks was running (its wall time includes that time): rendered by the server, and
on a page already open as soon as the data is there (a real Chromium, no reload), as every
other note of the page (a busy host)."""

from __future__ import annotations

import re

import pytest

from contract.states import TaskState
from tests.web.conftest import DONE_TIMEOUT_MS
from tests.web.records import end_tasks, write_run

URLS = [f"http://a.example/{i}" for i in range(4)]
OK = [TaskState.OK] * 4
#: Two tasks, then nothing for 29.9 s (the stack restarting), then two more.
TIMINGS = [(0.0, 0.1), (0.0, 0.1), (30.0, 0.1), (30.0, 0.1)]


def note(html: str, name: str) -> str | None:
    match = re.search(rf"<p [^>]*data-{name}-note([^>]*)>([^<]*)</p>", html)
    assert match, name
    return None if "hidden" in match.group(1) else match.group(2)


def test_the_run_page_names_reruns_and_the_time_no_task_ran(client, redis_client):
    run_id = write_run(redis_client, URLS, OK, timings_s=TIMINGS, reruns=(2, 3))
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert note(html, "rerun").startswith("2 tasks ran again: their worker stopped"), html
    assert note(html, "pause").startswith("For 29.9 s no task of this run was running")
    assert "wall time includes that time" in note(html, "pause")
    timeline = client.get(f"/api/runs/{run_id}/timeline").get_json()
    assert timeline["notes"] == {
        "reruns": 2,
        "paused_s": pytest.approx(29.9),
        "rerun_note": note(html, "rerun"),
        "pause_note": note(html, "pause"),
    }


def test_the_api_document_describes_the_timelines_notes(client, redis_client):
    from jsonschema import Draft202012Validator

    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    assert "notes" in schemas["Timeline"]["properties"]
    notes = schemas["RunNotes"]
    assert set(notes["required"]) == {"reruns", "paused_s", "rerun_note", "pause_note"}
    run_id = write_run(redis_client, URLS, OK, timings_s=TIMINGS)
    timeline = client.get(f"/api/runs/{run_id}/timeline").get_json()
    Draft202012Validator(notes).validate(timeline["notes"])


def test_a_run_without_reruns_or_pauses_has_neither_note(client, redis_client):
    run_id = write_run(redis_client, URLS, OK)
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert note(html, "rerun") is None and note(html, "pause") is None


def held_provisional(html: str) -> str:
    """The run page as the server renders a run whose host load is not in yet: provisional,
    without the host-load note."""
    html = html.replace('"final":true', '"final":false')
    html = html.replace('data-provisional="false"', 'data-provisional="true"')
    return re.sub(r"(<p [^>]*data-host-load)[^>]*>[^<]*</p>", r"\1 hidden></p>", html)


@pytest.mark.browser
def test_notes_appear_on_an_open_page_as_their_data_arrives(page, redis_client):
    run_id = write_run(redis_client, URLS, OK, timings_s=TIMINGS, ended=2, reruns=(2, 3))
    # A run is final once its host load is in (`provisional`, figures.runfacts.settled): until
    # then its summary says provisional, and the open page reads on. This run's records have no
    # worker spans to wait for, so the summary is held provisional here until its load is in.
    held = {"provisional": True}

    def summary(route) -> None:
        html = route.fetch().text()
        if held["provisional"]:
            html = held_provisional(html)
        route.fulfill(body=html, content_type="text/html; charset=utf-8")

    page.route(f"**/runs/{run_id}", summary)
    page.goto(f"/runs/{run_id}")
    page.wait_for_selector('[data-run-id][data-state="running"]')
    assert page.locator("[data-rerun-note]").is_hidden()
    assert page.locator("[data-host-load]").is_hidden()

    load = {"busy": True, "others_cores": {"vm": 1.5}, "threshold_cores": 0.25}
    end_tasks(redis_client, run_id, host_load=load)

    page.wait_for_selector('[data-run-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    rerun = page.locator("[data-rerun-note]")
    rerun.wait_for()
    assert rerun.inner_text().startswith("2 tasks ran again")
    assert re.match(r"For \d+\.\d s no task of this run", page.inner_text("[data-pause-note]"))
    page.wait_for_selector('#timeline[data-final="true"]')
    assert page.locator("[data-host-load]").is_hidden()
    assert page.locator('[data-summary][data-provisional="true"]').count() == 1

    # The host load comes after the end: the page, done and drawn, still shows it.
    held["provisional"] = False
    note = page.locator("[data-host-load]")
    note.wait_for(timeout=10_000)
    assert note.inner_text().startswith("Other processes kept the worker hosts")


@pytest.mark.browser
def test_the_open_page_shows_the_servers_words_for_its_notes(page, redis_client):
    """The live page writes no sentence of its own: it places the notes of the server's fresh
    rendering of the page, whatever they say."""
    run_id = write_run(redis_client, URLS, OK, timings_s=TIMINGS, reruns=(2,), ended=2)
    words = {"rerun": "the server's rerun note", "pause": "the server's pause note"}
    served = {"pages": 0}

    def worded(route) -> None:
        html = route.fetch().text()
        served["pages"] += 1
        if served["pages"] > 1:  # the page's own reads, after the first rendering
            for name, text in words.items():
                html = re.sub(
                    rf"(<p [^>]*data-{name}-note)[^>]*>[^<]*</p>", rf"\1>{text}</p>", html
                )
        route.fulfill(body=html, content_type="text/html; charset=utf-8")

    page.route(f"**/runs/{run_id}", worded)
    page.goto(f"/runs/{run_id}")
    page.wait_for_function(
        "(text) => document.querySelector('[data-rerun-note]').textContent === text",
        arg=words["rerun"],
    )
    assert page.inner_text("[data-pause-note]") == words["pause"]
