"""No Redis key or job id is spelt out as a literal outside `contract/keys.py`.

Every fanout key comes from a builder in `contract/keys.py`, with its parser beside it, and every
RQ key from RQ's own API (`Job.key_for`, `queue.key`, `queue.intermediate_queue_key`, a
registry's `key`, `Worker.redis_worker_namespace_prefix`). A key written out by hand elsewhere,
say a test's `f"fanout:run:{run_id}:running"`, keeps working until the layout changes, and then
reads an empty key: a test that should fail passes, a benchmark measures nothing. Remembering
this did not hold (this test's first run found 37 such literals in 18 files, tests and
benchmarks), so it is checked here instead.

The check reads every Python file git knows (tracked, or new and not ignored) with `tokenize`,
so comments and docstrings, which name keys to explain them, are not read: only string literals
in code, f-strings included, each reported as `file:line`.
"""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from collections.abc import Iterator
from pathlib import Path

from redis import Redis
from rq import Worker
from rq.job import Job
from rq.registry import StartedJobRegistry

from contract import keys
from producer.connection import fanout_queue

ROOT = Path(__file__).resolve().parent.parent

#: Where keys are built: the one module allowed to spell them.
BUILDERS = "contract/keys.py"

#: Literals that are keys on purpose: (file, the literal's text) -> why. (Named by RQ's value
#: here, so that this file spells no key either.)
ALLOWED = {
    ("tests/test_rq_contract.py", StartedJobRegistry.key_template): (
        "pins RQ's own template of the started registry's key against an RQ upgrade: "
        "the literal is what is being checked"
    ),
}

#: A replacement field of an f-string or a format template (`{run_id}`, `{0}`), read as a value:
#: `f"fanout:run:{run_id}"` is as much a key as `"fanout:run:0"`.
_FIELD = re.compile(r"\{[^{}]*\}")

#: A namespace prefix starts a key when nothing name-like comes before it (`urn:fanout:openapi`
#: names something inside another namespace) and a name, a field, a glob or the end of the
#: literal (a bare prefix, to be concatenated) comes after it (`fanout: web ...` is a message).
_START = r"(?<![\w:])"
_NEXT = r"(?=[\w*?\[]|$)"

PATTERNS = {
    "fanout Redis key": re.compile(_START + re.escape(keys.PREFIX) + _NEXT),
    "RQ Redis key": re.compile(_START + re.escape(keys.RQ_PREFIX) + _NEXT),
    # What `keys.job_id` makes (`keys.parse_job_id` is the reader).
    "fanout job id": re.compile(rf"{re.escape(keys.JOB_ID_PREFIX)}[^-\s:]+-[0-9]+-a[0-9]+"),
}

_QUOTED = re.compile(r"""[A-Za-z]*('''|\"\"\"|'|")(?P<body>.*)\1""", re.DOTALL)

#: Python 3.12 splits an f-string into these tokens; 3.11 gives it as one STRING token.
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)

_NOT_CODE = {tokenize.NL, tokenize.COMMENT}
_LINE_START = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}


def _literal_groups(source: str) -> Iterator[tuple[bool, list[tuple[int, str]]]]:
    """For each run of adjacent string literals (implicit concatenation is one run): whether the
    run is a statement of its own (a docstring), and each literal's line and source text."""
    lines = source.splitlines(keepends=True)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    previous = tokenize.ENCODING
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type in _NOT_CODE:
            i += 1
            continue
        if token.type != tokenize.STRING and token.type != _FSTRING_START:
            previous = token.type
            i += 1
            continue
        texts: list[tuple[int, str]] = []
        while i < len(tokens) and tokens[i].type in {tokenize.STRING, _FSTRING_START, *_NOT_CODE}:
            row = tokens[i].start[0]
            if tokens[i].type == tokenize.STRING:
                texts.append((row, tokens[i].string))
                i += 1
            elif tokens[i].type == _FSTRING_START:
                i, text = _whole_fstring(tokens, i, lines)
                texts.append((row, text))
            else:
                i += 1
        after = tokens[i].type if i < len(tokens) else tokenize.ENDMARKER
        statement = previous in _LINE_START and after in {tokenize.NEWLINE, tokenize.ENDMARKER}
        yield statement, texts
        previous = tokenize.STRING


def _whole_fstring(tokens: list[tokenize.TokenInfo], i: int, lines: list[str]) -> tuple[int, str]:
    """On Python 3.12+: the index after the f-string starting at `tokens[i]`, and its source text
    (what Python 3.11 gives as one STRING token)."""
    start, depth = tokens[i].start, 0
    while True:
        if tokens[i].type == _FSTRING_START:
            depth += 1
        elif tokens[i].type == _FSTRING_END:
            depth -= 1
            if depth == 0:
                end = tokens[i].end
                break
        i += 1
    if start[0] == end[0]:
        return i + 1, lines[start[0] - 1][start[1] : end[1]]
    middle = lines[start[0] : end[0] - 1]
    return i + 1, "".join([lines[start[0] - 1][start[1] :], *middle, lines[end[0] - 1][: end[1]]])


def _body(literal: str) -> str:
    """A literal's text between its quotes, as written (escapes left alone)."""
    match = _QUOTED.fullmatch(literal)
    return match.group("body") if match else literal


def violations(path: str, source: str) -> list[str]:
    """`path:line: what "literal"` for each key-like literal in code (not in a docstring)."""
    found = []
    for statement, texts in _literal_groups(source):
        if statement:  # a docstring (or a bare string standing as a comment)
            continue
        for row, text in texts:
            body = _body(text)
            if (path, body) in ALLOWED:
                continue
            value = _FIELD.sub("0", body)
            for what, pattern in PATTERNS.items():
                if pattern.search(value):
                    found.append(f"{path}:{row}: {what} {text}")
    return found


def python_files() -> list[str]:
    """Every .py file git tracks, or would track (new and not ignored), but the key builders."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    skipped = {".venv", "node_modules"}
    return sorted(
        path
        for path in set(listed)
        if path != BUILDERS and not skipped & set(Path(path).parts) and (ROOT / path).is_file()
    )


def test_no_redis_key_or_job_id_is_a_literal_outside_contract_keys() -> None:
    files = python_files()
    assert len(files) > 100 and "tests/test_no_key_literals.py" in files, files
    found = [v for path in files for v in violations(path, (ROOT / path).read_text())]
    assert not found, (
        "Redis keys or job ids spelt out as literals: build fanout's with contract/keys.py "
        "(add a builder there, with its parser beside it) and RQ's with RQ's API "
        "(Job.key_for, queue.key, a registry's key, Worker.redis_worker_namespace_prefix)\n"
        + "\n".join(found)
    )


def test_the_patterns_catch_what_the_builders_build_and_not_other_names() -> None:
    """The patterns are only as good as what they match: every key and id the builders (ours
    and RQ's) make, and none of the names fanout uses that are not keys."""
    queue = fanout_queue(Redis())  # connects to nothing until a command is sent
    built = [
        keys.run_key("0"),
        keys.running_key("0"),
        keys.runs_index_key(),
        keys.alive_workers_key(),
        keys.sweep_key("0"),
        keys.PREFIX,
        keys.job_id("0", 3, 2),
        keys.job_id("bad", 0),
        Job.key_for("0"),
        Job.key_for("*"),
        queue.key,
        queue.intermediate_queue_key,
        StartedJobRegistry.key_template,
        Worker.redis_worker_namespace_prefix + "0",
        f"{keys.RQ_PREFIX}*",
    ]
    for key in built:
        assert violations("x.py", f"x = {key!r}\n"), key
    not_keys = [
        "fanout-heartbeat",
        "fanout-dns",
        "fanout-parent-watch",
        "fanout-ci",
        "fanout-bench-",
        "fanout-run-{run_id}{suffix}",
        "http://fanout-no-such-host.invalid/",
        "urn:fanout:openapi",
        "fanout: {message}",
        "not-fanout",
        "rq-dashboard==",
    ]
    for name in not_keys:
        assert not violations("x.py", f"x = {name!r}\n"), name


def test_keys_in_code_are_caught_in_comments_and_docstrings_are_not() -> None:
    key = keys.running_key("0")
    job = keys.job_id("0", 1)
    documented = (
        f'"""A module naming {key}."""\ndef f():\n    """Reads {key}."""\n    return 1  # {key}\n'
    )
    assert violations("x.py", documented) == []
    code = documented + (
        f"y = f'{key}' + 'x'\n"
        f"z = g(\n    'a'\n    '{job}',\n)\n"
        f"w = f'{keys.PREFIX}run:{{run_id}}'\n"
        f'"""{key}"""\n'
    )
    assert [v.split(": ")[0] for v in violations("x.py", code)] == ["x.py:5", "x.py:8", "x.py:10"]
