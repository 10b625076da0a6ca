"""One search path: My work, `GET /api/instances` and `fulfil queue` agree on what a queue
holds, a request's tasks included (a task waiting on its dependencies is in no queue)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fulfil.engine.runtime import Engine
from web_support import START, sign_in, token

REQUEST = {**START, "account_manager": "am@acme.example", "csm": "csm@acme.example"}


def _queue_ids(engine: Engine, queue: str) -> set[str]:
    view = engine.queue(queue).to_json()
    return {item["id"] for part in ("ready", "in_progress") for item in view[part]}


def test_search_by_queue_is_what_the_queue_shows(engine: Engine) -> None:
    request = engine.start("facebook_fulfilment", REQUEST, actor="alex").id
    kids = {child["task"]: child["id"] for child in engine.show(request).to_json()["children"]}
    alone = engine.start("facebook_access", START, actor="alex").id
    for queue in engine.queues():
        found = {v.id for v in engine.search(queue=queue, open=True, limit=500).items}
        assert found == _queue_ids(engine, queue), queue
    intake = {v.id for v in engine.search(queue="account_managers").items}
    assert kids["cs_intake"] in intake
    digms = {v.id for v in engine.search(queue="digms_ops").items}
    assert alone in digms and kids["obtain_facebook_access"] not in digms  # waits on intake


def test_my_work_and_the_api_page_alike(client: TestClient, engine: Engine) -> None:
    """The worklist's In progress page and `GET /api/instances` list the same instances in
    the same order (least recently active first), and the API's cursor pages My work."""
    ids = [engine.start("facebook_access", START, actor="alex").id for _ in range(4)]
    for instance in ids:
        engine.fire(instance, "begin", actor="sam")
    sam = token(engine, "sam")
    api = client.get(
        "/api/instances?process=facebook_access&state=in_progress&limit=2", headers=sam
    ).json()
    assert [item["id"] for item in api["items"]] == ids[:2]
    sign_in(client)
    page = client.get(f"/?queue=digms_ops&progress_after={api['next']}").text
    assert all(f'/instances/{i}"' in page for i in ids[2:])
    assert not any(f'/instances/{i}"' in page for i in ids[:2])
