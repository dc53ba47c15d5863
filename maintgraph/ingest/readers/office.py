"""PDF (its text layer, with pypdf) and DOCX (python-docx) to blocks.

A PDF carries no reliable structure, only text in reading order, so each page goes through the
plain-text line parser. A PDF without a text layer (a scan), an encrypted one that does not
open with an empty password, or a damaged one is refused with the reason; OCR is not done.
A DOCX keeps its structure in styles: Heading N / Title, List Number, List Bullet, tables.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from maintgraph.errors import ReadError
from maintgraph.ingest.readers.limits import ReadLimits, check_pdf_pages, check_zip
from maintgraph.ingest.readers.markup import _WARNING_TEXT, _clean, _table_rows
from maintgraph.ingest.readers.text import parse_lines
from maintgraph.search.records import Block


def read_pdf(path: Path, limits: ReadLimits | None = None) -> tuple[str, list[Block]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if path.stat().st_size == 0:
        raise ReadError(path, "empty file")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadError(path, "encrypted PDF: it needs a password; save an unprotected copy to ingest it")
        check_pdf_pages(path, len(reader.pages), limits or ReadLimits())  # before any page is read
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except ReadError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ReadError(path, f"unreadable PDF ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises assorted errors on damaged files
        if "crypt" in type(exc).__name__.lower() or "decrypt" in str(exc).lower():
            raise ReadError(path, f"encrypted PDF that cannot be opened ({exc})") from None
        raise ReadError(path, f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    blocks = [block for number, text in enumerate(pages, start=1) for block in parse_lines(text, page=number)]
    if not blocks:
        raise ReadError(path, f"no text layer in {len(pages)} page(s) (a scanned PDF?); OCR it first")
    return title or next((b.text for b in blocks if b.kind == "heading"), path.stem), blocks


def read_docx(path: Path, limits: ReadLimits | None = None) -> tuple[str, list[Block]]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if path.stat().st_size == 0:
        raise ReadError(path, "empty file")
    from docx.opc.exceptions import PackageNotFoundError

    check_zip(path, limits or ReadLimits(), "DOCX")  # before python-docx unzips anything
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise ReadError(path, f"not a readable DOCX ({exc})") from None
    blocks: list[Block] = []
    numbers: dict[int, int] = {}
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [[_clean(cell.text) for cell in row.cells] for row in item.rows]
            if rows:
                blocks.extend(_table_rows(rows[0], rows[1:]))
            continue
        assert isinstance(item, Paragraph)
        text = _clean(item.text)
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if style == "Title" or style.startswith("Heading"):
            level = 1 if style == "Title" else int(style.split()[-1]) if style.split()[-1].isdigit() else 2
            blocks.append(Block("heading", text, level=level))
            numbers.clear()
        elif _WARNING_TEXT.match(text):
            blocks.append(Block("warning", text))
        elif style.startswith("List Number"):
            level = int(style.split()[-1]) if style.split()[-1].isdigit() else 1
            numbers[level] = numbers.get(level, 0) + 1
            blocks.append(Block("step", text, number=str(numbers[level])))
        elif style.startswith("List"):
            blocks.append(Block("list_item", text))
        else:
            blocks.append(Block("paragraph", text))
    if not blocks:
        raise ReadError(path, "no text")
    title = document.core_properties.title or next((b.text for b in blocks if b.kind == "heading"), path.stem)
    return title, blocks
