"""``maintgraph graph``: load sources into the knowledge graph, inspect it, query it, refresh its communities."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from maintgraph.apps.cli.common import JsonOption, err, friendly_errors, get_settings, graph_store, out, sub_app

app = sub_app("The maintenance knowledge graph: load sources, inspect, query.")


def _first(lines: list[str], what: str, colour: str, shown: int = 5) -> None:
    from rich.markup import escape

    for line in lines[:shown]:
        err.print(f"  [{colour}]{what}:[/{colour}] {escape(line)}", highlight=False, soft_wrap=True)
    if len(lines) > shown:
        err.print(f"  ... and {len(lines) - shown} more {what} lines", highlight=False)


@app.command("load")
@friendly_errors
def graph_load(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (asset register, FMEA, LOTO, work orders...).")],
    kind: Annotated[
        str | None, typer.Option(help="Force the loader kind instead of detecting it from the file.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse a whole file for any problem in it (all or nothing).")
    ] = False,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="A column mapping (from `graph map`) for the sheet(s) named; by default FILE.mapping.yaml "
            "beside a sheet is used."
        ),
    ] = None,
) -> None:
    """Load sources into the graph; a folder loads every file it recognises and lists the others.

    A row with a problem is left out and reported as file:row:column: reason while the file's
    good rows load (--strict: the whole file is refused instead). A refused file does not stop
    the others. Reloading an unchanged file changes nothing; a changed one replaces what it
    asserted before. Exit status 1 if any file was refused (or a named file not recognised),
    0 if only rows were skipped or a folder's files were not recognised."""
    from rich.markup import escape

    from maintgraph.graph.loaders import load_all
    from maintgraph.graph.loaders.mapping import read_mapping
    from maintgraph.ingest.builder import build_mode_mapper

    sheet_mapping = read_mapping(mapping) if mapping else None

    def report(loaded, file_kind: str) -> None:
        out.print(f"loaded {escape(str(loaded))} [dim]({file_kind})[/dim]", highlight=False)
        if loaded.mapping:
            used = ", ".join(f"{name} <- {header!r}" for name, header in loaded.mapping.items())
            out.print(f"  [dim]columns: {escape(used)}[/dim]", highlight=False, soft_wrap=True)
        if loaded.skipped:
            err.print(f"  [yellow]{len(loaded.skipped)} problem(s) left out[/yellow] ({loaded.rows_skipped} rows "
                      "skipped):", highlight=False)  # fmt: skip
            _first(loaded.skipped, "skipped", "yellow")
        if loaded.warnings:
            err.print(f"  [yellow]{len(loaded.warnings)} warning(s)[/yellow] (loaded as written):", highlight=False)
            _first(loaded.warnings, "warning", "yellow")

    def refused(error, file_kind: str) -> None:
        err.print(f"[red]refused:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)

    with graph_store() as store:
        done = load_all(store, paths, kind, strict=strict, mapping=sheet_mapping, on_loaded=report,
                        on_refused=refused, mode_mapper=build_mode_mapper(get_settings()))  # fmt: skip
    for line in done.unrecognised:
        err.print(f"[yellow]not recognised:[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
    out.print(done.summary(), highlight=False)
    if done.refused:
        raise typer.Exit(1)


@app.command("map")
@friendly_errors
def graph_map(
    path: Annotated[Path, typer.Argument(help="A sheet (CSV or XLSX) whose headers no rule knows.")],
    kind: Annotated[
        str | None,
        typer.Option(help="assets, components, sensors, spare_parts, work_orders or fmea (else it is proposed)."),
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Where to write it (default FILE.mapping.yaml).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing mapping file.")] = False,
) -> None:
    """Propose the kind of a sheet and which of its columns holds each field; write it as a small
    YAML to check, which `graph load` (beside the sheet, or --mapping) and `cmms import --mapping` use."""
    from rich.markup import escape

    from maintgraph.errors import LoadError
    from maintgraph.graph.loaders.mapping import default_mapping_path, propose, sheet_kinds

    if not path.is_file():
        raise LoadError(str(path), [f"{path}: no such file"])
    proposal = propose(path, kind)
    target = out_path or default_mapping_path(path)
    if target.exists() and not force:
        raise LoadError(str(target), [f"{target}: already exists (check it, or write again with --force)"])
    others = ", ".join(f"{k} {v:.2f}" for k, v in sorted(proposal.kind_scores.items(), key=lambda kv: -kv[1])
                       if k != proposal.kind)  # fmt: skip
    out.print(f"{escape(str(path))}: [bold]{proposal.kind}[/bold] (confidence {proposal.confidence:.2f}"
              + (f"; others: {others}" if others else "") + ")", highlight=False)  # fmt: skip
    table = Table("field", "header in the sheet", "confidence", "required", header_style="bold")
    for column in sheet_kinds()[proposal.kind]:
        if column.name in proposal.columns:
            header, score = proposal.columns[column.name]
            table.add_row(column.name, escape(header), f"{score:.2f}", "yes" if column.required else "")
        elif column.name in proposal.defaults:
            table.add_row(column.name, f"[dim](default {escape(proposal.defaults[column.name])})[/dim]", "-", "yes")
        elif column.required:
            table.add_row(column.name, "[red](not found)[/red]", "-", "yes")
    out.print(table)
    if proposal.date_format:
        out.print(f"dates read as {proposal.date_format}")
    if proposal.missing:
        err.print(f"[yellow]required fields not mapped:[/yellow] {', '.join(proposal.missing)}")
    if proposal.unused:
        out.print(f"[dim]headers left unmapped: {escape(', '.join(proposal.unused))}[/dim]", highlight=False)
    target.write_text(proposal.as_yaml(), encoding="utf-8")
    out.print(f"wrote {escape(str(target))}: check it, then `maintgraph graph load {escape(str(path))}`",
              highlight=False)  # fmt: skip


@app.command("stats")
@friendly_errors
def graph_stats(as_json: JsonOption = False) -> None:
    """Count nodes per label and relationships per type."""
    with graph_store() as store:
        stats = store.stats()
    if as_json:
        out.print_json(json.dumps(stats))
        return
    for section, counts in stats.items():
        table = Table(section[:-1] if section.endswith("s") else section, "count", header_style="bold")
        for name, count in counts.items():
            table.add_row(name, str(count))
        out.print(table)


@contextmanager
def _stage_bars(enabled: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar per stage on stderr, started when the first stage begins."""
    from rich.progress import Progress

    bars = Progress(disable=not enabled, console=err)
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int | None) -> None:
        if not tasks:
            bars.start()
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done)

    try:
        yield update
    finally:
        if tasks:
            bars.stop()


@app.command("communities")
@friendly_errors
def graph_communities(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change and what the reports would cost; do nothing.")
    ] = False,
    reports: Annotated[
        bool, typer.Option("--reports/--no-reports", help="Have the model write the reports that are due.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Find the graph's communities (graphrag's hierarchical Leiden), store what changed, and have
    the model write a report for each community that needs one (new, changed, or not yet reported).

    Re-running after a change recomputes the communities (seconds) and only the reports the change
    touched. The model calls and tokens are counted first: a run over
    MAINTGRAPH_GRAPHRAG_BUDGET_TOKENS is refused before anything is written or asked. The facts'
    descriptions are embedded into graphrag's entity index (in pgvector), again only where they
    changed: the global route's follow-ups find a report's assets by them."""
    from maintgraph.ingest.community_refresh import CommunityPlan, refresh_communities

    def show_plan(planned: CommunityPlan) -> None:
        if as_json:
            return
        out.print(f"communities: {planned.change.summary()}")
        if planned.reports:
            out.print(f"reports due: {planned.reports.summary()}")
        out.print(f"entity vectors due: {len(planned.to_embed)} to embed, {len(planned.to_remove)} to remove "
                  "(no model calls)")  # fmt: skip

    settings = get_settings()
    with graph_store(settings) as store, _stage_bars(not as_json) as progress:
        done = refresh_communities(settings, store, dry_run=dry_run, reports=reports, on_plan=show_plan,
                                   progress=progress)  # fmt: skip
    if as_json:
        out.print_json(json.dumps(done.summary()))
        return
    if done.dry_run:
        out.print("[dim]dry run: nothing written, nothing asked[/dim]")
        return
    if done.entity_vectors:
        out.print(f"entity vectors: {done.entity_vectors.summary()} ({done.entity_vectors.seconds:.1f} s)")
    if done.reports:
        out.print(f"reports: {done.reports.summary()}")
        if done.reports.unreported:
            err.print(f"[yellow]unreported (no valid report after retries):[/yellow] "
                      f"{', '.join(done.reports.unreported)}")  # fmt: skip


def _parse_params(params: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not k=v", param_hint="--param")
        parsed[name.strip()] = int(value) if value.strip().isdigit() else value
    return parsed


@app.command("query")
@friendly_errors
def graph_query(
    name: Annotated[
        str,
        typer.Argument(
            help="equipment_neighbourhood, failure_modes, symptom_causes, "
            "failure_mode_fix, shared_components or paths_between."
        ),
    ],
    param: Annotated[list[str], typer.Option("--param", "-p", help="k=v, repeatable (e.g. tag=P-101).")] = [],  # noqa: B006
    as_json: JsonOption = False,
) -> None:
    """Run a named multi-hop query and print its facts, paths and supporting chunks."""
    import inspect

    from maintgraph.graph.queries import QUERIES

    if name not in QUERIES:
        raise typer.BadParameter(f"unknown query {name!r}; known: {', '.join(QUERIES)}", param_hint="NAME")
    function, params = QUERIES[name], _parse_params(param)
    wanted = [p for p in inspect.signature(function).parameters if p != "store"]
    unknown = set(params) - set(wanted)
    if unknown:
        raise typer.BadParameter(
            f"{name} takes {', '.join(wanted)}; not {', '.join(sorted(unknown))}", param_hint="--param"
        )
    with graph_store() as store:
        try:
            result = function(store, **params)
        except TypeError as exc:
            raise typer.BadParameter(f"{name} needs {', '.join(wanted)} ({exc})", param_hint="--param") from None
    if as_json:
        out.print_json(json.dumps({"facts": result.facts, "paths": result.path_refs, "chunks": result.chunk_ids},
                                  default=str))  # fmt: skip
        return
    if not result.facts:
        out.print(f"{name}: no facts for {result.params}")
    for fact in result.facts:
        out.print(fact)
    out.print(f"[dim]{len(result.paths)} paths, {len(result.node_refs)} nodes cited, "
              f"{sum(map(len, result.chunk_ids.values()))} supporting chunks[/dim]")  # fmt: skip


@app.command("link")
@friendly_errors
def graph_link(text: Annotated[str, typer.Argument(help="Free text, e.g. 'pump 101 leaking at the seal'.")]) -> None:
    """Show which graph entities a text mentions, ranked; ambiguous mentions list every candidate."""
    from maintgraph.graph.linking import EntityLinker

    with graph_store() as store:
        linker = EntityLinker.from_store(store)
    for mention in linker.link(text):
        flag = "[yellow]ambiguous[/yellow] " if mention.ambiguous else ""
        ranked = ", ".join(f"{c.ref} ({c.score:g})" for c in mention.candidates[:5])
        out.print(f"{flag}{mention.text!r}: {ranked}")


@app.command("delete-source")
@friendly_errors
def graph_delete_source(
    source: Annotated[str, typer.Argument(help="Source id as loaded, e.g. plant/fmea.csv.")],
) -> None:
    """Remove what only SOURCE asserted; facts other sources also assert stay."""
    with graph_store() as store:
        counts = store.delete_source(source)
    out.print(f"removed {counts['nodes']} nodes and {counts['relationships']} relationships of {source}")
