"""The origin's barrier: the tool the scheduling tests use to prove "n at once" without timing."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from origin.app import filler


def _name() -> str:
    return uuid.uuid4().hex


def _get_all(urls: list[str]) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(lambda url: requests.get(url, timeout=30), urls))


def test_barrier_opens_when_n_requests_are_in_flight(origin_url: str) -> None:
    url = f"{origin_url}/barrier/{_name()}/5?bytes=100&timeout_ms=20000"
    responses = _get_all([url] * 5)
    assert [r.status_code for r in responses] == [200] * 5
    assert all(r.content == filler(100) for r in responses)


def test_barrier_answers_504_when_fewer_arrive(origin_url: str) -> None:
    name = _name()
    started = time.monotonic()
    responses = _get_all([f"{origin_url}/barrier/{name}/3?timeout_ms=300"] * 2)
    assert [r.status_code for r in responses] == [504, 504]
    assert f"barrier {name}:" in responses[0].text and "of 3" in responses[0].text
    assert time.monotonic() - started < 10


def test_barrier_opens_again_for_each_generation(origin_url: str) -> None:
    url = f"{origin_url}/barrier/{_name()}/4?timeout_ms=20000"
    responses = _get_all([url] * 8)
    assert [r.status_code for r in responses] == [200] * 8


def test_a_request_that_gave_up_no_longer_counts(origin_url: str) -> None:
    name = _name()
    lone = requests.get(f"{origin_url}/barrier/{name}/2?timeout_ms=100", timeout=10)
    assert lone.status_code == 504
    # Had the one that left still counted, a single request would now open the barrier.
    again = requests.get(f"{origin_url}/barrier/{name}/2?timeout_ms=100", timeout=10)
    assert again.status_code == 504


def test_barrier_rejects_bad_numbers(origin_url: str) -> None:
    for path in ("x/0", "x/abc", "x/10001", "x/2?timeout_ms=-1"):
        r = requests.get(f"{origin_url}/barrier/{path}", timeout=5)
        assert r.status_code == 400, path
