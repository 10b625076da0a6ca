"""The `instance_title` template: checked at load, rendered in worklist rows."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fulfil.engine.definition.loader import load_text
from fulfil.engine.errors import DefinitionError
from fulfil.engine.runtime import Engine
from fulfil.engine.web.titles import Titles
from web_support import START, T0

PROCESS = """
id: t
version: 1
title: A test
instance_title: "{client} ({number})"
fields:
  client: {type: string}
  number: {type: int}
states:
  a: {initial: true}
  b: {terminal: true}
transitions:
  - {trigger: go, source: a, dest: b}
"""


def test_a_title_naming_an_unknown_field_is_refused_at_load() -> None:
    with pytest.raises(DefinitionError, match="unknown name 'clinet'"):
        load_text(PROCESS.replace("{client}", "{clinet}"))


def test_titles_render_with_a_fallback(engine: Engine) -> None:
    """The shipped facebook_access names a task by client and FR number; a process without a
    title template shows its title and the id."""
    view = engine.start("facebook_access", START, actor="alex")
    titles = Titles(list(engine.catalog))  # type: ignore[call-overload]
    assert titles.title(view, T0) == "Acme Motors (FR-1001)"
    process = load_text(PROCESS.replace('instance_title: "{client} ({number})"\n', "")).process
    assert Titles([process]).title(replace(view, process="t"), T0) == f"A test {view.id}"
    titled = load_text(PROCESS).process
    shown = replace(view, process="t", data={"client": "Zed", "number": 7})
    assert Titles([titled]).title(shown, T0) == "Zed (7)"
