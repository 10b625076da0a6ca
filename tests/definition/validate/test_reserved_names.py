"""Fields named like the expression's builtins are refused at load, so no data is overwritten."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.errors import DefinitionError
from fulfil.engine.expressions.exprtypes import BUILTIN_NAMES
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore

TEXT = """\
id: mini
version: 1
fields:
  {name}: {{type: string}}
  note: {{type: text}}
states:
  open: {{initial: true}}
  doing: {{}}
  done: {{terminal: true}}
transitions:
  - {{trigger: begin, source: open, dest: doing}}
  - trigger: finish
    source: doing
    dest: done
    actions:
      - append: {{field: note, line: "done for {{{name}}}"}}
"""


@pytest.mark.parametrize("name", sorted(BUILTIN_NAMES))
def test_a_field_named_like_a_builtin_is_refused_at_its_key(name: str) -> None:
    """`state`, `now`, `today`, `actor` and `role` as field names are located load errors."""
    with pytest.raises(DefinitionError) as caught:
        load_text(TEXT.format(name=name), "m.yaml")
    (problem,) = caught.value.errors
    assert (problem.location.line, problem.location.column) == (4, 3)
    assert f"field '{name}' has the name of the expression builtin `{name}`" in problem.message
    assert "rename the field" in problem.message


def test_a_field_named_near_a_builtin_keeps_its_value_through_steps() -> None:
    """A field such as `us_state` is the author's data: steps never replace it by the state."""
    process = load_text(TEXT.format(name="us_state"), "m.yaml").process
    engine = Engine(Catalog((process,)), store=MemoryStore(), clock=ManualClock(_T0))
    started = engine.start("mini", {"us_state": "NY"})
    engine.fire(started.id, "begin")
    view = engine.fire(started.id, "finish")
    assert view.data["us_state"] == "NY"
    assert view.data["note"].endswith("done for NY")


_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
