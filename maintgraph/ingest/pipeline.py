"""The document ingestion pipeline: files -> documents -> chunks -> vectors -> store (+ graph links).

Per file: find its collection's data card (refused without one), read it (refused with the
reason when unreadable), and per document: skip it when its content hash is unchanged, chunk
it by structure, link the chunks' entity mentions to graph nodes, embed, and write it in one
transaction that replaces its previous version; the graph links commit inside that
transaction, just before it. The two stores cannot commit as one, so a document whose hash is
unchanged is still checked against the graph: its chunks' links (how many each has, and the
content hash of the version that made them, kept on the chunk nodes) must be what Postgres
says it mentions. One whose links are missing or stale (Postgres failed after the graph
committed, a graph source was deleted or cleared) is written again and reported as relinked.
A bad file is reported and the batch goes on.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from maintgraph.errors import DataCardError, ReadError
from maintgraph.graph.base import GraphStore
from maintgraph.graph.chunk_links import ChunkLinks, link_chunks, link_marks, unlink_document
from maintgraph.graph.linking import EntityLinker, normalise
from maintgraph.guardrails.pii_tables import (
    ColumnRole,
    holds_no_personal_data,
    locate_cells,
    parse_fields,
    profile_columns,
)
from maintgraph.ingest.chunking import chunk_blocks
from maintgraph.ingest.datacard import CARD_NAMES, DataCard, find_card
from maintgraph.ingest.readers import ReadDocument, read_path
from maintgraph.ingest.readers.limits import ReadLimits
from maintgraph.search.embeddings import Embedder
from maintgraph.search.records import Block, Document
from maintgraph.search.store import DocumentStore, StoredChunk, chunk_id

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unchanged since the last ingest
    relinked: list[str] = field(default_factory=list)  # unchanged, but its graph links were missing: written again
    removed: list[str] = field(default_factory=list)  # rows gone from a re-ingested sheet
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    chunks: int = 0
    duplicates: int = 0  # chunks whose text was already stored (kept once)
    scrubbed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # source -> guard decisions that fired

    @property
    def personal_data(self) -> dict[str, int]:
        """How many personal-data spans of each type were anonymised, over all documents."""
        counts: dict[str, int] = {}
        for decisions in self.scrubbed.values():
            for finding in (f for d in decisions for f in d["findings"]):
                counts[finding["kind"]] = counts.get(finding["kind"], 0) + 1
        return counts

    @property
    def documents(self) -> int:
        return len(self.added) + len(self.replaced) + len(self.relinked)


def discover(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(file, the root it was found under), directories walked recursively in name order."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts))  # fmt: skip
            found.extend((file, path) for file in files if file.name not in CARD_NAMES)
        else:
            found.append((path, path.parent))
    return found


# (text, privacy class[, column=role]) -> the text as it may be embedded, and the guard decisions
# (the ingestion guard, PlantGuards.scrub); column: the text is one cell of a table column of that role.
Scrub = Callable[..., Any]
Roles = Mapping[str, ColumnRole] | None  # a table column's header -> its PII role (pii_tables)


def memoised(scrub: Scrub) -> Scrub:
    """``scrub`` remembering its verdicts: a sheet repeats its values down a column ("Engine",
    "Closed", the same unit description on every row); one file's worth is kept."""
    verdicts: dict[tuple[Any, ...], Any] = {}

    def scrubbed(text: str, privacy_class: str, column: ColumnRole | None = None) -> Any:
        key = (text, privacy_class, column)
        if key not in verdicts:
            verdicts[key] = scrub(text, privacy_class, column=column) if column else scrub(text, privacy_class)
        return verdicts[key]

    return scrubbed


def row_fields(block: Block) -> list[tuple[str, int, int]] | None:
    """A table row's fields: each column's header and where its value stands in ``block.text``. A
    ``table_row`` block has its header and cells; other text may be ``Header: value`` lines (a
    sheet row rendered as text). None for prose."""
    if block.kind == "table_row" and block.cells:
        spans = locate_cells(block.text, block.header, block.cells)
        if spans is not None:
            names = [block.header[i] if i < len(block.header) else f"column {i + 1}" for i in range(len(spans))]
            return [(name, start, end) for name, (start, end) in zip(names, spans, strict=True)]
    return parse_fields(block.text) if block.kind in ("table_row", "paragraph", "list_item") else None


def column_roles(documents: Iterable[Sequence[Block]], scrub: Scrub, privacy_class: str) -> dict[str, ColumnRole]:
    """The PII role of each table column in one file, profiled over all its rows (one row alone
    cannot tell a column of repeated component names from a column of people). Whether a value
    on its own reads as a name is the ingest guard's own verdict (``scrub``)."""
    columns: dict[str, list[str]] = {}
    for blocks in documents:
        for block in blocks:
            for header, start, end in row_fields(block) or ():
                columns.setdefault(header, []).append(block.text[start:end])

    def looks_like_person(value: str) -> bool:
        verdict = scrub(value, privacy_class)
        return any(f["kind"] == "PERSON" for d in verdict.decisions for f in d["findings"])

    return profile_columns(columns, looks_like_person) if columns else {}


def scrub_document(document: Document, scrub: Scrub, roles: Roles = None) -> list[dict[str, Any]]:
    """Anonymise ``document`` in place as its privacy class says; the guard decisions that fired.

    Prose is scanned as a whole. A table row is scanned cell by cell, each as its column's role
    says (``roles``, from :func:`column_roles`): headers never, a controlled column never for
    names, a people column as names; a field label is never part of a span. A heading or title
    made of the row's cells ("Woodward Governor — Hunting") has each cell scrubbed as its column
    says, and the rest as prose."""
    roles = roles or {}
    privacy = document.privacy_class
    rows = [row_fields(block) for block in document.blocks]
    cell_role: dict[str, ColumnRole] = {}  # a cell's value -> its column's role, for headings and the title
    for block, fields in zip(document.blocks, rows, strict=True):
        for header, start, end in fields or ():
            if len(block.text[start:end].strip()) > 1:
                cell_role.setdefault(block.text[start:end].strip(), roles.get(header, "free"))
    fired: list[dict[str, Any]] = []
    blocks = []
    for block, fields in zip(document.blocks, rows, strict=True):  # block text is what is chunked and embedded
        if fields is None:  # prose; a heading may repeat the row's cells (a sheet row's own heading)
            text, decisions = _scrub_segments(block.text, cell_role if block.kind == "heading" else {}, scrub, privacy)
            fired += decisions
            blocks.append(replace(block, text=text, cells=()) if text != block.text else block)
            continue
        segments = [(start, end, roles.get(header, "free")) for header, start, end in fields]
        text, decisions, values = _scrub_spans(block.text, segments, scrub, privacy)
        fired += decisions
        cells = block.cells
        if block.kind == "table_row" and block.cells and len(values) == len(block.cells):  # cells, as the text
            cells = tuple(cell.replace(old, new, 1) for cell, (old, new) in zip(block.cells, values, strict=True))
        blocks.append(replace(block, text=text, cells=cells) if text != block.text else block)
    document.blocks = blocks
    document.title, decisions = _scrub_segments(document.title, cell_role, scrub, privacy)
    fired += decisions  # the title is shown with every citation
    return fired


def _scrub_spans(text: str, segments: Sequence[tuple[int, int, ColumnRole | None]], scrub: Scrub,
                 privacy: str) -> tuple[str, list[dict[str, Any]], list[tuple[str, str]]]:  # fmt: skip
    """``text`` with each (start, end, role) segment scrubbed on its own (role None: as prose) and
    the rest kept; the decisions that fired (placed in ``text``); each segment's (old, new) value."""
    pieces, last, fired, values = [], 0, [], []
    for start, end, role in segments:
        value = text[start:end]
        new = value
        if value.strip() and not (role == "controlled" and holds_no_personal_data(value)):
            verdict = scrub(value, privacy, column=role) if role else scrub(value, privacy)
            fired += [_shifted(d, start) for d in verdict.decisions if d["action"] != "passed"]
            new = verdict.text
        values.append((value, new))
        pieces += [text[last:start], new]
        last = end
    return "".join(pieces) + text[last:], fired, values


def _scrub_segments(text: str, cell_role: Mapping[str, ColumnRole], scrub: Scrub,
                    privacy: str) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    """``text`` (a heading, a title) scrubbed: the row's cell values in it as their columns say,
    what lies between them (words only) as prose, the whole text as prose when it repeats none."""
    taken: list[tuple[int, int, ColumnRole | None]] = []
    for value in sorted(cell_role, key=len, reverse=True):  # the longest value first: "Bosch Pump" before "Pump"
        at = text.find(value)
        while at >= 0 and any(at < e and s < at + len(value) for s, e, _ in taken):
            at = text.find(value, at + 1)
        if at >= 0:
            taken.append((at, at + len(value), cell_role[value]))
    taken.sort()
    segments: list[tuple[int, int, ColumnRole | None]] = []
    last = 0
    for start, end, role in taken:
        if re.search(r"[^\W\d_]", text[last:start]):
            segments.append((last, start, None))
        segments.append((start, end, role))
        last = end
    if re.search(r"[^\W\d_]", text[last:]):
        segments.append((last, len(text), None))
    new, fired, _ = _scrub_spans(text, segments, scrub, privacy)
    return new, fired


def _shifted(decision: dict[str, Any], offset: int) -> dict[str, Any]:
    """A cell's guard decision with its findings placed in the row's text."""
    findings = [{**f, "start": f["start"] + offset, "end": f["end"] + offset} for f in decision["findings"]]
    return {**decision, "findings": findings}


class Ingestor:
    def __init__(
        self,
        store: DocumentStore,
        embedder: Embedder,
        max_tokens: int,
        graph: GraphStore | None = None,
        linker: EntityLinker | None = None,
        scrub: Scrub | None = None,
        limits: ReadLimits | None = None,
    ) -> None:
        self.store, self.embedder, self.max_tokens = store, embedder, max_tokens
        self.graph, self.linker = graph, linker
        self.scrub = scrub  # PlantGuards.scrub: personal data out before anything is embedded
        self.limits = limits or ReadLimits()  # a file over one is rejected before it is parsed

    def ingest(self, paths: Sequence[Path], collection: str | None = None, progress: bool = True) -> IngestReport:
        report = IngestReport()
        files = discover(paths)
        missing = [str(p) for p in paths if not p.exists()]
        report.rejected.extend((p, "no such file or directory") for p in missing)
        self.store.ensure_space(self.embedder.name, self.embedder.dimension)
        for file, root in tqdm(files, desc="ingest", unit="file", disable=not progress or None):
            try:
                card_path = find_card(file, root)
                if card_path is None:
                    raise ReadError(file, f"no data card ({' / '.join(CARD_NAMES)}) in its folder or above it")
                card = DataCard.read(card_path)
                self._ingest_file(file, card_path.parent, card, collection or card.collection, report)
            except (ReadError, DataCardError) as exc:
                reason = exc.reason if isinstance(exc, ReadError) else str(exc)
                report.rejected.append((str(file), reason))
                log.warning("rejected %s: %s", file, reason)
        return report

    def _ingest_file(self, file: Path, card_root: Path, card: DataCard, collection: str, report: IngestReport) -> None:
        read = read_path(file, self.limits)
        relative = file.resolve().relative_to(card_root.resolve()).as_posix()
        base = f"{collection}:{relative}"
        sources = [f"{base}:{doc.key}" if doc.key else base for doc in read]
        known = self.store.content_hashes(sources)
        unchanged = [s for s, doc in zip(sources, read, strict=True) if known.get(s) == doc.content_hash]
        unlinked = self._unlinked(unchanged, known)
        roles: dict[str, ColumnRole] | None = None  # the file's table columns, profiled once, over all its rows
        scrub = self.scrub
        for source, doc in zip(sources, read, strict=True):
            if known.get(source) == doc.content_hash and source not in unlinked:
                report.skipped.append(source)
                continue
            added_to = report.relinked if source in unlinked else report.replaced if source in known else report.added
            if roles is None and self.scrub is not None:
                scrub = memoised(self.scrub)
                roles = column_roles((d.blocks for d in read), scrub, card.privacy_class)
            self._write(self._document(source, file, doc, collection, card), doc, report, added_to, roles, scrub)
        if file.suffix.lower() in {".csv", ".xlsx"}:  # rows that left the sheet go with it
            for source in self.store.sources_matching(base):
                if source not in sources:
                    report.removed.extend(self.delete(source))

    @staticmethod
    def _document(source: str, file: Path, doc: ReadDocument, collection: str, card: DataCard) -> Document:
        return Document(
            source=source, uri=file.resolve().as_uri() + (f"#{doc.key}" if doc.key else ""), title=doc.title,
            doc_type=doc.doc_type, content_hash=doc.content_hash, blocks=doc.blocks, version=doc.version,
            collection=collection, privacy_class=card.privacy_class, licence=card.licence,
            ingested_at=datetime.now(UTC), equipment_tags=list(doc.equipment_tags),
            data_card=card.model_dump(mode="json"),
        )  # fmt: skip

    def _scrubbed(
        self, document: Document, report: IngestReport, roles: Roles = None, scrub: Scrub | None = None
    ) -> None:
        """Anonymise the document's blocks as its privacy class says (the ingestion guard); a sheet's
        rows column by column (``roles``: the file's columns, profiled over all its rows; ``scrub``:
        the guard, remembering the file's verdicts)."""
        scrub = scrub or self.scrub
        if scrub is None:
            return
        fired = scrub_document(document, scrub, roles)
        if fired:
            report.scrubbed[document.source] = fired

    def _unlinked(self, sources: Sequence[str], hashes: dict[str, str]) -> set[str]:
        """The stored documents among ``sources`` whose graph links are not what their chunks mention."""
        if self.graph is None or not sources:
            return set()
        with self.store.connect() as conn:
            rows = conn.execute(
                "SELECT source, id, coalesce(cardinality(entity_refs), 0) AS n FROM chunks WHERE source = ANY(%s)",
                (list(sources),),
            ).fetchall()
        marks = link_marks(self.graph, [row["id"] for row in rows])
        unlinked = set()
        for row in rows:
            mark = marks.get(row["id"])
            links = mark.links if mark else 0
            stale = mark is not None and mark.content_hash is not None and mark.content_hash != hashes[row["source"]]
            if links != row["n"] or (row["n"] and stale):
                unlinked.add(row["source"])
        for source in sorted(unlinked):
            log.warning("%s: its graph links are missing or stale; writing it again", source)
        return unlinked

    def _write(self, document: Document, doc: ReadDocument, report: IngestReport, added_to: list[str],
               roles: Roles = None, scrub: Scrub | None = None) -> None:  # fmt: skip
        self._scrubbed(document, report, roles, scrub)
        chunks = chunk_blocks(document.blocks, self.max_tokens, self.embedder.count_tokens)
        if not chunks:
            raise ReadError(document.uri, "no text to index")
        vectors = self.embedder.embed([c.embedding_text for c in chunks])
        items = []
        for chunk, vector in zip(chunks, vectors, strict=True):
            refs = self._entities(chunk.embedding_text)
            tags = sorted({r.split(":", 1)[1] for r in refs if r.startswith("Equipment:")} | set(doc.equipment_tags))
            normal = hashlib.sha256(normalise(chunk.text).encode()).hexdigest()
            items.append(StoredChunk(chunk, vector, normal, refs, [t.upper() for t in tags]))
        document.equipment_tags = sorted({t for item in items for t in item.equipment_tags})
        links = [
            ChunkLinks(chunk_id(document.source, i.chunk.ordinal), document.title, i.entity_refs, document.content_hash)
            for i in items
        ]

        def link_in_graph() -> None:
            if self.graph is not None:
                link_chunks(self.graph, document.source, links)

        self.store.replace_document(document, items, self.embedder.name, before_commit=link_in_graph)
        added_to.append(document.source)
        report.chunks += len(items)
        report.duplicates += sum(1 for i in items if i.duplicate_of)

    def _entities(self, text: str) -> list[str]:
        if self.linker is None:
            return []
        refs = {m.best.ref for m in self.linker.link(text, fuzzy=False) if m.best is not None}
        return sorted(refs)

    def delete(self, source: str) -> list[str]:
        return delete_documents(self.store, self.graph, source)


def delete_documents(store: DocumentStore, graph: GraphStore | None, source: str) -> list[str]:
    """Delete a document (or every row document of a sheet), its chunks and its graph links,
    each document in one transaction. Returns the sources deleted."""
    sources = store.sources_matching(source)
    for each in sources:
        store.delete([each], before_commit=(lambda s=each: unlink_document(graph, s)) if graph else None)
    return sources
