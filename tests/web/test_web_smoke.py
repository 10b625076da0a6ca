"""A first look at the workbench: sign in, my work, an instance page, the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fulfil.engine.runtime import Engine
from web_support import sign_in, started, token


def test_pages_need_sign_in(client: TestClient) -> None:
    """A page without a session sends the browser to the sign-in page."""
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_sign_in_and_see_work(client: TestClient, engine: Engine) -> None:
    """Sam signs in and sees the started task in digms_ops, linked by its id."""
    instance = started(engine)
    assert sign_in(client).status_code == 303
    page = client.get("/")
    assert page.status_code == 200, page.text
    assert f'href="/instances/{instance}"' in page.text
    assert "Sign out" in page.text
    one = client.get(f"/instances/{instance}")
    assert one.status_code == 200, one.text
    assert 'data-trigger="log_call"' in one.text
    assert '<select name="outcome"' in one.text


def test_api_show(client: TestClient, engine: Engine) -> None:
    instance = started(engine)
    response = client.get(f"/api/instances/{instance}", headers=token(engine, "sam"))
    assert response.status_code == 200
    assert response.json() == engine.show(instance).to_json()
