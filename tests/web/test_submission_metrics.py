"""`fanout_web_runs_submitted_total` counts every run submitted through the web app, whichever
way it came: the form (pasted or uploaded URLs) or the API, each once."""

from __future__ import annotations

import io
import re

from contract.states import Strategy
from tests.web.conftest import make_app
from tests.web.test_pages import form_data


def submitted(client) -> dict[str, float]:
    text = client.get("/metrics").get_data(as_text=True)
    found = re.findall(r'^fanout_web_runs_submitted_total\{kind="(\w+)"\} (\S+)$', text, re.M)
    return {kind: float(value) for kind, value in found}


def test_every_channel_counts_each_run_once(settings, origin_url):
    client = make_app(settings).test_client()
    url = f"{origin_url}/delay/0"
    assert client.post("/", data=form_data(client, urls=url)).status_code == 303
    upload = form_data(client, urls="")
    upload["urls_file"] = (io.BytesIO(f"{url}\n{url}?n=2\n".encode()), "urls.txt")
    sent = client.post("/", data=upload, content_type="multipart/form-data")
    assert sent.status_code == 303
    body = {"urls": [url], "strategy": "threads", "concurrency": 2}
    assert client.post("/api/runs", json=body).status_code == 202
    assert submitted(client) == {"run": 3.0}

    compare = form_data(client, urls=url, repeat="1")
    del compare["run"]
    compare["compare"] = "Compare"
    assert client.post("/", data=compare).status_code == 303
    assert client.post("/api/runs", json=body | {"compare": True}).status_code == 202
    counted = submitted(client)
    assert counted == {"run": 3.0, "comparison": 2.0 * len(Strategy)}  # a run per strategy
