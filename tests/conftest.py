"""Every test starts without a tuned settings file (``spec-graph tune``'s output).

A developer's own ``~/.config/spec-graph/settings.json`` must not change what a test sees;
tests that exercise the file point ``SPEC_GRAPH_SETTINGS_FILE`` at their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_user_settings_file(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> Path:
    path = tmp_path_factory.getbasetemp() / "no-settings" / "settings.json"
    monkeypatch.setenv("SPEC_GRAPH_SETTINGS_FILE", str(path))
    return path
