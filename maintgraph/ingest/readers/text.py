"""Plain text: decoding with clear refusals, and the line-structure parser PDFs reuse.

Plain text has no markup, so structure comes from how people write it: a short line in
capitals or "3.2 Title" is a heading, "1." / "2)" starts a numbered step, "WARNING:" /
"CAUTION:" / "DANGER:" starts a warning, and a blank line ends a paragraph.
"""

from __future__ import annotations

import re
from pathlib import Path

from charset_normalizer import from_bytes

from maintgraph.errors import ReadError
from maintgraph.search.records import Block

_STEP = re.compile(r"^\s*(\d+(?:\.\d+)*)[.)]\s+(\S.*)$")
_NUMBERED_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\s+([A-Z][^.!?]{2,80})$")
_WARNING = re.compile(r"^\s*(WARNING|CAUTION|DANGER|NOTICE)\b\s*[:!-]?", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*\u2022]\s+(\S.*)$")


def decode(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else is refused with a hint."""
    if not data.strip():
        raise ReadError(path, "empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise ReadError(path, "binary content in a text file (NUL bytes); is the extension right?")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        guess = from_bytes(data).best()
        hint = f"; it looks like {guess.encoding}: convert it with iconv -f {guess.encoding} -t utf-8" if guess else ""
        raise ReadError(path, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}){hint}") from None
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > max(8, len(text[:8192]) // 100):
        raise ReadError(path, "binary content in a text file (control characters); is the extension right?")
    return text


def _is_heading(line: str) -> int:
    """0 if not a heading, else its level."""
    stripped = line.strip()
    if len(stripped) > 80 or stripped.endswith((".", ",", ";", ":")):
        return 0
    numbered = _NUMBERED_HEADING.match(stripped)
    if numbered:
        return numbered.group(1).count(".") + 2
    letters = [c for c in stripped if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() for c in letters) and not _WARNING.match(stripped):
        return 2
    return 0


def parse_lines(text: str, page: int | None = None) -> list[Block]:
    """Blocks from plain text, following the conventions in the module docstring."""
    blocks: list[Block] = []
    buffer: list[str] = []
    current: dict = {}

    def flush() -> None:
        if buffer:
            body = " ".join(part.strip() for part in buffer if part.strip())
            if body:
                blocks.append(Block(text=body, page=page, **current))
        buffer.clear()
        current.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
            continue
        level = _is_heading(line)
        step, bullet, warning = _STEP.match(line), _BULLET.match(line), _WARNING.match(line)
        if level and not step:
            flush()
            blocks.append(Block("heading", line.strip(), level=level, page=page))
        elif warning:
            flush()
            current.update(kind="warning")
            buffer.append(line)
        elif step:
            flush()
            current.update(kind="step", number=step.group(1))
            buffer.append(step.group(2))
        elif bullet:
            flush()
            current.update(kind="list_item")
            buffer.append(bullet.group(1))
        else:
            if not buffer:
                current.update(kind="paragraph")
            buffer.append(line)
    flush()
    return blocks


def read_text(path: Path) -> tuple[str, list[Block]]:
    text = decode(path.read_bytes(), path)
    blocks = parse_lines(text)
    if not blocks:
        raise ReadError(path, "no text")
    title = next((b.text for b in blocks if b.kind == "heading"), path.stem.replace("-", " ").replace("_", " "))
    return title, blocks
