"""The HTML pages through Flask's test client: readable without JavaScript, forms that say
what is wrong next to the field, and nothing from a record ever becomes a script or a link it
should not."""

from __future__ import annotations

import re
from pathlib import Path

from contract import keys
from contract.states import TaskState
from tests.web.conftest import csrf_token
from tests.web.records import write_run
from web.app import shared_secret_key


def form_data(client, **fields: str) -> dict[str, str]:
    page = client.get("/").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "urls": "",
        "strategy": "threads",
        "concurrency": "4",
        "workload": "fetch",
        "run": "Run",
    }
    data.update(fields)
    return data


def test_new_run_page_offers_presets_with_and_without_javascript(client, origin_url):
    html = client.get("/").get_data(as_text=True)
    for key in ("demo", "failures", "cpu", "long", "tutorial"):
        assert f'href="/?preset={key}"' in html  # links: work without JavaScript
        assert f'<option value="{key}">' in html  # the select form.js fills from
    assert 'id="preset-data"' in html and origin_url in html
    assert 'name="csrf_token"' in html


def test_a_preset_link_fills_the_form_on_the_server(client, origin_url):
    html = client.get("/?preset=demo").get_data(as_text=True)
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1)
    lines = [line for line in textarea.strip().splitlines() if line]
    assert len(lines) == 40 and all(line.startswith(f"{origin_url}/delay/250") for line in lines)
    assert '<option selected value="threads">' in html


def test_submitting_the_form_redirects_to_the_run(client, origin_url):
    data = form_data(client, urls=f"{origin_url}/delay/0\n\n# a comment\n")
    response = client.post("/", data=data)
    assert response.status_code == 303
    assert re.fullmatch(r"/runs/[0-9a-f]{12}", response.headers["Location"])


def test_compare_button_redirects_to_the_comparison(client, origin_url):
    data = form_data(client, urls=f"{origin_url}/delay/0", run="", compare="Compare")
    del data["run"]
    response = client.post("/", data=data)
    assert response.status_code == 303
    assert re.fullmatch(r"/compare/[0-9a-f]{12}", response.headers["Location"])
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for strategy in ("sequential", "threads", "processes", "asyncio", "queue", "hybrid"):
        assert f">{strategy}</a>" in html
    assert "Speed-up vs sequential" in html


def test_a_non_http_url_is_shown_next_to_the_field_with_its_line(client, origin_url):
    data = form_data(client, urls=f"{origin_url}/delay/0\nftp://files.example/x")
    response = client.post("/", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="urls-error"[^>]*>(.*?)</p>', html, re.S)
    assert error and "line 2" in error.group(1) and "http(s)" in error.group(1)
    assert "ftp://files.example/x" in html  # what the user typed is kept


def test_concurrency_over_the_cap_names_the_limit_next_to_the_field(client, settings, origin_url):
    data = form_data(client, urls=f"{origin_url}/delay/0", concurrency="100000")
    html = client.post("/", data=data).get_data(as_text=True)
    error = re.search(r'id="concurrency-error"[^>]*>(.*?)</p>', html, re.S)
    assert error and str(settings.max_concurrency) in error.group(1)


def test_an_unknown_strategy_is_shown_next_to_its_field(client, origin_url):
    data = form_data(client, urls=f"{origin_url}/delay/0", strategy="warp")
    response = client.post("/", data=data)
    assert response.status_code == 400
    assert re.search(r'id="strategy-error"[^>]*>[^<]*one of', response.get_data(as_text=True))


def test_empty_urls_ask_for_at_least_one(client):
    html = client.post("/", data=form_data(client)).get_data(as_text=True)
    assert re.search(r'id="urls-error"[^>]*>[^<]*at least one URL', html)


def test_a_form_without_csrf_token_is_refused(client, origin_url):
    data = form_data(client, urls=f"{origin_url}/delay/0")
    del data["csrf_token"]
    response = client.post("/", data=data)
    assert response.status_code == 400
    assert "runs/" not in response.headers.get("Location", "")


def test_run_page_renders_summary_and_table_without_javascript(client, redis_client):
    urls = [f"http://a.example/{i}" for i in range(5)]
    states = [TaskState.OK, TaskState.OK, TaskState.HTTP_ERROR, TaskState.TIMEOUT, TaskState.ERROR]
    run_id = write_run(redis_client, urls, states)
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    rows = re.search(r"<tbody data-rows>(.*?)</tbody>", html, re.S).group(1)
    assert rows.count("<tr>") == 5
    for label in ("Wall time", "Ideal lower bound", "Efficiency", "Peak concurrency", "Throughput"):
        assert label in html
    assert "Speed-up over the sum of task times" in html
    assert re.search(r'data-field="efficiency">\d+ %<', html)
    assert f'href="/runs/{run_id}.csv"' in html and f'href="/runs/{run_id}.json"' in html


def test_run_table_sorts_on_the_server(client, redis_client):
    urls = ["http://a.example/b", "http://a.example/c", "http://a.example/a"]
    run_id = write_run(redis_client, urls, [TaskState.OK] * 3)
    html = client.get(f"/runs/{run_id}?sort=url&order=desc").get_data(as_text=True)
    shown = re.findall(r'class="url">(http://a\.example/\w)<', html)
    assert shown == ["http://a.example/c", "http://a.example/b", "http://a.example/a"]
    assert 'aria-sort="descending"' in html


def test_a_javascript_url_never_becomes_a_link(client, redis_client):
    hostile = ["javascript:alert(1)", 'http://a.example/"><script>alert(2)</script>']
    run_id = write_run(redis_client, hostile, [TaskState.REFUSED, TaskState.ERROR])
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'href="javascript:' not in html.lower()
    assert "<script>alert" not in html and "<b>refused</b>" not in html
    assert "javascript:alert(1)" in html  # shown, as text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_csv_export_has_a_row_per_task_and_defuses_formulas(client, redis_client):
    run_id = write_run(
        redis_client, ["http://a.example/1", "http://a.example/2"], [TaskState.OK, TaskState.ERROR]
    )
    response = client.get(f"/runs/{run_id}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("index,url,state,status_code")
    assert len(lines) == 3
    assert "'=HYPERLINK" in lines[2]


def test_unknown_run_and_comparison_pages_are_404_pages(client):
    for path in ("/runs/000000000000", "/compare/000000000000", "/runs/000000000000.csv"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert "expired" in response.get_data(as_text=True)


def test_runs_page_lists_runs_newest_first(client, redis_client):
    run_id = write_run(redis_client, ["http://a.example/"], [TaskState.OK])
    redis_client.zadd(keys.runs_index_key(), {run_id: 4e9})
    html = client.get("/runs").get_data(as_text=True)
    first = re.search(r'href="/runs/([0-9a-f]{12})"', html).group(1)
    redis_client.zrem(keys.runs_index_key(), run_id)
    assert first == run_id
    for heading in ("Strategy", "Size", "Wall time", "Efficiency", "State"):
        assert heading in html


def test_workers_page_renders_queue_and_throughput(client):
    html = client.get("/workers").get_data(as_text=True)
    for text in (
        "Live workers",
        "Queued jobs",
        "Started",
        "Deferred",
        "Finished",
        "Failed",
        "Throughput",
    ):
        assert text in html
    assert 'id="throughput"' in html


def test_pages_load_only_same_origin_assets(client):
    html = client.get("/workers").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith(("/", "#")) for src in sources), sources
    assert "<script>" not in html  # no inline script: the CSP would block it


def test_gunicorn_processes_share_one_secret_key(tmp_path: Path):
    first = shared_secret_key(tmp_path / "data")
    assert first == shared_secret_key(tmp_path / "data")
    assert len(first) >= 32
    assert (tmp_path / "data" / "web-secret-key").stat().st_mode & 0o077 == 0
