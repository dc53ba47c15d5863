"""``maintgraph up | down | status | config`` and ``maintgraph db``: the services and their settings."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from maintgraph.apps.cli.common import (
    EXIT_NOT_RUNNING,
    JsonOption,
    friendly_errors,
    get_settings,
    out,
    print_status,
    sub_app,
)

db_app = sub_app("Database schema migrations.")


@friendly_errors
def up(
    as_json: JsonOption = False,
    llm: Annotated[bool, typer.Option("--llm/--no-llm", help="Also start the embedded vLLM model server.")] = True,
) -> None:
    """Start the embedded services (Postgres + pgvector, FalkorDB, vLLM), apply migrations, check external ones.

    Idempotent: services already running are left as they are. The model server is external
    when MAINTGRAPH_LLM_BASE_URL is set.
    """
    from maintgraph.services import Services

    print_status(Services(get_settings()).up(llm=llm), as_json)


@friendly_errors
def down(as_json: JsonOption = False) -> None:
    """Stop the embedded services. External services are never touched."""
    from maintgraph.services import Services

    print_status(Services(get_settings()).down(), as_json)


@friendly_errors
def status(as_json: JsonOption = False) -> None:
    """Show each service: embedded or external, state, version and where it listens.

    Exits 0 when every service is running, 3 otherwise.
    """
    from maintgraph.services import Services

    rows = Services(get_settings()).status()
    print_status(rows, as_json)
    if not all(row.ok for row in rows):
        raise typer.Exit(EXIT_NOT_RUNNING)


@friendly_errors
def show_config(as_json: JsonOption = False) -> None:
    """Show the effective settings (secrets redacted) and where each can be set."""
    view = get_settings().public_view()
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
    from maintgraph.connections import pg_conninfo
    from maintgraph.migrations import current, upgrade

    conninfo = pg_conninfo(get_settings())
    upgrade(conninfo, revision)
    out.print(f"database at revision {current(conninfo)}")


@db_app.command("current")
@friendly_errors
def db_current() -> None:
    """Show the database's migration revision and the newest one shipped."""
    from maintgraph.connections import pg_conninfo
    from maintgraph.migrations import current, head

    conninfo = pg_conninfo(get_settings())
    out.print(f"database: {current(conninfo) or '(none)'}   newest: {head()}")
