"""Golden files for the Mermaid and DOT text of a small process.

Regenerate after an intended change with `FULFIL_UPDATE_GOLDEN=1 pytest tests/render`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fulfil.engine.model import Process
from fulfil.engine.render import render_dot, render_mermaid
from render_sample import sample_process

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    ("name", "renderer"), [("sample.mmd", render_mermaid), ("sample.dot", render_dot)]
)
def test_output_matches_golden_file(name: str, renderer: Callable[[Process], str]) -> None:
    """The rendered text is exactly the reviewed golden file."""
    text = renderer(sample_process())
    path = GOLDEN / name
    if os.environ.get("FULFIL_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
