"""Diagrams of compound states: composite states (Mermaid), clusters (DOT), entry/exit shown."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fulfil.engine.loader import load_file, load_text
from fulfil.engine.render.dot import render_dot
from fulfil.engine.render.mermaid import render_mermaid

DESK = Path(__file__).parents[1] / "processes" / "statecharts" / "desk.yaml"


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
