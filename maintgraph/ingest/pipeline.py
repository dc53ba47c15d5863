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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from maintgraph.errors import DataCardError, ReadError
from maintgraph.graph.base import GraphStore
from maintgraph.graph.chunk_links import ChunkLinks, link_chunks, link_marks, unlink_document
from maintgraph.graph.linking import EntityLinker, normalise
from maintgraph.graph.loaders.mapping import is_mapping_file
from maintgraph.ingest.chunking import chunk_blocks
from maintgraph.ingest.datacard import CARD_NAMES, DataCard, find_card
from maintgraph.ingest.readers import ReadDocument, read_path
from maintgraph.ingest.readers.limits import ReadLimits
from maintgraph.ingest.scrubbing import ColumnRole, Roles, Scrub, column_roles, memoised, scrub_document
from maintgraph.search.embeddings import Embedder
from maintgraph.search.records import Document
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
            # a data card, or a column mapping beside a sheet (`graph map`), is about the files, not one of them
            found.extend((file, path) for file in files if file.name not in CARD_NAMES and not is_mapping_file(file))
        else:
            found.append((path, path.parent))
    return found


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
