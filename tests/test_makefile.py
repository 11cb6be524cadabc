"""The Makefile as a newcomer meets it: `make up` builds what the pages need, `make help` reads."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _make(*args: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _prerequisites(target: str) -> set[str]:
    """The prerequisites make resolves for a target (its database, printed without running)."""
    database = _make("-pn", target)
    for line in database.splitlines():
        if line.startswith(f"{target}:") and not line.startswith(f"{target}:="):
            return set(line.split(":", 1)[1].split())
    raise AssertionError(f"make has no rule for {target}")


def test_make_up_installs_the_chart_library_the_pages_load() -> None:
    assert "web/static/vendor/plotly-cartesian.min.js" in _prerequisites("up")


def test_every_target_that_serves_pages_builds_the_front_end_assets() -> None:
    assets = {"web/static/vendor/plotly-cartesian.min.js", "web/static/vendor/swagger-ui-bundle.js"}
    for target in ("up", "assets", "test-fast", "test-slow", "bench"):
        assert assets <= _prerequisites(target), target


def test_make_help_prints_no_unexpanded_variable() -> None:
    help_text = _make("help")
    assert "up" in help_text
    assert not re.search(r"\$\(\w+\)", help_text), help_text
