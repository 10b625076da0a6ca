"""A small process with every feature a diagram draws, built directly from the model."""

from __future__ import annotations

from datetime import timedelta

from fulfil.engine.errors import Location
from fulfil.engine.model import (
    Expr,
    Field,
    FieldType,
    Notify,
    Process,
    Role,
    SetField,
    Sla,
    State,
    Task,
    Template,
    Timer,
    Transition,
)


def sample_process() -> Process:
    """new -> in_progress (a 7-day timer, an SLA) -> closed / on_hold, with two child tasks."""
    loc = Location("sample.yaml", 1, 1)
    return Process(
        id="sample",
        version=2,
        title='Sample "access" request',
        description="Obtain access <quickly>.",
        fields=(
            Field("attempt", FieldType.INT, default=0, loc=loc),
            Field("outcome", FieldType.ENUM, values=("reached", "no_answer"), loc=loc),
            Field("client_email", FieldType.STRING, loc=loc),
        ),
        roles=(Role("ops", title="Ops Specialist", manager="lead"), Role("lead")),
        states=(
            State("new", initial=True, status="New", queue="digms_ops", owner="ops"),
            State(
                "in_progress",
                status="In Progress",
                timers=(Timer("next_call_due", "remind", after=timedelta(days=7)),),
                sla=Sla(timedelta(hours=48), "ops", escalate_after=timedelta(days=2)),
            ),
            State("on_hold", waiting=True, status="On Hold"),
            State("closed", terminal=True, status="Closed", closure_reason="Complete"),
        ),
        transitions=(
            Transition("start", ("new",), "in_progress", roles=("ops",)),
            Transition(
                "log_call",
                ("in_progress",),
                "in_progress",
                guard=Expr("outcome != 'reached' and attempt < 3"),
                roles=("ops", "lead"),
                actions=(
                    SetField("attempt", Expr("attempt + 1")),
                    Notify("email", ("client_email",), Template('Call "{attempt}"')),
                ),
            ),
            Transition("remind", ("in_progress",), "in_progress"),
            Transition("hold", ("in_progress",), "on_hold"),
            Transition(
                "close", ("in_progress", "on_hold"), "closed", guard=Expr("outcome == 'reached'")
            ),
        ),
        tasks=(
            Task("intake", "pdm_task", title="Intake call"),
            Task(
                "access", "pdm_task", title="Obtain access", depends_on=("intake",), indicator=True
            ),
        ),
    )
