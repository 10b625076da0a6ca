"""Sign-in, sessions, CSRF, sign-out and the trusted header."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient
from fulfil.engine.runtime import Engine
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import SESSION_COOKIE, WebConfig
from web_support import PASSWORD, Wall, csrf_of, sign_in, started, token


def test_wrong_password_is_refused(client: TestClient) -> None:
    """A wrong password shows the sign-in page again with 401 and sets no session."""
    response = sign_in(client, "sam", "not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert SESSION_COOKIE not in client.cookies
    assert sign_in(client, "riley", PASSWORD).status_code == 401  # inactive, no password


def test_sign_in_form_needs_its_csrf_token(client: TestClient) -> None:
    """A sign-in posted without the form's token (another site's form) is refused 403."""
    client.get("/login")
    response = client.post("/login", data={"username": "sam", "password": PASSWORD})
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_sign_in_goes_back_where_asked_but_never_off_site(client: TestClient) -> None:
    page = client.get("/login?next=/processes")
    response = client.post(
        "/login",
        data={
            "username": "sam",
            "password": PASSWORD,
            "csrf": csrf_of(page.text),
            "next": "/processes",
        },
    )
    assert response.headers["location"] == "/processes"
    client.cookies.clear()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "sam",
            "password": PASSWORD,
            "csrf": csrf_of(page.text),
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/"


def test_sessions_expire(client: TestClient, wall: Wall) -> None:
    """A session stops working when its time is up: the next page asks to sign in again."""
    sign_in(client)
    assert client.get("/").status_code == 200
    wall.now += 3599
    assert client.get("/").status_code == 200
    wall.now += 2
    response = client.get("/")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_forged_cookie_is_nobody(client: TestClient, engine: Engine) -> None:
    """A cookie not signed with the server's secret, or edited, signs nobody in."""
    sign_in(client)
    value = client.cookies[SESSION_COOKIE]
    payload, mac = value.rsplit(".", 1)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, payload + "." + mac[::-1])
    assert client.get("/").status_code == 303
    other = TestClient(
        create_app(engine, WebConfig(secret=b"another secret")), follow_redirects=False
    )
    other.cookies.set(SESSION_COOKIE, value)
    assert other.get("/").status_code == 303


def test_sign_out(client: TestClient) -> None:
    """ "Sign out" ends the session; it needs the page's CSRF token."""
    sign_in(client)
    page = client.get("/")
    assert client.post("/logout").status_code == 403
    response = client.post("/logout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_a_form_without_csrf_token_is_refused_and_stores_nothing(
    client: TestClient, engine: Engine
) -> None:
    """A fire posted without the session's CSRF token is refused 403; the instance is as it was."""
    instance = started(engine)
    sign_in(client)
    before = engine.show(instance)
    for data in (
        {"trigger": "log_call", "outcome": "reached"},
        {"trigger": "log_call", "outcome": "reached", "csrf": "made-up"},
    ):
        response = client.post(f"/instances/{instance}/fire", data=data)
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert engine.show(instance) == before


def test_trusted_header_mode(engine: Engine) -> None:
    """With a trusted header the proxy's person id signs in; without the mode, the header is
    ignored; an unknown or inactive person is nobody."""
    instance = started(engine)
    plain = TestClient(create_app(engine, WebConfig()), follow_redirects=False)
    assert plain.get("/", headers={"X-Remote-User": "sam"}).status_code == 303
    proxied = TestClient(
        create_app(engine, WebConfig(trusted_header="X-Remote-User")), follow_redirects=False
    )
    page = proxied.get(f"/instances/{instance}", headers={"X-Remote-User": "sam"})
    assert page.status_code == 200 and "Sam Lee" in page.text
    api = proxied.get(f"/api/instances/{instance}", headers={"X-Remote-User": "sam"})
    assert api.status_code == 200
    assert proxied.get("/", headers={"X-Remote-User": "riley"}).status_code == 303
    assert proxied.get("/", headers={"X-Remote-User": "mallory"}).status_code == 303
    fired = proxied.post(
        f"/instances/{instance}/fire",
        headers={"X-Remote-User": "sam"},
        data={"trigger": "log_call", "outcome": "reached", "csrf": csrf_of(page.text)},
    )
    assert fired.status_code == 303
    assert [e.trigger for e in engine.history(instance)][-1] == "log_call"


def test_a_person_made_inactive_is_nobody_at_the_next_request(
    client: TestClient, engine: Engine
) -> None:
    """Nothing about a caller is kept between requests: once the directory says a person is
    inactive, their session, their token and the session cookie on the API sign nobody in."""
    instance = started(engine)
    sam_token = token(engine, "sam")
    sign_in(client)
    assert client.get("/").status_code == 200
    assert client.get(f"/api/instances/{instance}", headers=sam_token).status_code == 200
    people = engine.people.people  # type: ignore[union-attr]
    assert isinstance(people, dict)
    people["sam"] = replace(people["sam"], active=False)
    page = client.get("/")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert client.get(f"/api/instances/{instance}").status_code == 401
    fired = client.post(
        f"/api/instances/{instance}/fire",
        json={"trigger": "log_call", "data": {"outcome": "reached"}},
        headers=sam_token,
    )
    assert fired.status_code == 401
    assert engine.show(instance).state == "in_progress"


def test_an_api_write_with_a_session_cookie_alone_is_refused(
    client: TestClient, engine: Engine
) -> None:
    """A cookie reads the API; a write needs a token (a cross-site form could send the cookie)."""
    instance = started(engine)
    sign_in(client)
    assert client.get(f"/api/instances/{instance}").status_code == 200
    fired = client.post(
        f"/api/instances/{instance}/fire",
        json={"trigger": "log_call", "data": {"outcome": "reached"}},
    )
    assert fired.status_code == 401
    assert engine.show(instance).state == "in_progress"
