"""Which URLs and addresses a fetch may reach: strangers type the URLs, Redis listens next door.

The rule is "globally routable unicast, or allowlisted by (ip, port)". It is applied to the
address a socket is about to connect to, after resolution, so odd spellings (`2130706433`,
`0x7f.0.0.1`, `[::ffff:127.0.0.1]`) and DNS names are judged by where they really lead.
Python 3.11's `ipaddress.is_global` calls 192.0.0.8, 2002::/16 or fec0::/10 global, so an
explicit deny list is checked first.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_DENY_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), label)
    for net, label in (
        ("0.0.0.0/32", "unspecified"),
        ("0.0.0.0/8", "this-network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata lives here)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_DENY_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), label)
    for net, label in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/8", "reserved (IPv4-compatible / translated)"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001:db8::/32", "documentation"),
        ("2001::/23", "IETF protocol assignments"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "SRv6"),
        ("fc00::/7", "unique-local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)

_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")
_TEREDO = IPv6Network("2001::/32")
_SIXTOFOUR = IPv6Network("2002::/16")


class Refused(Exception):
    """A URL or address the worker will not reach; the message says which rule said no."""


#: Resolves an allowlisted name to its address texts (injected by tests; `system_addresses`).
Resolver = Callable[[str], Iterable[str]]


def system_addresses(name: str) -> list[str]:
    """The addresses getaddrinfo gives `name`, in its order."""
    infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    return [_host(info[4]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


@dataclass(frozen=True)
class Allowlist:
    """Private sockets a deployment vouches for (its own origin): (address or network, port).

    Every entry names a port: a private host runs more than the origin (Redis, for one). A name
    is resolved once, when the allowlist is parsed (once per worker process), and admits the
    addresses it resolved to then, on its port; a name that moves later is not followed (the
    worker is restarted with it). IPv6 loopback is admitted only when spelled (`[::1]:8081`):
    `localhost` resolves to ::1 as well as 127.0.0.1 on most hosts, and a server listening on
    127.0.0.1:P says nothing about who listens on [::1]:P.
    """

    entries: tuple[tuple[IPNetwork, int], ...] = ()
    #: (ip text, port) -> refusal reason or None: every hop of every task checks its address,
    #: and an allowlist of resolved addresses always answers the same.
    _verdicts: dict[tuple[str, int], str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def parse(cls, text: str, resolve: Resolver = system_addresses) -> Allowlist:
        """Parse `FANOUT_ALLOW_HOSTS`: comma-separated `host:port`, host an IP, a CIDR network
        (IPv6 in brackets) or a name, which `resolve` answers now.

        Raises ValueError on a bad entry, an entry without a port, or a name that does not
        resolve or admits no address, so a typo fails loudly.
        """
        entries: list[tuple[IPNetwork, int]] = []
        for raw in text.split(","):
            entry = raw.strip()
            if entry:
                host, port = _split_entry(entry)
                entries.extend((net, port) for net in _networks(host, entry, resolve))
        return cls(tuple(dict.fromkeys(entries)))

    def allows(self, ip: IPAddress, port: int) -> bool:
        return any(p == port and ip in net for net, p in self.entries)


def _host(sockaddr: tuple[object, ...]) -> str:
    """The address text of a getaddrinfo answer's sockaddr. Typeshed types it for every family;
    for the AF_INET and AF_INET6 answers a host gives, its first item is the address. The one
    other shape, `(family, bytes)` from a Python built without IPv6, cannot be judged: refused."""
    host = sockaddr[0]
    if not isinstance(host, str):
        raise ValueError(f"an address of family {host} this Python cannot read")
    return host


def _split_entry(entry: str) -> tuple[str, int]:
    if entry.startswith("["):
        host, sep, rest = entry[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"allowlist entry {entry!r}: bad brackets")
        if rest:
            return host, _port(rest[1:], entry)
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, _port(port, entry)
    raise ValueError(
        f"allowlist entry {entry!r}: no port: an entry is one socket, host:port ([v6]:port)"
    )


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"allowlist entry {entry!r}: bad port {text!r}")
    return int(text)


def _networks(host: str, entry: str, resolve: Resolver) -> list[IPNetwork]:
    """An IP or network as written; a name's addresses as `resolve` gives them now, but for
    IPv6 loopback, which only a spelled `[::1]` admits."""
    with contextlib.suppress(ValueError):
        return [ip_network(host.partition("%")[0], strict=False)]
    try:
        answers = list(resolve(host.rstrip(".")))
    except (OSError, UnicodeError, ValueError) as exc:
        raise ValueError(f"allowlist entry {entry!r}: cannot resolve {host!r}: {exc}") from exc
    networks: list[IPNetwork] = []
    for text in answers:
        ip = ip_address(text.partition("%")[0])
        if not (isinstance(ip, IPv6Address) and ip.is_loopback):
            networks.append(ip_network(ip))
    if not networks:
        raise ValueError(
            f"allowlist entry {entry!r}: {host!r} resolves to {', '.join(answers) or 'nothing'}, "
            "none admitted by name (list IPv6 loopback as [::1]:port)"
        )
    return list(dict.fromkeys(networks))


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast destination, or None if it is one."""
    if isinstance(ip, IPv6Address):
        embedded = ip.ipv4_mapped
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return reason and f"{reason} (IPv4-mapped {embedded})"
        if ip in _NAT64:
            embedded = IPv4Address(int(ip) & 0xFFFFFFFF)
            reason = forbidden_reason(embedded)
            return reason and f"NAT64 of {embedded}, which is {reason}"
        if ip in _SIXTOFOUR:
            return f"6to4 (embeds {ip.sixtofour})"
        if ip in _TEREDO:
            return f"Teredo (embeds client {ip.teredo[1]})" if ip.teredo else "Teredo"
        for net, label in _DENY_V6:
            if ip in net:
                return label
        if ip not in _GLOBAL_UNICAST_V6:
            return "reserved (outside 2000::/3)"
    else:
        for net4, label in _DENY_V4:
            if ip in net4:
                return label
    return None if ip.is_global else "not globally routable"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


#: Verdicts an Allowlist keeps, at most; past that, it starts over (a batch of many addresses).
MAX_KEPT_VERDICTS = 4096


def _refusal(ip_text: str, port: int, allow: Allowlist) -> str | None:
    verdicts = allow._verdicts
    key = (ip_text, port)
    try:
        return verdicts[key]
    except KeyError:
        pass
    if len(verdicts) >= MAX_KEPT_VERDICTS:
        verdicts.clear()
    verdict = verdicts[key] = _judge(ip_text, port, allow)
    return verdict


def _judge(ip_text: str, port: int, allow: Allowlist) -> str | None:
    try:
        ip = ip_address(ip_text)
    except ValueError:
        return "not an IP address"
    mapped = ip.ipv4_mapped if isinstance(ip, IPv6Address) else None
    if allow.allows(ip, port) or (mapped is not None and allow.allows(mapped, port)):
        return None
    return forbidden_reason(ip)


def check_address(ip_text: str, port: int, allow: Allowlist) -> None:
    """Raise Refused unless (ip, port) is public unicast or allowlisted."""
    reason = _refusal(ip_text, port, allow)
    if reason is not None:
        raise Refused(f"refused: {_host_port(ip_text, port)} is {reason}")


def _is_localhost_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


class ResolveTimeout(TimeoutError):
    """The resolver did not answer in time (glibc may retry a dead nameserver for 30 s)."""


#: Lookups in flight at once per process; more wait their turn, each within its own timeout.
RESOLVER_THREADS = 8


def _new_resolver() -> ThreadPoolExecutor:
    """The lookup threads: started on first use, so a forked child, where they do not exist,
    gets a fresh pool."""
    global _resolver
    _resolver = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="fanout-dns")
    return _resolver


_resolver = _new_resolver()
os.register_at_fork(after_in_child=_new_resolver)


def _getaddrinfo(name: str, port: int, timeout_s: float | None) -> list[Any]:
    """getaddrinfo, bounded: no socket timeout covers it, so it runs on a resolver thread that
    is waited for at most `timeout_s` (the thread finishes its lookup in the background)."""
    try:
        ip_address(name.partition("%")[0])
        timeout_s = None  # a literal address: no query, nothing to wait for
    except ValueError:
        pass
    if timeout_s is None:
        return socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    lookup = _resolver.submit(socket.getaddrinfo, name, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout=timeout_s)
    except FutureTimeout:
        raise ResolveTimeout(f"resolving {name} took longer than {timeout_s:g} s") from None


def resolve_checked(
    host: str, port: int, allow: Allowlist, timeout_s: float | None = None
) -> list[str]:
    """Resolve `host` once and return the IPs to connect to, all of them checked.

    One forbidden address refuses the whole name: a name that resolves to both a public and a
    private address must not get a second chance at the private one. DNS failures raise
    `socket.gaierror`, except for `localhost` names, which are loopback by definition. With
    `timeout_s`, a lookup that takes longer raises ResolveTimeout.
    """
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        infos = _getaddrinfo(name, port, timeout_s)
    except socket.gaierror:
        if _is_localhost_name(name):
            raise Refused(f"refused: {name} is a localhost name") from None
        raise
    ips = list(
        dict.fromkeys(info[4][0] for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6))
    )
    if not ips:
        raise socket.gaierror(socket.EAI_NONAME, f"{name} has no IPv4 or IPv6 address")
    for ip in ips:
        reason = _refusal(ip, port, allow)
        if reason is not None:
            where = _host_port(ip, port)
            if ip != name:
                where = f"{name} resolves to {where}, which"
            raise Refused(f"refused: {where} is {reason}")
    return ips


def numeric_host(host: str) -> list[str] | None:
    """The addresses `host` spells as a number in any form libc accepts, None for a name.

    `127.1`, `2130706433` and `0x7f.0.0.1` all count as numbers; no DNS query is made.
    """
    ips = _numeric_host(host)
    return None if ips is None else list(ips)


@lru_cache(maxsize=4096)
def _numeric_host(host: str) -> tuple[str, ...] | None:
    """Pure (AI_NUMERICHOST never asks DNS), so asked once per host: every hop asks."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return None
    return tuple(dict.fromkeys(_host(info[4]) for info in infos))
