"""What every command of the CLI shares: the consoles, the settings, error handling, the
options several sub-apps take, and the one way to open (and close) a store."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from maintgraph.config import Settings, load_settings
from maintgraph.errors import MaintgraphError
from maintgraph.logs import setup_logging

if TYPE_CHECKING:
    from maintgraph.graph.base import GraphStore

EXIT_NOT_RUNNING = 3  # like `systemctl status`: a service is not running

# Piped or logged output gets 120 columns: rich's default of 80 folds work-order tables into slivers.
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NoModel = Annotated[bool, typer.Option("--no-model", help="Answer with the cited evidence only (no model server).")]
AdapterOption = Annotated[str | None, typer.Option("--adapter", help="Answer with this registered LoRA adapter.")]
ReportDir = Annotated[Path | None, typer.Option("--out", help="Folder for the reports (default: DATA_DIR/reports).")]


def sub_app(help: str) -> typer.Typer:
    """A sub-command group: shows its help when called bare."""
    return typer.Typer(help=help, no_args_is_help=True)


def get_settings() -> Settings:
    """The effective settings, with logging set up as they say."""
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


def print_status(rows: list, as_json: bool) -> None:
    """Service status rows (``maintgraph.services.ServiceStatus``) as a table or JSON."""
    if as_json:
        out.print_json(json.dumps([row.__dict__ | {"ok": row.ok} for row in rows]))
        return
    table = Table(header_style="bold")
    for column in ("service", "mode", "state", "version", "where", "detail"):
        table.add_column(column, overflow="fold")  # full socket paths and URLs, even in an 80-column log
    colours = {"running": "green", "stopped": "yellow", "unreachable": "red"}
    for row in rows:
        table.add_row(row.name, row.mode, f"[{colours[row.state]}]{row.state}[/]", row.version or "-", row.where,
                      row.detail)  # fmt: skip
    out.print(table)


def from_options(model: Callable[..., M], renamed: dict[str, str] | None = None, **values: Any) -> M:
    """Build ``model`` from command-line values; a bad value is a ConfigError naming its option."""
    from pydantic import ValidationError

    from maintgraph.errors import ConfigError

    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        option = (renamed or {}).get(field, "--" + field.replace("_", "-"))
        raise ConfigError(f"{option}: {first['msg']}") from None


# -- the stores ------------------------------------------------------------------------------------


class Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closable)


@contextmanager
def opened(factory: Callable[[str, int], S], settings: Settings | None = None) -> Iterator[S]:
    """A store on the product's Postgres (``DocumentStore``, ``TraceStore``, ``EvalStore``,
    ``KeyStore``, ``AuditLog``: each takes a conninfo and a connect timeout), closed after."""
    from maintgraph.connections import pg_conninfo

    settings = settings or get_settings()
    store = factory(pg_conninfo(settings), settings.connect_timeout_s)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def graph_store(settings: Settings | None = None) -> Iterator[GraphStore]:
    """The knowledge graph (its schema ensured), closed after."""
    from maintgraph.graph.store import open_graph_store

    with open_graph_store(settings or get_settings()) as store:
        store.ensure_schema()
        yield store


def audit(settings: Settings, decisions: dict[str | None, list[dict[str, Any]]], origin: str = "cli") -> bool:
    """Record guard decisions (per source or other reference) in the audit log when its Postgres
    is reachable; the work they describe is done either way, so a failure is a warning."""
    import psycopg

    from maintgraph.guardrails.audit import AuditLog

    if not any(decisions.values()):
        return True
    try:
        with opened(AuditLog, settings) as log:
            try:
                for ref, fired in decisions.items():
                    log.record(fired, origin=origin, ref=ref)
            except psycopg.Error as exc:
                err.print(f"[yellow]not audited:[/yellow] guard audit log: {exc}", highlight=False)
                return False
    except MaintgraphError as exc:
        err.print(f"[yellow]not audited:[/yellow] {exc}", highlight=False)
        return False
    return True
