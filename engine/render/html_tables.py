"""The tables of the auditor's page: fields, roles, states, transitions, timers and SLAs, tasks.

Every value that comes from a definition goes through `html.escape` here (`cell`), so the page
never carries markup written in the YAML.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from ..clock.durations import format_duration
from ..model import Process, State, Timer
from .diagram import format_recurrence, summarise, timer_when


def cell(value: object) -> str:
    """A table cell's escaped text: None and empty values show as a dash."""
    if value is None or value == "" or value == ():
        return '<span class="none">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple | list):
        return escape(", ".join(str(v) for v in value))
    return escape(str(value))


def code(value: str | None) -> str:
    return f"<code>{escape(value)}</code>" if value else cell(None)


def table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; `rows` hold cells already escaped (by `cell` or `code`)."""
    body = ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    if not body:
        return f'<h3>{escape(caption)}</h3>\n<p class="none">None.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return "\n".join(
        [f"<h3>{escape(caption)}</h3>", "<table>", f"<tr>{head}</tr>", *body, "</table>"]
    )


def set_by(process: Process, name: str) -> list[str]:
    """Who may set a field with their data: `start` and the triggers taking it as input."""
    who = ["start"] if name in process.start_accepts else []
    who += [t.trigger for t in process.transitions if name in process.accepts(t)]
    return list(dict.fromkeys(who))


def fields_table(process: Process) -> str:
    """The fields; one nobody's data may set is marked read-only (set by actions or rules)."""
    rows = []
    for f in process.fields:
        who = set_by(process, f.name)
        rows.append(
            (
                code(f.name),
                cell(f.type.value),
                cell(f.required),
                cell(None if f.default is None else repr(f.default)),
                cell(f.values),
                cell(", ".join(who)) if who else "<strong>read-only</strong>",
                cell(f.description),
            )
        )
    headers = ("Field", "Type", "Required", "Default", "Values", "Set by (data of)", "Description")
    return table("Fields", headers, rows)


def roles_table(process: Process) -> str:
    rows = [(code(r.name), cell(r.title), cell(r.manager), cell(r.contact)) for r in process.roles]
    return table("Roles", ("Role", "Title", "Manager", "Contact"), rows)


def _kind(state: State) -> str:
    marks = [m for m, on in (("initial", state.initial), ("terminal", state.terminal)) if on]
    marks += ["waiting"] if state.waiting else []
    marks += [f"outcome: {state.outcome}"] if state.outcome else []
    return cell(marks)


def _sla(state: State) -> str:
    sla = state.sla
    if sla is None:
        return cell(None)
    text = f"due {format_duration(sla.due)}, owner {sla.owner}"
    if sla.escalate_after is not None:
        text += f", escalate after {format_duration(sla.escalate_after)}"
    return cell(text)


def _unless(timer: Timer) -> str:
    return f" unless {timer.unless.source}" if timer.unless is not None else ""


def states_table(process: Process) -> str:
    rows = []
    for s in process.states:
        timers = [f"{t.name}: {timer_when(t)} → {t.trigger}{_unless(t)}" for t in s.timers]
        batch = s.batch and f"{format_recurrence(s.batch.every)} → {s.batch.trigger}"
        rows.append(
            (
                code(s.name),
                cell(s.status),
                cell(s.closure_reason),
                _kind(s),
                cell(s.queue),
                cell(s.owner),
                cell("; ".join(timers)),
                _sla(s),
                cell(batch),
            )
        )
    headers = ("State", "Status", "Closure reason", "Kind", "Queue", "Owner")
    return table("States", (*headers, "Timers", "SLA", "Batch"), rows)


def transitions_table(process: Process) -> str:
    rows = [
        (
            code(t.trigger),
            cell(t.sources),
            cell(t.dest or "(stays: internal)"),
            code(t.guard.source if t.guard else None),
            cell(t.requires),
            cell(t.input),
            cell(t.roles or "any role"),
            "<br>".join(cell(summarise(a)) for a in t.actions) or cell(None),
        )
        for t in process.transitions
    ]
    headers = ("Trigger", "From", "To", "Guard", "Requires", "Input", "Roles", "Actions")
    return table("Transitions", headers, rows)


def timers_table(process: Process) -> str:
    rows = []
    for s in process.states:
        for t in s.timers:
            detail = f"data {dict(t.data)}" if t.data else ""
            if t.unless is not None:
                detail = f"unless {t.unless.source}" + (f"; {detail}" if detail else "")
            rows.append(
                (
                    code(s.name),
                    cell(f"timer {t.name}"),
                    cell(timer_when(t)),
                    code(t.trigger),
                    cell(detail),
                )
            )
        if s.sla is not None:
            channels = f"channels {', '.join(s.sla.channels)}"
            calendar = f", calendar {s.sla.calendar}" if s.sla.calendar else ""
            rows.append((code(s.name), cell("SLA"), _sla(s), cell(None), cell(channels + calendar)))
    return table("Timers and SLAs", ("State", "What", "When", "Fires", "Details"), rows)


def tasks_table(process: Process) -> str:
    rows = [
        (
            code(t.name),
            cell(t.process),
            cell(t.title),
            cell(t.depends_on),
            cell(t.queue),
            cell(t.indicator),
            cell([f"{k} = {v.source}" for k, v in t.data]),
        )
        for t in process.tasks
    ]
    headers = ("Task", "Process", "Title", "Depends on", "Queue", "Indicator", "Data")
    return table("Tasks", headers, rows)


def rules_table(process: Process) -> str:
    rows = [
        (cell(r.when), cell(r.task or "the indicator"), cell([f"{t} ← {g}" for t, g in r.fire]))
        for r in process.rules
    ]
    return table("Rules", ("When", "Task", "Fires (target ← trigger)"), rows)


def all_tables(process: Process) -> list[str]:
    """Every table of a process, in reading order."""
    tables = [
        fields_table(process),
        roles_table(process),
        states_table(process),
        transitions_table(process),
        timers_table(process),
    ]
    if process.tasks or process.rules:
        tables += [tasks_table(process), rules_table(process)]
    return tables
