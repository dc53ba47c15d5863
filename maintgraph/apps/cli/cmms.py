"""``maintgraph cmms``: import CMMS exports, asset histories, work orders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from maintgraph.apps.cli.common import JsonOption, err, friendly_errors, from_options, get_settings, out, sub_app

if TYPE_CHECKING:
    from maintgraph.tools.cmms_tools import CMMSTools

app = sub_app("The CMMS: import exports, work orders, asset history.")
wo_app = sub_app("Work orders.")
app.add_typer(wo_app, name="wo")


@contextmanager
def _tools() -> Iterator[CMMSTools]:
    """The agent's CMMS tools on the configured CMMS, closed after."""
    from maintgraph.tools.cmms_tools import Approvals, CMMSTools, open_backend

    settings = get_settings()
    backend = open_backend(settings)
    try:
        yield CMMSTools(backend, Approvals.for_data_dir(settings.data_dir))
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()


def _work_order_table(rows: list[dict[str, Any]]) -> Table:
    # The number is what a technician copies: never wrapped.
    table = Table(Column("number", no_wrap=True), "asset", "type", "status", "prio", "code",
                  Column("reported", no_wrap=True), Column("finished", no_wrap=True), Column("description", ratio=1),
                  header_style="bold")  # fmt: skip
    for row in rows:
        table.add_row(row["number"], row["asset"], row["type"], row["status"], str(row["priority"] or "-"),
                      row["failure_code"] or "-", row["reported"] or "-", row["finished"] or "-",
                      escape(row["description"]))  # fmt: skip
    return table


@app.command("import")
@friendly_errors
def cmms_import(
    path: Annotated[
        Path, typer.Argument(help="The export: a folder (assetopsbench, plant) or a sheet (maintkg, mapped).")
    ],
    export_format: Annotated[
        str | None,
        typer.Option("--format", help="assetopsbench, maintkg or plant; a sheet with a mapping needs none."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="A work_orders mapping from `graph map` for an export with its own columns (default: "
            "FILE.mapping.yaml beside the sheet when --format is not given)."
        ),
    ] = None,
) -> None:
    """Import a CMMS export into the product's CMMS tables; rejected rows are listed with the reason."""
    import psycopg
    from psycopg.rows import dict_row

    from maintgraph.connections import pg_conninfo
    from maintgraph.errors import LoadError
    from maintgraph.graph.loaders.mapping import mapping_beside, read_mapping
    from maintgraph.tools.cmms_import import import_cmms

    if mapping is None and export_format is None and path.is_file():
        mapping = mapping_beside(path)
    if mapping is None and export_format is None:
        raise LoadError(str(path), [f"{path}: name the export's --format, or give a column mapping with --mapping "
                                    "(write one with `maintgraph graph map FILE`)"])  # fmt: skip
    sheet_mapping = read_mapping(mapping) if mapping else None
    with psycopg.connect(pg_conninfo(get_settings()), row_factory=dict_row) as conn:
        report = import_cmms(conn, path, export_format or "mapped", sheet_mapping)
    out.print(", ".join(f"{n} {what.replace('_', ' ')}" for what, n in report.counts.items()) + f" from {path}")
    for line in report.rejected:
        err.print(f"[yellow]rejected:[/yellow] {escape(line)}", highlight=False)


@app.command("asset")
@friendly_errors
def cmms_asset(tag: Annotated[str, typer.Argument(help="Asset tag, e.g. P-101.")], as_json: JsonOption = False) -> None:
    """An asset's history: work orders by type, MTBF, MTTR, top failure codes, PM plans, open work."""
    from maintgraph.tools.cmms_tools import AssetArgument

    with _tools() as tools:
        history = tools.asset_history(AssetArgument(asset_tag=tag))
        plans = tools.pm_status(AssetArgument(asset_tag=tag))
    if as_json:
        out.print_json(json.dumps({"history": history, "pm_plans": plans}, default=str))
        return
    asset = history["asset"]
    out.print(f"[bold]{asset['tag']}[/bold] {escape(asset['name'])} (class {asset['class_code']}, "
              f"criticality {asset['criticality'] or '-'}, {asset['status']})")  # fmt: skip
    out.print(f"{history['work_orders']} work orders {history['by_type']}; {history['corrective_failures']} "
              f"corrective: MTBF {history['mtbf_days'] or '-'} days, "
              f"MTTR {history['mttr_hours'] or '-'} h")  # fmt: skip
    out.print("top failure codes: " + (", ".join(f"{c['code']} x{c['count']}" for c in history["top_failure_codes"])
                                       or "none"))  # fmt: skip
    for plan in plans:
        last, due = (plan[k][:10] if plan[k] else "-" for k in ("last_done_at", "next_due_at"))
        out.print(f"PM {plan['id'][3:]}: {escape(plan['description'])}; last {last}, next due {due}"
                  f"{' [red]OVERDUE[/red]' if plan['overdue'] else ''}")  # fmt: skip
    out.print(_work_order_table(history["latest"]))


@wo_app.command("list")
@friendly_errors
def wo_list(
    asset: Annotated[str | None, typer.Option(help="Asset tag.")] = None,
    wo_type: Annotated[str | None, typer.Option("--type", help="CM, PM, EM, PdM, CAL or INSP.")] = None,
    status: Annotated[str | None, typer.Option(help="Status, e.g. INPRG.")] = None,
    code: Annotated[str | None, typer.Option(help="Failure code (a primary code includes its secondaries).")] = None,
    text: Annotated[str | None, typer.Option(help="Words in the description or long text.")] = None,
    since: Annotated[str | None, typer.Option(help="Reported on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Reported before (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option(help="Most rows to show.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Search work orders, newest first."""
    from maintgraph.tools.cmms_tools import SearchWorkOrders

    args = from_options(SearchWorkOrders, {"asset_tag": "--asset", "wo_type": "--type", "failure_code": "--code",
                                           "date_from": "--since", "date_to": "--until"},
                        asset_tag=asset, wo_type=wo_type, status=status, failure_code=code, text=text,
                        date_from=since, date_to=until, limit=limit)  # fmt: skip
    with _tools() as tools:
        rows = tools.search_work_orders(args)
    if as_json:
        out.print_json(json.dumps(rows))
        return
    out.print(_work_order_table(rows))


@wo_app.command("show")
@friendly_errors
def wo_show(number: Annotated[str, typer.Argument(help="Work order number.")]) -> None:
    """One work order with its long text and the parts used."""
    with _tools() as tools:
        order = tools.backend.work_order(number)
    out.print_json(order.model_dump_json())


@wo_app.command("create")
@friendly_errors
def wo_create(
    asset: Annotated[str, typer.Option(help="Asset tag.")],
    description: Annotated[str, typer.Option(help="One line: what is wrong or what to do.")],
    approved_by: Annotated[
        str | None, typer.Option(help="Your name: you approve this work order (required to create it).")
    ] = None,
    wo_type: Annotated[str, typer.Option("--type", help="CM, PM, EM, PdM, CAL or INSP.")] = "CM",
    priority: Annotated[int, typer.Option(help="1 (most urgent) to 5.")] = 3,
    code: Annotated[str | None, typer.Option(help="Failure (problem) code.")] = None,
    long_text: Annotated[str | None, typer.Option(help="Details.")] = None,
) -> None:
    """Create a work order (status WAPPR). You approve it by naming yourself with --approved-by."""
    from maintgraph.errors import CMMSError
    from maintgraph.tools.cmms import WorkOrderDraft

    draft = from_options(WorkOrderDraft, {"asset_tag": "--asset", "wo_type": "--type", "problem_code": "--code"},
                         asset_tag=asset, description=description, wo_type=wo_type, priority=priority,
                         problem_code=code, long_text=long_text)  # fmt: skip
    with _tools() as tools:
        checked = tools.draft_work_order(draft)
        if not approved_by:
            raise CMMSError(f"work order for {asset} not created: name the approver with --approved-by "
                            f"({len(checked['open_work_orders_on_asset'])} work order(s) already open "
                            f"on {asset})")  # fmt: skip
        created = tools.submit_work_order(draft, tools.approvals.approve(draft, approved_by))
    out.print(f"created {created['number']} on {created['asset']}: {created['status']}")
