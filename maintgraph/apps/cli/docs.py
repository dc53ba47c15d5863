"""``maintgraph docs``: ingest manuals and procedures, search them, list and delete them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from maintgraph.apps.cli.common import (
    JsonOption,
    audit,
    err,
    friendly_errors,
    get_settings,
    graph_store,
    opened,
    out,
    sub_app,
)

app = sub_app("Documents: ingest manuals and procedures, search them.")


@app.command("ingest")
@friendly_errors
def docs_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders; each collection needs a datacard.yaml.")],
    collection: Annotated[str | None, typer.Option(help="Collection name (default: the data card's).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Read, chunk, embed and index documents (Markdown, text, HTML, PDF, DOCX, CSV/XLSX rows).
    Unchanged documents are skipped; changed ones are replaced; bad files are reported and
    the rest go on."""
    from maintgraph.ingest.builder import build_ingestor
    from maintgraph.search.store import DocumentStore

    settings = get_settings()
    with graph_store(settings) as graph, opened(DocumentStore, settings) as docs:
        report = build_ingestor(settings, docs, graph).ingest(paths, collection=collection, progress=not as_json)
    if as_json:
        out.print_json(json.dumps({"documents": report.documents, "added": report.added, "replaced": report.replaced,
                                   "skipped": report.skipped, "removed": report.removed, "chunks": report.chunks,
                                   "duplicates": report.duplicates, "personal_data_anonymised": report.personal_data,
                                   "rejected": [{"file": f, "reason": r} for f, r in report.rejected]}))  # fmt: skip
    else:
        out.print(f"{report.documents} documents ({len(report.added)} new, {len(report.replaced)} replaced), "
                  f"{report.chunks} chunks ({report.duplicates} duplicates stored once), "
                  f"{len(report.skipped)} unchanged skipped, {len(report.removed)} removed, "
                  f"{len(report.rejected)} rejected")  # fmt: skip
        if report.personal_data:
            found = ", ".join(f"{n} {kind}" for kind, n in sorted(report.personal_data.items()))
            out.print(f"personal data anonymised before embedding: {found}")
        for file, reason in report.rejected:
            err.print(f"  [red]rejected:[/red] {file}: {reason}", highlight=False)
    audit(settings, report.scrubbed, origin="ingest")
    if report.rejected:
        raise typer.Exit(1)


@app.command("search")
@friendly_errors
def docs_search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=100, help="How many hits.")] = 10,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", help="tag=P-101, type=manual, privacy=internal, source=COLLECTION: (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Hybrid search (vectors + full text, fused by reciprocal rank) with citations."""
    from maintgraph.search.embeddings import build_embedder
    from maintgraph.search.store import DocumentStore, SearchFilters

    settings = get_settings()
    wanted = SearchFilters(privacy_classes=list(settings.search_privacy_classes))
    fields = {"tag": wanted.equipment_tags, "type": wanted.doc_types, "source": wanted.sources}
    privacy: list[str] = []
    for item in filters or []:
        name, sep, value = item.partition("=")
        if not sep or name not in {*fields, "privacy"} or not value:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE with NAME one of tag, type, privacy, source",
                                     param_hint="--filter")  # fmt: skip
        (privacy if name == "privacy" else fields[name]).append(value)
    if privacy:
        wanted.privacy_classes = privacy
    embedder = build_embedder(settings)
    with opened(DocumentStore, settings) as docs:
        hits = docs.search(query, embedder.embed([query])[0], embedder.name, k=k, filters=wanted,
                           boost_equipment=wanted.equipment_tags)  # fmt: skip
    if as_json:
        out.print_json(json.dumps([hit.__dict__ | {"citation": hit.citation} for hit in hits], default=str))
        return
    if not hits:
        out.print("no hits")
    for rank, hit in enumerate(hits, start=1):
        where = " > ".join(hit.heading_path[-2:])
        out.print(f"[bold]{rank}.[/bold] {hit.score:.4f}  {escape(hit.citation)}  [dim]{escape(hit.title)} | "
                  f"{escape(where)}[/dim]",
                  highlight=False)  # fmt: skip
        out.print("   " + hit.text[:300].replace("\n", " ") + ("..." if len(hit.text) > 300 else ""), highlight=False)


@app.command("list")
@friendly_errors
def docs_list(
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The ingested documents with version, privacy class and chunk counts."""
    from maintgraph.search.store import DocumentStore

    with opened(DocumentStore) as docs:
        rows = docs.documents(collection)
    if as_json:
        out.print_json(json.dumps(rows, default=str))
        return
    table = Table("source", "title", "version", "type", "privacy", "chunks", "duplicates", header_style="bold")
    for row in rows:
        table.add_row(row["source"], row["title"][:50], row["version"] or "", row["doc_type"], row["privacy_class"],
                      str(row["chunks"]), str(row["duplicates"]))  # fmt: skip
    out.print(table)


@app.command("delete")
@friendly_errors
def docs_delete(
    source: Annotated[str, typer.Argument(help="A source as `docs list` shows it (a sheet's name deletes its rows).")],
) -> None:
    """Remove a document, its chunks, and the graph links to them."""
    from maintgraph.ingest.pipeline import delete_documents
    from maintgraph.search.store import DocumentStore

    settings = get_settings()
    with opened(DocumentStore, settings) as docs, graph_store(settings) as graph:
        deleted = delete_documents(docs, graph, source)
    if not deleted:
        err.print(f"[red]error:[/red] no document {source!r} (see `maintgraph docs list`)", highlight=False)
        raise typer.Exit(1)
    out.print(f"deleted {len(deleted)} document(s): {', '.join(deleted)}")
