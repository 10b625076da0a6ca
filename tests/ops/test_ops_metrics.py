"""Metrics scraped over HTTP and parsed with prometheus-client's parser; `stats` with the
same figures plus time in state; worker log lines (text and JSON)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import urllib.request
from datetime import timedelta

from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import RequirementMissing, RoleRefused
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.metrics import process_stats
from fulfil.engine.runtime.prometheus import render_metrics, serve_metrics
from fulfil.engine.worker import Worker
from fulfil.engine.worker.logs import configure_logging
from ops_support import OPS
from prometheus_client.parser import text_string_to_metric_families

CLIENT = {"client": "Acme Motors", "client_email": "owner@acme.test"}


def _busy(engine: Engine, clock: ManualClock) -> list[str]:
    """Three instances: one new, one in progress past its 7-day timer (fired late), one
    closed; a refused fire; a cancel."""
    ids = [engine.start("access", CLIENT, **OPS).id for _ in range(4)]
    for instance in ids[1:]:
        engine.fire(instance, "begin", **OPS)
    clock.advance(timedelta(hours=2))
    engine.fire(ids[2], "access_obtained", **OPS)
    with contextlib.suppress(RequirementMissing):
        engine.fire(ids[1], "access_not_obtained", **OPS)  # no actions_taken: not recorded
    with contextlib.suppress(RoleRefused):
        engine.fire(ids[1], "log_call", {"outcome": "reached"}, actor="al", role="csm")
    engine.cancel(ids[3], reason="duplicate", actor="olga")
    clock.advance(timedelta(days=7, minutes=30))
    engine.tick()
    return ids


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_over_http_parse_and_agree_with_stats(engine: Engine, clock: ManualClock) -> None:
    ids = _busy(engine, clock)
    engine.fire(ids[0], "begin", **OPS)
    server = serve_metrics(engine, 0, "127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.status == 200
            text = reply.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    samples = _samples(text)
    assert samples[("fulfil_store_up", ())] == 1
    state = lambda s: (("process", "access"), ("state", s))  # noqa: E731
    assert samples[("fulfil_instances", state("in_progress"))] == 2
    assert samples[("fulfil_instances", state("closed"))] == 1
    assert samples[("fulfil_instances", state("Cancelled"))] == 1
    begin = (("kind", "transition"), ("process", "access"), ("trigger", "begin"))
    assert samples[("fulfil_transitions_total", begin)] == 4
    timer = (("kind", "timer"), ("process", "access"), ("trigger", "remind"))
    assert samples[("fulfil_transitions_total", timer)] == 1
    refused = (("process", "access"), ("trigger", "log_call"))
    assert samples[("fulfil_refusals_total", refused)] == 1
    cancel = (("action", "cancel"), ("process", "access"))
    assert samples[("fulfil_interventions_total", cancel)] == 1
    late = 2.5 * 3600  # due 7 days after begin, fired 7 days 2.5 hours after
    assert samples[("fulfil_timer_lag_seconds", (("quantile", "1.0"),))] == late
    assert samples[("fulfil_timers_overdue", ())] == 0
    assert samples[("fulfil_outbox_backlog", ())] == 0
    assert samples[("fulfil_fire_latency_seconds_count", ())] >= 5
    assert ("fulfil_sla_breaches_total", ()) not in samples  # no SLA in this process
    assert samples[("fulfil_jobs", (("state", "open"),))] == 0
    assert samples[("fulfil_incidents", ())] == 0
    # the same figures from `stats`, and the text a web app serves at /metrics parses too
    stats = process_stats(engine, "access")
    assert stats.states["in_progress"] == 2 and stats.states["Cancelled"] == 1
    assert stats.transitions["begin"] == 4 and stats.refusals == {"log_call": 1}
    assert stats.interventions == {"cancel": 1}
    assert stats.time_in_state["new"]["stays"] == 4
    # closed and cancelled after 2 hours; the remind self-loop does not end a stay
    assert stats.time_in_state["in_progress"] == {
        "stays": 2,
        "median_seconds": 7200.0,
        "p90_seconds": 7200.0,
    }
    assert stats.timers["lag_max_seconds"] == late
    assert json.loads(json.dumps(stats.to_json()))["states"]["closed"] == 1
    assert _samples(render_metrics(engine, max_age=0).decode())[("fulfil_store_up", ())] == 1


def test_worker_logs_one_line_per_event_text_and_json(engine: Engine, clock: ManualClock) -> None:
    ids = [engine.start("access", CLIENT, **OPS).id for _ in range(2)]
    for instance in ids:
        engine.fire(instance, "begin", **OPS)
    clock.advance(timedelta(days=8))
    out = io.StringIO()
    configure_logging("json", stream=out)
    try:
        Worker(engine, log=logging.getLogger("fulfil.worker")).run(once=True)
    finally:
        logging.getLogger("fulfil").handlers.clear()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    fired = [line for line in lines if line.get("trigger") == "remind"]
    assert sorted(line["instance"] for line in fired) == sorted(ids)
    assert all(line["level"] == "INFO" and line["time"].endswith("Z") for line in lines)
    assert lines[-1]["message"] == "worker stopped"
    text = io.StringIO()
    configure_logging("text", stream=text)
    try:
        logging.getLogger("fulfil.worker").warning("late", extra={"instance": "a-1"})
    finally:
        logging.getLogger("fulfil").handlers.clear()
    line = text.getvalue().strip()
    assert line.split()[1:4] == ["WARNING", "fulfil.worker", "late"]
    assert line.endswith("instance=a-1") and "\n" not in line
