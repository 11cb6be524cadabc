"""A body over MAX_CONTENT_LENGTH is a 413, whether its length is announced or chunked:
through the real gunicorn, which is what frames a chunked body."""

from __future__ import annotations

from collections.abc import Iterator

import requests

from web.app import DEFAULTS

CHUNK = b"x" * 65536
#: Twice the default limit.
CHUNKS = 2 * DEFAULTS["MAX_CONTENT_LENGTH"] // len(CHUNK)


def _chunked_json() -> Iterator[bytes]:
    yield b'{"urls": ["http://a.example/'
    for _ in range(CHUNKS):
        yield CHUNK
    yield b'"]}'


def test_a_chunked_body_over_the_limit_is_413(web_server):
    response = requests.post(
        f"{web_server.url}/api/runs",
        data=_chunked_json(),  # a generator: requests sends it chunked, with no Content-Length
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413, response.text
    assert "limit" in response.json()["error"] or "large" in response.json()["error"].lower()


def test_a_body_with_its_length_over_the_limit_is_413(web_server):
    body = b"".join(_chunked_json())
    response = requests.post(
        f"{web_server.url}/api/runs",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413, response.text


def test_a_chunked_body_under_the_limit_is_read_whole(web_server, origin_url):
    body = f'{{"urls": ["{origin_url}/delay/0"], "strategy": "sequential"}}'.encode()
    response = requests.post(
        f"{web_server.url}/api/runs",
        data=iter([body[:10], body[10:]]),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
