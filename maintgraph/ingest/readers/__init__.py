"""Readers: a file -> one or more read documents (a sheet gives one per row).

Which reader runs is decided by the extension; every reader refuses what it cannot read with a
:class:`~maintgraph.errors.ReadError` naming the file and the reason, and never returns half a
document. A file over an ingestion limit (:mod:`.limits`: size, unzipped size, pages, cells) is
refused before any parser reads it, with the limit and its setting named.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from maintgraph.errors import ReadError
from maintgraph.ingest.readers.limits import ReadLimits, check_file_size, check_sheet_cells, check_zip
from maintgraph.ingest.readers.markup import read_html, read_markdown
from maintgraph.ingest.readers.office import read_docx, read_pdf
from maintgraph.ingest.readers.sheets import FILL_MAX_COLUMNS, LABEL_MAX, Table, TableRow, is_number, read_tables
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
# The columns a sheet of rows may have, by normalised header (case, spaces and punctuation ignored):
# used when present, never required.
_ROLES = {
    "id": ("id", "number", "ref", "reference", "document"),
    "title": ("title", "subject", "heading", "name"),
    "text": ("text", "body", "content", "description", "lesson", "details"),
    "equipment": ("equipment", "tag", "equipmenttag", "asset", "tags", "equipmentid", "assetid", "tagnumber", "tagno"),
    "revision": ("revision", "version", "rev"),
    "date": ("date",),
}  # fmt: skip
_FLAGS = {"true", "false", "yes", "no", "n/a", "none"}  # values, not names
NAME_CELL = 30  # ...and one averaging no longer names a thing ("Head gasket blown")
TITLE_CELL = 50  # a column whose cells average longer describes a row rather than names it
_HIERARCHY = re.compile(
    r"(?i)\b(system|subsystem|sub-system|component|sub-component|subcomponent|item|element|"
    r"assembly|sub-assembly|equipment|unit|part|level|area|section)s?\b"
)
_LEGACY_HASH = ("id", "title", "text", "equipment", "revision")  # a row document's hash as it was first stored
_KEY_UNSAFE = re.compile(r"[\s\[\]]+")  # a key is part of a citation id, which holds no space or bracket
log = logging.getLogger(__name__)
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
        return _read_sheet(path, data, limits)
    title, blocks = FILE_READERS[suffix](path, limits) if suffix in LIMITED else FILE_READERS[suffix](path)
    return [ReadDocument("", title, blocks, hashlib.sha256(data).hexdigest(), doc_type_of(path), version_of(blocks))]


def _read_sheet(path: Path, data: bytes, limits: ReadLimits) -> list[ReadDocument]:
    """Every data row of every sheet, one document each (see :mod:`.sheets` for how the table is
    found). A row is cited by its id (an ``id`` column whose values are filled and unique) or by
    its sheet and row number (``Sheet1:row14``; ``row14`` in a CSV)."""
    if not data.strip():
        raise ReadError(path, "empty file")
    if path.suffix.lower() == ".xlsx":
        check_zip(path, limits, "XLSX")
        check_sheet_cells(path, limits)
    tables, skipped = read_tables(path, data)
    if not tables:
        reasons = "; ".join(f"sheet {s.sheet!r}: {s.reason}" if s.sheet else s.reason for s in skipped)
        raise ReadError(path, f"no rows to ingest ({reasons or 'no sheets'})")
    for each in skipped:  # the other sheets' rows are ingested; say why this one gave none
        log.warning("%s: sheet %r has no rows to ingest: %s", path, each.sheet, each.reason)
    documents: list[ReadDocument] = []
    keys: dict[str, str] = {}
    for n, table in enumerate(tables):
        for doc, where in _table_documents(path, table, first=n == 0):
            if doc.key in keys:
                raise ReadError(path, f"{where}: {doc.key!r} names two rows (the other is {keys[doc.key]})")
            keys[doc.key] = where
            documents.append(doc)
    return documents


def _roles(header: tuple[str, ...]) -> dict[str, int]:
    """Which column plays which role (id, title, text, equipment, revision, date), by its header."""
    normalised = [re.sub(r"[^a-z0-9]", "", h.lower()) for h in header]
    roles = {}
    for role, names in _ROLES.items():
        found = next((normalised.index(n) for n in names if n in normalised), None)
        if found is not None:
            roles[role] = found
    return roles


def _table_documents(path: Path, table: Table, first: bool) -> Iterator[tuple[ReadDocument, str]]:
    roles = _roles(table.header)
    sheet = _KEY_UNSAFE.sub("_", table.sheet)
    ids = [row.cells[roles["id"]] for row in table.rows if not row.note] if "id" in roles else []
    by_id = bool(ids) and all(ids) and len(set(ids)) == len(ids)  # else rows are named by number
    titled = _title_columns(table, roles)
    doc_type = doc_type_of(path)
    caption = [Block("heading", table.caption, level=1)] if table.caption else []
    for row in table.rows:
        where = f"{table.where}, row {row.number}"
        value = {role: row.cells[i] for role, i in roles.items()}
        if by_id and not row.note:
            key = _KEY_UNSAFE.sub("_", value["id"])
            key = key if first else f"{sheet}:{key}"
        else:
            key = f"{sheet}:row{row.number}" if sheet else f"row{row.number}"
        title = value.get("title") or _row_title(row, titled) or f"{table.sheet or path.name} row {row.number}"
        tags = [t.strip() for t in re.split(r"[;,]", value.get("equipment", "")) if t.strip()]
        pairs = [(h, c) for h, c in zip(table.header, row.cells, strict=True) if c]
        if row.note:  # a note under the table: its text, under no column's name
            note = next(c for c in row.cells if c)
            title = note if len(note) <= 80 else note[:77].rstrip() + "..."
            blocks = [*caption, Block("heading", title, level=2), Block("paragraph", note)]
            hashed = "\x1e".join([table.caption, note])
        elif by_id and value.get("text"):
            # A sheet of documents (bulletins, one-point lessons): the text is the body, written as
            # prose; the columns it has beside the known ones follow it as a table row.
            known = {table.header[i] for i in roles.values()}
            extra = [(h, c) for h, c in pairs if h not in known]
            blocks = [Block("heading", title, level=1), *parse_lines(value["text"])]
            if extra:
                blocks.append(_row_block(extra))
            canonical = sorted(f"{role}={v}" for role, v in value.items() if role in _LEGACY_HASH)
            hashed = "\x1f".join(canonical) + ("\x1e" + blocks[-1].text if extra else "")
        else:
            # The sheet's caption ("FMECA - CV-03 Overland Conveyor") is the row's context when searched.
            blocks = [*caption, Block("heading", title, level=2), _row_block(pairs)]
            hashed = "\x1e".join([table.caption, title, blocks[-1].text, ";".join(tags), value.get("revision", "")])
        row_hash = hashlib.sha256(hashed.encode()).hexdigest()
        yield ReadDocument(key, title, blocks, row_hash, doc_type, value.get("revision") or None, tags), where


def _row_block(pairs: list[tuple[str, str]]) -> Block:
    """One table row: ``Header: value`` lines, the empty cells left out; ``header`` and ``cells``
    hold the same pairs, so a guard can read the row column by column."""
    return Block("table_row", "\n".join(f"{h}: {c}" for h, c in pairs),
                 header=tuple(h for h, _ in pairs), cells=tuple(c for _, c in pairs))  # fmt: skip


def _is_text(cell: str) -> bool:
    """Words a reader would title a row by: letters, and not a lone code (PM01, CWC04701, FM-3)."""
    letters = sum(ch.isalpha() for ch in cell)
    code = " " not in cell.strip() and any(ch.isdigit() for ch in cell)
    return letters >= 2 and cell.lower() not in _FLAGS and not is_number(cell) and not code


@dataclass
class _Titles:
    """Where a row's title comes from: the deepest level of the hierarchy its first columns write
    (system > component > sub-component), then the first short text cell after it; without such a
    hierarchy, the two short text columns that tell rows apart best (most distinct values)."""

    hierarchy: list[int]
    after: list[int]  # in the order they are tried


def _title_columns(table: Table, roles: dict[str, int]) -> _Titles:
    """Columns a title may use: text columns whose value changes from row to row (a column that says
    the same on every row tells rows apart no better than the file name does), without the id, tag,
    revision and date columns; short ones (a name, not a description) after the hierarchy."""
    skip = {roles[r] for r in ("id", "equipment", "revision", "date") if r in roles}
    records = [row for row in table.rows if not row.note]
    distinct: dict[int, int] = {}  # text columns that vary -> how many values they have
    average: dict[int, float] = {}  # ...and how long they are
    names: set[int] = set()  # ...and among them those short enough to name a thing
    short: set[int] = set()  # ...and those short enough to stand beside it in a title
    for c in range(len(table.header)):
        values = [row.cells[c] for row in records if row.cells[c]]
        if c in skip or not values or sum(map(_is_text, values)) < 0.8 * len(values):
            continue
        if len(set(values)) > 1 or len(records) == 1:
            distinct[c] = len(set(values))
            average[c] = sum(map(len, values)) / len(values)
            names.update([c] if average[c] <= LABEL_MAX else [])
            short.update([c] if average[c] <= TITLE_CELL else [])
    # A hierarchy: the leading name columns (after an item number, if any) that a header calls a
    # level (system, component, sub-component, item, element) or that the sheet writes once per
    # group of rows (merged, or blank below), each level telling more rows apart than the one above.
    start = next((c for c in range(2) if c in names), len(table.header))
    hierarchy: list[int] = []
    for c in range(start, min(FILL_MAX_COLUMNS + 1, len(table.header))):
        if c not in names or not (c in table.grouped or _HIERARCHY.search(table.header[c])):
            break
        if hierarchy and distinct[c] <= distinct[hierarchy[-1]]:
            break  # no finer than the level before: the item's function or description, not a level
        hierarchy.append(c)
    if hierarchy:
        # ...and beside its deepest level, the first column after it whose cells are names rather than
        # sentences (an FMEA's failure mode, not the function, effect or cause written out).
        after = sorted((c for c in short if c > hierarchy[-1]), key=lambda c: (average[c] > NAME_CELL, c))
        return _Titles(hierarchy, after)
    # Otherwise the columns that tell rows apart best: many values, of several words (a problem
    # description over a status or a person's name).
    words = {c: sum(len(row.cells[c].split()) for row in records) / len(records) for c in short}
    return _Titles([], sorted(short, key=lambda c: -distinct[c] * words[c]))


def _row_title(row: TableRow, titles: _Titles) -> str:
    """e.g. ``Intercooler — Tube bundle fouled``: the row's deepest hierarchy level and the first
    text cell after it, or its two most telling short text cells in the sheet's order."""
    deepest = next((c for c in reversed(titles.hierarchy) if row.cells[c]), None)
    chosen = [deepest] if deepest is not None else []
    for c in titles.after:
        if len(chosen) == 2:
            break
        if _is_text(row.cells[c]) and row.cells[c] not in {row.cells[k] for k in chosen}:
            chosen.append(c)
    if deepest is None:
        chosen.sort()
    title = " — ".join(row.cells[c] for c in chosen)
    return title if len(title) <= 120 else title[:117].rstrip() + "..."
