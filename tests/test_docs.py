"""The docs are claims about the software: these tests hold them to the code.

Every documented setting's default is read from the code, every setting the code reads is
documented, every relative link leads somewhere, every Redis key the docs name is one
`contract/keys.py` builds, and no page speaks of the software's history (that belongs in commit
messages): a reader meets the software as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "configuration.md"
PAGES = sorted([ROOT / "README.md", ROOT / "bench" / "RESULTS.md", *ROOT.glob("docs/*.md")])
CODE_DIRS = ("contract", "producer", "worker", "web", "fanout", "origin")

#: Sentences that tell the software's history instead of describing it.
HISTORY = re.compile(
    r"\b(my change|this (?:stop|change|round|session|commit)|before this|used to|at stop \d+"
    r"|the old (?:code|tier|version)|on older code|since (?:the|this) (?:change|commit))\b"
    r"|\((?:was|were) [\d.,]+"
    r"|\b(?:main|commit) (?:at )?[0-9a-f]{7,40}\b",
    re.IGNORECASE,
)


def _settings_default(attribute: str) -> Callable[[], object]:
    def read() -> object:
        from contract.settings import Settings

        return getattr(Settings.from_env({}), attribute)

    return read


def _web_default(key: str) -> Callable[[], object]:
    def read() -> object:
        from web.app import DEFAULTS

        return DEFAULTS[key]

    return read


def _cli_default(command: str, parameter: str) -> Callable[[], object]:
    def read() -> object:
        from fanout.cli import main

        params = main.commands[command].params  # type: ignore[attr-defined]
        return next(p.default for p in params if p.name == parameter)

    return read


def _redis_port() -> object:
    from contract.settings import DEFAULT_REDIS_PORT

    return DEFAULT_REDIS_PORT


def _body_timeout() -> object:
    from web.gunicorn_conf import DEFAULT_BODY_TIMEOUT_S

    return DEFAULT_BODY_TIMEOUT_S


def _submit_limit() -> object:
    from web.limits import DEFAULT_SUBMIT_LIMIT

    return DEFAULT_SUBMIT_LIMIT


#: Each documented variable with a fixed default, and where the code keeps that default. A
#: variable whose default is derived (a URL made of host and port, a fresh directory) is listed
#: with None: it must be documented, its text is not compared.
DEFAULTS: dict[str, Callable[[], object] | None] = {
    "REDIS_URL": lambda: f"127.0.0.1:{_redis_port()}",
    "FANOUT_REDIS_PORT": _redis_port,
    "FANOUT_DATA_DIR": _web_default("DATA_DIR"),
    "WEB_HOST": _settings_default("web_host"),
    "WEB_PORT": _settings_default("web_port"),
    "FANOUT_WEB_URL": None,
    "WEB_PROCESSES": _cli_default("web", "processes"),
    "ORIGIN_HOST": _settings_default("origin_host"),
    "ORIGIN_PORT": _settings_default("origin_port"),
    "ORIGIN_URL": None,
    "WORKERS": _settings_default("workers"),
    "FANOUT_WAIT_FOR": None,
    "FANOUT_HOST": None,
    "FANOUT_MAX_WORKERS_PER_HOST": _settings_default("max_workers_per_host"),
    "FANOUT_WORKER_CLASS": _cli_default("worker", "worker_class"),
    "FANOUT_ALLOW_HOSTS": None,
    "FANOUT_CONNECT_TIMEOUT_S": _settings_default("connect_timeout_s"),
    "FANOUT_READ_TIMEOUT_S": _settings_default("read_timeout_s"),
    "FANOUT_TASK_DEADLINE_S": _settings_default("task_deadline_s"),
    "FANOUT_MAX_BYTES": _settings_default("max_bytes"),
    "FANOUT_MAX_REDIRECTS": _settings_default("max_redirects"),
    "FANOUT_MAX_URLS": _settings_default("max_urls"),
    "FANOUT_MAX_FETCHES": _settings_default("max_fetches"),
    "FANOUT_MAX_CONCURRENCY": _settings_default("max_concurrency"),
    "FANOUT_TTL_S": _settings_default("ttl_s"),
    "FANOUT_CPU_ROUNDS": _settings_default("cpu_rounds"),
    "FANOUT_API_TOKEN": None,
    "FANOUT_RATE_LIMIT_SUBMIT": _submit_limit,
    "FANOUT_RATE_LIMIT_READ": None,
    "FANOUT_RATELIMIT_STRATEGY": None,
    "FANOUT_SECRET_KEY": None,
    "FANOUT_POLL_INTERVAL_MS": _web_default("POLL_INTERVAL_MS"),
    "FANOUT_MAX_CONTENT_LENGTH": _web_default("MAX_CONTENT_LENGTH"),
    "FANOUT_WEB_BODY_TIMEOUT_S": _body_timeout,
    "FANOUT_STACK": None,
    "FANOUT_STACK_PART": None,
    "FANOUT_CHECK_REPLIES": None,
    "PROMETHEUS_MULTIPROC_DIR": None,
}


def _config_rows() -> dict[str, str]:
    """`| `NAME` | default | meaning |` rows of docs/configuration.md, by name (a row may
    name two variables: `WEB_HOST` / `WEB_PORT`, with defaults in the same order)."""
    rows: dict[str, str] = {}
    for line in CONFIG.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z_]+)`", cells[0])
        values = [v.strip() for v in cells[1].split(" / ")] if len(names) > 1 else [cells[1]]
        for index, name in enumerate(names):
            rows[name] = values[index] if index < len(values) else cells[1]
    return rows


def _shown(value: object) -> str:
    """A default as the table shows it: numbers without a trailing .0, in backticks."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def test_every_documented_setting_has_the_codes_default() -> None:
    rows = _config_rows()
    assert set(rows) == set(DEFAULTS), "documented and known settings differ"
    for name, read in DEFAULTS.items():
        if read is None:
            continue
        assert _shown(read()).strip("`") in rows[name], f"{name}: {rows[name]} is not {read()}"


def test_every_setting_the_code_reads_is_documented() -> None:
    pattern = re.compile(r"\"((?:FANOUT|WEB|ORIGIN)_[A-Z_]+|REDIS_URL|WORKERS|PROMETHEUS_\w+)\"")
    read = {
        name
        for directory in CODE_DIRS
        for path in (ROOT / directory).rglob("*.py")
        for name in pattern.findall(path.read_text())
    }
    assert read - set(_config_rows()) == set()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_describe_the_software_not_its_history(page: Path) -> None:
    found = [
        f"{page.name}:{number}: {line.strip()}"
        for number, line in enumerate(page.read_text().splitlines(), 1)
        if HISTORY.search(line)
    ]
    assert found == []


def test_the_history_check_catches_a_change_log_sentence() -> None:
    for sentence in (
        "The rows my change could move",
        "1,718 tasks/s (was 2,118)",
        "before this round's changes",
        "re-measured with this stop's code",
        "main at 044cc3c",
        "not the threaded worker it used to run",
    ):
        assert HISTORY.search(sentence), sentence


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_somewhere(page: Path) -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    missing = [link for link in links if "://" not in link and not (page.parent / link).exists()]
    assert missing == []


#: `fanout:<tag>` that name the compose image, not a Redis key.
IMAGE_TAGS = {"local"}


def test_every_redis_key_the_docs_name_is_built_by_contract_keys() -> None:
    from contract import keys

    built = {
        re.sub(r"\{[^}]*\}", "", value)
        for value in re.findall(r'f"\{PREFIX\}([^"]*)"', (ROOT / "contract/keys.py").read_text())
    }
    named = re.compile(rf"(?<![:\w]){re.escape(keys.PREFIX)}([a-z][a-z:]*)")
    for page in PAGES:
        for name in named.findall(page.read_text()):
            if name in IMAGE_TAGS:
                continue
            assert any(b.startswith(name) or name.startswith(b) for b in built if b), (
                f"{page.name} names {keys.PREFIX}{name}, which contract/keys.py does not build"
            )


def test_the_readmes_second_terminal_is_what_the_newcomer_test_runs() -> None:
    from tests.newcomer.quick_start import README_COMMANDS

    lines = (ROOT / "README.md").read_text().splitlines()
    shown = [
        line.split("#", 1)[0].strip().removeprefix(".venv/bin/")
        for line in lines
        if line.startswith(".venv/bin/fanout ")
    ]
    assert tuple(shown) == README_COMMANDS


def test_the_readme_is_a_newcomers_page() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    assert "make up" in text and "make test" in text
