"""The ``maintgraph`` command line: a thin Typer face over the library.

Every failure the user can act on is a :class:`maintgraph.errors.MaintgraphError`; it is
printed as one line on stderr and the command exits non-zero. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

import maintgraph
from maintgraph.config import Settings, load_settings
from maintgraph.errors import MaintgraphError
from maintgraph.logs import setup_logging

EXIT_NOT_RUNNING = 3  # like `systemctl status`: a service is not running

app = typer.Typer(
    name="maintgraph",
    help="maintgraph: an agentic GraphRAG assistant for industrial maintenance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _settings() -> Settings:
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    return settings


def friendly_errors(command: F) -> F:
    """Turn a MaintgraphError into one red line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MaintgraphError as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"maintgraph {maintgraph.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """maintgraph: an agentic GraphRAG assistant for industrial maintenance."""


def _print_status(rows: list, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps([row.__dict__ | {"ok": row.ok} for row in rows]))
        return
    table = Table(header_style="bold")
    for column in ("service", "mode", "state", "version", "where", "detail"):
        table.add_column(column, overflow="fold")  # full socket paths and URLs, even in an 80-column log
    colours = {"running": "green", "stopped": "yellow", "unreachable": "red"}
    for row in rows:
        table.add_row(
            row.name,
            row.mode,
            f"[{colours[row.state]}]{row.state}[/]",
            row.version or "-",
            row.where,
            row.detail,
        )
    out.print(table)


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.command()
@friendly_errors
def up(as_json: JsonOption = False) -> None:
    """Start the embedded services (Postgres + pgvector, FalkorDB), apply migrations, check external ones.

    Idempotent: services already running are left as they are.
    """
    from maintgraph.services import Services

    rows = Services(_settings()).up()
    _print_status(rows, as_json)


@app.command()
@friendly_errors
def down(as_json: JsonOption = False) -> None:
    """Stop the embedded services. External services are never touched."""
    from maintgraph.services import Services

    rows = Services(_settings()).down()
    _print_status(rows, as_json)


@app.command()
@friendly_errors
def status(as_json: JsonOption = False) -> None:
    """Show each service: embedded or external, state, version and where it listens.

    Exits 0 when every service is running, 3 otherwise.
    """
    from maintgraph.services import Services

    rows = Services(_settings()).status()
    _print_status(rows, as_json)
    if not all(row.ok for row in rows):
        raise typer.Exit(EXIT_NOT_RUNNING)


@app.command("config")
@friendly_errors
def show_config(as_json: JsonOption = False) -> None:
    """Show the effective settings (secrets redacted) and where each can be set."""
    view = _settings().public_view()
    if as_json:
        out.print_json(json.dumps(view))
        return
    table = Table("setting", "env var", "value", header_style="bold")
    for name, value in view.items():
        table.add_row(name, f"MAINTGRAPH_{name.upper()}", "-" if value is None else str(value))
    out.print(table)


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply database migrations up to REVISION (default: the newest)."""
    from maintgraph.migrations import current, upgrade
    from maintgraph.services import Services

    conninfo = Services(_settings()).pg_conninfo()
    upgrade(conninfo, revision)
    out.print(f"database at revision {current(conninfo)}")


@db_app.command("current")
@friendly_errors
def db_current() -> None:
    """Show the database's migration revision and the newest one shipped."""
    from maintgraph.migrations import current, head
    from maintgraph.services import Services

    conninfo = Services(_settings()).pg_conninfo()
    out.print(f"database: {current(conninfo) or '(none)'}   newest: {head()}")


def run() -> None:
    """Console-script entry point."""
    sys.exit(app())
