"""The auditor's HTML page: complete, escaped, self-contained."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.definition.loader import load_directory, load_file
from fulfil.engine.model import Expr, State, Transition
from fulfil.engine.render import render_html, render_report
from fulfil.engine.render import svg as svg_module
from render_sample import sample_process

SHIPPED = Path(__file__).resolve().parents[2] / "processes"


@pytest.fixture(autouse=True)
def no_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)


def test_page_names_every_state_and_transition() -> None:
    """Every state, status, trigger and guard of the process appears in the page."""
    page = render_html(sample_process())
    for state in sample_process().states:
        assert f"<td><code>{state.name}</code></td>" in page
        assert state.status in page
    for transition in sample_process().transitions:
        assert f"<td><code>{transition.trigger}</code></td>" in page
    assert "outcome != &#x27;reached&#x27; and attempt &lt; 3" in page
    assert "due 2d, owner ops, escalate after 2d" in page
    assert "set attempt = attempt + 1" in page


def test_page_escapes_markup_from_the_definition() -> None:
    """Text from the YAML cannot inject markup: `<script>` is escaped everywhere."""
    evil = "<script>alert(1)</script>"
    process = sample_process()
    states = (replace(process.states[0], status=evil), *process.states[1:])
    hostile = replace(
        process,
        title=evil,
        description=evil,
        states=states,
        transitions=(*process.transitions, Transition("x", ("new",), "closed", guard=Expr(evil))),
    )
    page = render_html(hostile)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_page_is_self_contained() -> None:
    """No external resources: no src=, no stylesheet links, no http(s) URLs."""
    page = render_html(sample_process())
    assert not re.search(r"\ssrc=|<link|https?://", page)
    assert "<style>" in page


def test_without_graphviz_the_diagram_is_mermaid_source() -> None:
    """Without `dot` the page carries the Mermaid text in <pre class="mermaid"> with a note."""
    page = render_html(sample_process())
    assert '<pre class="mermaid">---' in page
    assert "in_progress --&gt; on_hold : hold" in page
    assert "Graphviz is not installed" in page


def fake_graphviz(monkeypatch: pytest.MonkeyPatch, svg: bytes) -> None:
    """`dot` installed, and answering `svg` to anything."""

    def fake_run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(args, 0, svg, b"")

    monkeypatch.setattr(svg_module.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(svg_module.subprocess, "run", fake_run)


DRAWN = (
    b'<?xml version="1.0"?>\n<svg width="600pt" height="300pt" viewBox="0.00 0.00 600.00 300.00">'
    b'<text font-size="12.00">drawn</text></svg>'
)


def test_with_graphviz_the_svg_is_embedded_at_its_natural_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `dot` the page embeds its SVG (no XML prolog), sized in pixels one unit each, in a
    scrolling frame; a checkbox fits it to the page down to 10 px text (600 x 10/12 = 500)."""
    fake_graphviz(monkeypatch, DRAWN)
    page = render_html(sample_process())
    assert (
        '<div class="diagram" style="--natural: 600px; --least: 500px">'
        '<svg width="600" height="300" viewBox="0.00 0.00 600.00 300.00">'
    ) in page
    assert '<input type="checkbox" class="fit" id="fit-sample-v2">' in page
    assert '<label for="fit-sample-v2">Fit to the page width (text stays 10 px or more)' in page
    assert "<?xml" not in page
    assert 'class="mermaid"' not in page
    assert re.search(r"\.diagram \{ overflow-x: auto;", page)
    assert "max-width: 100%" not in page  # the page never shrinks a diagram to its width


def test_no_fit_checkbox_when_text_is_already_at_the_smallest_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A diagram whose smallest text is 10 px cannot shrink: no checkbox is offered."""
    fake_graphviz(monkeypatch, DRAWN.replace(b"12.00", b"10.00"))
    page = render_html(sample_process())
    assert '<div class="diagram"><svg width="600" height="300"' in page
    assert 'type="checkbox"' not in page


def test_fulfil_dot_off_draws_the_builtin_diagram(monkeypatch: pytest.MonkeyPatch) -> None:
    """FULFIL_DOT=off hides an installed Graphviz: the page has the built-in drawing."""
    fake_graphviz(monkeypatch, DRAWN)
    monkeypatch.setenv("FULFIL_DOT", "off")
    page = render_html(sample_process())
    assert "built-in drawing" in page
    assert "drawn</text>" not in page
    assert '<svg width="' in page and 'class="node"' in page


def test_report_has_a_section_per_process_and_a_contents_list() -> None:
    """render_report puts each process in its own anchored section, listed at the top."""
    other = replace(sample_process(), id="second", title="Second one", tasks=())
    other = replace(other, states=(*other.states, State("extra_state", terminal=True)))
    page = render_report([sample_process(), other], title="All processes")
    assert page.count("<section ") == 2
    assert '<a href="#process-second">Second one</a>' in page
    assert '<section id="process-sample">' in page
    assert "<td><code>extra_state</code></td>" in page
    assert "<title>All processes</title>" in page


def test_fields_no_data_may_set_are_marked_read_only() -> None:
    """A field only actions set is read-only; another lists start and the triggers setting it."""
    page = render_html(load_file(SHIPPED / "retention.yaml").process)
    row = re.search(r"<tr><td><code>change_request_kind</code></td>.*?</tr>", page, re.S)
    assert row and "<strong>read-only</strong>" in row[0]
    row = re.search(r"<tr><td><code>credit_issued</code></td>.*?</tr>", page, re.S)
    assert row and "update_change_request, submit_for_approval" in row[0]
    assert "read-only" not in row[0]


def test_rules_section_says_who_fires_what_data_may_change_and_what_cannot_be_skipped() -> None:
    """The auditor page's Rules: roles, data, recorded fields and the unskippable approvals."""
    page = render_html(load_file(SHIPPED / "retention.yaml").process)
    rules = page[page.index('<div class="rules">') : page.index("</div>", page.index("rules"))]
    text = re.sub(r"<[^>]+>", "", rules)
    assert (
        "approve (from pending_second_approval, to accounting): fired by hand: second_approver; "
        "its data may change nothing (any data is refused); only when not credit_issued and "
        "change_type != &#x27;cancellation&#x27;." in text
    )
    assert "update_account_status (from ops_follow_up, to awaiting_effective_date)" in text
    assert "its data may change nothing (any data is refused); only once forwarded_at" in text
    assert "by timer &#x27;effective_date_reminder&#x27; only" in text
    assert "read-only to people): change_request_kind" in text
    unskippable = re.search(r"to reach closed \(Closed\): (.*)", text)
    assert unskippable is not None
    assert [s.split(" ")[0] for s in unskippable[1].split(" → ")][:4] == [
        "change_request",
        "pending_first_approval",
        "pending_second_approval",
        "accounting",
    ]


def _rules_text(page: str) -> str:
    start = page.index('<div class="rules">')
    return re.sub(r"<[^>]+>", "", page[start : page.index("</div>", start)])


def test_rules_section_names_what_the_requests_rules_fire_as_the_engine_refuses_it() -> None:
    """A task's trigger fired by its request's rule is the engine's alone (firing.engine_fired,
    what the runtime refuses people by), not 'any role': the page says so when it is given the
    catalog, as `fulfil render` and the demo's report give it."""
    catalog = list(load_directory(SHIPPED))
    task = next(p for p in catalog if p.id == "outreach_task")
    text = _rules_text(render_html(task, catalog))
    assert "close_complete (from new, in_progress, to closed): fired by a rule of " in text
    assert "close_complete (from new, in_progress, to closed): fired any role" not in text
    page = render_report(catalog)
    report = _rules_text(page[page.index('<section id="process-outreach_task"') :])
    assert "a rule of pdm_outreach only" in report or "a rule of rm_outreach only" in report


def test_render_html_by_id_reads_the_catalog_for_the_rules(tmp_path: Path) -> None:
    """`fulfil render outreach_task --format html` says the PDM/RM rules close the task."""
    from click.testing import CliRunner
    from fulfil.cli import main

    out = tmp_path / "task.html"
    result = CliRunner().invoke(
        main,
        [
            "--processes",
            str(SHIPPED),
            "render",
            "outreach_task",
            "--format",
            "html",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = _rules_text(out.read_text("utf-8"))
    declined = re.search(
        r"close_declined \(from new, in_progress, to on_hold\): fired (.*?);", text
    )
    assert declined is not None
    # RM's and the Facebook request's rules decline it: the first found is named
    assert declined[1] in ("by a rule of rm_outreach only", "by a rule of facebook_fulfilment only")
