"""The newcomer test runs only when asked for by name (`-m newcomer`): it builds a virtualenv
from PyPI and npm and takes about ten minutes, so `make test-fast` and `make test-slow`, whose
`-m` expressions do not mention it, leave it out."""

from __future__ import annotations

import pytest

MARKER = "newcomer"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MARKER in (config.getoption("markexpr") or ""):
        return
    skipped = [item for item in items if item.get_closest_marker(MARKER)]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if not item.get_closest_marker(MARKER)]
