"""The words for a run's host load, made here for every reader: the run page's warning (the
server's template, and the live page through the API's `host_load.note`) and the CLI's `[!]`
line. Both give the cores other processes used, which make a host busy, and apart from them
what fanout's own services used (Redis, the origin, the web app, the supervisor), which never
do: no repeat of the run would make them go away.
"""

from __future__ import annotations

from typing import Any


def _cores(value: float) -> str:
    return f"{value:.2f}"


def own_services(host_load: dict[str, Any]) -> str:
    """ "fanout's own services used 0.41 cores (redis 0.20, origin 0.15, web 0.06)", per host
    (named when there are several), busiest first, each service that shows as more than 0.00;
    empty when no host ran any."""
    own = {host: parts for host, parts in (host_load.get("own_cores") or {}).items() if parts}
    if not own:
        return ""
    by_host = sorted(own.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    said = []
    for host, parts in by_host:
        named = ", ".join(
            f"{name} {_cores(cores)}"
            for name, cores in sorted(parts.items(), key=lambda item: (-item[1], item[0]))
            if _cores(cores) != _cores(0)
        )
        where = f"{host} " if len(own) > 1 else ""
        said.append(
            f"{where}{_cores(sum(parts.values()))} cores" + (f" ({named})" if named else "")
        )
    return "fanout's own services used " + ", ".join(said)


def host_load_note(host_load: dict[str, Any] | None, *, comparison: bool) -> str:
    """The run page's warning for a run whose worker hosts other processes kept busy, naming
    each host and the cores they used there, then fanout's own; empty when not busy."""
    load = host_load or {}
    if not load.get("busy"):
        return ""
    hosts = sorted(load["others_cores"].items(), key=lambda item: (-item[1], item[0]))
    named = ", ".join(f"{host} {_cores(cores)} cores" for host, cores in hosts)
    again = "the comparison" if comparison else "the run"
    note = (
        f"Other processes kept the worker hosts busy during this run ({named}; more than "
        f"{_cores(load['threshold_cores'])} is too many): the figures may be distorted; "
        f"repeat {again}."
    )
    own = own_services(load)
    return f"{note} Not counted among them: {own}." if own else note


def with_note(host_load: dict[str, Any] | None, *, comparison: bool) -> dict[str, Any] | None:
    """The host load as the API gives it: its figures and the page's `note` ("" when the
    hosts were not busy)."""
    if host_load is None:
        return None
    return {**host_load, "note": host_load_note(host_load, comparison=comparison)}


def busy_line(host_load: dict[str, Any], advice: str, strategies: list[str] | None = None) -> str:
    """The CLI's warning: how many cores other processes took, on which host when there are
    several, under which strategies (in a comparison), and what fanout's own services used."""
    others = host_load.get("others_cores") or {}
    host = f" {max(others, key=others.__getitem__)}" if len(others) > 1 else ""
    cores = host_load.get("max_others_cores")
    if cores is None:
        used = "more than a quarter of a core"
    else:
        used = f"up to {_cores(cores)} cores" if strategies else f"{_cores(cores)} cores"
    where = f" during {', '.join(strategies)}" if strategies else ""
    amount = f"{used} during {'a' if strategies else 'the'} run"
    own = own_services(host_load)
    also = f"; {own}" if own else ""
    return (
        f"[!] the worker host{host} was busy{where}: other processes used {amount}{also}; "
        f"the figures may be distorted ({advice})"
    )
