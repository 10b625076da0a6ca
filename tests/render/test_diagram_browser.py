"""The auditor's page in a real browser: every shipped process's diagram is legible, drawn by
Graphviz and by the built-in layout (`FULFIL_DOT=off`), at 1280 x 900 and fitted into 800 px.

Screenshots go to tests/artifacts/diagrams/ (ignored by git): `<id>.<drawing>.png` is what the
window shows, `<id>.<drawing>.full.png` the whole diagram.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import ARTIFACTS, MEASURE, RENDERS, graphviz_missing, inside, missing, overlap, start
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.model import Process
from fulfil.engine.render import render_html, render_report

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = list(load_directory(ROOT / "processes"))
MIN_PX = 10.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("selenium", reason="selenium is in the test extras: pip install -e .[test]")
    driver = start()
    yield driver
    driver.quit()


def page_of(process: Process, drawing: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The auditor's page of a process drawn one way, written to the artefacts folder."""
    if drawing == "graphviz":
        reason = graphviz_missing()
        if reason:
            pytest.skip(reason)
        monkeypatch.delenv("FULFIL_DOT", raising=False)
    else:
        monkeypatch.setenv("FULFIL_DOT", "off")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{process.id}.{drawing}.html"
    path.write_text(render_html(process), encoding="utf-8")
    return path


def open_page(driver: Any, path: Path, width: int, height: int) -> dict[str, Any]:
    driver.set_window_size(width, height)
    driver.get(path.as_uri())
    found: dict[str, Any] = driver.execute_script(MEASURE)
    return found


def screenshots(driver: Any, path: Path) -> None:
    """What the window shows around the diagram, then the whole diagram in a big window."""
    diagram = driver.find_element("css selector", ".diagram")
    driver.execute_script("arguments[0].scrollIntoView()", diagram)
    driver.save_screenshot(str(path.with_suffix(".png")))
    svg = driver.find_element("css selector", ".diagram svg")
    width, height = svg.size["width"], svg.size["height"]
    driver.set_window_size(min(int(width) + 160, 5000), min(int(height) + 400, 8000))
    driver.execute_script("arguments[0].scrollIntoView()", svg)
    svg.screenshot(str(path.with_suffix(".full.png")))
    print(f"screenshots: {path.with_suffix('.png')} and {path.with_suffix('.full.png')}")


def too_small(found: dict[str, Any]) -> list[tuple[str, float]]:
    return [(t["text"], round(t["px"], 2)) for t in found["texts"] if t["px"] < MIN_PX - 0.01]


@pytest.mark.parametrize("drawing", ["graphviz", "builtin"])
@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.id)
def test_diagram_is_legible_in_chromium(
    process: Process, drawing: str, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text >= 10 px, no text over another or over a state box, every glyph of the diagram and
    of the page drawn, the diagram's frame within the window (it scrolls inside); fitted into
    800 px the text stays >= 10 px."""
    path = page_of(process, drawing, monkeypatch)
    found = open_page(browser, path, 1280, 900)
    texts, shapes, names = found["texts"], found["shapes"], found["names"]
    assert texts and shapes
    assert too_small(found) == []
    for one, other in itertools.combinations(texts, 2):
        assert not overlap(one["box"], other["box"], slack=2.0), (one["text"], other["text"])
    for text in texts:
        if text["node"] >= 0:
            assert inside(text["box"], shapes[text["node"]]), (text["text"], names[text["node"]])
        for index, shape in enumerate(shapes):
            if index != text["node"]:
                assert not overlap(text["box"], shape), (text["text"], names[index])
    for font in {t["font"] for t in texts}:
        chars = sorted(
            {
                c
                for t in texts
                if t["font"] == font
                for c in t["text"]
                if ord(c) > 126 and not c.isspace()
            }
        )
        assert browser.execute_script(RENDERS, chars, font) == [], font
    others = sorted(c for c in found["pageChars"] if ord(c) > 126 and not c.isspace())
    assert browser.execute_script(RENDERS, others, found["pageFont"]) == []
    assert found["frameRight"] <= found["viewWidth"]
    screenshots(browser, path)

    fitted = open_page(browser, path, 800, 900)
    boxes = browser.find_elements("css selector", "label[for^='fit-']")
    if boxes:
        boxes[0].click()
        fitted = browser.execute_script(MEASURE)
    assert too_small(fitted) == []
    assert fitted["frameRight"] <= fitted["viewWidth"]


def test_timer_transitions_are_labelled_in_words(
    browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A timer edge says `timer 7d next_call_due`, with no stopwatch sign fonts may lack."""
    process = next(p for p in PROCESSES if p.id == "facebook_access")
    for drawing in ("graphviz", "builtin"):
        found = open_page(browser, page_of(process, drawing, monkeypatch), 1280, 900)
        words = " ".join(t["text"] for t in found["texts"])
        assert "timer 7d next_call_due" in words
        assert "⏱" not in words


REPORT = """
return Array.from(document.querySelectorAll('.diagram')).map(frame => ({
  right: frame.getBoundingClientRect().right,
  smallest: Math.min(...Array.from(frame.querySelectorAll('svg text')).map(t =>
    parseFloat(getComputedStyle(t).fontSize) * Math.hypot(t.getScreenCTM().a, t.getScreenCTM().b))),
}));
"""


@pytest.mark.parametrize("drawing", ["graphviz", "builtin"])
def test_report_of_every_process_keeps_each_diagram_legible(
    drawing: str, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The several-process report (as `make demo` writes it): one frame per process, each within
    the window, no diagram text under 10 px."""
    page_of(PROCESSES[0], drawing, monkeypatch)  # skips when Graphviz is missing
    path = ARTIFACTS / f"report.{drawing}.html"
    path.write_text(render_report(PROCESSES), encoding="utf-8")
    browser.set_window_size(1280, 900)
    browser.get(path.as_uri())
    frames = browser.execute_script(REPORT)
    assert len(frames) == len(PROCESSES)
    assert [f for f in frames if f["smallest"] < MIN_PX - 0.01 or f["right"] > 1280] == []
