"""The address guard refuses every spelling of "somewhere private" and lets public unicast by."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.settings import Settings, default_allow_hosts
from worker import guard, url_check
from worker.guard import (
    Allowlist,
    Refused,
    check_address,
    forbidden_reason,
    numeric_host,
    resolve_checked,
)
from worker.url_check import check_url, check_url_uncached

NOBODY = Allowlist()
#: "LOCALHOST" in fullwidth letters, which IDNA maps back to ASCII.
FULLWIDTH_LOCALHOST = "".join(chr(ord(c) + 0xFEE0) for c in "LOCALHOST")

HOSTILE_URLS = [
    # loopback, in every spelling libc accepts
    "http://127.0.0.1/",
    "http://127.0.0.1:6379/",
    "http://127.255.255.254:8080/",
    "http://2130706433/",
    "http://2130706433:6379/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://127.1/",
    "http://127.0.1/",
    "http://localhost/",
    "http://localhost:6379/",
    "http://localhost./",
    "http://LOCALHOST/",
    "http://redis.localhost/",
    "http://[::1]/",
    "http://[::1]:6379/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::7f00:1]/",
    # unspecified
    "http://0/",
    "http://0.0.0.0/",
    "http://0.0.0.0:6379/",
    "http://[::]/",
    "http://[::ffff:0.0.0.0]/",
    # private, link-local, cloud metadata
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fec0::1]/",
    # special-purpose v4 that Python 3.11.7 calls global
    "http://100.64.0.1/",
    "http://192.0.0.8/",
    "http://192.88.99.1/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    "http://224.0.0.1/",
    "http://239.255.255.250:1900/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    # userinfo and parser-confusion tricks
    "http://example.com@127.0.0.1/",
    "http://user:pass@example.com/",
    "http://a@b/",
    "http://127.0.0.1#@example.com/",
    "http://127.0.0.1:80\\@example.com/",
    "http://127.0.0.1\\@example.com/",
    "http://example.com\t@127.0.0.1/",
    " http://127.0.0.1/",
    "http://127.0.0.1\n/",
    "http://%31%32%37.0.0.1/",
    "http://127.0.0.1%2f@example.com/",
    "http://127。0。0。1/",
    "http://①②⑦.0.0.1/",
    f"http://{FULLWIDTH_LOCALHOST}/",
    "http:///etc/passwd",
    "http://:80/",
    "http://[::1/",
    "http://127.0.0.1:99999/",
    "http://127.0.0.1:0/",
    # not http(s)
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://example.com/",
    "dict://127.0.0.1:6379/info",
    "ldap://127.0.0.1/",
    "//127.0.0.1/",
    "example.com/",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_url_is_refused_before_any_connection(url: str) -> None:
    with pytest.raises(Refused, match=r"^refused: "):
        _, host, port = check_url(url)
        resolve_checked(host, port, NOBODY)


def test_corpus_is_big_enough() -> None:
    assert len(HOSTILE_URLS) >= 40


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "refused: scheme 'file' is not http(s)"),
        ("gopher://x/", "refused: scheme 'gopher' is not http(s)"),
        ("http://a@b/", "refused: userinfo (user@host) in a URL is not allowed"),
        ("http:///x", "refused: URL has no host"),
    ],
)
def test_check_url_says_why(url: str, message: str) -> None:
    with pytest.raises(Refused) as info:
        check_url(url)
    assert str(info.value) == message


def test_refusal_names_the_address_and_the_rule() -> None:
    with pytest.raises(Refused) as info:
        check_address("127.0.0.1", 6379, NOBODY)
    assert str(info.value) == "refused: 127.0.0.1:6379 is loopback"
    with pytest.raises(Refused) as info:
        resolve_checked("2130706433", 6379, NOBODY)
    assert str(info.value) == "refused: 2130706433 resolves to 127.0.0.1:6379, which is loopback"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/a?b#c", ("http", "example.com", 80)),
        ("HTTPS://Example.COM/", ("https", "example.com", 443)),
        ("http://example.com:8081/", ("http", "example.com", 8081)),
        ("http://[2606:4700::1111]:8443/", ("http", "2606:4700::1111", 8443)),
    ],
)
def test_check_url_accepts_plain_http_urls(url: str, expected: tuple[str, str, int]) -> None:
    assert check_url(url) == expected


def test_numeric_host_reads_every_legacy_spelling_without_dns() -> None:
    for spelling in ("2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "[::ffff:7f00:1]"):
        ips = numeric_host(spelling)
        assert ips is not None
        assert all(forbidden_reason(ip_address(ip)) for ip in ips)
    assert numeric_host("0") == ["0.0.0.0"]
    assert numeric_host("localhost") is None


# --- properties ----------------------------------------------------------------------------

FORBIDDEN_V4 = [
    IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
FORBIDDEN_V6 = [
    IPv6Network(n)
    for n in ("::1/128", "::/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "2002::/16")
]


def _in(networks: list[IPv4Network] | list[IPv6Network]) -> st.SearchStrategy:
    return st.sampled_from(networks).flatmap(
        lambda net: st.integers(int(net.network_address), int(net.broadcast_address)).map(
            lambda n: ip_address(n) if net.version == 4 else IPv6Address(n)
        )
    )


NAT64 = IPv6Network("64:ff9b::/96")
ports = st.integers(1, 65534)


@given(ip=_in(FORBIDDEN_V4), port=ports)
def test_any_forbidden_ipv4_is_refused(ip: IPv4Address, port: int) -> None:
    with pytest.raises(Refused):
        check_address(str(ip), port, NOBODY)


@given(ip=_in(FORBIDDEN_V6), port=ports)
def test_any_forbidden_ipv6_is_refused(ip: IPv6Address, port: int) -> None:
    with pytest.raises(Refused):
        check_address(str(ip), port, NOBODY)


@given(ip=_in(FORBIDDEN_V4), port=ports)
def test_ipv4_mapped_forms_of_a_forbidden_ipv4_are_refused(ip: IPv4Address, port: int) -> None:
    mapped = IPv6Address((0xFFFF << 32) | int(ip))
    for spelling in (str(mapped), f"::ffff:{ip}", f"0:0:0:0:0:ffff:{ip}", mapped.exploded):
        with pytest.raises(Refused):
            check_address(spelling, port, NOBODY)


@given(ip=_in(FORBIDDEN_V4) | _in(FORBIDDEN_V6), port=ports)
def test_allowlisted_ip_is_allowed_on_its_port_only(
    ip: IPv4Address | IPv6Address, port: int
) -> None:
    entry = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    allow = Allowlist.parse(entry)
    check_address(str(ip), port, allow)
    with pytest.raises(Refused):
        check_address(str(ip), port + 1, allow)


@given(st.integers(0, 2**32 - 1) | st.integers(0, 2**128 - 1), ports)
def test_whatever_passes_is_global_unicast(n: int, port: int) -> None:
    ip = ip_address(n) if n < 2**32 else IPv6Address(n)
    try:
        check_address(str(ip), port, NOBODY)
    except Refused:
        return
    plain = ip
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped:
        plain = ip.ipv4_mapped
    elif ip in NAT64:
        plain = IPv4Address(n & 0xFFFFFFFF)
    assert plain.is_global
    assert not (plain.is_private or plain.is_loopback or plain.is_link_local)
    assert not (plain.is_multicast or plain.is_reserved or plain.is_unspecified)


@given(st.text(max_size=80))
def test_check_url_only_ever_raises_refused(text: str) -> None:
    try:
        scheme, host, port = check_url(text)
    except Refused:
        return
    assert scheme in ("http", "https") and host and 0 < port < 65536


@pytest.mark.parametrize(
    "ip", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "2001:4860:4860::8888"]
)
def test_public_addresses_pass(ip: str) -> None:
    assert check_address(ip, 443, NOBODY) is None  # raises Refused otherwise


def test_nat64_passes_only_when_the_embedded_ipv4_is_public() -> None:
    check_address("64:ff9b::808:808", 80, NOBODY)
    with pytest.raises(Refused, match=r"NAT64 of 10\.0\.0\.1"):
        check_address("64:ff9b::a00:1", 80, NOBODY)


# --- allowlist -----------------------------------------------------------------------------


def test_allowlist_parses_ips_networks_names_and_brackets() -> None:
    allow = Allowlist.parse(
        " 127.0.0.1:8081, origin.test:8082 ,10.0.0.0/8:6000,[::1]:8083,[fd00::/8]:1,, ",
        resolve=lambda name: {"origin.test": ["10.1.2.3"]}[name],
    )
    assert allow.allows(IPv4Address("127.0.0.1"), 8081)
    assert not allow.allows(IPv4Address("127.0.0.1"), 6379)
    assert allow.allows(IPv4Address("10.1.2.3"), 8082)  # "origin.test" resolved at parse time
    assert allow.allows(IPv4Address("10.9.8.7"), 6000)
    assert not allow.allows(IPv4Address("10.9.8.7"), 6379)
    assert allow.allows(IPv6Address("::1"), 8083)
    assert not allow.allows(IPv6Address("::1"), 8081)
    assert allow.allows(IPv6Address("fd00::5"), 1)


def test_allowlisted_ipv4_also_covers_its_mapped_form() -> None:
    allow = Allowlist.parse("127.0.0.1:8081")
    check_address("::ffff:127.0.0.1", 8081, allow)
    with pytest.raises(Refused):
        check_address("::ffff:127.0.0.1", 8082, allow)


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1:http",
        "[::1",
        "127.0.0.1:70000",
        "no-such.invalid:80",
        "127.0.0.1",  # every entry names its port: a private host runs more than the origin
        "10.0.0.0/8",
        "[::1]",
        "localhost",
    ],
)
def test_bad_allowlist_entry_fails_loudly(text: str) -> None:
    with pytest.raises(ValueError, match="allowlist entry"):
        Allowlist.parse(text)


def test_a_name_with_one_forbidden_address_is_refused_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 80)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    with pytest.raises(
        Refused, match=r"rebind\.example resolves to 10\.0\.0\.7:80, which is private"
    ):
        resolve_checked("rebind.example", 80, NOBODY)
    answers.pop()
    assert resolve_checked("rebind.example", 80, NOBODY) == ["93.184.216.34"]


def test_an_allowlisted_name_is_resolved_once_when_parsed() -> None:
    """A worker judges every hop against what its allowlist meant when it started."""
    current = {"ip": "10.0.0.5"}
    calls = []

    def resolve(name: str) -> list[str]:
        calls.append(name)
        return [current["ip"]]

    allow = Allowlist.parse("origin.test:8081", resolve=resolve)
    current["ip"] = "10.0.0.9"
    check_address("10.0.0.5", 8081, allow)
    with pytest.raises(Refused, match="private"):
        check_address("10.0.0.9", 8081, allow)
    assert calls == ["origin.test"]


def _dual_stack_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """getaddrinfo as a typical Debian /etc/hosts answers it: localhost is ::1 and 127.0.0.1."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host == "localhost" and not flags & socket.AI_NUMERICHOST:
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port or 0, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 0)),
            ]
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_the_default_allowlist_admits_the_origin_socket_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The origin listens on 127.0.0.1:P; whoever listens on [::1]:P is someone else."""
    _dual_stack_localhost(monkeypatch)
    for origin in ("http://127.0.0.1:8081", "http://localhost:8081"):
        allow = Allowlist.parse(Settings.from_env({"ORIGIN_URL": origin}).allow_hosts)
        check_address("127.0.0.1", 8081, allow)
        for ip in ("::1", "127.0.0.1"):
            with pytest.raises(Refused, match="loopback"):
                check_address(ip, 8082, allow)
        with pytest.raises(Refused, match=r"\[::1\]:8081 is loopback"):
            check_address("::1", 8081, allow)
        with pytest.raises(Refused, match=r"localhost resolves to \[::1\]:8081"):
            resolve_checked("localhost", 8081, allow)


def test_a_localhost_entry_admits_ipv4_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    _dual_stack_localhost(monkeypatch)
    allow = Allowlist.parse("localhost:8081")
    check_address("127.0.0.1", 8081, allow)
    with pytest.raises(Refused):
        check_address("::1", 8081, allow)
    both = Allowlist.parse("localhost:8081,[::1]:8081")  # spelled out: the operator means it
    assert resolve_checked("localhost", 8081, both) == ["::1", "127.0.0.1"]


def test_default_allow_hosts_is_the_origin_socket() -> None:
    assert default_allow_hosts("http://127.0.0.1:8081") == "127.0.0.1:8081"
    assert default_allow_hosts("http://localhost:9000/") == "127.0.0.1:9000"
    assert default_allow_hosts("http://origin:8081") == "origin:8081"
    assert default_allow_hosts("http://[::1]:8081") == "[::1]:8081"
    assert default_allow_hosts("https://origin.example") == "origin.example:443"


_V4_LOOPBACK = st.integers(0, 2**24 - 1).map(lambda n: IPv4Address((127 << 24) | n))
_ANY_V4 = st.integers(0, 2**32 - 1).map(IPv4Address)
_ANY_V6 = st.integers(0, 2**128 - 1).map(IPv6Address)
_ANSWER = st.sampled_from([IPv6Address("::1")]) | _V4_LOOPBACK | _ANY_V4 | _ANY_V6
_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,12}(\.[a-z]{2,5})?", fullmatch=True)


@settings(max_examples=300)
@given(
    name=_NAMES,
    answers=st.lists(_ANSWER, min_size=1, max_size=6, unique=True),
    port=ports,
    probe=_ANSWER,
    probe_port=ports,
    later=st.lists(_ANSWER, max_size=3),
)
def test_a_name_admits_what_it_resolved_to_on_its_port_but_ipv6_loopback(
    name: str,
    answers: list[IPv4Address | IPv6Address],
    port: int,
    probe: IPv4Address | IPv6Address,
    probe_port: int,
    later: list[IPv4Address | IPv6Address],
) -> None:
    """Whatever families a name resolves to, it admits exactly its answers at parse time, on
    its port, and never ::1; a later answer changes nothing."""
    replies = iter([[str(ip) for ip in answers], [str(ip) for ip in later]])
    meant = {ip for ip in answers if ip != IPv6Address("::1")}
    if not meant:
        with pytest.raises(ValueError, match=r"list IPv6 loopback as \[::1\]:port"):
            Allowlist.parse(f"{name}:{port}", resolve=lambda _: next(replies))
        return
    allow = Allowlist.parse(f"{name}:{port}", resolve=lambda _: next(replies))
    assert {net.network_address for net, _ in allow.entries} == meant
    assert all(p == port and net.num_addresses == 1 for net, p in allow.entries)
    assert allow.allows(probe, probe_port) == (probe in meant and probe_port == port)
    try:
        check_address(str(probe), probe_port, allow)
        passed = True
    except Refused:
        passed = False
    mapped = probe.ipv4_mapped if isinstance(probe, IPv6Address) else None
    admitted = (probe in meant or mapped in meant) and probe_port == port
    assert passed == (admitted or forbidden_reason(probe) is None)
    assert not allow.allows(IPv6Address("::1"), port)


# --- the per-origin fast path ------------------------------------------------------------------

#: Characters a plain URL is made of, then a few that make it not plain (the full rules' cases).
_PLAIN_HOST, _ODD_HOST = "abcxyzABC019.-", "_%@\\ :[]\uff41"
_PLAIN_PATH, _ODD_PATH = "abz09._~!$&'()*+,;=:@/?#-", "%\\ \t\x7f\u00e9"


@st.composite
def _urlish(draw: st.DrawFn) -> str:
    """Mostly plain URLs, and near misses of them."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTtPs", "ftp", ""]))
    host = draw(st.text(_PLAIN_HOST, max_size=20) | st.text(_PLAIN_HOST + _ODD_HOST, max_size=20))
    port = draw(st.none() | st.integers(0, 99999).map(str) | st.text("0123456789x", max_size=6))
    lead = draw(st.sampled_from(["", "/", "?", "#"]))
    rest = draw(st.text(_PLAIN_PATH, max_size=20) | st.text(_PLAIN_PATH + _ODD_PATH, max_size=20))
    return f"{scheme}://{host}{'' if port is None else ':' + port}{lead}{rest}"


def _verdict(check, url: str) -> tuple[str, str, int] | str:
    try:
        return check(url)
    except Refused as exc:
        return f"Refused: {exc}"


@settings(max_examples=500)
@given(_urlish() | st.text(max_size=60))
def test_check_url_fast_path_agrees_with_the_full_rules(url: str) -> None:
    assert _verdict(check_url, url) == _verdict(check_url_uncached, url)


def test_a_batch_of_one_origin_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain URL's verdict is its origin's: 500 paths of one origin cost one full check."""
    calls = []
    real = url_check.urlsplit
    monkeypatch.setattr(url_check, "urlsplit", lambda url: calls.append(url) or real(url))
    origin = "http://fast-path.example:8123"
    for i in range(500):
        assert check_url(f"{origin}/delay/0?bytes=64&n={i}") == ("http", "fast-path.example", 8123)
    for _ in range(3):
        with pytest.raises(Refused, match="non-standard"):
            check_url("http://0x7f.0.0.2:8123/a")
    assert len(calls) <= 2


def test_numeric_host_asks_libc_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: calls.append(a) or real(*a, **k))
    for _ in range(5):
        assert numeric_host("127.8.9.10") == ["127.8.9.10"]
        assert numeric_host("fast-path-name.example") is None
    assert len(calls) == 2


def test_an_allowlisted_address_is_judged_once_per_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hop checks its address; an allowlist of addresses alone gives the same answer each
    time, so the answer is kept (one of names is not: a name's addresses move)."""
    allow = Allowlist.parse("127.0.0.1:8081")
    calls = []
    real = guard.ip_address
    monkeypatch.setattr(guard, "ip_address", lambda text: calls.append(text) or real(text))
    for _ in range(100):
        check_address("127.0.0.1", 8081, allow)
        with pytest.raises(Refused, match="loopback"):
            check_address("127.0.0.1", 6379, allow)
    assert len(calls) == 2
