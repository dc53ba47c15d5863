"""Readers: a file -> one or more read documents (a sheet gives one per row).

Which reader runs is decided by the extension; every reader refuses what it cannot read with a
:class:`~maintgraph.errors.ReadError` naming the file and the reason, and never returns half a
document. A file over an ingestion limit (:mod:`.limits`: size, unzipped size, pages, cells) is
refused before any parser reads it, with the limit and its setting named.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from maintgraph.errors import LoadError, ReadError
from maintgraph.ingest.readers.limits import ReadLimits, check_file_size, check_sheet_cells, check_zip
from maintgraph.ingest.readers.markup import read_html, read_markdown
from maintgraph.ingest.readers.office import read_docx, read_pdf
from maintgraph.ingest.readers.text import parse_lines, read_text
from maintgraph.search.records import Block

FILE_READERS: dict[str, Callable[..., tuple[str, list[Block]]]] = {
    ".md": read_markdown, ".markdown": read_markdown, ".txt": read_text, ".text": read_text,
    ".html": read_html, ".htm": read_html, ".pdf": read_pdf, ".docx": read_docx,
}  # fmt: skip
SHEETS = {".csv", ".xlsx"}
LIMITED = {".pdf", ".docx"}  # readers that take the limits (pages; the zip's sizes)
SUPPORTED = frozenset(FILE_READERS) | SHEETS

# What kind of document a file is, from words in its path; "document" otherwise.
_DOC_TYPES = (("bulletin", "bulletin"), ("manual", "manual"), ("procedure", "procedure"), ("rca", "rca"),
              ("note", "note"), ("lesson", "one-point-lesson"), ("opl", "one-point-lesson"))  # fmt: skip
_VERSION = re.compile(r"\b(?:Revision|Version|Rev)\s*[:.]\s*([A-Za-z0-9][\w.-]{0,15})")


@dataclass
class ReadDocument:
    key: str  # "" for the file itself, the row id for a sheet row
    title: str
    blocks: list[Block]
    content_hash: str
    doc_type: str
    version: str | None = None
    equipment_tags: list[str] = field(default_factory=list)


def doc_type_of(path: Path) -> str:
    lowered = str(path).lower()
    return next((kind for word, kind in _DOC_TYPES if word in lowered), "document")


def version_of(blocks: list[Block]) -> str | None:
    """ "Revision: C" / "Version 2.1" in the first blocks of a document."""
    for block in blocks[:6]:
        found = _VERSION.search(block.text)
        if found:
            return found.group(1)
    return None


def read_path(path: Path, limits: ReadLimits | None = None) -> list[ReadDocument]:
    """The documents in the file at ``path``, within ``limits`` (the defaults when None)."""
    limits = limits or ReadLimits()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ReadError(path, f"unsupported file type {suffix or '(none)'} (supported: {', '.join(sorted(SUPPORTED))})")
    try:
        check_file_size(path, limits)
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(path, f"cannot read ({exc.strerror})") from None
    if len(data) > limits.max_file_bytes:  # grew after it was measured
        check_file_size(path, limits)
    if suffix in SHEETS:
        return _read_sheet(path, limits)
    title, blocks = FILE_READERS[suffix](path, limits) if suffix in LIMITED else FILE_READERS[suffix](path)
    return [ReadDocument("", title, blocks, hashlib.sha256(data).hexdigest(), doc_type_of(path), version_of(blocks))]


def _read_sheet(path: Path, limits: ReadLimits) -> list[ReadDocument]:
    """A sheet whose rows are documents (one-point lessons, bulletins): id, title, text columns."""
    from maintgraph.graph.loaders.tabular import Column, Problems, read_sheet

    if path.stat().st_size == 0:
        raise ReadError(path, "empty file")
    if path.suffix.lower() == ".xlsx":
        check_zip(path, limits, "XLSX")
        check_sheet_cells(path, limits)
    columns = [
        Column("id", ("number", "ref", "reference", "document")),
        Column("title", ("subject", "heading", "name")),
        Column("text", ("body", "content", "description", "lesson", "details")),
        Column("equipment", ("tag", "equipment tag", "asset", "tags"), required=False),
        Column("revision", ("version", "rev"), required=False),
    ]
    try:
        rows = read_sheet(path, columns, Problems(str(path)))
    except LoadError as exc:
        raise ReadError(path, "; ".join(p.split(": ", 1)[-1] for p in exc.problems)) from None
    except UnicodeDecodeError as exc:
        raise ReadError(path, f"not UTF-8 (byte at offset {exc.start})") from None
    documents, seen = [], set()
    for row in rows:
        key, text = row.get("id"), row.get("text")
        if not key or not text:
            raise ReadError(path, f"row {row.line}: {'id' if not key else 'text'} is empty")
        if key in seen:
            raise ReadError(path, f"row {row.line}: id {key!r} appears twice")
        seen.add(key)
        blocks = [Block("heading", row.get("title") or key, level=1), *parse_lines(text)]
        row_hash = hashlib.sha256("\x1f".join(sorted(f"{k}={v}" for k, v in row.values.items())).encode()).hexdigest()
        tags = [t.strip() for t in re.split(r"[;,]", row.get("equipment")) if t.strip()]
        documents.append(ReadDocument(key, row.get("title") or key, blocks, row_hash, doc_type_of(path),
                                      row.get("revision") or None, tags))  # fmt: skip
    if not documents:
        raise ReadError(path, "no rows")
    return documents
