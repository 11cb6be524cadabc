"""The `fanout` command as a user types it: real processes, real Redis, the origin."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from contract.settings import Settings
from producer.reader import load_comparison
from producer.wait import run_state
from tests.support import read_to_end

#: Box-drawing characters (U+2500-U+257F) and the escape that starts every colour code.
BOX_OR_COLOUR = re.compile("[\u2500-\u257f\x1b]")


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
    # Equal delays: they end in any order (the order itself is tested below).
    assert sorted(lines[:5]) == sorted(f"[+] 127.0.0.1 [{url}]: 321 bytes." for url in urls)
    assert lines[5].startswith("[i] Time transcurred: ")
    assert "efficiency" in result.stdout and "ok 5" in result.stdout


@pytest.mark.usefixtures("workers")
def test_run_json_prints_the_whole_record(stack_env, origin_url, tmp_path):
    url_file = tmp_path / "urls.txt"
    url_file.write_text(f"# a comment\n{origin_url}/status/404\n\n{origin_url}/bytes/10\n")
    result = fanout("run", "--file", str(url_file), "--json", "-s", "asyncio", env=stack_env)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)  # the record alone: no task line, no summary
    assert f"run {record['id']} submitted: " in result.stderr
    assert [t["state"] for t in record["tasks"]] == ["http_error", "ok"]
    assert record["spec"]["strategy"] == "asyncio"
    assert record["summary"]["wall_s"] > 0


@pytest.mark.usefixtures("workers")
def test_compare_prints_a_row_per_strategy(stack_env, origin_url):
    urls = [f"{origin_url}/delay/50?n={i}" for i in range(4)]
    result = fanout("compare", "-c", "2", *urls, env=stack_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for strategy in ("sequential", "threads", "processes", "asyncio", "queue", "hybrid"):
        # its row, whose last column is OK (a context switches cell may read "4/4" too)
        row = next(line for line in lines if line.split()[:1] == [strategy])
        assert row.rstrip().endswith(" 4/4"), row


@pytest.mark.usefixtures("workers")
def test_run_streams_each_line_as_its_task_ends_in_finishing_order(
    stack_env, origin_url, redis_client
):
    delays_ms = [400, 50, 250, 2000]
    urls = [f"{origin_url}/delay/{ms}?bytes=64&ms={ms}" for ms in delays_ms]
    # Without PYTHONUNBUFFERED stdout is a block-buffered pipe: only fanout's own flushes help.
    env = {k: v for k, v in stack_env.items() if k != "PYTHONUNBUFFERED"}
    env["FANOUT_WEB_URL"] = "http://lab.example:9000/"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fanout", "run", "-s", "threads", "-c", "4", *urls],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        submitted = proc.stderr.readline()
        time.sleep(1.0)  # the lines of the tasks ended by now wait in the pipe together
        first_line = proc.stdout.readline()
        state_at_first_line = None
        found = re.search(r"run ([0-9a-f]+) submitted: (\S+)", submitted)
        if found:
            state_at_first_line = run_state(redis_client, found[1])[0]
        rest, errors = read_to_end(proc, 120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, submitted + errors
    assert found, f"no submission line on stderr: {submitted!r}"
    run_id, page = found[1], found[2]
    assert page == f"http://lab.example:9000/runs/{run_id}"
    assert first_line == f"[+] 127.0.0.1 [{urls[1]}]: 64 bytes.\n"
    assert state_at_first_line == "running", "the first line came only after the run ended"
    lines = [first_line.rstrip("\n"), *rest.splitlines()]
    by_finish = [urls[i] for i in (1, 2, 0, 3)]
    assert lines[:4] == [f"[+] 127.0.0.1 [{url}]: 64 bytes." for url in by_finish]
    assert lines[4].startswith("[i] Time transcurred: ")
    assert any("ok 4" in line for line in lines[5:])
    assert lines[-1].endswith(f" {page}")


@pytest.mark.usefixtures("workers")
def test_compare_prints_a_plain_table_and_the_page_when_stdout_is_not_a_terminal(
    stack_env, origin_url
):
    urls = [f"{origin_url}/delay/20?n={i}" for i in range(2)]
    result = fanout("compare", "--strategies", "sequential,threads", *urls, env=stack_env)
    assert result.returncode == 0, result.stderr
    assert not BOX_OR_COLOUR.search(result.stdout), result.stdout
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows_of(rows, "sequential")[-1] == "2/2"
    assert rows_of(rows, "threads")[-1] == "2/2"
    found = re.search(r"submitted: (\S+/compare/([0-9a-f]+))", result.stderr)
    assert found, result.stderr
    assert found[1] in result.stdout


def rows_of(rows: list[list[str]], strategy: str) -> list[str]:
    (row,) = [row for row in rows if row and row[0] == strategy]
    return row


@pytest.mark.usefixtures("workers")
def test_compare_repeat_waits_for_every_run_and_prints_one_row_per_strategy(
    stack_env, origin_url, redis_client
):
    urls = [f"{origin_url}/delay/20?n={i}" for i in range(2)]
    result = fanout(
        "compare", "--repeat", "2", "--strategies", "sequential,asyncio", *urls, env=stack_env
    )
    assert result.returncode == 0, result.stderr
    comparison_id = re.search(r"/compare/([0-9a-f]+)", result.stderr)[1]
    comparison = load_comparison(redis_client, comparison_id, include_tasks=False)
    assert {run["state"] for run in comparison["runs"]} == {"done"}
    rows = [line.split() for line in result.stdout.splitlines()]
    for strategy in ("sequential", "asyncio"):
        runs = [r for r in comparison["runs"] if r["spec"]["strategy"] == strategy]
        assert rows_of(rows, strategy)[-1] == f"{2 * len(runs)}/{2 * len(runs)}"


def test_pages_are_printed_under_the_web_url():
    assert Settings.from_env({}).web_url == "http://127.0.0.1:8000"
    listening_everywhere = Settings.from_env({"WEB_HOST": "0.0.0.0", "WEB_PORT": "8080"})
    assert listening_everywhere.web_url == "http://127.0.0.1:8080"
    behind_a_proxy = Settings.from_env({"FANOUT_WEB_URL": "https://lab.example/fanout/"})
    assert behind_a_proxy.web_url == "https://lab.example/fanout"


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
        (["compare", "--repeat", "11", "http://a.example/"], "1<=x<=10"),
    ],
)
def test_bad_input_exits_2_with_a_message(stack_env, args, message):
    result = fanout(*args, env=stack_env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_sweep_with_no_worker_counts_names_the_field_once(stack_env):
    result = fanout("sweep", "--workers", ",", "http://a.example/", env=stack_env)
    assert result.returncode == 2, result.stderr
    assert "workers must be a non-empty list" in result.stderr
    assert "workers: workers" not in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_redis_is_a_message_not_a_traceback(stack_env, origin_url):
    from tests.support import free_port

    env = dict(stack_env, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    result = fanout("run", f"{origin_url}/bytes/1", env=env, timeout=30)
    assert result.returncode == 1
    assert "unreachable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("workers")
@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_batch_past_its_timeout_is_a_message_not_a_traceback(stack_env, origin_url, command):
    args = [command, "--timeout", "0.5", f"{origin_url}/delay/1500"]
    if command == "compare":
        args += ["--strategies", "threads"]
    result = fanout(*args, env=stack_env)
    assert result.returncode == 1
    assert "not done after" in result.stderr
    assert "Traceback" not in result.stderr


def test_too_many_urls_is_refused_with_the_limit(stack_env):
    env = dict(stack_env, FANOUT_MAX_URLS="3")
    result = fanout("run", *[f"http://a.example/{i}" for i in range(4)], env=env)
    assert result.returncode == 2
    assert "limit of 3" in result.stderr


@pytest.mark.usefixtures("workers")
def test_run_reads_urls_from_stdin_with_file_dash(stack_env, origin_url):
    text = f"# piped in\n{origin_url}/bytes/5\n\n{origin_url}/bytes/7\n"
    result = subprocess.run(
        [sys.executable, "-m", "fanout", "run", "--file", "-", "--json", "-s", "threads"],
        env=stack_env,
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert sorted(task["bytes"] for task in record["tasks"]) == [5, 7]


def test_every_bad_line_of_a_file_is_named_and_exits_2(stack_env, tmp_path):
    url_file = tmp_path / "urls.txt"
    url_file.write_text("http://ok.example/\nftp://x/\nhttp://ok.example/2\nnope\n")
    result = fanout("run", "--file", str(url_file), env=stack_env)
    assert result.returncode == 2
    assert "2 bad lines" in result.stderr and "line 2:" in result.stderr
    assert "line 4:" in result.stderr


@pytest.mark.usefixtures("workers")
@pytest.mark.parametrize("command", ["run", "compare"])
def test_ctrl_c_leaves_the_batch_running_on_the_server_and_says_where_to_see_it(
    stack_env, origin_url, redis_client, command
):
    """Ctrl-C stops the CLI, not the batch: it says so, repeats the page, and exits 130."""
    from producer.wait import wait_for_run

    urls = [f"{origin_url}/delay/1500?n={i}" for i in range(2)]
    args = [command, "-c", "2", *urls]
    if command == "compare":
        args += ["--strategies", "threads,asyncio"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fanout", *args],
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        submitted = proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        _, errors = read_to_end(proc, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    found = re.search(r"(run|comparison) ([0-9a-f]+) submitted: (\S+)", submitted)
    assert found, f"no submission line on stderr: {submitted!r}"
    kind, batch_id, page = found[1], found[2], found[3]
    assert proc.returncode == 130, errors
    assert "Aborted" not in errors and "Traceback" not in errors, errors
    assert f"{kind} {batch_id} continues on the server" in errors
    assert page in errors
    assert "no cancel" in errors
    if kind == "run":
        run_ids = [batch_id]
    else:
        runs = load_comparison(redis_client, batch_id, include_tasks=False)["runs"]
        run_ids = [run["id"] for run in runs]
    for run_id in run_ids:
        assert wait_for_run(redis_client, run_id, timeout_s=60)["state"] == "done"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["workers", "scale", "-1"], "total must be at least 1"),
        (["workers", "scale", "--per-host", "-1"], "per_host must be from 0 to 16"),
        (["workers", "scale", "--per-host", "17"], "per_host must be from 0 to 16"),
        (["workers", "scale", "many"], "'many' is not a valid integer"),
    ],
)
def test_a_bad_worker_target_is_a_usage_error_about_the_value(stack_env, args, message):
    """Bounds that hold whatever hosts are live are checked before Redis is reached."""
    from tests.support import free_port

    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    env = dict(stack_env, FANOUT_MAX_WORKERS_PER_HOST="16", REDIS_URL=unreachable)
    result = fanout(*args, env=env, timeout=30)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "No such option" not in result.stderr
    assert "per_host: per_host" not in result.stderr
    assert "Traceback" not in result.stderr
