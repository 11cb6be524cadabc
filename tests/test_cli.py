"""The `fanout` command as a user types it: real processes, real Redis, the origin."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def fanout(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fanout", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.usefixtures("workers")
def test_run_prints_the_tutorial_lines_and_a_summary(stack_env, origin_url):
    urls = [f"{origin_url}/delay/100?bytes=321&n={i}" for i in range(5)]
    result = fanout("run", "--strategy", "threads", "-c", "5", *urls, env=stack_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:5] == [f"[+] 127.0.0.1 [{url}]: 321 bytes." for url in urls]
    assert lines[5].startswith("[i] Time transcurred: ")
    assert "efficiency" in result.stdout and "ok 5" in result.stdout


@pytest.mark.usefixtures("workers")
def test_run_json_prints_the_whole_record(stack_env, origin_url, tmp_path):
    url_file = tmp_path / "urls.txt"
    url_file.write_text(f"# a comment\n{origin_url}/status/404\n\n{origin_url}/bytes/10\n")
    result = fanout("run", "--file", str(url_file), "--json", "-s", "asyncio", env=stack_env)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert [t["state"] for t in record["tasks"]] == ["http_error", "ok"]
    assert record["spec"]["strategy"] == "asyncio"
    assert record["summary"]["wall_s"] > 0


@pytest.mark.usefixtures("workers")
def test_compare_prints_a_row_per_strategy(stack_env, origin_url):
    urls = [f"{origin_url}/delay/50?n={i}" for i in range(4)]
    result = fanout("compare", "-c", "2", *urls, env=stack_env)
    assert result.returncode == 0, result.stderr
    for strategy in ("sequential", "threads", "processes", "asyncio", "queue", "hybrid"):
        assert strategy in result.stdout
    assert result.stdout.count("4/4") == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "give URLs"),
        (["run", "ftp://example.com/x"], "line 1"),
        (["run", "http://ok.example/", "not a url"], "line 2"),
        (["run", "--concurrency", "0", "http://a.example/"], "concurrency must be between 1"),
        (["run", "--concurrency", "100000", "http://a.example/"], "500"),
        (["run", "--strategy", "magic", "http://a.example/"], "magic"),
        (["compare", "--strategies", "threads,nope", "http://a.example/"], "nope"),
    ],
)
def test_bad_input_exits_2_with_a_message(stack_env, args, message):
    result = fanout(*args, env=stack_env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_redis_is_a_message_not_a_traceback(stack_env, origin_url):
    from tests.support import free_port

    env = dict(stack_env, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    result = fanout("run", f"{origin_url}/bytes/1", env=env, timeout=30)
    assert result.returncode == 1
    assert "unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_too_many_urls_is_refused_with_the_limit(stack_env):
    env = dict(stack_env, FANOUT_MAX_URLS="3")
    result = fanout("run", *[f"http://a.example/{i}" for i in range(4)], env=env)
    assert result.returncode == 2
    assert "limit of 3" in result.stderr
