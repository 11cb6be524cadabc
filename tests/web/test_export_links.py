"""The run page links the run's complete exports, streamed from Redis, never a page of the API:
a run of more tasks than one API page downloads every task."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re

import pytest

from tests.support import start_redis
from tests.test_reads_bounded import write_run
from tests.web.conftest import make_app


@pytest.fixture(scope="module")
def own(tmp_path_factory, settings):
    import redis as redis_lib

    service = start_redis(tmp_path_factory.mktemp("export-links"))
    app = make_app(dataclasses.replace(settings, redis_url=service.url))
    yield app, redis_lib.Redis.from_url(service.url)
    service.stop()


def export_links(html: str) -> dict[str, str]:
    """Each export button's label -> its href."""
    found = re.findall(r'<a class="btn btn-small" href="([^"]+)"[^>]*>(Export [^<]+)</a>', html)
    return {label: href for href, label in found}


def test_the_run_page_links_exports_that_hold_every_task(own):
    app, redis = own
    n = 6_000  # more than one API page (5,000)
    run_id = write_run(redis, n)
    client = app.test_client()
    api_page = client.get(f"/api/runs/{run_id}").get_json()
    assert len(api_page["tasks"]) < n  # what the button used to save

    links = export_links(client.get(f"/runs/{run_id}").get_data(as_text=True))
    assert set(links) == {"Export JSON", "Export CSV", "Export trace"}
    assert not any(href.startswith("/api/") for href in links.values()), links
    record = json.loads(client.get(links["Export JSON"]).get_data(as_text=True))
    assert record["id"] == run_id and len(record["tasks"]) == n
    rows = list(csv.DictReader(io.StringIO(client.get(links["Export CSV"]).get_data(as_text=True))))
    assert len(rows) == n
    trace = json.loads(client.get(links["Export trace"]).get_data(as_text=True))
    assert sum(1 for event in trace["traceEvents"] if event["ph"] == "X") == n
