"""The `fulfil` command line: a thin layer over the engine.

Every command catches `FulfilError`, prints its one-line message to stderr and exits non-zero
(1 for a refused or invalid request, 2 for wrong usage). No traceback reaches the user.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .engine.commands.common import (
    AS_OPTION,
    AS_PERSON_OPTION,
    DATA_OPTION,
    JSON_OPTION,
    echo_view,
    emit_json,
    fail,
    guarded,
    note_open_mode,
    opened_engine,
    parse_as,
    parse_data,
    parse_person,
    say_acted_as,
    warn_past_timers,
)
from .engine.commands.options import (
    ENVIRONMENT,
    FILE,
    FOLDER,
    PATHS,
    ROOT,
    FulfilGroup,
    Settings,
    global_options,
    settings_from,
)

if TYPE_CHECKING:
    from .engine.model import Process


@click.group(ROOT, cls=FulfilGroup, epilog=ENVIRONMENT)
@global_options
@click.version_option(
    package_name="fulfil",
    message="%(prog)s, version %(version)s",  # given, so gettext is not asked at start-up
    help="Show the version and exit.",
)
@click.pass_context
def main(ctx: click.Context, **values: str | None) -> None:
    """fulfil: declarative workflows for operations teams.

    Validate, draw and run the processes of a folder of YAML definitions against a store.
    """
    ctx.obj = settings_from(ctx, values)


@main.command("validate")
@click.argument("paths", nargs=-1, type=PATHS)
@click.pass_obj
@guarded
def validate_command(settings: Settings, paths: tuple[Path, ...]) -> None:
    """Check process definitions (files or folders; default: the processes folder)."""
    from .engine.commands.validation import validate_paths

    reports = validate_paths(paths or (settings.processes,))
    for report in reports:
        for line in report.lines():
            click.echo(line)
    errors = sum(1 for r in reports for p in r.problems if p.is_error)
    if errors:
        bad = sum(1 for r in reports if not r.ok)
        fail(f"{errors} error{'s' if errors > 1 else ''} in {bad} of {len(reports)} files")


def _folder_catalog(folder: Path) -> list[Process]:
    """The processes of a file's folder, for the rules their requests fire; none if it does
    not load (the file alone is still drawn)."""
    from .engine.definition.loader import load_directory
    from .engine.errors import DefinitionError

    try:
        return list(load_directory(folder))
    except DefinitionError:
        return []


@main.command("render")
@click.argument("target", metavar="PROCESS_OR_FILE")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "svg", "html"]),
    default="mermaid",
    show_default=True,
    help="svg needs Graphviz's `dot` program; the others need nothing.",
)
@click.option(
    "-o",
    "--output",
    type=FILE,
    default=None,
    help="Write to this file instead of stdout.",
)
@click.option(
    "--diff",
    "versions",
    default=None,
    metavar="OLD..NEW",
    help="Draw what version NEW changes from OLD (mermaid or html): added/removed marked.",
)
@click.pass_obj
@guarded
def render_command(
    settings: Settings, target: str, fmt: str, output: Path | None, versions: str | None
) -> None:
    """Draw a process: a .yaml file, or a process id from the processes folder."""
    from .engine.definition.loader import load_directory, load_file
    from .engine.errors import DefinitionError, UsageError
    from .engine.render import render, render_html

    if versions is not None:
        text = _render_diff(settings, target, fmt, versions)
        if output is None:
            click.echo(text, nl=not text.endswith("\n"))
        else:
            output.write_text(text, encoding="utf-8")
            click.echo(f"wrote {output}", err=True)
        return
    path = Path(target)
    family: list[Process] = []  # the catalog it runs in: whose rules fire its triggers (html)
    try:
        if path.suffix in (".yaml", ".yml") or path.is_file():
            if not path.is_file():
                raise UsageError(f"no such file: {target}")
            process = load_file(path).process
            if fmt == "html":
                family = _folder_catalog(path.parent)
        else:
            catalog = load_directory(settings.processes)
            process = catalog.get(target)
            family = list(catalog)
    except DefinitionError as exc:
        for problem in exc.errors:
            click.echo(str(problem), err=True)
        count = len(exc.errors)
        fail(f"cannot render an invalid definition ({count} error{'s' if count > 1 else ''})")
    text = render_html(process, family) if fmt == "html" else render(process, fmt)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _render_diff(settings: Settings, target: str, fmt: str, versions: str) -> str:
    from .engine.definition.loader import load_directory
    from .engine.errors import UsageError
    from .engine.render.diff import diff_versions, render_diff_html, render_diff_mermaid

    old_text, dots, new_text = versions.partition("..")
    if not dots or not old_text.isdigit() or not new_text.isdigit():
        raise UsageError(f"--diff takes OLD..NEW versions, e.g. --diff 1..2 (got '{versions}')")
    if fmt not in ("mermaid", "html"):
        raise UsageError("--diff draws --format mermaid or html")
    catalog = load_directory(settings.processes)
    diff = diff_versions(catalog.get(target, int(old_text)), catalog.get(target, int(new_text)))
    return render_diff_mermaid(diff) if fmt == "mermaid" else render_diff_html(diff)


# --- runtime commands: start, fire, show, history, queue, outbox, verify, tick ---------------


@main.command("start")
@click.argument("process")
@DATA_OPTION
@click.option("--id", "instance_id", default=None, help="The new instance's id.")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def start_command(
    settings: Settings,
    process: str,
    data: str | None,
    instance_id: str | None,
    who: str | None,
    as_json: bool,
) -> None:
    """Start an instance of PROCESS; prints its id."""
    with opened_engine(settings) as engine:
        view = engine.start(process, parse_data(data), id=instance_id, **parse_as(who))
        warn_past_timers(view, engine.clock.now())
    say_acted_as(view, who)
    if as_json:
        emit_json(view.to_json())
    else:
        click.echo(view.id)


@main.command("fire")
@click.argument("instance")
@click.argument("trigger")
@DATA_OPTION
@AS_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def fire_command(
    settings: Settings,
    instance: str,
    trigger: str,
    data: str | None,
    who: str | None,
    as_json: bool,
) -> None:
    """Fire TRIGGER on INSTANCE."""
    payload, actor = parse_data(data), parse_as(who)
    with opened_engine(settings) as engine:
        view = engine.fire(instance, trigger, payload, **actor)
        warn_past_timers(view, engine.clock.now())
    say_acted_as(view, who)
    echo_view(view, as_json)


@main.command("show")
@click.argument("instance")
@JSON_OPTION
@click.pass_obj
@guarded
def show_command(settings: Settings, instance: str, as_json: bool) -> None:
    """Show an instance: state, status, data, the triggers allowed now, pending timers."""
    with opened_engine(settings) as engine:
        echo_view(engine.show(instance), as_json)
        if not as_json:
            note_open_mode(engine)


@main.command("history")
@click.argument("instance")
@JSON_OPTION
@click.pass_obj
@guarded
def history_command(settings: Settings, instance: str, as_json: bool) -> None:
    """The instance's history, oldest first."""
    from .engine.runtime.text import event_line
    from .engine.runtime.views import event_json

    with opened_engine(settings) as engine:
        events = engine.history(instance)
    if as_json:
        emit_json([event_json(e) for e in events])
        return
    for event in events:
        click.echo(event_line(event))
    note_open_mode(engine)


@main.command("queue")
@click.argument("queue", required=False)
@click.option("--mine", is_flag=True, help="Only the work assigned to the person --as names.")
@click.option("--as", "who", default=None, metavar="PERSON[:ROLE]", help="Who is asking.")
@JSON_OPTION
@click.pass_obj
@guarded
def queue_command(
    settings: Settings, queue: str | None, mine: bool, who: str | None, as_json: bool
) -> None:
    """Work ready to start, and work in progress (least recently worked on first)."""
    from .engine.runtime.text import queue_lines

    person = parse_person(who, "queue --mine")["actor"] if mine else None
    with opened_engine(settings) as engine:
        view = engine.queue(queue, mine=person)
    if as_json:
        emit_json(view.to_json())
        return
    for line in queue_lines(view):
        click.echo(line)


@main.command("claim")
@click.argument("instance")
@AS_PERSON_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def claim_command(settings: Settings, instance: str, who: str | None, as_json: bool) -> None:
    """Take INSTANCE's work: you become its assignee (you must hold the role owning it)."""
    actor = parse_person(who, f"claim {instance}")
    with opened_engine(settings) as engine:
        echo_view(engine.claim(instance, **actor), as_json)


@main.command("assign")
@click.argument("instance")
@click.argument("person")
@AS_PERSON_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def assign_command(
    settings: Settings, instance: str, person: str, who: str | None, as_json: bool
) -> None:
    """Give INSTANCE's work to PERSON (a lead: the process's manager role, e.g. ops_lead)."""
    actor = parse_person(who, f"assign {instance} {person}")
    with opened_engine(settings) as engine:
        echo_view(engine.assign(instance, person, **actor), as_json)


@main.command("release")
@click.argument("instance")
@AS_PERSON_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def release_command(settings: Settings, instance: str, who: str | None, as_json: bool) -> None:
    """Give INSTANCE's work back to its queue (its assignee, or a lead)."""
    actor = parse_person(who, f"release {instance}")
    with opened_engine(settings) as engine:
        echo_view(engine.release(instance, **actor), as_json)


@main.command("outbox")
@click.option("--status", default=None, help="Only messages with this status.")
@click.option(
    "--deliver",
    is_flag=True,
    help="Send the messages due first (SMTP when FULFIL_SMTP_HOST is set, else stdout or "
    "FULFIL_OUTBOX_FILE).",
)
@JSON_OPTION
@click.pass_obj
@guarded
def outbox_command(settings: Settings, status: str | None, deliver: bool, as_json: bool) -> None:
    """Messages the processes have queued, oldest first, with status, attempts and error."""
    from .engine.messages.adapters import adapter_from_env
    from .engine.runtime.text import outbox_line
    from .engine.runtime.views import outbox_json
    from .engine.worker.loop import delivered_line

    with opened_engine(settings) as engine:
        if deliver:
            # without SMTP or FULFIL_OUTBOX_FILE the messages are printed; to stderr with --json,
            # so that stdout stays one JSON document
            printed = sys.stderr if as_json else None
            for message in engine.deliver(adapter_from_env(stream=printed, clock=engine.clock)):
                click.echo(delivered_line(message), err=as_json)
        messages = engine.outbox(status)
    if as_json:
        emit_json([outbox_json(m) for m in messages])
        return
    for message in messages:
        click.echo(outbox_line(message))


@main.command("verify")
@click.argument("instance", required=False)
@click.option("--all", "whole", is_flag=True, help="The whole store (the default without ID).")
@click.option(
    "--full",
    is_flag=True,
    help="Read and check every event and replay every instance, trusting no verify mark "
    "(run it on a schedule, after a restore or an upgrade).",
)
@click.option(
    "--export-checkpoint",
    "export_to",
    type=FILE,
    default=None,
    help="Verify the store, then write a signed checkpoint of its heads to FILE.",
)
@click.option(
    "--against",
    type=FILE,
    default=None,
    help="Also compare the store with a checkpoint FILE: deleted instances, cut histories.",
)
@JSON_OPTION
@click.pass_obj
@guarded
def verify_command(
    settings: Settings,
    instance: str | None,
    whole: bool,
    full: bool,
    export_to: Path | None,
    against: Path | None,
    as_json: bool,
) -> None:
    """Check sealed history chains and replay instances; exit 1 on any mismatch.

    Without ID (or with --all) the whole store: every instance, the store-wide event sequence
    and histories without an instance. After a verify that passed, only what changed since is
    read: instances changed since their verify mark are checked whole (seals, links, replay),
    every row and mark is compared, and the events are counted; an event edited before its
    mark (it cannot be sealed again without the key) is found by --full, which reads and
    checks everything. The audit key comes from FULFIL_AUDIT_KEY or --audit-key-file; without
    one the chain is checked unkeyed (see docs/audit.md).
    """
    from .engine.audit import checkpoint
    from .engine.errors import UsageError
    from .engine.runtime.text import checkpoint_line, verify_lines

    if instance and (whole or full or export_to or against):
        raise UsageError(
            "give an instance ID or --all/--full/--export-checkpoint/--against, not both"
        )
    body = None
    if against is not None:
        body = checkpoint.read(_read_text(against), str(against))
    with opened_engine(settings) as engine:
        report = engine.verify(instance, full=full)
        if body is not None:
            found = checkpoint.compare(engine.store, engine.audit_keys, body, str(against))
            report = replace(report, problems=report.problems + tuple(found))
        if export_to is not None and report.ok:
            written = checkpoint.export(engine.store, engine.audit_keys, engine.clock.now())
            export_to.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    if as_json:
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            click.echo(str(problem), err=True)
        for line in verify_lines(report):
            click.echo(line)
    if export_to is not None:
        if not report.ok:
            fail(f"no checkpoint written to {export_to}: the store does not verify")
        click.echo(checkpoint_line(export_to, written), err=as_json)
    if not report.ok:
        sys.exit(1)


def _read_text(path: Path) -> str:
    from .engine.errors import UsageError

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


TICK_BATCH_HELP = (
    "Due timers of different instances fired in one transaction, one commit for all "
    "(each undone alone if it fails); 1: one transaction per timer.  [default: 20]"
)


@main.command("tick")
@click.option("--batch", type=click.IntRange(min=1), default=None, help=TICK_BATCH_HELP)
@JSON_OPTION
@click.pass_obj
@guarded
def tick_command(settings: Settings, batch: int | None, as_json: bool) -> None:
    """Fire every timer due at the clock's now (see --now)."""
    from .engine.runtime.text import tick_lines

    with opened_engine(settings) as engine:
        if batch is not None:
            engine.tick_batch = batch
        fired = engine.tick()
    if as_json:
        emit_json([f.to_json() for f in fired])
        return
    for line in tick_lines(fired):
        click.echo(line)


@main.group("db")
def db_group() -> None:
    """The store's schema."""


@db_group.command("upgrade")
@click.pass_obj
@guarded
def db_upgrade_command(settings: Settings) -> None:
    """Create the --db store's tables, or upgrade them in place; prints the versions applied."""
    from .engine.store.migrations import upgrade_store

    click.echo(upgrade_store(settings.db).summary())


@main.command("test")
@click.argument("paths", nargs=-1, type=PATHS)
@click.option(
    "--db",
    "store",
    type=click.Choice(["memory", "sqlite"]),
    default="memory",
    show_default=True,
    help="Run each scenario on a fresh in-memory store, or a fresh temporary SQLite file. "
    "Scenarios never touch the global --db.",
)
@click.option("-k", "select", default=None, help="Only scenarios whose name contains this text.")
@click.pass_obj
@guarded
def test_command(
    settings: Settings, paths: tuple[Path, ...], store: str, select: str | None
) -> None:
    """Run YAML scenarios (default: every *.scenarios.yaml in the processes folder).

    Prints PASS/FAIL per scenario and a summary; exit 1 when a scenario fails, 2 when a file
    is malformed (FILE:LINE:COL) or its folder's definitions are invalid.
    """
    from .engine.testing import run_suite

    status = run_suite(paths or (settings.processes,), store=store, select=select, echo=click.echo)
    if status:
        sys.exit(status)


@main.command("worker")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.01),
    default=5.0,
    show_default=True,
    help="Seconds between rounds.",
)
@click.option("--once", is_flag=True, help="Run one round (tick and deliver) and exit.")
@click.option(
    "--jobs",
    "jobs_module",
    metavar="MODULE",
    default=None,
    help="Also handle jobs with the handlers this Python module registers "
    "(`@fulfil.engine.worker.worker(TYPE)`); imported from the current folder or sys.path.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus metrics on this port (/metrics).",
)
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, help="The metrics server's address."
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One log line per event: text, or JSON for log shippers.",
)
@click.option("--tick-batch", type=click.IntRange(min=1), default=None, help=TICK_BATCH_HELP)
@click.pass_obj
@guarded
def worker_command(
    settings: Settings,
    poll: float,
    once: bool,
    jobs_module: str | None,
    metrics_port: int | None,
    metrics_host: str,
    log_format: str,
    tick_batch: int | None,
) -> None:
    """Fire due timers and deliver the outbox in a loop; SIGTERM/SIGINT stop it gracefully."""
    import logging

    from .engine.commands.jobs import load_handlers
    from .engine.messages.adapters import adapter_from_env
    from .engine.worker.logs import configure_logging
    from .engine.worker.loop import Worker

    handlers = load_handlers(jobs_module) if jobs_module else None
    configure_logging(log_format)
    log = logging.getLogger("fulfil.worker")
    with opened_engine(settings) as engine:
        if tick_batch is not None:
            engine.tick_batch = tick_batch
        server = None
        if metrics_port is not None:
            from .engine.runtime.prometheus import serve_metrics

            server = serve_metrics(engine, metrics_port, metrics_host)
            log.info(f"metrics on http://{metrics_host}:{server.server_port}/metrics")
        worker = Worker(
            engine,
            adapter=adapter_from_env(clock=engine.clock),
            poll=poll,
            jobs=handlers,
            log=log,
        )
        try:
            worker.run(once=once)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()


@main.command("demo")
@click.option(
    "--report",
    type=FILE,
    default=Path("demo-report.html"),
    show_default=True,
    help="Where to write the auditor HTML report of every process.",
)
@click.option(
    "--sheets",
    type=FOLDER,
    default=Path("demo-sheets"),
    show_default=True,
    help="Where the processes write their CSV sheets (its old CSV files are removed).",
)
@click.pass_obj
@guarded
def demo_command(settings: Settings, report: Path, sheets: Path) -> None:
    """Run each of the eight processes through its main scenario and summarise.

    The demo owns its database: it DELETES and recreates the SQLite file of --db (demo.db
    unless --db is given; it refuses a file holding instances it did not start). Exit 0 only
    when every process ran through its scenario.
    """
    from .engine.testing.demo import demo_lines, run_demo

    db = settings.db if "db" in settings.given else "sqlite:///demo.db"
    result = run_demo(settings.processes, db=db, report=report, sheets_dir=sheets)
    for line in demo_lines(result):
        click.echo(line)
    if not result.ok:
        sys.exit(1)


@main.command("check")
@click.argument("target", metavar="PROCESS_OR_FILE")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=None,
    help="How many events after the start to explore. Default: chosen from the process, from 8 "
    "up while some transition or timer has not fired (at most 16); the output says which.",
)
@click.option(
    "--timing", "with_timing", is_flag=True, help="Also print the timing (timer-only, and paced)."
)
@click.option(
    "--from",
    "origins",
    multiple=True,
    metavar="STATE",
    help="Measure the timing from this state (repeatable; implies --timing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_obj
@guarded
def check_command(
    settings: Settings,
    target: str,
    depth: int | None,
    with_timing: bool,
    origins: tuple[str, ...],
    as_json: bool,
) -> None:
    """Model-check a process: stuck instances, overlapping guards, silent transitions, timers.

    Exit 0 when nothing is found (the timing report alone never fails), 1 when something is.
    """
    from .engine.checking import explore, paced, timing
    from .engine.definition.loader import load_directory, load_file
    from .engine.errors import DefinitionError, UsageError

    path = Path(target)
    try:
        if path.suffix in (".yaml", ".yml") or path.is_file():
            if not path.is_file():
                raise UsageError(f"no such file: {target}")
            process = load_file(path).process
        else:
            process = load_directory(settings.processes).get(target)
    except DefinitionError as exc:
        for problem in exc.errors:
            click.echo(str(problem), err=True)
        count = len(exc.errors)
        fail(f"cannot check an invalid definition ({count} error{'s' if count > 1 else ''})")
    unknown = [o for o in origins if process.find_state(o) is None]
    if unknown:
        states = ", ".join(st.name for st in process.states)
        raise UsageError(f"no state '{unknown[0]}' in {process.id}; its states: {states}")
    report = explore(process, depth=depth)
    wanted = with_timing or bool(origins)
    times = timing(process, start=origins or None) if wanted else None
    pace = paced(process, start=origins or None) if wanted else None
    if as_json:
        out = report.to_json()
        if times is not None and pace is not None:
            out["timing"] = {**times.to_json(), "paced": pace.to_json()}
        emit_json(out)
    else:
        for line in report.lines():
            click.echo(line)
        for line in times.lines() if times is not None else []:
            click.echo(line)
        for line in pace.lines() if pace is not None else []:
            click.echo(line)
    if not report.ok:
        sys.exit(1)


# the commands of engine/commands/, each module imported only when one of its commands runs
for _name, _module, _attribute in (
    ("schema", "schema", "schema_command"),
    ("lsp", "lsp", "lsp_command"),
    ("jobs", "jobs", "jobs_command"),
    ("people", "people", "people_group"),
    ("serve", "serve", "serve_command"),
    ("list", "ops", "list_command"),
    ("cancel", "ops", "cancel_command"),
    ("set", "ops", "set_command"),
    ("move", "ops", "move_command"),
    ("retry-message", "ops", "retry_message_command"),
    ("drop-message", "ops", "drop_message_command"),
    ("stats", "ops", "stats_command"),
    ("migrate", "ops", "migrate_command"),
):
    main.add_lazy_command(_name, _module, _attribute)

if __name__ == "__main__":
    main()
