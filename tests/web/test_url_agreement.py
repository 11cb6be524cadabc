"""One URL, one meaning: what submission accepts, `requests` (urllib3) and
aiohttp (yarl) read alike, and connect to the same place.

`http://2130706433:8081/` used to be accepted, then ended `ok` under `requests` (libc read the
number as 127.0.0.1, the allowlisted origin) and `error` under aiohttp (not a canonical IPv4).
"""

from __future__ import annotations

import socket
import string
from ipaddress import ip_address

import pytest
import requests
import yarl
from aiohttp.helpers import is_canonical_ipv4_address, is_ip_address
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from contract.settings import Settings
from producer.validation import InvalidInput, check_urls

SETTINGS = Settings.from_env({})

DISAGREEING = [
    "http://2130706433:8081/",
    "http://127.1:8081/",
    "http://0x7f.0.0.1:8081/",
    "http://0177.0.0.1:8081/",
    "http://1.2.3.4.5/",
    "http://a.123/",
    "http://%61.example/",
    "http://\uff41.example/",  # a full-width a
]


@pytest.mark.parametrize("url", DISAGREEING)
def test_a_url_the_clients_read_differently_is_refused_at_submission(url):
    """The form, the upload, the API and the CLI go through check_urls."""
    with pytest.raises(InvalidInput) as info:
        check_urls([url], SETTINGS)
    assert info.value.field == "urls"
    assert "line 1" in info.value.message and "client" in info.value.message


@pytest.mark.parametrize("url", DISAGREEING[:6])
def test_the_api_refuses_numeric_spellings_with_a_message(client, url):
    response = client.post("/api/runs", json={"urls": [url], "strategy": "threads"})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["field"] == "urls" and "client" in response.json["error"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8081/x",
        "https://xn--bcher-kva.de/",
        "http://[::1]:80/",
        "HTTP://A.EXAMPLE./",
    ],
)
def test_urls_both_clients_read_alike_are_accepted(url):
    assert check_urls([url], SETTINGS) == (url,)


def test_a_non_ascii_host_is_refused_with_its_idna_spelling_suggested():
    """The clients' IDNA (2003 and 2008) part ways on some names: the xn-- form is one name."""
    with pytest.raises(InvalidInput, match="IDNA form"):
        check_urls(["https://bücher.de/"], SETTINGS)


def _accepted(url: str) -> bool:
    try:
        check_urls([url], SETTINGS)
    except InvalidInput:
        return False
    return True


def _by_requests(url: str) -> tuple[str, str, int]:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    parts = parse_url(prepared.url)
    host = (parts.host or "").lower().strip("[]")
    return parts.scheme or "", host, parts.port or {"http": 80, "https": 443}[parts.scheme or ""]


def _by_aiohttp(url: str) -> tuple[str, str, int]:
    parsed = yarl.URL(url)
    if is_ip_address(parsed.raw_host) and ":" not in (parsed.raw_host or ""):
        assert is_canonical_ipv4_address(parsed.raw_host or ""), "aiohttp refuses it"
    return parsed.scheme, (parsed.raw_host or "").lower(), parsed.port or 0


def _numeric_addresses(host: str) -> list[str] | None:
    """What libc connects to for `host` when it reads it as a number; None for a name."""
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return None
    return sorted({info[4][0] for info in infos})


#: Pieces of hosts where parsers part ways: numbers in every base, percent-escapes, Unicode
#: digits and dots, full-width letters, IDNA, underscores, brackets.
HOST_PIECES = st.sampled_from(
    ["a", "example", "com", "127", "0", "1", "255", "256", "0x7f", "0177", "2130706433", "00",
     "%61", "%2e", "\uff45", "①", "。", "ü", "xn--bcher-kva", "a_b", "-a", "1e2", "[::1]",
     "[::ffff:127.0.0.1]", "", "A"]
)  # fmt: skip
HOSTS = st.lists(HOST_PIECES, min_size=1, max_size=5).map(".".join) | st.text(
    alphabet=string.ascii_letters + string.digits + ".-_%[]:", min_size=1, max_size=20
)
PORTS = st.sampled_from(["", ":", ":80", ":8081", ":080", ":0", ":65535", ":65536", ":\uff11"])


@given(
    scheme=st.sampled_from(["http", "https", "HTTP"]),
    host=HOSTS,
    port=PORTS,
    path=st.sampled_from(["", "/", "/x?y=1", "/%zz", "#f"]),
)
@example(scheme="http", host="2130706433", port=":8081", path="/")
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_accepted_url_is_read_alike_by_both_clients(scheme, host, port, path):
    url = f"{scheme}://{host}{port}{path}"
    if not _accepted(url):
        return
    by_requests = _by_requests(url)
    by_aiohttp = _by_aiohttp(url)
    assert (by_requests[0], by_requests[2]) == (by_aiohttp[0], by_aiohttp[2]), url
    assert _same_host(by_requests[1], by_aiohttp[1]), (url, by_requests, by_aiohttp)
    numeric = _numeric_addresses(by_requests[1])
    if numeric is not None:  # libc reads it as an address: it must be that address, as written
        assert {ip_address(a.partition("%")[0]) for a in numeric} == {ip_address(by_requests[1])}, (
            url
        )


def _same_host(one: str, other: str) -> bool:
    try:
        return ip_address(one) == ip_address(other)
    except ValueError:
        return one == other
