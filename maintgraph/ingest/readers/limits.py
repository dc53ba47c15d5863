"""Ingestion limits: what a file may cost to read before it is refused.

A document is untrusted input. Without limits a 2 GB PDF, a 10,000-page one, or a 40 KB DOCX
whose XML unzips to gigabytes (a zip bomb) takes the ingest process's memory and time. Each
limit is a setting (``MAINTGRAPH_INGEST_MAX_*``); a file over one is refused with an
:class:`~maintgraph.errors.InputTooLarge` that names the file, the limit and the setting, before
any parser reads it, and a folder ingest reports it beside the other rejected files.

DOCX and XLSX are zip archives: their sizes are checked from the zip's central directory
before python-docx or openpyxl open them. Python's ``zipfile`` (which both use) never yields more
than a member's declared size (a member that lies fails its CRC check), so the declared sizes
bound what the parsers can read. PDF streams are bounded by pypdf itself (75 MB per stream).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maintgraph.errors import InputTooLarge, ReadError

MIB = 1024 * 1024
RATIO_FLOOR = MIB  # members smaller than this unzip to little whatever their ratio (a page of zeros)


@dataclass(frozen=True)
class ReadLimits:
    max_file_bytes: int = 100 * MIB  # MAINTGRAPH_INGEST_MAX_FILE_BYTES
    max_unzipped_bytes: int = 200 * MIB  # MAINTGRAPH_INGEST_MAX_UNZIPPED_BYTES (DOCX, XLSX: all members)
    max_zip_ratio: int = 100  # MAINTGRAPH_INGEST_MAX_ZIP_RATIO (a member's unzipped / zipped size)
    max_pdf_pages: int = 2_000  # MAINTGRAPH_INGEST_MAX_PDF_PAGES
    max_sheet_cells: int = 1_000_000  # MAINTGRAPH_INGEST_MAX_SHEET_CELLS (XLSX: rows x columns, all sheets)

    @classmethod
    def from_settings(cls, settings: Any) -> ReadLimits:
        return cls(
            max_file_bytes=settings.ingest_max_file_bytes,
            max_unzipped_bytes=settings.ingest_max_unzipped_bytes,
            max_zip_ratio=settings.ingest_max_zip_ratio,
            max_pdf_pages=settings.ingest_max_pdf_pages,
            max_sheet_cells=settings.ingest_max_sheet_cells,
        )


def size(n: int) -> str:
    """Bytes as people read them: 512 bytes, 3.0 KiB, 200.0 MiB, 1.5 GiB."""
    if n < 1024:
        return f"{n} bytes"
    value, unit = float(n), "bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):  # noqa: B007 - the last unit reached is the one shown
        value /= 1024
        if value < 1024:
            break
    return f"{value:.1f} {unit}"


def check_file_size(path: Path, limits: ReadLimits) -> None:
    actual = path.stat().st_size
    if actual > limits.max_file_bytes:
        raise InputTooLarge(path, f"file is {size(actual)}, over the limit of {size(limits.max_file_bytes)}",
                            setting="MAINTGRAPH_INGEST_MAX_FILE_BYTES")  # fmt: skip


def check_zip(path: Path, limits: ReadLimits, kind: str) -> None:
    """Refuse a zip-based document (``kind``: DOCX, XLSX) whose members would unzip to more than
    the limit, or any large member compressed beyond the ratio limit (a zip bomb), from the
    central directory alone: nothing is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReadError(path, f"not a readable {kind} ({exc})") from None
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise InputTooLarge(path, f"{kind} unzips to {size(total)}, over the limit of "
                                  f"{size(limits.max_unzipped_bytes)} (a zip bomb?)",
                            setting="MAINTGRAPH_INGEST_MAX_UNZIPPED_BYTES")  # fmt: skip
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_FLOOR and ratio > limits.max_zip_ratio:
            raise InputTooLarge(path, f"{kind} member {member.filename} unzips {ratio:.0f} times its zipped size "
                                      f"({size(member.compress_size)} to {size(member.file_size)}), over the "
                                      f"limit of {limits.max_zip_ratio} (a zip bomb?)",
                                setting="MAINTGRAPH_INGEST_MAX_ZIP_RATIO")  # fmt: skip


def check_pdf_pages(path: Path, pages: int, limits: ReadLimits) -> None:
    if pages > limits.max_pdf_pages:
        raise InputTooLarge(path, f"PDF has {pages} pages, over the limit of {limits.max_pdf_pages}",
                            setting="MAINTGRAPH_INGEST_MAX_PDF_PAGES")  # fmt: skip


def check_sheet_cells(path: Path, limits: ReadLimits) -> None:
    """Refuse an XLSX whose sheets (every one is read) hold more cells together than the limit: each
    sheet's declared dimension first, then its rows counted as they stream (a dimension can lie),
    stopping at the limit. A sheet's rows are as wide as its widest row, as the sheet reader pads them."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - an unreadable workbook is the sheet reader's to report
        return
    total, over = 0, None
    try:
        for sheet in workbook.worksheets:
            rows, columns = sheet.max_row or 0, sheet.max_column or 0
            if total + rows * columns <= limits.max_sheet_cells:
                rows = 0
                for row in sheet.iter_rows(values_only=True):
                    rows, columns = rows + 1, max(columns, len(row))
                    if total + rows * columns > limits.max_sheet_cells:
                        break
            total += rows * columns
            if total > limits.max_sheet_cells:
                over = (sheet.title, rows, columns)
                break
    finally:
        workbook.close()
    if over is not None:
        title, rows, columns = over
        before = total - rows * columns
        also = f" (with {before} cells in the sheets before it)" if before else ""
        raise InputTooLarge(path, f"sheet {title!r} has {rows} rows x {columns} columns{also}, over the limit of "
                                  f"{limits.max_sheet_cells} cells",
                            setting="MAINTGRAPH_INGEST_MAX_SHEET_CELLS")  # fmt: skip
