"""Prometheus exposition of the engine's figures (prometheus-client, imported when used).

    render_metrics(engine) -> bytes      the text format, for a web app's `/metrics` route
    CONTENT_TYPE                         its media type
    serve_metrics(engine, port)          `fulfil worker --metrics-port N`: an HTTP server on a
                                         thread of its own
    registry_for(engine)                 a CollectorRegistry holding the engine's collector

Every scrape reads the figures from the store (`engine.runtime.metrics.figures`, cached for
a few seconds), so any process may serve them and they agree with `fulfil stats`.

    fulfil_instances{process,state}                   gauge: instances in each state
    fulfil_transitions_total{process,trigger,kind}    counter: steps (kind transition|timer)
    fulfil_refusals_total{process,trigger}            counter: refused attempts
    fulfil_interventions_total{process,action}        counter: cancel, set, move, retry, drop
    fulfil_migrations_total{process}                  counter: instances moved to a version
    fulfil_sla_breaches_total{process}                counter: overdue notices
    fulfil_sla_escalations_total{process}             counter: escalation notices
    fulfil_outbox_messages{status}                    gauge: messages per status
    fulfil_outbox_backlog                             gauge: pending or being sent
    fulfil_outbox_failed                              gauge: failed for good
    fulfil_timers_pending, fulfil_timers_overdue      gauge: pending; of them due now
    fulfil_timer_overdue_seconds                      gauge: how late the oldest due timer is
    fulfil_timer_lag_seconds{quantile}                gauge: fired minus due, last 1000 timers
    fulfil_jobs{state}, fulfil_incidents              gauge: external jobs per state; incidents
    fulfil_fire_latency_seconds                       histogram: Engine.fire in this process
    fulfil_store_up                                   gauge: 1 when the store answered
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from .metrics import figures, percentile

__all__ = ["CONTENT_TYPE", "FulfilCollector", "registry_for", "render_metrics", "serve_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class FulfilCollector:
    """A prometheus-client collector reading the engine's figures at each scrape."""

    def __init__(self, engine: Any, max_age: float = 10.0) -> None:
        self.engine = engine
        self.max_age = max_age

    def describe(self) -> list[Any]:
        return []  # the families are known only at scrape time

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        from ..errors import FulfilError

        up = GaugeMetricFamily("fulfil_store_up", "1 when the store answered the scrape")
        try:
            tally = figures(self.engine, self.max_age)
        except FulfilError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        instances = GaugeMetricFamily(
            "fulfil_instances", "Instances per process and state", labels=["process", "state"]
        )
        for (process, state), count in sorted(tally.instances.items()):
            instances.add_metric([process, state], count)
        yield instances
        steps = CounterMetricFamily(
            "fulfil_transitions",
            "Steps taken per process and trigger (kind: transition by hand, timer)",
            labels=["process", "trigger", "kind"],
        )
        refusals = CounterMetricFamily(
            "fulfil_refusals",
            "Refused attempts per process and trigger",
            labels=["process", "trigger"],
        )
        interventions = CounterMetricFamily(
            "fulfil_interventions", "Operator interventions", labels=["process", "action"]
        )
        migrations: Counter[str] = Counter()
        for (process, kind, trigger), count in sorted(tally.events.items()):
            if kind in ("transition", "timer"):
                steps.add_metric([process, trigger, kind], count)
            elif kind == "refused":
                refusals.add_metric([process, trigger], count)
            elif kind == "intervention":
                interventions.add_metric([process, trigger], count)
            elif kind == "migration":
                migrations[process] += count
        yield steps
        yield refusals
        yield interventions
        migrated = CounterMetricFamily(
            "fulfil_migrations", "Instances moved to another version", labels=["process"]
        )
        for process, count in sorted(migrations.items()):
            migrated.add_metric([process], count)
        yield migrated
        breaches = CounterMetricFamily(
            "fulfil_sla_breaches", "SLA overdue notices", labels=["process"]
        )
        escalations = CounterMetricFamily(
            "fulfil_sla_escalations", "SLA escalations to a manager", labels=["process"]
        )
        for (process, notice), count in sorted(tally.sla.items()):
            (escalations if notice == "escalation" else breaches).add_metric([process], count)
        yield breaches
        yield escalations
        yield from self._outbox_and_timers(tally, GaugeMetricFamily)
        yield from self._jobs(GaugeMetricFamily)
        latency = getattr(self.engine, "fire_latency", None)
        if latency is not None:
            buckets, total, _count = latency.snapshot()
            yield HistogramMetricFamily(
                "fulfil_fire_latency_seconds",
                "Engine.fire calls in this process, start to commit",
                buckets=buckets,
                sum_value=total,
            )

    def _jobs(self, gauge: Any) -> Iterator[Any]:
        counts = getattr(self.engine, "job_counts", None)
        if not callable(counts):
            return
        jobs = gauge("fulfil_jobs", "External jobs per state", labels=["state"])
        by_state = counts()
        for state, count in sorted(by_state.items()):
            jobs.add_metric([state], count)
        yield jobs
        yield gauge(
            "fulfil_incidents",
            "Jobs that failed through their retries (incidents)",
            value=by_state.get("incident", 0),
        )

    def _outbox_and_timers(self, tally: Any, gauge: Any) -> Iterator[Any]:
        outbox = gauge("fulfil_outbox_messages", "Outbox messages per status", labels=["status"])
        for status, count in sorted(tally.outbox.items()):
            outbox.add_metric([status], count)
        yield outbox
        backlog = tally.outbox.get("pending", 0) + tally.outbox.get("sending", 0)
        yield gauge("fulfil_outbox_backlog", "Messages waiting to be sent", value=backlog)
        yield gauge(
            "fulfil_outbox_failed",
            "Messages that failed for good",
            value=tally.outbox.get("failed", 0),
        )
        yield gauge("fulfil_timers_pending", "Timers waiting", value=tally.timers_pending)
        yield gauge(
            "fulfil_timers_overdue", "Timers due and not fired yet", value=tally.timers_overdue
        )
        late = 0.0
        if tally.oldest_overdue is not None:
            late = max(0.0, (self.engine.clock.now() - tally.oldest_overdue).total_seconds())
        yield gauge("fulfil_timer_overdue_seconds", "How late the oldest due timer is", value=late)
        lag = gauge(
            "fulfil_timer_lag_seconds",
            "Fired minus due time of the last fired timers",
            labels=["quantile"],
        )
        for quantile in (0.5, 0.9, 1.0):
            value = percentile(tally.timer_lags, quantile)
            if value is not None:
                lag.add_metric([str(quantile)], value)
        yield lag


def registry_for(engine: Any, max_age: float = 10.0) -> Any:
    """A fresh CollectorRegistry holding the engine's collector (and nothing else)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(FulfilCollector(engine, max_age))
    return registry


def render_metrics(engine: Any, max_age: float = 10.0) -> bytes:
    """The engine's metrics in the Prometheus text format (serve with `CONTENT_TYPE`)."""
    from prometheus_client import generate_latest

    return bytes(generate_latest(registry_for(engine, max_age)))


def serve_metrics(engine: Any, port: int, host: str = "0.0.0.0") -> Any:
    """Serve `/metrics` on `host:port` (port 0: any free one, `server.server_port`) from a
    daemon thread; returns the server (stop it with `shutdown()` then `server_close()`)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=registry_for(engine))
    return server
