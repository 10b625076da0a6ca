"""Every render test starts without FULFIL_DOT, whatever the shell running pytest has set."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_fulfil_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FULFIL_DOT", raising=False)
