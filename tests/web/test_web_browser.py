"""The workbench in a real browser (headless Chromium through the system's chromedriver),
against a server the test starts on a free port: sign in, the worklist, firing with a form, a
refusal beside its form, history, the Overdue badge after moving the clock, signing out; a
person without the role sees no button and a forged POST is refused (403, audited); a
`<script>` client name stays text.

Screenshots of the main pages go to tests/artifacts/workbench/; `FULFIL_SCREENSHOTS=docs` writes
them to docs/ (`workbench-*.png`, shown in the README) instead.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import WebConfig
from fulfil.engine.web.credentials import Credentials
from web_support import PASSWORD, ROOT, START, make_engine, screenshot_folder

sys.path.insert(0, str(ROOT / "tests" / "render"))
from browser import missing, start

pytestmark = pytest.mark.slow

DOCS = screenshot_folder()
EVIL = "<script>alert('x')</script> Motors"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """The workbench under uvicorn on a thread, over an engine the test holds."""

    def __init__(self, engine: Engine) -> None:
        import uvicorn

        self.port = free_port()
        app = create_app(engine, WebConfig(secret=b"browser-test"))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the workbench did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    driver = start(1280, 1000)
    yield driver
    driver.quit()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Engine, ManualClock, Served, dict[str, str]]]:
    from web_support import T0

    clock = ManualClock(T0)
    store = SQLiteStore(tmp_path / "browser.db")
    engine = make_engine(store, clock)
    credentials = Credentials(store, clock, engine.people)  # type: ignore[arg-type]
    for person in ("sam", "alex"):
        credentials.set_password(person, PASSWORD)
    ids = {}
    for key, data in (
        ("acme", START),
        ("evil", {**START, "client": EVIL, "fr_number": "FR-666"}),
        ("fresh", {**START, "client": "Beta Cars", "fr_number": "FR-2002"}),
    ):
        clock.advance(timedelta(minutes=5))
        ids[key] = engine.start("facebook_access", data, actor="alex").id
    for key in ("acme", "evil"):
        clock.advance(timedelta(minutes=5))
        engine.fire(ids[key], "begin", actor="sam")
    served = Served(engine)
    yield engine, clock, served, ids
    served.stop()
    store.close()


def sign_in(driver: Any, url: str, person: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/login")
    driver.delete_all_cookies()  # cookies go by host, not port: no session of an earlier test
    driver.get(url + "/")
    assert "/login" in driver.current_url
    driver.find_element(By.NAME, "username").send_keys(person)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    wait_for(driver, lambda: "/login" not in driver.current_url)


def wait_for(driver: Any, ready: Any, timeout: float = 10) -> None:
    """Wait until `ready()` holds; an element of the page being replaced (stale) is not yet."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda _: ready())


def sign_out(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    button = driver.find_element(By.XPATH, "//button[normalize-space()='Sign out']")
    button.click()
    wait_for(driver, lambda: "/login" in driver.current_url)


def test_a_specialist_works_a_task(browser: Any, world: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    engine, clock, served, ids = world
    driver = browser
    sign_in(driver, served.url, "sam")
    # the worklist: the ready task and the two in progress, by title line, linked by id
    ready = driver.find_element(By.ID, "ready")
    progress = driver.find_element(By.ID, "progress")
    assert "Beta Cars (FR-2002)" in ready.text
    assert "Acme Motors (FR-1001)" in progress.text
    assert EVIL + " (FR-666)" in progress.text  # shown as text, not run
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    driver.save_screenshot(str(DOCS / "workbench-my-work.png"))
    progress.find_element(By.CSS_SELECTOR, f"a[href='/instances/{ids['acme']}']").click()
    wait_for(driver, lambda: driver.current_url.endswith(f"/instances/{ids['acme']}"))

    # fire log_call with its form: the outcome is a <select> named after the field
    form = driver.find_element(By.CSS_SELECTOR, "form[data-trigger='log_call']")
    Select(form.find_element(By.NAME, "outcome")).select_by_value("no_answer")
    form.find_element(By.CSS_SELECTOR, "button[name='trigger'][value='log_call']").click()
    wait_for(
        driver,
        lambda: "waiting_next_call" in driver.find_element(By.CSS_SELECTOR, "code.state").text,
    )
    latest = driver.find_element(By.CSS_SELECTOR, "ol.timeline li.transition")
    assert "sam (ops_specialist)" in latest.text
    assert "log_call in_progress → waiting_next_call" in latest.text
    assert "outcome = no_answer" in latest.text
    assert engine.show(ids["acme"]).state == "waiting_next_call"

    # access_not_obtained without Actions Taken: the refusal beside its form, nothing stored
    rev = engine.show(ids["acme"]).rev
    form = driver.find_element(By.CSS_SELECTOR, "form[data-trigger='access_not_obtained']")
    form.find_element(By.CSS_SELECTOR, "button[value='access_not_obtained']").click()
    wait_for(
        driver,
        lambda: driver.find_elements(By.CSS_SELECTOR, "p.refusal[data-for='access_not_obtained']"),
    )
    refusal = driver.find_element(
        By.CSS_SELECTOR, "form[data-trigger='access_not_obtained'] p.refusal"
    )
    assert "actions_taken" in refusal.text
    assert (
        engine.show(ids["acme"]).rev == rev
        and engine.show(ids["acme"]).state == "waiting_next_call"
    )
    driver.save_screenshot(str(DOCS / "workbench-instance.png"))

    # a week and a day later the next call is overdue
    clock.advance(timedelta(days=8))
    driver.get(served.url + "/")
    row = driver.find_element(By.CSS_SELECTOR, f"a[href='/instances/{ids['acme']}']").find_element(
        By.XPATH, "./ancestor::tr"
    )
    assert row.find_element(By.CSS_SELECTOR, ".badge.overdue").text == "Overdue"

    driver.get(served.url + "/processes/facebook_access")
    assert "Instances now" in driver.page_source
    driver.save_screenshot(str(DOCS / "workbench-process.png"))

    sign_out(driver)
    driver.get(served.url + "/")
    assert "/login" in driver.current_url


FORGE = """
const [url, csrf, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const body = new URLSearchParams({csrf: csrf, trigger: 'log_call', outcome: 'reached'});
fetch(url, {method: 'POST', body: body, redirect: 'manual'}).then(r => done(r.status));
"""


def test_without_the_role_no_button_and_a_forged_post_is_refused(browser: Any, world: Any) -> None:
    from selenium.webdriver.common.by import By

    engine, _, served, ids = world
    driver = browser
    sign_in(driver, served.url, "alex")
    driver.get(served.url + f"/instances/{ids['acme']}")
    assert not driver.find_elements(By.CSS_SELECTOR, "button[value='log_call']")
    assert driver.find_elements(By.CSS_SELECTOR, "button[value='escalate_priority']")
    csrf = driver.find_element(By.NAME, "csrf").get_attribute("value")
    status = driver.execute_async_script(FORGE, f"/instances/{ids['acme']}/fire", csrf)
    assert status == 403
    last = engine.history(ids["acme"])[-1]
    assert (last.kind, last.actor, last.trigger) == ("refused", "alex", "log_call")
    assert engine.show(ids["acme"]).state == "in_progress"
    sign_out(driver)
