"""The global options of `fulfil`, accepted before or after a command's name, and its help.

`--db`, `--processes`, `--now`, `--sheets`, `--audit-key-file` and `--people` (each with its
environment variable) are read by the group (`fulfil --db URL show ID`: command line, then
environment, then default) and every command carries a copy that overrides the group's value
when given on its own command line (`fulfil show ID --db URL`). A command with an option of the
same name keeps its own (`fulfil test --db memory|sqlite`, `fulfil demo --sheets DIR`).

`-h` works like `--help`; every command's help ends with an example (`EXAMPLES`), and the
group's help lists the environment variables. A new global option is one more `GlobalOption`
in `GLOBAL_OPTIONS` and a property on `Settings`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import click
from click.core import ParameterSource

__all__ = [
    "EXAMPLES",
    "FILE",
    "FOLDER",
    "GLOBAL_OPTIONS",
    "PATHS",
    "FulfilGroup",
    "GlobalOption",
    "Settings",
    "global_options",
    "pipe_closed",
    "shipped_processes",
]

HELP_OPTIONS = ["-h", "--help"]
ROOT = "fulfil"  # the name of the top group: its commands' paths are their own names

# The kinds of path the commands take, each made once and shared: click names each kind
# through gettext when it is made, and gettext looks on disk for a catalogue every time.
PATHS = click.Path(path_type=Path)
FILE = click.Path(dir_okay=False, path_type=Path)
FOLDER = click.Path(file_okay=False, path_type=Path)


class GlobalOption(NamedTuple):
    """One option every command accepts: `--NAME` (`_` written `-`), the `Settings` value NAME."""

    name: str
    envvar: str
    default: str | None
    metavar: str
    help: str

    @property
    def flag(self) -> str:
        return f"--{self.name.replace('_', '-')}"


GLOBAL_OPTIONS = (
    GlobalOption(
        "db",
        "FULFIL_DB",
        "sqlite:///fulfil.db",
        "URL",
        "Store URL: sqlite:///FILE, memory://, or postgresql://USER@HOST/DB.",
    ),
    GlobalOption(
        "processes",
        "FULFIL_PROCESSES",
        "./processes",
        "DIR",
        "Folder of process definitions; without it and without ./processes, the processes "
        "shipped with fulfil.",
    ),
    GlobalOption(
        "now",
        "FULFIL_NOW",
        None,
        "ISO-8601",
        "The clock's time, for scenarios and back-filling (default: the system clock).",
    ),
    GlobalOption(
        "sheets",
        "FULFIL_SHEETS",
        "./sheets",
        "DIR",
        "Folder of the CSV sheets that `sheet` actions append rows to.",
    ),
    GlobalOption(
        "audit_key_file",
        "FULFIL_AUDIT_KEY_FILE",
        None,
        "FILE",
        "File of audit keys, `ID SECRET` per line, the first seals (instead of "
        "FULFIL_AUDIT_KEY=ID:SECRET,...); see docs/audit.md.",
    ),
    GlobalOption(
        "people",
        "FULFIL_PEOPLE",
        None,
        "FILE",
        "The people directory (default: people.yaml in the processes folder; without one, "
        "identities are not verified).",
    ),
)


# The commands about the definitions themselves say when they use the shipped ones; the
# runtime commands (start, fire, show, ...) do so silently, their output being data.
NOTED = frozenset({"validate", "render", "check", "test", "demo"})


def shipped_processes() -> Path:
    """The processes folder installed with fulfil (the repository's `processes/`)."""
    return Path(__file__).resolve().parents[2] / "processes"


class Settings:
    """The global options' values for one command, wherever on the command line they came."""

    def __init__(self, **values: str | None) -> None:
        self.values: dict[str, str | None] = {o.name: o.default for o in GLOBAL_OPTIONS}
        self.values.update(values)
        # the names set on a command line or in the environment (not left at their default)
        self.given: set[str] = set(values)
        self._folder: Path | None = None

    def set(self, name: str, value: str | None, *, given: bool = True) -> None:
        self.values[name] = value
        if given:
            self.given.add(name)
        else:
            self.given.discard(name)
        self._folder = None

    @property
    def db(self) -> str:
        return str(self.values["db"])

    @property
    def now(self) -> str | None:
        return self.values["now"]

    @property
    def sheets(self) -> Path:
        return Path(str(self.values["sheets"]))

    def audit_keys(self) -> Any:
        """The audit keys of FULFIL_AUDIT_KEY or --audit-key-file (none: unkeyed)."""
        from ..audit import keys_from

        path = self.values.get("audit_key_file")
        return keys_from(os.environ.get("FULFIL_AUDIT_KEY"), Path(path) if path else None)

    @property
    def people(self) -> str | None:
        """The people file named (`--people`, `FULFIL_PEOPLE`); None: the processes folder's."""
        return self.values["people"]

    @property
    def processes(self) -> Path:
        """The processes folder; the shipped one when the default is asked for and there is
        no `./processes` here (said on stderr by the commands of `NOTED`)."""
        if self._folder is None:
            folder = Path(str(self.values["processes"]))
            if "processes" not in self.given and not folder.exists():
                folder = shipped_processes()
                ctx = click.get_current_context(silent=True)
                if ctx is not None and ctx.info_name in NOTED:
                    click.echo(
                        f"note: no {self.values['processes']} folder here, so the processes "
                        f"shipped with fulfil are used ({folder}); give --processes DIR or set "
                        "FULFIL_PROCESSES to use your own",
                        err=True,
                    )
            self._folder = folder
        return self._folder


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) in (
        ParameterSource.COMMANDLINE,
        ParameterSource.ENVIRONMENT,
    )


def global_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate the group's callback: it receives the global options as keyword arguments."""
    for option in reversed(GLOBAL_OPTIONS):
        func = click.option(
            option.flag,
            option.name,
            envvar=option.envvar,
            default=option.default,
            show_default=option.default is not None,
            show_envvar=True,
            metavar=option.metavar,
            help=option.help,
        )(func)
    return func


def settings_from(ctx: click.Context, values: dict[str, str | None]) -> Settings:
    """The group's `Settings`: its options' values, remembering which were given."""
    settings = Settings()
    for name, value in values.items():
        settings.set(name, value, given=_given(ctx, name))
    return settings


def _override(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A command's copy of a global option: its value, when given on the command line, wins."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or ctx.get_parameter_source(param.name or name) not in (
            ParameterSource.COMMANDLINE,
        ):
            return
        settings = ctx.find_object(Settings)
        if settings is not None:
            settings.set(name, value)

    return callback


def _add_global_copies(command: click.Command) -> None:
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    for option in GLOBAL_OPTIONS:
        if option.flag in taken:
            continue
        command.params.append(
            click.Option(
                [option.flag, f"_global_{option.name}"],
                envvar=option.envvar,
                show_envvar=True,
                default=None,
                metavar=option.metavar,
                help=option.help
                + (f"  [default: {option.default}]" if option.default is not None else ""),
                expose_value=False,
                callback=_override(option.name),
            )
        )


class FulfilGroup(click.Group):
    """A group whose commands take the global options too, `-h`, and an example in their help.

    A command may be added by the module of `engine.commands` defining it
    (`add_lazy_command`): the module is imported when the command is asked for (run, or listed
    in the help), so a command pays only for the modules it uses.
    """

    group_class = type  # `@group.group(...)` makes a FulfilGroup as well

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = kwargs.setdefault("context_settings", {})
        settings.setdefault("help_option_names", HELP_OPTIONS)
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = {}  # name -> (module, attribute)

    def add_lazy_command(self, name: str, module: str, attribute: str) -> None:
        """Add the command `attribute` of `engine.commands.<module>` under `name`, importing
        the module only when the command is asked for."""
        self.lazy[name] = (module, attribute)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attribute = self.lazy.pop(cmd_name)
            command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _add_global_copies(cmd)
        command = name or cmd.name or ""
        example = EXAMPLES.get(command if self.name == ROOT else f"{self.name} {command}")
        if example and not cmd.epilog:
            cmd.epilog = "\b\nExample:\n" + "\n".join(f"  {line}" for line in example)
        super().add_command(cmd, name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the CLI; a reader that went away (`fulfil history ID | head`) ends it quietly."""
        try:
            return super().main(*args, **kwargs)
        finally:
            _flush_or_quit()


def _flush_or_quit() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pipe_closed()


def pipe_closed() -> NoReturn:
    """End the way a Unix tool killed by SIGPIPE does (exit 141), with no message.

    What is still buffered for stdout goes to /dev/null, so the interpreter's last flush does not
    fail again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # not a real file (a test runner's buffer): nothing to redirect
    sys.exit(141)


ENVIRONMENT = """\b
Environment:
  FULFIL_DB, FULFIL_PROCESSES, FULFIL_NOW, FULFIL_SHEETS, FULFIL_AUDIT_KEY_FILE,
  FULFIL_PEOPLE
                        the global options above (an option given wins)
  FULFIL_AUDIT_KEY      audit keys as ID:SECRET,... (the first seals history events,
                        all verify); without keys the history chain is unkeyed SHA-256
  FULFIL_SMTP_HOST, FULFIL_SMTP_PORT, FULFIL_SMTP_USER, FULFIL_SMTP_PASSWORD,
  FULFIL_SMTP_FROM, FULFIL_SMTP_STARTTLS, FULFIL_SMTP_SSL, FULFIL_SMTP_TIMEOUT
                        send outbox email over SMTP (`worker`, `outbox --deliver`)
  FULFIL_OUTBOX_FILE    without SMTP: append delivered messages to this file as JSON
                        lines (else they are printed)
  FULFIL_SESSION_SECRET signs the workbench's session cookies (`serve`; random per
                        start when unset); FULFIL_PASSWORD: `people set-password`

\b
Global options go before or after the command: `fulfil --db URL show ID` and
`fulfil show ID --db URL` are the same. `fulfil COMMAND -h` shows a command's help.

\b
Example:
  export FULFIL_DB=sqlite:///ops.db
  fulfil validate
  id=$(fulfil start facebook_access --as alex --data '{...}')
  fulfil show "$id"
"""

# The example ending each command's help, by command path ("db upgrade" for a subcommand).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "validate": ("fulfil validate processes/facebook_access.yaml",),
    "render": ("fulfil render facebook_access --format html -o facebook_access.html",),
    "start": (
        "fulfil start facebook_access --as alex \\",
        '  --data \'{"client": "Acme", "client_email": "owner@acme.example", '
        '"fr_number": "FR-1"}\'',
    ),
    "fire": (
        "fulfil fire facebook_access-1 log_call --as sam \\",
        '  --data \'{"outcome": "no_answer"}\'',
    ),
    "show": ("fulfil show facebook_access-1 --json",),
    "history": ("fulfil history facebook_access-1 --json",),
    "queue": ("fulfil queue digms_ops", "fulfil queue digms_ops --mine --as sam --json"),
    "claim": ("fulfil claim facebook_access-1 --as sam",),
    "assign": ("fulfil assign facebook_access-1 nina --as lee",),
    "release": ("fulfil release facebook_access-1 --as nina",),
    "outbox": ("fulfil outbox --status pending",),
    "verify": (
        "FULFIL_AUDIT_KEY=k1:SECRET fulfil verify --all",
        "fulfil verify --export-checkpoint march.json; fulfil verify --against march.json",
    ),
    "tick": ("fulfil tick --now 2026-01-12T09:00:00Z",),
    "db": ("fulfil db upgrade --db postgresql://fulfil@db.internal:5432/ops",),
    "db upgrade": ("fulfil db upgrade --db postgresql://fulfil@db.internal:5432/ops",),
    "test": ("fulfil test processes/facebook_access.scenarios.yaml -k escalation",),
    "worker": (
        "FULFIL_SMTP_HOST=mail.internal fulfil worker --poll 10",
        "fulfil worker --jobs crm_jobs   # the handlers ./crm_jobs.py registers",
    ),
    "jobs": ("fulfil jobs --state incident", "fulfil jobs --type crm.create_task --json"),
    "demo": ("fulfil demo --db sqlite:///demo.db --report demo-report.html",),
    "check": ("fulfil check facebook_access --depth 10 --timing",),
    "schema": ("fulfil schema process -o .fulfil/process.schema.json",),
    "serve": ("FULFIL_SESSION_SECRET=... fulfil serve --port 8000",),
    "people": ("FULFIL_PASSWORD='a long passphrase' fulfil people set-password sam",),
    "people set-password": ("FULFIL_PASSWORD='a long passphrase' fulfil people set-password sam",),
    "people token": ("fulfil people token sam",),
    "people revoke-tokens": ("fulfil people revoke-tokens sam",),
    "list": (
        "fulfil list --process facebook_access --open --where 'client == \"Acme Motors\"'",
        "fulfil list --status 'On Hold' --changed-after 2026-01-01 --json",
    ),
    "cancel": (
        'fulfil cancel facebook_access-1 --as lee --reason "duplicate of facebook_access-2"',
        "fulfil cancel --process facebook_access --where 'attempt >= 3' --as lee \\",
        '  --reason "no response" --dry-run',
    ),
    "set": (
        'fulfil set facebook_access-1 --data \'{"client_email": "ops@acme.example"}\' \\',
        '  --as lee --reason "typo in the address"',
    ),
    "move": ('fulfil move facebook_access-1 in_progress --as lee --reason "began by phone"',),
    "retry-message": ('fulfil retry-message 7 --as lee --reason "address fixed"',),
    "drop-message": ('fulfil drop-message 7 --as lee --reason "client left"',),
    "stats": ("fulfil stats facebook_access --json",),
    "migrate": (
        "fulfil migrate facebook_access --to 2 --map escalated=in_progress --dry-run",
        "fulfil migrate facebook_access --to 2 --as morgan --reason 'guard fix'",
    ),
}
