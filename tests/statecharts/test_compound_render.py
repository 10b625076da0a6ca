"""Diagrams of compound states: composite states (Mermaid), clusters (DOT), entry/exit shown."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fulfil.engine.definition.loader import load_file, load_text
from fulfil.engine.render.builtin_svg import builtin_svg, group_frames, group_paths, layout_states
from fulfil.engine.render.diagram import extract
from fulfil.engine.render.dot import render_dot
from fulfil.engine.render.geometry import Slot
from fulfil.engine.render.layout import keep_together
from fulfil.engine.render.mermaid import render_mermaid

DESK = Path(__file__).parents[1] / "processes" / "statecharts" / "desk.yaml"
SHIPPED = Path(__file__).parents[2] / "processes"


def test_mermaid_draws_compound_states_as_composite_states() -> None:
    """`open` holds `triage` and `working`, each level with its initial state; transitions
    written on a compound state start at it; entry and exit actions are listed."""
    text = render_mermaid(load_file(DESK).process)
    assert "state open {" in text and "        state working {" in text
    assert "            [*] --> calling" in text
    assert "    [*] --> open\n" in text
    assert "open --> cancelled : cancel (client)" in text
    assert "triage --> working : start_work (agent)" in text
    assert "calling : entry / append to log#58; calling" in text
    assert "note right of working : entry / append to log#58; work starts" in text
    # an inherited transition is drawn once, from where it is written
    assert text.count(": cancel (client)") == 1


def test_dot_draws_compound_states_as_clusters() -> None:
    """Clusters nest; an edge written on a compound state leaves its border (ltail); its
    label lists its entry and exit actions and what stays or re-enters it."""
    text = render_dot(load_file(DESK).process)
    assert "compound=true;" in text
    assert 'subgraph "cluster_open" {' in text and 'subgraph "cluster_working" {' in text
    assert 'ltail="cluster_open"' in text and 'lhead="cluster_working"' in text
    assert "exit / append to log: left open" in text
    assert "re-enters: timer 2d nudge" in text
    assert "entry / append to log: calling" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_lays_out_the_clusters() -> None:
    """Graphviz accepts the DOT text."""
    done = subprocess.run(
        ["dot", "-Tsvg"],
        input=render_dot(load_file(DESK).process),
        text=True,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "cluster_working" in done.stdout


ROTA = """
id: rota
version: 1
roles:
  lead: {title: Lead}
states:
  running:
    initial: true
    timers:
      - {name: swap, every: {every: daily, at: '09:00'}, trigger: swap}
    states:
      day:
        initial: true
      night: {}
  done:
    terminal: true
transitions:
  - {trigger: swap, source: day, dest: night}
  - {trigger: swap, source: night, dest: day}
  - {trigger: finish, source: running, dest: done, roles: [lead]}
"""


def test_a_compound_states_timer_labels_the_moves_it_fires_inside_it() -> None:
    """`swap` is fired by the timer of `running`, around the states it moves between: its
    edges are timer edges, as they would be were the timer written on each state."""
    text = render_mermaid(load_text(ROTA, "rota.yaml").process)
    assert "day --> night : timer every daily 09#58;00 swap → swap" in text
    assert "night --> day : timer every daily 09#58;00 swap → swap" in text
    assert "running --> done : finish (lead)" in text


@pytest.mark.parametrize(
    "path",
    [DESK, SHIPPED / "facebook_access.yaml", SHIPPED / "smm_fulfilment.yaml"],
    ids=lambda p: p.stem,
)
def test_the_builtin_layout_frames_each_compound_state_round_its_states_alone(
    path: Path,
) -> None:
    """Without Graphviz too: each compound state is a frame holding the boxes of its states
    and touching no other state's box (the layout keeps them together and moves others
    aside); an inner compound state's frame lies inside its outer one's."""
    diagram = extract(load_file(path).process)
    layout, _, _ = layout_states(diagram)
    paths = group_paths(diagram)
    assert set(group_frames(layout, paths)) == {g.name for g in diagram.groups}
    for group in diagram.groups:
        frame = layout.frames[group.name]
        for name, room in layout.rooms.items():
            if group.name in paths.get(name, ()):
                assert frame.x < room.x and room.right < frame.right
                assert frame.y < room.y and room.bottom < frame.bottom
            else:
                assert not frame.overlaps(room), (group.name, name)
        if group.parent is not None:
            outer = layout.frames[group.parent]
            assert outer.x < frame.x and frame.right < outer.right
            assert outer.y < frame.y and frame.bottom < outer.bottom
    svg = builtin_svg(load_file(path).process)
    assert svg is not None
    for group in diagram.groups:
        assert f'<g class="compound" data-state="{group.name}">' in svg


def test_keep_together_puts_a_groups_slots_side_by_side() -> None:
    row = [Slot(k, 10, 10, 5) for k in ("a1", "x", "b1", "a2", "y", "b2")]
    paths = {"a1": ("a",), "a2": ("a",), "b1": ("b",), "b2": ("b",)}
    keep_together([row], paths)
    keys = [s.key for s in row]
    assert abs(keys.index("a1") - keys.index("a2")) == 1
    assert abs(keys.index("b1") - keys.index("b2")) == 1
    assert [s.left for s in row] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
