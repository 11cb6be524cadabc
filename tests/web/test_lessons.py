"""The Lessons page: the explanation of each step on fixed comparison records (every figure in it
the record's own), and the page and its buttons through Flask's test client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import render_template

from producer.comparison import rows
from tests.web.conftest import csrf_token, make_app
from web import lessons
from web.formats import seconds, times

BUSY_NOTE = (
    "Other processes kept the worker hosts busy during this run (testhost 1.37 cores; more than "
    "0.25 is too many): the figures may be distorted; repeat the comparison."
)


def _run(
    strategy: str,
    wall_s: float,
    *,
    busy: bool = False,
    ok: int = 20,
    total: int = 20,
    workers: int = 2,
    cores: int = 2,
    work_s: float = 4.0,
    peak: int = 1,
    state: str = "done",
) -> dict[str, Any]:
    return {
        "id": f"{strategy[:4]:0<4}00000000"[:12],
        "spec": {"strategy": strategy, "concurrency": 8, "workload": "fetch"},
        "state": state,
        "provisional": state != "done",
        "total": total,
        "done": total if state == "done" else 3,
        "workers_at_start": workers,
        "repeat_index": 0,
        "counts": {"ok": ok},
        "summary": {
            "wall_s": wall_s,
            "ideal_s": wall_s / 2,
            "efficiency": 0.5,
            "speedup": 4.0 / wall_s,
            "sum_s": 4.0,
            "work_s": work_s,
            "peak_concurrency": peak,
            "cores": cores,
            "counts": {"ok": ok},
        },
        "host_load": {"busy": busy, "note": BUSY_NOTE if busy else ""},
    }


def _comparison(runs: list[dict[str, Any]], workload: str = "fetch") -> dict[str, Any]:
    strategies = [run["spec"]["strategy"] for run in runs]
    for run in runs:
        run["spec"]["workload"] = workload
    done = all(run["state"] == "done" for run in runs)
    return {
        "id": "c0ffee000001",
        "spec": {"concurrency": 8, "workload": workload},
        "total": 20,
        "state": "done" if done else "running",
        "provisional": not done,
        "repeat": 1,
        "strategies": strategies,
        "runs": runs,
        "rows": rows(runs, strategies, 1),
    }


def test_threads_step_names_both_wall_times_and_the_speedup():
    record = _comparison([_run("sequential", 4.124), _run("threads", 0.5213, peak=8)])
    answer = lessons.explain(lessons.BY_KEY["threads"], record)
    text = " ".join(answer.lines)
    assert answer.final and not answer.cautions
    assert "Threads finished in 0.521 s against sequential's 4.124 s: 7.91\u00d7" in text
    assert "near the 8 in flight" in text and "at most 8 fetches overlapped" in text


def test_a_speedup_far_below_the_threads_says_short_of():
    record = _comparison([_run("sequential", 4.0), _run("threads", 2.0, peak=8)])
    text = " ".join(lessons.explain(lessons.BY_KEY["threads"], record).lines)
    assert "2.00\u00d7, short of the 8 in flight" in text


def test_a_busy_host_makes_the_answer_untrustworthy_and_quotes_the_runs_note():
    record = _comparison([_run("sequential", 4.0), _run("threads", 0.6, busy=True)])
    answer = lessons.explain(lessons.BY_KEY["threads"], record)
    assert answer.final and answer.lines  # still the measured answer...
    assert answer.cautions[0].startswith("This answer is not trustworthy")
    assert answer.cautions[1:] == (f"threads: {BUSY_NOTE}",)  # ...and which run, in its words


def test_failed_fetches_are_a_caution_with_their_count():
    record = _comparison([_run("sequential", 4.0, ok=17), _run("threads", 0.6)])
    answer = lessons.explain(lessons.BY_KEY["threads"], record)
    assert "sequential: only 17 of 20 URLs were fetched OK" in " ".join(answer.cautions)


def test_a_running_comparison_gives_progress_and_no_verdict():
    record = _comparison([_run("sequential", 4.0), _run("threads", 0.2, state="running")])
    answer = lessons.explain(lessons.BY_KEY["threads"], record)
    assert not answer.final and answer.lines == () and answer.cautions == ()
    assert answer.progress == (
        "sequential done 20/20 · threads running 3/20: the answer appears here when every run "
        "has ended"
    )


def test_a_settling_comparison_is_not_final_yet():
    record = _comparison([_run("sequential", 4.0), _run("threads", 0.5)])
    record["provisional"] = True  # every run done, a host load still to come
    assert not lessons.explain(lessons.BY_KEY["threads"], record).final


def test_baseline_step_gives_the_time_per_url():
    record = _comparison([_run("sequential", 4.2)])
    text = " ".join(lessons.explain(lessons.BY_KEY["baseline"], record).lines)
    assert "Sequential fetched the 20 URLs in 4.200 s: 0.210 s a URL" in text
    assert "On average 0.95 tasks were in flight" in text


def test_processes_step_gives_their_extra_cost_over_threads():
    record = _comparison([_run("sequential", 4.0), _run("threads", 0.55), _run("processes", 0.95)])
    text = " ".join(lessons.explain(lessons.BY_KEY["processes"], record).lines)
    assert "Processes finished in 0.950 s, threads in 0.550 s, sequential in 4.000 s" in text
    assert f"processes {times(4 / 0.95)} faster than sequential, threads {times(4 / 0.55)}" in text
    assert f"took {seconds(0.95 - 0.55)} more than threads" in text


def test_processes_no_slower_than_threads_is_said_so():
    record = _comparison([_run("sequential", 4.0), _run("threads", 0.6), _run("processes", 0.5)])
    text = " ".join(lessons.explain(lessons.BY_KEY["processes"], record).lines)
    assert "processes were no slower than threads (0.500 s against 0.600 s)" in text


def test_gil_step_threads_near_one_and_processes_on_the_cores():
    runs = [
        _run("sequential", 1.2, work_s=1.1),
        _run("threads", 1.15),
        _run("processes", 0.66, cores=2),
    ]
    text = " ".join(lessons.explain(lessons.BY_KEY["gil"], _comparison(runs, "cpu")).lines)
    assert "sequential took 1.200 s, of which 1.100 s was CPU time" in text
    assert f"Threads took 1.150 s: {times(1.2 / 1.15)} against sequential, no real gain" in text
    assert f"Processes took 0.660 s: {times(1.2 / 0.66)} against sequential, on 2 cores." in text


def test_gil_step_says_when_processes_found_no_spare_core():
    runs = [_run("sequential", 1.2), _run("threads", 1.2), _run("processes", 1.1, cores=1)]
    text = " ".join(lessons.explain(lessons.BY_KEY["gil"], _comparison(runs, "cpu")).lines)
    assert "on 1 cores: no spare core was free" in text


def test_queue_step_names_the_workers_and_how_to_add_more():
    runs = [_run("sequential", 4.0), _run("queue", 2.1, workers=2, peak=2)]
    text = " ".join(lessons.explain(lessons.BY_KEY["queue"], _comparison(runs)).lines)
    assert "the 2 workers alive took them one at a time each: 2.100 s against sequential's " in text
    assert f"{times(4 / 2.1)}, near the 2 workers (at most 2 at once)" in text
    assert "`fanout workers scale 4`" in text


def test_a_comparison_of_other_strategies_is_not_explained():
    record = _comparison([_run("sequential", 4.0), _run("asyncio", 0.5)])
    answer = lessons.explain(lessons.BY_KEY["threads"], record)
    assert answer.final and answer.lines == ()
    assert "ran sequential, asyncio on the fetch workload, not this step's" in answer.cautions[0]


def test_the_same_strategies_on_the_other_workload_are_not_explained():
    runs = [_run("sequential", 4.0), _run("threads", 0.5), _run("processes", 0.6)]
    answer = lessons.explain(lessons.BY_KEY["gil"], _comparison(runs, "fetch"))
    assert answer.lines == () and "not this step's" in answer.cautions[0]


# The page, through Flask's test client.


def test_the_page_lists_the_five_steps_in_order_each_with_a_button(client):
    html = client.get("/lessons").get_data(as_text=True)
    keys = re.findall(r'data-lesson-run="([a-z]+)"', html)
    assert keys == ["baseline", "threads", "processes", "gil", "queue"]
    assert html.count('name="csrf_token"') == 5


def test_lessons_is_the_first_link_of_the_nav_and_of_the_home_page(client):
    html = client.get("/").get_data(as_text=True)
    nav = re.search(r'<nav class="nav"[^>]*>(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r'href="([^"]+)"', nav)[0] == "/lessons"
    main = html.split('<main class="page">', 1)[1]
    assert re.findall(r'href="([^"]+)"', main)[0] == "/lessons"


def test_a_malformed_comparison_id_is_a_400_with_a_message(client):
    response = client.get("/lessons?threads=../../x")
    assert response.status_code == 400
    assert "threads must be a comparison id" in response.get_data(as_text=True)


def test_an_expired_comparison_says_so_on_its_step(client):
    html = client.get("/lessons?gil=0123456789ab").get_data(as_text=True)
    assert "Comparison 0123456789ab has expired or never existed: run the step." in html


def test_an_unknown_step_is_a_404(client):
    page = client.get("/lessons").get_data(as_text=True)
    response = client.post("/lessons/nope", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404
    assert "No lesson &#39;nope&#39;: the steps are baseline, threads" in response.get_data(
        as_text=True
    )


def test_a_button_without_its_csrf_token_is_refused(client):
    assert client.post("/lessons/threads").status_code == 400


def test_a_button_submits_its_comparison_and_the_page_remembers_it(client, redis_client, workers):
    page = client.get("/lessons").get_data(as_text=True)
    response = client.post("/lessons/gil", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    match = re.fullmatch(r"/lessons\?gil=([0-9a-f]{12})#gil", response.headers["Location"])
    assert match, response.headers["Location"]
    comparison_id = match.group(1)
    record = client.get(f"/api/compare/{comparison_id}?tasks=false").get_json()
    assert record["strategies"] == ["sequential", "threads", "processes"]
    assert record["spec"]["workload"] == "cpu" and record["spec"]["concurrency"] == 2
    assert record["total"] == lessons.LESSON_URLS
    # A visit without the id (the nav's link) shows the step's comparison from the session.
    again = client.get("/lessons").get_data(as_text=True)
    assert f'data-comparison-id="{comparison_id}"' in again


@pytest.fixture
def limited(settings):
    return make_app(settings, RATE_LIMIT_SUBMIT="2/minute").test_client()


def test_the_buttons_count_against_the_submission_limit(limited, workers):
    page = limited.get("/lessons").get_data(as_text=True)
    token = csrf_token(page)
    statuses = [
        limited.post(
            "/lessons/baseline", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": address}
        ).status_code
        for address in ["127.9.9.9"] * 3
    ]
    assert statuses == [303, 303, 429]


def test_the_page_writes_a_command_as_code_and_escapes_everything_else(app):
    runs = [_run("sequential", 4.0), _run("queue", 2.1, workers=2, busy=True)]
    runs[1]["host_load"]["note"] = "<b>busy</b> `x`"
    answer = lessons.explain(lessons.BY_KEY["queue"], _comparison(runs))
    with app.test_request_context("/lessons"):
        html = render_template(
            "lessons.html",
            lessons=lessons.LESSONS,
            answers={"queue": answer},
            errors={},
            batch_text=lessons.batch_text,
            poll_ms=700,
        )
    assert "run <code>fanout workers scale 4</code> (or set" in html
    assert "queue: &lt;b&gt;busy&lt;/b&gt; <code>x</code>" in html


def test_a_comparison_whose_runs_ended_says_it_waits_for_the_host_load():
    record = _comparison([_run("sequential", 4.0), _run("threads", 0.5)])
    record["provisional"] = True
    answer = lessons.explain(lessons.BY_KEY["threads"], record)
    assert answer.progress.startswith("sequential done 20/20 · threads done 20/20: every run")
    assert "the host load during each" in answer.progress


def test_the_baseline_says_tasks_in_flight_as_a_plain_number():
    record = _comparison([_run("sequential", 4.0)])
    text = " ".join(lessons.explain(lessons.BY_KEY["baseline"], record).lines)
    assert "On average 1.00 tasks were in flight" in text


def test_the_queue_step_without_a_worker_count_names_no_zero_workers():
    runs = [_run("sequential", 4.0), _run("queue", 2.0, workers=0)]
    text = " ".join(lessons.explain(lessons.BY_KEY["queue"], _comparison(runs)).lines)
    assert "0 workers" not in text and "the live workers took them" in text
    assert f"4.000 s, {times(2.0)} (at most 1 at once)" in text
    assert "`fanout workers scale" in text


def test_with_redis_down_the_page_shows_the_banner_and_a_button_answers_503(down_app):
    client = down_app.test_client()
    page = client.get("/lessons")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'<div id="banner" class="banner" role="alert"\s*>', html), "banner shown"
    response = client.post("/lessons/threads", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 503
    assert "Redis is unreachable" in response.get_data(as_text=True)
