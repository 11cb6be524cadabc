"""What the run page's header and cards say, as the server renders them: the strategy with its
concurrency only where the strategy uses it, counts with their nouns, no step of the workers
note twice, and a peak concurrency never below the tasks in flight."""

from __future__ import annotations

import re

from contract.states import Strategy, TaskState
from tests.web.records import write_comparison, write_run
from web.runnotes import workers_note

URLS = [f"http://a.example/{i}" for i in range(4)]
OK = [TaskState.OK] * 4


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def meta(html: str) -> str:
    return text(re.search(r'<p class="meta">(.*?)</p>', html, re.S).group(1))


def test_the_header_gives_the_concurrency_only_to_strategies_that_use_it(client, redis_client):
    shown = {}
    for strategy in Strategy:
        run_id = write_run(redis_client, URLS, OK, strategy=strategy)
        shown[strategy.value] = meta(client.get(f"/runs/{run_id}").get_data(as_text=True))
    for strategy in ("sequential", "queue"):
        assert shown[strategy].startswith(f"{strategy} · fetch"), shown[strategy]
    for strategy in ("threads", "processes", "asyncio", "hybrid"):
        assert shown[strategy].startswith(f"{strategy} \u00d7 2 · fetch"), shown[strategy]


def test_one_url_is_one_url(client, redis_client):
    run_id = write_run(redis_client, URLS[:1], OK[:1])
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "· 1 URL ·" in meta(html)
    assert "1 of 1 task ended" in text(html)


def test_the_workers_note_names_each_step_once():
    changes = [[0.0, 2], [11.712, 3], [11.745, 4]]
    note = workers_note({"served": 4, "live": 2, "changes": changes})
    assert note == "served by 4 workers \u00b7 live: 2 workers, 4 from +11.7 s"
    back = [[0.0, 2], [11.712, 3], [11.745, 2]]
    assert workers_note({"served": 3, "live": 2, "changes": back}).endswith("2 live throughout")


def test_a_running_runs_peak_is_at_least_its_tasks_in_flight(client, redis_client):
    run_id = write_run(redis_client, URLS, OK, ended=1, running=2)
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    peak = re.search(r'data-field="peak_concurrency">([^<]*)<', html).group(1)
    assert peak == "\u2265 2"
    note = re.search(r'data-field="progress_note">([^<]*)<', html).group(1)
    assert note == "running \u00b7 2 in flight"


def test_the_runs_list_labels_strategies_as_the_run_page_does(client, redis_client):
    run_id = write_run(redis_client, URLS, OK, strategy=Strategy.QUEUE)
    pattern = rf"<tr [^>]*>\s*<td><a href=\"/runs/{run_id}\">.*?</tr>"
    # Backdated, the run may sit below the runs other tests of this process submitted since.
    pages = (client.get(f"/runs?page={n}").get_data(as_text=True) for n in range(1, 11))
    row = next(m for html in pages if (m := re.search(pattern, html, re.S))).group(0)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert "queue" in cells and not any("\u00d7" in cell for cell in cells), cells


def test_the_compare_header_counts_one_url_as_one(client, redis_client):
    one = write_run(redis_client, URLS[:1], OK[:1], strategy=Strategy.SEQUENTIAL)
    comparison = write_comparison(redis_client, URLS[:1], [one])
    html = client.get(f"/compare/{comparison}").get_data(as_text=True)
    assert "The same 1 URL under each strategy" in meta(html)
