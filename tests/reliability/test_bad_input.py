"""Bad input gets a 4xx with a message: the API fuzzed by Schemathesis against its own OpenAPI
document, the HTML form by Hypothesis. Never a 5xx, never a traceback.

The app runs in-process (WSGI) on a private Redis with no worker, so whatever a fuzzer manages
to submit is only queued, never fetched.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis as redis_lib
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract import keys
from contract.settings import Settings
from contract.states import TaskState
from tests.reliability.conftest import UNLIMITED, figure
from tests.support import Service, start_redis
from tests.web.conftest import csrf_token, make_app
from tests.web.records import write_run
from web.openapi import openapi_document

SCHEMATHESIS_CONFIG = Path(__file__).resolve().parents[1] / "web" / "schemathesis.toml"
EXAMPLES_PER_OPERATION = 50
FORM_EXAMPLES = 150
FORM_FIELDS = ("urls", "strategy", "concurrency", "workload", "repeat")


#: Schemathesis' lazy `from_fixture` breaks on pytest 9, so the schema must exist when the module
#: is collected. It is the document the app serves at /openapi.json, built as a plain dict (no
#: app, no port, no Redis); each case is then called on the app the fixtures below build.
schema = schemathesis.openapi.from_dict(
    openapi_document(Settings.from_env()),
    config=schemathesis.Config.from_path(SCHEMATHESIS_CONFIG),
)


@pytest.fixture(scope="module")
def fuzz_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The fuzzed app's private Redis, with no worker: submissions are only queued."""
    service = start_redis(tmp_path_factory.mktemp("fuzz-redis"))
    yield service
    service.stop()


@pytest.fixture(scope="module")
def fuzz_app(fuzz_redis: Service) -> Flask:
    return make_app(
        dataclasses.replace(Settings.from_env(), redis_url=fuzz_redis.url),
        RATE_LIMIT_SUBMIT=UNLIMITED,
    )


@pytest.fixture(scope="module")
def api_statuses() -> Iterator[Counter[int]]:
    """The statuses the API fuzzing saw, printed as a figure when the module's tests are done
    (whatever order they ran in)."""
    seen: Counter[int] = Counter()
    started = time.monotonic()
    yield seen
    figure(
        f"schemathesis: {sum(seen.values())} API requests in "
        f"{time.monotonic() - started:.1f} s, statuses {dict(sorted(seen.items()))}"
    )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_fuzzed_against_its_openapi_document(case, fuzz_app, api_statuses):
    """Every check Schemathesis has (no 5xx, status codes, content types, bodies and headers
    as documented, bad data rejected, good data accepted), ~50 cases per operation."""
    _fresh_idempotency_key(case)
    response = case.call_and_validate(app=fuzz_app)
    api_statuses[response.status_code] += 1
    assert response.status_code < 500
    assert "Traceback" not in response.text


def _fresh_idempotency_key(case) -> None:
    """Generated keys repeat across cases with other bodies, which the API rightly answers 422
    (the status the IETF Idempotency-Key draft names) and Schemathesis counts as good data
    refused. A fresh valid key per case keeps that check meaningful; invalid keys stay."""
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and re.fullmatch(r"[\x21-\x7e]{1,200}", key):
        case.headers["Idempotency-Key"] = uuid.uuid4().hex


def test_the_fuzzed_document_is_the_one_the_app_serves(fuzz_app):
    """The schema above is built without the app; it must be what /openapi.json answers, and
    must have operations to fuzz (an empty one would fuzz nothing and pass)."""
    served = fuzz_app.test_client().get("/openapi.json").get_json()
    assert served == openapi_document(Settings.from_env())
    assert served["paths"]


# --- hostile classes, kept covered: each case goes through every check above ---------------

#: Numbers that are not finite integers, and strings that are not Unicode scalar values.
#: JSON text, since no JSON encoder writes these: Python's json reads them as inf and nan.
NON_FINITE_BODIES = [
    f'{{"urls": ["http://a.example/"], "strategy": "threads", "concurrency": {number}}}'.encode()
    for number in ("1e400", "-1e400", "Infinity", "-Infinity", "NaN")
]
HOSTILE_BODIES = [
    {"urls": ["http://a.example/"], "strategy": "threads", "concurrency": number}
    for number in (1e300, -1e300, 10**400)
] + [
    {"urls": ["http://127.0.0.1:8081/x\ud800y"], "strategy": "threads"},
    {"urls": ["http://a.example/"], "strategy": "threads\udcff"},
    {"urls": ["http://2130706433:8081/"], "strategy": "threads"},
]
#: Suffixes naming a run's other keys, glob characters, and what a key pattern looks like.
ID_SUFFIXES = (":running", ":tasks", ":order", "*", "?", "[0-9a-f]", ":running*")
HUGE_NUMBERS = ("99999999999999999999", str(2**64), "1" + "0" * 400, "1e400", "-1", "Infinity")


@pytest.fixture(scope="module")
def seeded_run(fuzz_redis) -> str:
    """A run in the fuzzed app's Redis with every one of its keys, as a running run has."""
    client = redis_lib.Redis.from_url(fuzz_redis.url)
    return write_run(client, ["http://a.example/0", "http://a.example/1"],
                     [TaskState.OK, TaskState.ERROR], ended=1, running=1)  # fmt: skip


def _call(case, app: Flask, seen: Counter[int]) -> None:
    response = case.call_and_validate(app=app)
    seen[response.status_code] += 1
    assert response.status_code < 500, (case.path, response.status_code)
    assert "Traceback" not in response.text


def test_api_hostile_classes_against_its_openapi_document(seeded_run, fuzz_app, api_statuses):
    def call(case) -> None:
        _call(case, fuzz_app, api_statuses)

    submit = schema["/api/runs"]["POST"]
    for body in HOSTILE_BODIES + NON_FINITE_BODIES:
        call(submit.Case(body=body, media_type="application/json"))
    ids = [seeded_run + suffix for suffix in ID_SUFFIXES] + ["*", keys.run_key("*"), "?"]
    ids = [quote(bad_id, safe=":*[]") for bad_id in ids]  # a bare `?` would start the query
    for bad_id in ids:
        call(schema["/api/runs/{run_id}"]["GET"].Case(path_parameters={"run_id": bad_id}))
        call(schema["/runs/{run_id}.csv"]["GET"].Case(path_parameters={"run_id": bad_id}))
        call(
            schema["/api/compare/{comparison_id}"]["GET"].Case(
                path_parameters={"comparison_id": bad_id}
            )
        )
    for number in HUGE_NUMBERS:
        call(schema["/api/runs"]["GET"].Case(query={"offset": number, "limit": number}))
        call(
            schema["/api/runs/{run_id}"]["GET"].Case(
                path_parameters={"run_id": seeded_run}, query={"since": number}
            )
        )


@given(
    run_id=st.one_of(
        st.sampled_from(ID_SUFFIXES), st.text(max_size=30), st.from_regex(r"[0-9a-f]{12}[:*?\[]")
    ),
    page=st.one_of(st.sampled_from(HUGE_NUMBERS), st.integers(-(10**30), 10**30).map(str)),
)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)  # fmt: skip
def test_pages_with_hostile_ids_and_page_numbers_are_never_5xx(
    fuzz_app, seeded_run, form_counts, run_id, page
):
    client = fuzz_app.test_client()
    if run_id in ID_SUFFIXES:
        run_id = seeded_run + run_id
    quoted = quote(run_id, safe="")
    for path in (f"/runs/{quoted}", f"/runs/{quoted}.csv", f"/compare/{quoted}",
                 f"/runs?page={quote(page)}"):  # fmt: skip
        response = client.get(path)
        _assert_clean(response.get_data(as_text=True), response.status_code)
        form_counts[f"page: {response.status_code}"] += 1


# --- the HTML form ---------------------------------------------------------------------------

#: Text a person, a script or an attacker might put in a field: long, unicode, control chars.
hostile_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=50),
    st.sampled_from(
        [
            "",
            "javascript:alert(1)",
            "<script>alert(1)</script>",
            "http://a.example/\x00",
            "http://[::1",
            "http://a.example:99999/",
            "9" * 400,
            "-1",
            "1e9",
            "\u202ehttp://evil.example/",
            "http://a.example/" + "a" * 5000,
            "\r\n".join(["http://a.example/"] * 5) + "\nftp://x/",
            "threads\x00",
            "1e400",
            "-1e400",
            "Infinity",
            "NaN",
            "99999999999999999999",
            "http://2130706433:8081/",
            "http://%61.example/",
        ]
    ),
    st.builds(lambda n: "x" * n, st.integers(0, 600_000)),
)
form_bodies = st.dictionaries(
    st.one_of(st.sampled_from([*FORM_FIELDS, "run", "compare"]), st.text(max_size=20)),
    hostile_text,
    max_size=8,
)


@pytest.fixture(scope="module")
def form_counts() -> Iterator[Counter[str]]:
    """What the form fuzzing got back, printed as a figure when the module's tests are done."""
    counts: Counter[str] = Counter()
    yield counts
    figure(f"form fuzz (hypothesis): {dict(sorted(counts.items()))}")


def _assert_clean(html: str, status: int) -> None:
    assert status < 500, html[-2000:]
    assert "Traceback" not in html and "__debugger__" not in html


FORM_SETTINGS = settings(
    max_examples=FORM_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def test_form_without_a_csrf_token_is_400_with_a_message(fuzz_app, form_counts):
    tried: Counter[str] = Counter()

    @given(body=form_bodies)
    @FORM_SETTINGS
    def check(body):
        body.pop("csrf_token", None)
        response = fuzz_app.test_client().post("/", data=body)
        html = response.get_data(as_text=True)
        _assert_clean(html, response.status_code)
        assert response.status_code in (400, 413), response.status_code
        if response.status_code == 400:
            assert "security token is missing" in html
        tried[f"no token: {response.status_code}"] += 1

    check()
    form_counts.update(tried)
    assert sum(tried.values()) >= FORM_EXAMPLES // 2, tried  # it fuzzed, not one lucky body


def test_form_with_a_token_and_garbage_names_the_field(fuzz_app, form_counts):
    tried: Counter[str] = Counter()

    @given(body=form_bodies)
    @FORM_SETTINGS
    def check(body):
        client = fuzz_app.test_client()
        body["csrf_token"] = csrf_token(client.get("/").get_data(as_text=True))
        response = client.post("/", data=body)
        html = response.get_data(as_text=True)
        _assert_clean(html, response.status_code)
        tried[f"token: {response.status_code}"] += 1
        if response.status_code == 303:  # the garbage happened to be a valid submission
            assert re.match(r"^/(runs|compare)/[0-9a-f]{12}$", response.headers["Location"])
            return
        if response.status_code == 413:  # over MAX_CONTENT_LENGTH, answered before the form
            return
        assert response.status_code == 400, response.status_code
        errors = re.findall(r'<p class="field-error" id="(\w+)-error"[^>]*>([^<]+)</p>', html)
        assert len(errors) == 1, html[-3000:]
        field, message = errors[0]
        assert field in FORM_FIELDS and message.strip()

    check()
    form_counts.update(tried)
    assert sum(tried.values()) >= FORM_EXAMPLES // 2, tried
