"""Structure-aware chunking: blocks -> chunks that follow the document, not fixed windows.

Rules (each is tested):
- A chunk never spans two sections: a heading closes the chunk before it, and every chunk
  carries its heading path ("Maintenance > Bearing replacement").
- A warning or caution stays with the step (or paragraph) it guards: it is glued to the block
  that follows it.
- A table row keeps its header: readers render it as "Header: value; ...".
- Consecutive blocks of one section are packed up to the token budget; a block larger than the
  budget is split between sentences, never inside one (a single sentence over the budget is
  kept whole rather than cut).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from maintgraph.search.records import Block, Chunk
from maintgraph.text import split_sentences

TokenCounter = Callable[[str], int]


@dataclass
class _Unit:
    """One or more blocks that must stay together (a warning and the step it guards)."""

    kind: str
    text: str
    page: int | None


def _render(block: Block) -> str:
    return f"{block.number}. {block.text}" if block.kind == "step" and block.number else block.text


def _units(blocks: list[Block]) -> list[tuple[tuple[str, ...], _Unit]]:
    """(heading path, unit) in reading order, with warnings glued to what they guard."""
    path: list[tuple[int, str]] = []
    units: list[tuple[tuple[str, ...], _Unit]] = []
    pending: list[Block] = []  # warnings waiting for the block they guard

    def heading_path() -> tuple[str, ...]:
        return tuple(text for _, text in path)

    def flush_pending() -> None:
        if pending:
            units.append((heading_path(), _Unit("warning", "\n".join(b.text for b in pending), pending[0].page)))
            pending.clear()

    for block in blocks:
        if block.kind == "heading":
            flush_pending()  # a warning at the end of a section guards nothing below the heading
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.text))
        elif block.kind == "warning":
            pending.append(block)
        else:
            text = _render(block)
            kind = "step" if block.kind == "step" else block.kind
            if pending:
                text = "\n".join(b.text for b in pending) + "\n" + text
                kind = "step" if block.kind == "step" else "warning"
                pending.clear()
            units.append((heading_path(), _Unit(kind, text, block.page)))
    flush_pending()
    return units


def _split(unit: _Unit, budget: int, count: TokenCounter) -> list[_Unit]:
    """A unit over the budget, cut between sentences (a warning prefix stays on the first part)."""
    parts: list[_Unit] = []
    current: list[str] = []
    for line in unit.text.split("\n"):
        for sentence in split_sentences(line):
            candidate = " ".join([*current, sentence])
            if current and count(candidate) > budget:
                parts.append(_Unit(unit.kind, " ".join(current), unit.page))
                current = [sentence]
            else:
                current.append(sentence)
    if current:
        parts.append(_Unit(unit.kind, " ".join(current), unit.page))
    return parts


def chunk_blocks(blocks: list[Block], max_tokens: int, count: TokenCounter) -> list[Chunk]:
    """Pack each section's units into chunks of at most ``max_tokens`` (see module rules)."""
    chunks: list[Chunk] = []
    group: list[_Unit] = []
    group_path: tuple[str, ...] = ()

    def close() -> None:
        if group:
            kinds = {u.kind for u in group}
            kind = "step" if "step" in kinds else group[0].kind if len(kinds) == 1 else "mixed"
            text = "\n".join(u.text for u in group)
            chunks.append(Chunk(len(chunks), kind, group_path, text, count(text), group[0].page))
            group.clear()

    for path, unit in _units(blocks):
        pieces = [unit] if count(unit.text) <= max_tokens else _split(unit, max_tokens, count)
        for piece in pieces:
            same_section = path == group_path
            if group and (not same_section or count("\n".join([*(u.text for u in group), piece.text])) > max_tokens):
                close()
            group_path = path
            group.append(piece)
    close()
    return chunks
