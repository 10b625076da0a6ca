"""Random compound machines behave exactly as the flat machines they stand for.

Each example draws a tree of states (up to three levels of compound states), transitions written
on any state of it (plain or compound, internal or not, guarded on a counter), and entry and exit
actions logging their state. The flat equivalent is written out here, independently of the
engine: one transition per plain state it applies to, in priority order (the state's own first,
then each enclosing state's outwards), going to the initial plain state of a compound
destination, with the exit actions (innermost first), its own actions, then the entry actions
(outermost first) of the states between. Both run the same random events: their histories
(trigger, source, destination, data changed), refusals and final data must be identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.errors import ExecutionError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRIGGERS = ("a", "b", "c")


@dataclass
class Tree:
    """The states drawn: parent of each, children of each compound, in document order."""

    parent: dict[str, str | None] = field(default_factory=dict)
    children: dict[str | None, list[str]] = field(default_factory=dict)

    def compound(self, name: str) -> bool:
        return bool(self.children.get(name))

    def path(self, name: str) -> list[str]:
        out = [name]
        while (above := self.parent.get(out[0])) is not None:
            out.insert(0, above)
        return out

    def __post_init__(self) -> None:
        self.parent.setdefault("end", None)

    def leaf_of(self, name: str) -> str:
        while self.compound(name):
            name = self.children[name][0]  # the first child is the initial one
        return name

    def leaves(self) -> list[str]:
        def walk(name: str | None) -> list[str]:
            out: list[str] = []
            for child in self.children.get(name, []):
                out += walk(child) if self.compound(child) else [child]
            return out

        return walk(None)


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    tree = Tree()
    count = [0]

    def level(parent: str | None, depth: int) -> None:
        for _ in range(draw(st.integers(1, 3))):
            name = f"s{count[0]}"
            count[0] += 1
            tree.parent[name] = parent
            tree.children.setdefault(parent, []).append(name)
            if depth < 3 and draw(st.booleans()):
                level(name, depth + 1)

    level(None, 0)
    return tree


@dataclass(frozen=True)
class Drawn:
    tree: Tree
    transitions: list[dict[str, Any]]
    logs: dict[str, tuple[bool, bool]]  # state -> (logs on enter, logs on exit)


@st.composite
def machines(draw: st.DrawFn) -> Drawn:
    tree = draw(trees())
    names = [n for n in tree.parent if n != "end"]
    transitions = []
    for i in range(draw(st.integers(1, 8))):
        t: dict[str, Any] = {
            "trigger": draw(st.sampled_from(TRIGGERS)),
            "source": draw(st.sampled_from(names)),
            "guard": f"n % {i + 2} != {draw(st.integers(0, i + 1))}",  # unique per transition
        }
        if draw(st.integers(0, 4)):  # one in five is internal
            t["dest"] = draw(st.sampled_from(names))
        if draw(st.booleans()):
            t["actions"] = [{"set": {"n": "n + 1"}}]
        transitions.append(t)
    logs = {name: (draw(st.booleans()), draw(st.booleans())) for name in names}
    return Drawn(tree, transitions, logs)


def _log(what: str, name: str) -> dict[str, Any]:
    return {"append": {"field": "log", "line": f"{what} {name}"}}


def _document(pid: str, states: dict[str, Any], transitions: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(
        {
            "id": pid,
            "version": 1,
            "fields": {"n": {"type": "int", "default": 0}, "log": {"type": "text"}},
            "states": states,
            "transitions": transitions,
        },
        sort_keys=False,
    )


def _written(drawn: Drawn) -> list[dict[str, Any]]:
    """Every transition as written in the compound machine: the drawn ones, `to_X` from the
    initial plain state to each plain state (so every state is reached), and `finish` from
    every top-level state to the terminal `end`."""
    leaves = drawn.tree.leaves()
    to = [{"trigger": f"to_{leaf}", "source": leaves[0], "dest": leaf} for leaf in leaves[1:]]
    tops = [n for n in drawn.tree.children[None]]
    return [*drawn.transitions, *to, {"trigger": "finish", "source": tops, "dest": "end"}]


def compound_yaml(drawn: Drawn) -> str:
    tree = drawn.tree

    def level(parent: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, name in enumerate(tree.children.get(parent, [])):
            body: dict[str, Any] = {}
            if i == 0:
                body["initial"] = True
            enter, leave = drawn.logs[name]
            if enter:
                body["on_enter"] = [_log("in", name)]
            if leave:
                body["on_exit"] = [_log("out", name)]
            if tree.compound(name):
                body["states"] = level(name)
            out[name] = body
        return out

    states = {**level(None), "end": {"terminal": True}}
    return _document("nested", states, _written(drawn))


def flat_yaml(drawn: Drawn) -> str:
    tree = drawn.tree
    leaves = tree.leaves()
    states: dict[str, Any] = {leaf: {} for leaf in leaves}
    states[leaves[0]]["initial"] = True
    states["end"] = {"terminal": True}
    logs = {**drawn.logs, "end": (False, False)}
    written = _written(drawn)
    out: list[dict[str, Any]] = []
    for leaf in leaves:
        path = tree.path(leaf)
        # the state's own transitions first, then each enclosing state's, outwards
        for where in reversed(path):
            for t in written:
                sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
                if where not in sources:
                    continue
                flat: dict[str, Any] = {"trigger": t["trigger"], "source": leaf}
                if "guard" in t:
                    flat["guard"] = t["guard"]
                actions = list(t.get("actions", []))
                if "dest" in t:
                    target = t["dest"]
                    around = set(tree.path(where)[:-1]) & set(tree.path(target)[:-1])
                    exits = [s for s in reversed(path) if s not in around]
                    entries = [s for s in tree.path(tree.leaf_of(target)) if s not in around]
                    actions = (
                        [_log("out", s) for s in exits if logs[s][1]]
                        + actions
                        + [_log("in", s) for s in entries if logs[s][0]]
                    )
                    flat["dest"] = tree.leaf_of(target)
                if actions:
                    flat["actions"] = actions
                out.append(flat)
    return _document("flat", states, out)


def run(text: str, pid: str, events: list[str]) -> list[Any]:
    process = load_text(text, f"{pid}.yaml").process
    clock = ManualClock(T0)
    engine = Engine(Catalog((process,)), store=MemoryStore(), clock=clock)
    instance = engine.start(pid, {}).id
    seen: list[Any] = []
    for trigger in events:
        clock.advance(timedelta(hours=1))
        try:
            engine.fire(instance, trigger)
        except ExecutionError as exc:
            seen.append(("refused", trigger, type(exc).__name__))
    history = [
        (e.kind, e.trigger, e.source, e.dest, e.data)
        for e in engine.history(instance)
        if e.kind != "start"
    ]
    view = engine.show(instance)
    return [seen, history, view.state, view.data]


@settings(max_examples=60)
@given(drawn=machines(), data=st.data())
def test_compound_machine_runs_as_its_flat_equivalent(drawn: Drawn, data: st.DataObject) -> None:
    """Random compound machines and their flattenings give identical histories."""
    leaves = drawn.tree.leaves()
    alphabet = [*TRIGGERS, *TRIGGERS, "finish", *(f"to_{leaf}" for leaf in leaves[1:])]
    events = data.draw(st.lists(st.sampled_from(alphabet), max_size=12))
    nested = run(compound_yaml(drawn), "nested", events)
    flat = run(flat_yaml(drawn), "flat", events)
    assert nested == flat
