"""The peers scenario's registration and its skipping of peers that are not installed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import peers
from bench.scenarios import FULL_ONLY, SCENARIOS


def test_peers_is_registered_and_full_only() -> None:
    assert "peers" in dict(SCENARIOS)
    assert "peers" in FULL_ONLY


def test_a_peer_not_installed_is_skipped_with_a_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(peers, "installed", lambda module: False)
    ctx = SimpleNamespace(stack=SimpleNamespace(work_dir=tmp_path))
    notes: list[str] = []
    found, servers = peers.make_peers(ctx, notes)  # type: ignore[arg-type]
    assert found == [] and servers == []
    assert len(notes) == 4
    assert all("skipped" in note and "not installed" in note for note in notes)
    assert any(note.startswith("arq") and "`arq`" in note for note in notes)
