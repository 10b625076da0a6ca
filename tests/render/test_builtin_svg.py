"""The built-in SVG diagram: well-formed, complete, escaped, deterministic, without overlaps.

Regenerate the golden file after an intended change with
`FULFIL_UPDATE_GOLDEN=1 pytest tests/render/test_builtin_svg.py`.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.model import Expr, Process, State, Task, Transition
from fulfil.engine.render import render_report
from fulfil.engine.render import svg as svg_module
from fulfil.engine.render.builtin_svg import MAX_NODES, builtin_svg, layout_states
from fulfil.engine.render.diagram import extract
from render_sample import sample_process

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "sample.builtin.svg"
NS = "{http://www.w3.org/2000/svg}"
PROCESSES = list(load_directory(ROOT / "processes"))


def drawn(process: Process) -> str:
    svg = builtin_svg(process)
    assert svg is not None
    return svg


def texts(svg: str) -> list[str]:
    """The text of every <text> element of an SVG document (parsing it as XML)."""
    root = ET.fromstring(svg)
    return [element.text or "" for element in root.iter(f"{NS}text")]


def test_sample_matches_golden_file() -> None:
    """The built-in SVG of the sample process is exactly the reviewed golden file."""
    svg = drawn(sample_process())
    if os.environ.get("FULFIL_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert svg == GOLDEN.read_text(encoding="utf-8")


@pytest.mark.parametrize("process", [sample_process(), *PROCESSES], ids=lambda p: p.id)
def test_every_state_and_trigger_is_written(process: Process) -> None:
    """The SVG parses as XML and names every state, status, trigger and task."""
    words = " ".join(texts(drawn(process))).split()
    for state in process.states:
        assert state.name in words
        for word in state.status.split():
            assert word in words
    for transition in process.transitions:
        assert transition.trigger in words
    for task in process.tasks:
        assert task.name in words


def test_markup_in_the_definition_is_escaped() -> None:
    """`<script>` and `&` from the YAML come out as text, never as markup."""
    evil = "<script>alert('x & y')</script>"
    process = sample_process()
    states = (replace(process.states[0], status=evil), *process.states[1:])
    hostile = replace(
        process,
        title=evil,
        states=states,
        transitions=(*process.transitions, Transition("x", ("new",), "closed", guard=Expr(evil))),
        tasks=(Task("t", "p", title=evil),),
    )
    svg = drawn(hostile)
    assert "<script" not in svg
    assert "&lt;script&gt;alert(&#x27;x &amp; y&#x27;)&lt;/script&gt;" in svg
    assert any("<script>" in text for text in texts(svg))


def test_characters_xml_forbids_are_dropped() -> None:
    """A control character in a status does not make the document invalid XML."""
    process = sample_process()
    states = (replace(process.states[0], status="New\x01\x1f"), *process.states[1:])
    assert "New" in texts(drawn(replace(process, states=states)))


def test_same_bytes_under_other_hash_seeds() -> None:
    """Two interpreters with different hash seeds write the very same SVG for every process."""
    script = (
        "import hashlib; from fulfil.engine.definition.loader import load_directory; "
        "from fulfil.engine.render.builtin_svg import builtin_svg; "
        "print(hashlib.sha256(''.join(builtin_svg(p) or '' "
        "for p in load_directory('processes')).encode()).hexdigest())"
    )
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, check=True
        )
        digests.add(result.stdout.strip())
    here = hashlib.sha256("".join(drawn(p) for p in PROCESSES).encode()).hexdigest()
    assert digests == {here.encode()}


@pytest.mark.parametrize("process", [sample_process(), *PROCESSES], ids=lambda p: p.id)
def test_states_and_labels_do_not_overlap(process: Process) -> None:
    """No two state boxes (with their self-loop room) or transition labels overlap."""
    layout, _, _ = layout_states(extract(process))
    boxes = [*layout.rooms.values(), *(r.label for r in layout.routes if r.label)]
    for one, other in itertools.combinations(boxes, 2):
        assert not one.overlaps(other), (one, other)


def test_huge_processes_are_not_drawn() -> None:
    """Beyond MAX_NODES states the built-in drawing gives up (None)."""
    names = [f"s{i}" for i in range(MAX_NODES + 1)]
    states = (
        State(names[0], initial=True),
        *(State(n) for n in names[1:-1]),
        State(names[-1], terminal=True),
    )
    pairs = enumerate(itertools.pairwise(names))
    steps = tuple(Transition(f"t{i}", (a,), b) for i, (a, b) in pairs)
    huge = replace(sample_process(), states=states, transitions=steps, tasks=())
    assert builtin_svg(huge) is None


class TestReportWithoutGraphviz:
    """The auditor's report on a machine without Graphviz's `dot`."""

    @pytest.fixture(autouse=True)
    def no_graphviz(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)

    def test_every_process_gets_one_svg_picture(self) -> None:
        """One inline <svg> per process, each followed by its Mermaid source in <details>."""
        page = render_report(PROCESSES)
        assert page.count("<svg ") == len(PROCESSES)
        assert page.count("<details><summary>Mermaid source</summary>") == len(PROCESSES)
        assert page.count('<pre class="mermaid">') == len(PROCESSES)
        assert "built-in drawing" in page
        assert "http://" not in page

    def test_a_huge_process_gets_the_mermaid_source_only(self) -> None:
        """Too big to draw: the note says so and the Mermaid source is shown open."""
        names = [f"s{i}" for i in range(MAX_NODES + 1)]
        states = (State(names[0], initial=True), *(State(n, terminal=True) for n in names[1:]))
        steps = tuple(Transition(f"t{i}", (names[0],), n) for i, n in enumerate(names[1:]))
        huge = replace(sample_process(), states=states, transitions=steps, tasks=())
        page = render_report([huge])
        assert "<svg" not in page
        assert "<details>" not in page
        assert "too big for the built-in drawing" in page
        assert '<pre class="mermaid">' in page


def test_transitions_to_the_same_state_are_listed_in_its_box() -> None:
    """No loop arcs: in_progress's box lists `re-enters:` then its lines, the timer one orange."""
    svg = drawn(sample_process())
    root = ET.fromstring(svg)
    boxes = [g for g in root.iter(f"{NS}g") if g.get("class") == "node"]
    in_progress = next(g for g in boxes if "in_progress" in texts(ET.tostring(g, "unicode")))
    lines = [(t.text, t.get("fill")) for t in in_progress.iter(f"{NS}text")]
    assert lines == [
        ("in_progress", None),
        ("In Progress", "#555555"),
        ("re-enters:", "#555555"),
        ("log_call [outcome != 'reached' and", "#333333"),
        ("attempt < 3] (ops, lead)", "#333333"),
        ("timer 7d next_call_due → remind", "#b35c00"),
    ]
    assert "loop" not in svg


@pytest.mark.parametrize("process", [sample_process(), *PROCESSES], ids=lambda p: p.id)
def test_no_text_is_smaller_than_11_pixels(process: Process) -> None:
    """The SVG's units are pixels and every font size in it is 11 or more."""
    svg = drawn(process)
    sizes = [float(size) for size in re.findall(r'font-size="([\d.]+)"', svg)]
    assert sizes and min(sizes) >= 11.0


def test_inline_svg_asks_for_its_natural_size_only() -> None:
    """On a page the SVG has no namespace and no CSS of its own: the page's frame sizes it."""
    svg = builtin_svg(sample_process(), inline=True)
    assert svg is not None
    assert svg.startswith('<svg width="')
    assert "style=" not in svg.split(">", 1)[0]
