"""Numbers that are not final look it, on the server-rendered pages (read without JavaScript):
a strategy or run still going is greyed and says "so far", with no speed-up verdict; an empty
chart says so instead of drawing an axis; a busy worker host and the workers that served a
run are named. Records are written into the session's Redis in the real key format; the
reader's coming fields are added in their specified shape (tests/web/shapes.py)."""

from __future__ import annotations

import re

from flask import render_template

from contract import keys
from contract.states import Strategy, TaskState
from producer.reader import load_comparison, load_run
from tests.web.records import write_comparison, write_run
from tests.web.shapes import comparison_shape, run_shape

URLS = [f"http://a.example/{i}" for i in range(4)]
OK = [TaskState.OK] * 4
SEQ = Strategy.SEQUENTIAL
THREADS = Strategy.THREADS


def compare_rows(html: str) -> dict[str, tuple[str, str]]:
    """strategy -> (the <tr>'s attributes, its cells), from the compare table."""
    rows = {}
    for attrs, cells in re.findall(r"<tr (data-row=[^>]*)>(.*?)</tr>", html, re.S):
        strategy = re.search(r'<th scope="row">.*?>(\w+)</a>', cells, re.S).group(1)
        rows[strategy] = (attrs, cells)
    return rows


def cell(cells: str, name: str) -> str:
    match = re.search(rf'<td([^>]*)data-f="{name}"([^>]*)>(.*?)</td>', cells, re.S)
    assert match, name
    return match.group(0)


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def chart_empty_shown(html: str) -> bool:
    match = re.search(r"<p[^>]*data-chart-empty[^>]*>", html)
    assert match, "no empty state for the wall-time chart"
    return "hidden" not in match.group(0)


def assert_no_verdict(cells: str) -> None:
    vs = cell(cells, "vs_sequential")
    assert "\u00d7" not in text(vs), vs
    assert "strong" not in vs, vs


def test_compare_page_while_the_first_run_goes_shows_no_verdict_and_no_chart(client, redis_client):
    sequential = write_run(redis_client, URLS, OK, strategy=SEQ, ended=1, running=1)
    threads = write_run(redis_client, URLS, OK, strategy=THREADS, ended=0)
    comparison = write_comparison(redis_client, URLS, [sequential, threads])
    html = client.get(f"/compare/{comparison}").get_data(as_text=True)
    assert chart_empty_shown(html)
    rows = compare_rows(html)
    assert set(rows) == {"sequential", "threads"}
    for attrs, cells in rows.values():
        assert 'data-provisional="true"' in attrs
        assert_no_verdict(cells)
    assert "so far" in text(cell(rows["sequential"][1], "wall_s"))
    assert "No run has finished yet" in html


def test_compare_page_gives_a_verdict_only_to_finished_strategies(client, redis_client):
    sequential = write_run(redis_client, URLS, OK, strategy=SEQ, duration_s=0.2)
    threads = write_run(redis_client, URLS, OK, strategy=THREADS, ended=2, running=1)
    comparison = write_comparison(redis_client, URLS, [sequential, threads])
    html = client.get(f"/compare/{comparison}").get_data(as_text=True)
    rows = compare_rows(html)
    thr_attrs, thr_cells = rows["threads"]
    assert_no_verdict(thr_cells)
    assert 'data-provisional="true"' in thr_attrs
    for name in ("wall_s", "efficiency", "speedup"):
        assert "so far" in text(cell(thr_cells, name)), name
    seq_attrs, seq_cells = rows["sequential"]
    assert 'data-provisional="false"' in seq_attrs
    assert text(cell(seq_cells, "vs_sequential")) == "1.00\u00d7"
    assert "so far" not in text(seq_cells)
    assert not chart_empty_shown(html)


def render_compare(app, comparison: dict) -> str:
    from web.compareview import compare_context

    with app.test_request_context():
        return render_template(
            "compare.html", comparison=comparison, poll_ms=700, **compare_context(comparison)
        )


def repeated_comparison(redis_client, *, threads_done: int) -> dict:
    """sequential and threads, 3 times each, interleaved; threads' third run busy, and only its
    first `threads_done` runs finished."""
    run_ids = []
    for repeat_index in range(3):
        run_ids.append(
            write_run(redis_client, URLS, OK, strategy=SEQ, duration_s=0.2 + 0.01 * repeat_index)
        )
        finished = repeat_index < threads_done
        run_ids.append(
            write_run(
                redis_client,
                URLS,
                OK,
                strategy=THREADS,
                duration_s=0.2 + 0.01 * repeat_index,
                ended=None if finished else 1,
                running=0 if finished else 1,
            )
        )
    comparison_id = write_comparison(redis_client, URLS, run_ids)
    comparison = load_comparison(redis_client, comparison_id, include_tasks=False)
    return comparison_shape(comparison, repeat=3, busy_runs=(comparison["runs"][5]["id"],))


def test_repeated_comparison_shows_medians_ranges_and_busy_hosts(app, redis_client):
    html = render_compare(app, repeated_comparison(redis_client, threads_done=3))
    rows = compare_rows(html)
    assert list(rows) == ["sequential", "threads"]
    seq_wall = text(cell(rows["sequential"][1], "wall_s"))
    assert re.fullmatch(r"0\.840 s 0\.800\u20130\.880 s", seq_wall), seq_wall
    thr_vs = text(cell(rows["threads"][1], "vs_sequential"))
    assert re.fullmatch(r"2\.00\u00d7", thr_vs), thr_vs  # paired by repeat index: 2x each time
    assert "strong" in cell(rows["threads"][1], "vs_sequential")
    assert "busy host" in text(rows["threads"][1])
    assert "busy host" not in text(rows["sequential"][1])
    assert "the figures may be distorted; repeat the comparison" in html
    assert "3/3 runs" in text(rows["threads"][1])
    assert "each strategy 3 times" in html
    assert "so far" not in text(re.search(r"<tbody.*?</tbody>", html, re.S).group(0))


def test_repeated_comparison_keeps_an_unfinished_strategy_provisional(app, redis_client):
    html = render_compare(app, repeated_comparison(redis_client, threads_done=2))
    rows = compare_rows(html)
    attrs, cells = rows["threads"]
    assert 'data-provisional="true"' in attrs
    assert_no_verdict(cells)
    wall = text(cell(cells, "wall_s"))
    assert re.fullmatch(r"0\.410 s so far 0\.400\u20130\.420 s", wall), wall
    assert "2/3 runs" in text(cells)
    assert 'data-provisional="false"' in rows["sequential"][0]
    assert not chart_empty_shown(html)


def so_far_shown(html: str) -> bool:
    marks = re.findall(r"<span[^>]*data-so-far[^>]*>", html)
    assert marks, "no 'so far' marks on the summary cards"
    return all("hidden" not in mark for mark in marks)


def summary_cards(html: str) -> str:
    pattern = r'<section class="cards[^"]*"[^>]*aria-label="Summary".*?</section>'
    cards = re.search(pattern, html, re.S)
    assert cards, "no summary cards"
    return cards.group(0)


def test_run_page_in_progress_shows_partial_figures_as_partial(client, redis_client):
    urls, states = [*URLS, "http://a.example/4"], [*OK, TaskState.OK]
    run_id = write_run(redis_client, urls, states, ended=2, running=1)
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    cards = summary_cards(html)
    assert 'data-provisional="true"' in cards
    assert so_far_shown(cards)
    assert re.search(r'<span class="meter"[^>]*hidden', cards), "the efficiency meter is a verdict"
    assert "stat-accent" not in cards


def test_finished_run_page_shows_final_figures(client, redis_client):
    run_id = write_run(redis_client, URLS, OK)
    cards = summary_cards(client.get(f"/runs/{run_id}").get_data(as_text=True))
    assert 'data-provisional="false"' in cards
    assert not re.search(r"<span[^>]*data-so-far(?![^>]*hidden)[^>]*>", cards)
    assert "stat-accent" in cards


def render_run(app, run: dict) -> str:
    """The run page for a record changed by the test (fields an older version did not write)."""
    from producer.task_table import TableQuery
    from web.clients import get_redis
    from web.runview import table

    with app.test_request_context():
        page = table(get_redis(), run["id"], TableQuery())
        return render_template("run.html", run=run, table=page, poll_ms=700)


def test_run_page_names_the_workers_that_served_it_and_busy_hosts(app, redis_client):
    run_id = write_run(redis_client, URLS, OK, strategy=Strategy.QUEUE)
    workers = {"served": 3, "live": 2, "peak": 4, "changes": [[0.0, 2], [3.1, 4]]}
    others = {"host-a": 0.62, "host-b": 0.1}
    run = run_shape(load_run(redis_client, run_id), workers=workers, others_cores=others)
    html = text(render_run(app, run))
    assert "served by 3 workers" in html
    assert "2 workers, 4 from +3.1 s" in html
    assert re.search(r"host-a 0\.62 cores.*host-b 0\.10 cores", html), html
    assert "the figures may be distorted; repeat the run" in html


def test_run_page_without_the_new_fields_says_nothing_about_them(app, redis_client):
    run = load_run(redis_client, write_run(redis_client, URLS, OK))
    html = render_run(app, run)
    assert "served by" not in text(html)
    assert re.search(r"<\w+[^>]*data-host-load[^>]*hidden", html)


def test_a_worker_without_a_heartbeat_is_gone_never_busy(client, dead_busy_worker):
    html = client.get("/workers").get_data(as_text=True)
    assert not re.search(rf'<tr>\s*<td title="{dead_busy_worker.name}">', html)  # not a row
    gone = re.search(r"<div data-gone[^>]*>.*?</div>", html, re.S).group(0)
    assert "hidden" not in gone.split(">")[0]
    assert dead_busy_worker.name in gone


def test_runs_list_shows_a_running_runs_figures_as_partial(client, redis_client):
    going = write_run(redis_client, URLS, OK, ended=2, running=1)
    done = write_run(redis_client, URLS, OK)
    redis_client.zadd(keys.runs_index_key(), {going: 4e9, done: 4e9 - 1})
    try:
        html = client.get("/runs").get_data(as_text=True)
    finally:
        redis_client.zrem(keys.runs_index_key(), going, done)
    rows = re.findall(r"<tr ([^>]*)>(.*?)</tr>", html, re.S)
    by_id = {re.search(r"/runs/(\w+)", cells).group(1): (attrs, cells) for attrs, cells in rows}
    attrs, cells = by_id[going]
    assert 'data-provisional="true"' in attrs and text(cells).count("so far") == 2
    attrs, cells = by_id[done]
    assert 'data-provisional="false"' in attrs and "so far" not in text(cells)


def test_a_queued_strategy_counts_its_tasks_alike_in_state_and_ok(client, redis_client):
    sequential = write_run(redis_client, URLS, OK, strategy=SEQ, ended=1, running=1)
    threads = write_run(redis_client, URLS, OK, strategy=THREADS, ended=0)
    comparison = write_comparison(redis_client, URLS, [sequential, threads])
    rows = compare_rows(client.get(f"/compare/{comparison}").get_data(as_text=True))
    _, cells = rows["threads"]
    assert re.search(r'data-f="progress">([^<]*)<', cells).group(1) == "0/4"
    assert text(cell(cells, "ok")) == "0/4"
    _, going = rows["sequential"]
    assert text(cell(going, "ok")) == "1/4"
