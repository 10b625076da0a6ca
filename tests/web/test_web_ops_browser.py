"""The operations pages in a real browser (headless Chromium, as test_web_browser.py): morgan
(operator) finds work, is refused a cancel without a reason beside its form, cancels with one,
previews and confirms a bulk correction, and opens the migrate and stats pages; sam gets 403.

Screenshots go where the other browser test puts them (`workbench-ops-*.png`; see
`web_support.screenshot_folder`: docs/ with `FULFIL_SCREENSHOTS=docs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore
from fulfil.engine.web.credentials import Credentials
from test_web_browser import DOCS, EVIL, Served, browser, sign_in, sign_out, wait_for
from test_web_ops import TEAM, make_engine_in, version_2
from web_support import PASSWORD, PROCESSES, START, T0

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # the module's fixture, shared


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Engine, Served, list[str]]]:
    """Four facebook_access v1 tasks (one escalated), then a v2 that renames `escalated`."""
    folder = tmp_path / "processes"
    folder.mkdir()
    text = (PROCESSES / "facebook_access.yaml").read_text()
    (folder / "facebook_access.yaml").write_text(text)
    clock = ManualClock(T0)
    store = SQLiteStore(tmp_path / "ops.db")
    v1 = make_engine_in(folder, store, clock)
    credentials = Credentials(store, clock, TEAM)
    for person in ("sam", "morgan"):
        credentials.set_password(person, PASSWORD)
    ids = []
    for n, client in enumerate(("Acme Motors", EVIL, "Beta Cars", "Gamma Vans")):
        clock.advance(timedelta(minutes=5))
        data = {**START, "client": client, "fr_number": f"FR-{100 + n}"}
        ids.append(v1.start("facebook_access", data, actor="alex").id)
        if n % 2 == 0:
            v1.fire(ids[-1], "begin", actor="sam")
    clock.advance(timedelta(hours=2))
    while v1.show(ids[0]).state != "escalated":
        v1.fire(ids[0], "log_call", {"outcome": "no_answer"}, actor="sam")
    (folder / "facebook_access_v2.yaml").write_text(version_2(text))
    engine = make_engine_in(folder, store, clock)
    served = Served(engine)
    yield engine, served, ids
    served.stop()
    store.close()


def _text(driver: Any, selector: str) -> str:
    """The text of an element, or "" while the page it was on is being replaced."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return str(driver.find_element(By.CSS_SELECTOR, selector).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def test_an_operator_works_the_operations_pages(browser: Any, world: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    engine, served, ids = world
    driver = browser
    sign_in(driver, served.url, "morgan")
    driver.find_element(By.LINK_TEXT, "Operations").click()
    wait_for(driver, lambda: driver.current_url.endswith("/ops"))
    form = driver.find_element(By.CSS_SELECTOR, "form.ops-search")
    Select(form.find_element(By.NAME, "process")).select_by_value("facebook_access")
    form.find_element(By.NAME, "version").send_keys("1")
    Select(form.find_element(By.NAME, "open")).select_by_value("open")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, lambda: driver.find_elements(By.ID, "results"))
    results = driver.find_element(By.ID, "results").text
    assert all(i in results for i in ids)
    driver.save_screenshot(str(DOCS / "workbench-ops-search.png"))

    # the bulk form: set the CSM of every open one, preview first
    bulk = driver.find_element(By.CSS_SELECTOR, "#bulk form")
    Select(bulk.find_element(By.NAME, "action")).select_by_value("set")
    Select(bulk.find_element(By.NAME, "field")).select_by_value("csm")
    bulk.find_element(By.NAME, "value").send_keys("casey@example.com")
    bulk.find_element(By.NAME, "reason").send_keys("Casey took the account over")
    bulk.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, lambda: "Preview" in _text(driver, "h1"))
    assert "Nothing has been stored yet" in driver.page_source
    assert all(engine.show(i).data.get("csm") is None for i in ids)
    driver.save_screenshot(str(DOCS / "workbench-ops-bulk-preview.png"))
    driver.find_element(By.CSS_SELECTOR, "form.confirm button").click()
    wait_for(driver, lambda: "Done 4, refused 0" in driver.page_source)
    assert all(engine.show(i).data["csm"] == "casey@example.com" for i in ids)

    # the instance page: a cancel without a reason is refused beside its form
    driver.get(served.url + f"/instances/{ids[1]}")
    panel = driver.find_element(By.ID, "operator")
    assert "&lt;script&gt;" not in panel.text and EVIL in panel.get_attribute("innerHTML").replace(
        "&lt;", "<"
    ).replace("&gt;", ">")
    panel.find_element(By.CSS_SELECTOR, "form[data-action='cancel'] button").click()
    wait_for(
        driver, lambda: driver.find_elements(By.CSS_SELECTOR, "p.refusal[data-for='ops:cancel']")
    )
    refusal = driver.find_element(By.CSS_SELECTOR, "p.refusal[data-for='ops:cancel']")
    assert "needs a reason" in refusal.text
    assert engine.show(ids[1]).state == "new"
    driver.save_screenshot(str(DOCS / "workbench-ops-instance.png"))
    form = driver.find_element(By.CSS_SELECTOR, "form[data-action='cancel']")
    form.find_element(By.NAME, "reason").send_keys("duplicate of FR-100")
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(driver, lambda: "Cancelled" in _text(driver, "code.state"))
    latest = driver.find_element(By.CSS_SELECTOR, "ol.timeline li.intervention")
    assert "morgan (operator)" in latest.text and "duplicate of FR-100" in latest.text

    driver.get(served.url + "/ops/stats?process=facebook_access")
    assert "facebook_access: 4 instance(s)" in driver.page_source
    driver.save_screenshot(str(DOCS / "workbench-ops-stats.png"))
    driver.get(served.url + "/ops/migrate")
    migrate = driver.find_element(By.CSS_SELECTOR, "form[action='/ops/migrate']")
    Select(migrate.find_element(By.NAME, "process")).select_by_value("facebook_access")
    migrate.find_element(By.NAME, "to").send_keys("2")
    migrate.find_element(By.NAME, "map").send_keys("escalated=awaiting_cancellation")
    migrate.find_element(By.NAME, "reason").send_keys("v2 renames escalated")
    migrate.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(driver, lambda: driver.find_elements(By.ID, "migration"))
    driver.save_screenshot(str(DOCS / "workbench-ops-migrate.png"))
    assert "3 of 3 open instance(s) can move" in driver.page_source
    assert {engine.show(i).version for i in ids} == {1}
    driver.find_element(By.CSS_SELECTOR, "form.confirm button").click()
    wait_for(driver, lambda: "3 moved" in driver.page_source)
    assert engine.show(ids[0]).state == "awaiting_cancellation"
    assert [engine.show(i).version for i in ids] == [2, 1, 2, 2]  # the cancelled one stays
    sign_out(driver)

    sign_in(driver, served.url, "sam")
    assert not driver.find_elements(By.LINK_TEXT, "Operations")
    driver.get(served.url + "/ops")
    assert "Not allowed" in driver.page_source
    assert engine.verify().problems == ()
