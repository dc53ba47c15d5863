"""The ingestion guard on a document: prose scanned whole, a table row cell by cell.

A sheet's columns are profiled once per file (:func:`column_roles`): one row alone cannot tell a
column of repeated component names from a column of people. Each cell is then scrubbed as its
column's role says (``maintgraph.guardrails.pii_tables``): headers never, a controlled column
never for names, a people column as names, free text as prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from maintgraph.guardrails.pii_tables import (
    ColumnRole,
    holds_no_personal_data,
    locate_cells,
    parse_fields,
    profile_columns,
)
from maintgraph.search.records import Block, Document

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
