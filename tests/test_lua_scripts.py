"""Redis scripts live in `.lua` files, each saying what it takes, and run by EVALSHA only.

A script inline in Python hides its KEYS and ARGV among the code, and EVAL sends its whole text
on every call. redis-py's `register_script` runs it by SHA and loads it again on NOSCRIPT.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from rq.job import Job

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("contract", "producer", "worker", "web", "fanout", "origin", "bench")
#: A direct EVAL: the command by name, or redis-py's `eval` method.
DIRECT_EVAL = re.compile(r"""\.eval\(|["']EVAL["']|\beval\(""")


def _python_files() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]


def _lua_files() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.lua"))]


def test_no_python_file_runs_a_script_by_eval():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _python_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if DIRECT_EVAL.search(line)
    ]
    assert offenders == []


def test_no_python_file_holds_lua():
    """Lua text is recognisable by its `redis.call(`."""
    holders = [str(p.relative_to(ROOT)) for p in _python_files() if "redis.call(" in p.read_text()]
    assert holders == []


def test_the_scripts_exist():
    assert len(_lua_files()) >= 3


@pytest.mark.parametrize("path", _lua_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_script_names_its_keys_and_argv_first(path: Path):
    header = []
    for line in path.read_text().splitlines():
        if not line.startswith("--"):
            break
        header.append(line)
    text = "\n".join(header)
    assert re.search(r"^-- KEYS", text, re.M), f"{path.name}: no `-- KEYS` line in its header"
    assert re.search(r"^-- ARGV", text, re.M), f"{path.name}: no `-- ARGV` line in its header"
    assert re.search(r"^-- Returns", text, re.M), f"{path.name}: no `-- Returns` line"


def test_the_scripts_ship_with_their_packages():
    """pyproject's package-data lists each package's scripts, so an installed copy has them."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    for path in _lua_files():
        package = path.relative_to(ROOT).parts[0]
        relative = path.relative_to(ROOT / package).as_posix()
        patterns = package_data.get(package, [])
        assert any(Path(relative).match(pattern) for pattern in patterns), relative
        assert resources.files(package).joinpath(relative).is_file()


def test_a_staged_run_is_queued_whole_by_its_script(private_redis, monkeypatch):
    """The staging commit runs by EVALSHA inside the run's transaction (a pipeline loads the
    script first): every staged job lands on the queue, in order, without a TTL."""
    from contract import keys
    from contract.records import RunSpec
    from contract.settings import Settings
    from contract.states import Strategy
    from producer import staging
    from producer.connection import fanout_queue
    from producer.submit import submit_run

    monkeypatch.setattr(staging, "STAGE_ABOVE", 2)
    monkeypatch.setattr(staging, "SLICE", 2)
    client = private_redis
    spec = RunSpec(tuple(f"http://127.0.0.1:9/{i}" for i in range(5)), Strategy.QUEUE, 4)
    queue = fanout_queue(client)
    run_id = submit_run(client, queue, spec, Settings.from_env({}))
    job_ids = queue.get_job_ids()
    assert len(job_ids) == 5
    assert not client.exists(keys.staging_key(run_id))
    assert all(client.ttl(Job.key_for(job_id)) == -1 for job_id in job_ids)
