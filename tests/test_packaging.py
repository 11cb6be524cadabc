"""What the package ships and what it leaves to a checkout: the bench is a development tool,
run from the repository (`make bench`), not installed with fanout, and no product package
imports it or the tests."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from click.testing import CliRunner

from fanout.cli import main

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PRODUCT = ["contract", "figures", "producer", "conductor", "worker", "web", "fanout", "origin"]


def test_the_bench_is_not_installed_with_the_package():
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [pattern for pattern in include if pattern.startswith(("bench", "tests"))]
    assert sorted(p.rstrip("*") for p in include) == sorted(PRODUCT)


def test_the_cli_has_no_bench_command():
    """The installed CLI cannot run what it does not ship: click says so, exit code 2."""
    assert "bench" not in main.commands
    result = CliRunner().invoke(main, ["bench"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_make_bench_runs_the_harness_from_the_checkout():
    for target, flags in (("bench", ""), ("bench-quick", " --quick")):
        dry = subprocess.run(
            ["make", "--no-print-directory", "-n", target],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"python -m bench.harness{flags}" in dry, dry


def test_an_import_contract_keeps_the_product_off_the_bench_and_the_tests():
    contracts = PYPROJECT["tool"]["importlinter"]["contracts"]
    forbidding: dict[str, set[str]] = {}
    for contract in contracts:
        if contract["type"] == "forbidden":
            for module in contract["source_modules"]:
                forbidding.setdefault(module, set()).update(contract["forbidden_modules"])
    for package in PRODUCT:
        assert {"bench", "tests"} <= forbidding.get(package, set()), package
