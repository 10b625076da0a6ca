"""One `fulfil lsp` process for the tests of a module: starting one costs about a second."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lsp_client import Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    started = Client(cwd=ROOT)
    started.capabilities = started.initialize(ROOT)["capabilities"]
    yield started
    assert started.shutdown() == 0
