"""Typed records of documents: what readers produce, what the chunker emits, what the store keeps.

They live here, beside the document store that keeps them, so that the ingest pipeline (which
produces them) imports the store and never the other way round.

A reader turns a file (or one row of a sheet) into a :class:`Document`: its lineage plus a flat
list of :class:`Block` s in reading order (headings, paragraphs, numbered steps, warnings,
table rows with their header). Every format ends up as the same blocks, so one chunker
handles them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

BlockKind = Literal["heading", "paragraph", "step", "warning", "list_item", "table_row"]
PrivacyClass = Literal["public", "internal", "restricted", "personal"]
PRIVACY_CLASSES: tuple[str, ...] = ("public", "internal", "restricted", "personal")


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    level: int = 0  # heading level (1 = title)
    number: str = ""  # step number as written ("3", "4.2")
    header: tuple[str, ...] = ()  # table_row: the column headers the row belongs to
    cells: tuple[str, ...] = ()  # table_row: the row's cells
    page: int | None = None  # PDF page, 1-based


@dataclass
class Document:
    """One source document with its lineage (filled in by the pipeline from the data card)."""

    source: str  # collection:relative/path[:row id] - unique, what `docs delete` takes
    uri: str  # where it came from (file:// URI of the file)
    title: str
    doc_type: str  # manual, bulletin, procedure, note, one-point-lesson...
    content_hash: str  # sha256 of the bytes (or row text) it was read from
    blocks: list[Block]
    version: str | None = None
    collection: str = ""
    privacy_class: PrivacyClass = "internal"
    licence: str = ""
    ingested_at: datetime | None = None
    equipment_tags: list[str] = field(default_factory=list)
    data_card: dict = field(default_factory=dict)  # the collection's card, stored with the document


@dataclass
class Chunk:
    ordinal: int
    kind: str  # the block kind it is made of ("step" if it holds a step)
    heading_path: tuple[str, ...]
    text: str
    token_count: int
    page: int | None = None

    @property
    def embedding_text(self) -> str:
        """What gets embedded: the heading path gives a bare table row or step its context."""
        return " > ".join(self.heading_path) + "\n" + self.text if self.heading_path else self.text
