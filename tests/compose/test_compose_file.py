"""Fast checks of the compose files, the Dockerfile and the docs: no Docker daemon needed.

Compose's own parser and the Compose Specification schema catch what is malformed; the tests
below check what neither can see: the choices that make the stack scalable, durable, private
and documented.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess

import jsonschema
import pytest
import yaml

from contract.settings import Settings
from tests.compose.conftest import (
    COMPOSE_FILE,
    ROOT,
    SHARED,
    TEST_OVERRIDE,
    clean_env,
    compose_binary,
    compose_config,
)

SCHEMA = SHARED / "compose-spec.json"
PYTHON_SERVICES = ("origin", "web", "worker", "conductor")
#: Published ports and where: the web app and, in its profile, rq-dashboard. Nothing else.
PUBLISHED = {"web": 8000, "monitor": 9181}
REDIS_FLAGS = {
    "--appendonly": "yes",
    "--appendfsync": "everysec",
    "--maxmemory-policy": "noeviction",
}


@pytest.fixture(scope="module")
def config() -> dict:
    return compose_config(COMPOSE_FILE, profiles=("monitor",))


@pytest.fixture(scope="module")
def ci_config() -> dict:
    return compose_config(COMPOSE_FILE, TEST_OVERRIDE, profiles=("monitor",))


class _ComposeLoader(yaml.SafeLoader):
    """PyYAML plus Compose's `!reset` and `!override` tags."""


_ComposeLoader.add_constructor("!reset", lambda loader, node: [] if node.value == [] else None)


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    """`!override` replaces instead of merging: the value itself, whatever its kind."""
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node)


_ComposeLoader.add_constructor("!override", _override)


def _load(path):
    return yaml.load(path.read_text(), Loader=_ComposeLoader)  # a SafeLoader subclass


def _seconds(duration: str) -> float:
    """A Go duration as Compose prints it ("1m30s") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def _flags(command: list[str]) -> dict[str, str]:
    """`--name value` pairs of a redis-server command line."""
    return {a: b for a, b in itertools.pairwise(command) if a.startswith("--")}


# --- Compose and the schema --------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [(COMPOSE_FILE,), (COMPOSE_FILE, TEST_OVERRIDE)],
    ids=["compose", "compose+ci"],
)
def test_docker_compose_config_accepts_the_files(files):
    args = [str(compose_binary()), "--env-file", "/dev/null", "--profile", "monitor"]
    for path in files:
        args += ["-f", str(path)]
    done = subprocess.run(
        [*args, "config", "-q"], cwd=ROOT, env=clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), f"compose warns: {done.stderr}"


@pytest.mark.parametrize("path", [COMPOSE_FILE, TEST_OVERRIDE], ids=lambda p: p.name)
def test_compose_files_follow_the_compose_specification(path):
    if not SCHEMA.is_file():
        pytest.fail(f"{SCHEMA} is missing: shared/ must sit beside the clone")
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(_load(path)), key=lambda e: list(e.path)
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


# --- the services -------------------------------------------------------------------------------


def test_python_services_share_one_image_and_run_the_procfile_commands(config):
    procfile = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            procfile[name.strip()] = command.split()
    services = config["services"]
    for name in PYTHON_SERVICES:
        assert services[name]["command"] == procfile[name], name
        assert services[name]["image"] == services["web"]["image"], name
        assert services[name]["build"]["target"] == "app", name


def test_worker_scales_and_stops_gracefully(config):
    worker = config["services"]["worker"]
    assert "container_name" not in worker, "a container_name stops `--scale worker=N`"
    assert not worker.get("ports"), "host ports clash between scaled workers"
    assert worker["restart"] == "unless-stopped", "a worker that exits must come back"
    assert worker["init"] is True, "tini passes SIGTERM on and reaps children"
    deadline_s = float(worker["environment"].get("FANOUT_TASK_DEADLINE_S", 0)) or (
        Settings().task_deadline_s
    )
    worst_job_s = deadline_s  # a queue job: one task (longer jobs are re-run when killed)
    grace_s = _seconds(worker["stop_grace_period"])
    assert grace_s > worst_job_s, (
        f"stop_grace_period {grace_s} s must outlast a job in hand ({worst_job_s} s)"
    )


def test_every_service_waits_for_a_healthy_redis(config):
    for name, service in config["services"].items():
        if name == "redis":
            continue
        condition = service.get("depends_on", {}).get("redis", {}).get("condition")
        assert condition == "service_healthy", name


def test_redis_is_durable_password_protected_and_health_checked(config):
    redis = config["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    flags = _flags(redis["command"])
    for flag, value in REDIS_FLAGS.items():
        assert flags.get(flag) == value, flag
    password = flags.get("--requirepass")
    assert password, "Redis must ask for a password"
    assert password in config["services"]["worker"]["environment"]["REDIS_URL"]
    assert any(v["type"] == "volume" and v["target"] == "/data" for v in redis["volumes"])
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    for name in ("origin", "web", "monitor"):  # so `up --wait` waits until they answer
        assert config["services"][name]["healthcheck"]["test"], name


def test_only_web_and_monitor_are_published_and_only_on_loopback(config):
    published = {}
    for name, service in config["services"].items():
        for port in service.get("ports") or []:
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes beyond loopback"
            published[name] = port["target"]
    assert published == PUBLISHED
    assert "monitor" in config["services"]["monitor"].get("profiles", [])


def test_services_find_each_other_by_name(config):
    for name in PYTHON_SERVICES:
        env = config["services"][name]["environment"]
        assert env["REDIS_URL"].endswith("@redis:6379/0"), name
        assert env["ORIGIN_URL"] == "http://origin:8081", name
        assert "origin:8081" in env["FANOUT_ALLOW_HOSTS"].split(","), name
    assert config["services"]["web"]["environment"]["WEB_HOST"] == "0.0.0.0"
    assert config["services"]["origin"]["environment"]["ORIGIN_HOST"] == "0.0.0.0"


# --- the test override --------------------------------------------------------------------------

#: What the override may touch: the build network and the published ports.
OVERRIDE_KEYS = {"build", "ports"}


def test_the_test_override_changes_only_the_build_network_and_the_published_ports():
    override = _load(TEST_OVERRIDE)
    for name, service in override["services"].items():
        assert set(service) - {"<<"} <= OVERRIDE_KEYS, f"{name}: {set(service) - OVERRIDE_KEYS}"
    config = compose_config(COMPOSE_FILE, TEST_OVERRIDE, profiles=("monitor",))
    for name, service in config["services"].items():
        assert "network_mode" not in service, name  # the file's own bridge network
        if "build" in service:
            assert service["build"].get("network") == "host", name
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", (name, port)
    assert not config["services"]["redis"].get("ports")
    assert not config["services"]["origin"].get("ports")
    assert not config["services"]["worker"].get("ports")


# --- the image ----------------------------------------------------------------------------------


def _stages() -> dict[str, list[str]]:
    """Dockerfile instructions by stage name (comments and continuations joined)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            words = line.split()
            current = stages.setdefault(words[-1] if len(words) >= 4 else words[1], [])
        current.append(line)
    return stages


def test_image_is_multi_stage_slim_and_runs_as_a_user(config):
    stages = _stages()
    assert next(iter(stages.values()))[0].split()[1] == "python:3.11-slim"
    services = config["services"]
    targets = {services[name]["build"]["target"] for name in (*PYTHON_SERVICES, "monitor")}
    for target in targets:
        assert target in stages, target
        users = [line.split()[1] for line in stages[target] if line.upper().startswith("USER ")]
        assert users and users[-1] not in ("root", "0"), f"stage {target} runs as root"
    app = " ".join(stages["app"])
    assert "COPY --from=build" in app, "the app stage takes only the built venv"
    assert "pip install" not in app, "nothing is built in the final stage"
    assert any("rq-dashboard==" in line for line in stages["monitor"]), "pin rq-dashboard"


def test_dockerignore_keeps_the_context_small():
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".venv", ".git", "test-artifacts", "__pycache__", ".pytest_cache", ".env"):
        assert entry in ignored, entry


# --- the docs -----------------------------------------------------------------------------------

# Every setting the code reads is in docs/configuration.md with its default: tests/test_docs.py.


def test_compose_doc_has_the_sections_readme_links_to():
    text = (ROOT / "docs" / "compose.md").read_text()
    for heading in ("Beyond one machine", "What the test override changes"):
        assert re.search(rf"^#+ {heading}\s*$", text, re.M), heading
