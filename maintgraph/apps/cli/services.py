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
    """Show the effective settings (secrets redacted), where each can be set, and the settings file read.

    Settings come from the environment and the file MAINTGRAPH_CONFIG_FILE names, never from the
    working directory. With --json the file is the key "config_file" beside the settings.
    """
    from maintgraph.config import config_file, describe_config_file

    view = get_settings().public_view()
    if as_json:
        path = config_file()
        out.print_json(json.dumps({"config_file": str(path) if path else None, **view}))
        return
    out.print(f"settings file: {describe_config_file()}", highlight=False, soft_wrap=True)
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
