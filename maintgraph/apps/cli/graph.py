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


@app.command("load")
@friendly_errors
def graph_load(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (asset register, FMEA, LOTO, work orders...).")],
    kind: Annotated[
        str | None, typer.Option(help="Force the loader kind instead of detecting it from the file.")
    ] = None,
) -> None:
    """Load sources into the graph. Each file loads completely or not at all; reloading an
    unchanged file changes nothing, a changed one replaces what it asserted before."""
    from maintgraph.graph.loaders import load_paths, plan

    def report(loaded, file_kind: str) -> None:
        out.print(f"loaded {loaded} [dim]({file_kind})[/dim]")
        for line in loaded.skipped[:10]:
            err.print(f"  [yellow]skipped:[/yellow] {line}")
        if len(loaded.skipped) > 10:
            err.print(f"  ... and {len(loaded.skipped) - 10} more skipped rows")

    _, unrecognised = plan(paths, kind)
    for name in unrecognised:
        err.print(f"[yellow]skipped:[/yellow] {name} (not a source kind maintgraph recognises; use --kind)")
    with graph_store() as store:
        load_paths(store, paths, kind, on_loaded=report)


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
