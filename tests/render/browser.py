"""Headless Debian Chromium for the slow diagram tests, and what they measure in its DOM.

The browser and its driver are the system's (`/usr/bin/chromium`, `/usr/bin/chromedriver`,
Debian packages `chromium` and `chromium-driver`): Selenium is pointed at both explicitly, so
Selenium Manager never looks for or downloads anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "diagrams"


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing: apt-get install {package}"
    return None


def graphviz_missing() -> str | None:
    return None if shutil.which("dot") else "Graphviz's dot is missing: apt-get install graphviz"


def start(width: int = 1280, height: int = 900) -> Any:
    """A headless Chromium window of that size, driven through the system's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(width, height)
    return driver


# Every <text> of the first diagram: its text, rendered font size in CSS pixels (the computed
# size times the scale of its transformation to the screen), bounding box on the page, and the
# index of the state box (<g class="node">) it is written in, or -1; every state box's shape and
# name; the right edge of the diagram's frame, and the window's width; the characters of the
# whole page (tables and Mermaid source too) and its font.
MEASURE = """
const svg = document.querySelector('.diagram svg');
const nodes = Array.from(svg.querySelectorAll('g.node'));
const box = r => [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY];
const texts = Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim()).map(t => {
  const m = t.getScreenCTM();
  return {
    text: t.textContent,
    px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b),
    font: getComputedStyle(t).fontFamily,
    box: box(t.getBoundingClientRect()),
    node: nodes.indexOf(t.closest('g.node')),
  };
});
const shapes = nodes.map(n => box(n.querySelector('path, polygon, rect, ellipse')
  .getBoundingClientRect()));
const names = nodes.map(n => (n.querySelector('title') || n.querySelector('text')).textContent);
const frame = document.querySelector('.diagram').getBoundingClientRect();
const pageChars = Array.from(new Set(document.body.textContent));
return {texts, shapes, names, frameRight: frame.right, viewWidth: innerWidth,
        pageChars, pageFont: getComputedStyle(document.body).fontFamily};
"""

# Whether a character is drawn with a glyph of its own in a font: drawn on a canvas it must
# differ from a private-use character, which no font has (the browser's empty box), and from
# nothing at all.
RENDERS = """
const [chars, font] = arguments;
const canvas = document.createElement('canvas');
canvas.width = 48; canvas.height = 48;
const pen = canvas.getContext('2d');
const draw = s => { pen.clearRect(0, 0, 48, 48); pen.font = '32px ' + font;
                    pen.fillText(s, 4, 38); return pen.getImageData(0, 0, 48, 48).data.join(); };
const none = draw(''), box = draw('\\uE000');
return chars.filter(c => { const drawn = draw(c); return drawn === none || drawn === box; });
"""


def overlap(one: list[float], other: list[float], slack: float = 1.0) -> bool:
    """Whether two [left, top, right, bottom] boxes share more than `slack` pixels each way."""
    return (
        min(one[2], other[2]) - max(one[0], other[0]) > slack
        and min(one[3], other[3]) - max(one[1], other[1]) > slack
    )


def inside(inner: list[float], outer: list[float], slack: float = 1.0) -> bool:
    """Whether a box lies within another, give or take `slack` pixels."""
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )
