"""Sheets as plants write them: CSV and every sheet of an XLSX, read into tables of text cells.

A plant's FMEA, work-order export or spare-parts list is rarely a clean grid under row 1. This
module finds the table in a sheet and gives each data row its cells as the sheet shows them:

- **Header row**: the first row, within the first :data:`HEADER_SCAN` rows, whose cells are
  mostly filled with short labels (not numbers or dates) and that has at least two different
  ones; a title row ("Conveyor FMECA, line 3") or notes above the table are passed over. A
  header whose cells are merged over several rows (a two-level header: "Effects" over "Local"
  and "End") gives each column its labels joined top to bottom ("Effects Local").
- **Merged cells** (XLSX): every cell of a merged range shows the range's top-left value, as a
  reader of the sheet sees it. The ranges are read from the sheet's XML as it streams, so the
  workbook is opened in openpyxl's read-only mode and never loaded whole.
- **"Same as above"**: a row whose first columns are blank and that has other content takes
  those leading blanks from the row above, in the leading text columns only (the hierarchy an
  FMEA writes once per group: system, component, failure mode); never a number, a date or
  a long free-text column, and never in a row that is otherwise blank.
- **Values as written**: a CSV cell is its text; an XLSX number is shown as Excel shows it
  (``7``, not ``7.0``; ``25%``), a date as an ISO date (a time of day only when it has one).

Nothing here knows what the columns mean: the document reader (:mod:`maintgraph.ingest.readers`)
decides titles, ids and tags.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError, iterparse

from maintgraph.errors import ReadError
from maintgraph.ingest.readers.text import decode

HEADER_SCAN = 15  # rows searched for the header: title and notes rows above a table are few
LABEL_MAX = 60  # a header cell is a short label; a longer cell is data or a note
FILL_MAX_COLUMNS = 4  # the hierarchy an FMEA writes once per group sits in its first few columns
FILL_MAX_AVERAGE = 120  # a column averaging longer cells is free text (a cause, an action), never "same as above"
_NUMBER = re.compile(r"^[-+]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?$")
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")
_REF = re.compile(r"^([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?$")
_SHEET_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@dataclass
class TableRow:
    number: int  # the row's number as the spreadsheet shows it (1-based; the header's row counts)
    cells: tuple[str, ...]  # one per header column, "" when empty
    note: bool = False  # a note under the table (one cell, after a blank row): text, not a record


@dataclass
class Table:
    sheet: str  # the sheet's name; "" for a CSV
    header: tuple[str, ...]  # the column names, each non-empty and unique
    header_row: int  # the header's row number (its last row when it spans several)
    rows: list[TableRow] = field(default_factory=list)
    caption: str = ""  # the title row above the header ("FMECA - CV-03 Overland Conveyor"), if any
    filled: int = 0  # cells taken from the row above ("same as above")
    grouped: set[int] = field(default_factory=set)  # columns written once per group of rows (merged or blank below)

    @property
    def where(self) -> str:
        return f"sheet {self.sheet!r}" if self.sheet else "the sheet"


@dataclass
class Skipped:
    """A sheet that gave no table, and why (a header and no rows, no header, nothing at all)."""

    sheet: str
    reason: str


def read_tables(path: Path, data: bytes) -> tuple[list[Table], list[Skipped]]:
    """The tables of the CSV or XLSX at ``path`` (whose bytes are ``data``), in sheet order, and the
    sheets that gave none. An unreadable file is refused with a :class:`ReadError`."""
    if path.suffix.lower() == ".xlsx":
        grids = _xlsx_grids(path)
    else:
        grids = [("", _csv_grid(path, data), [])]
    tables, skipped = [], []
    for name, grid, merges in grids:
        _fill_merged(grid, merges)
        table = _table(name, grid, merges)
        if isinstance(table, Skipped):
            skipped.append(table)
        else:
            tables.append(table)
    return tables, skipped


# -- reading ---------------------------------------------------------------------------------------------


def _csv_grid(path: Path, data: bytes) -> list[list[str]]:
    text = decode(data, path)
    delimiter = _delimiter(text)
    try:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return [[cell.strip() for cell in row] for row in rows]
    except csv.Error as exc:
        raise ReadError(path, f"not a readable CSV ({exc})") from None


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab a European or tab-separated export uses: whichever splits the
    first lines into the most columns, a comma when they tie."""
    sample = text[:65536].splitlines()[:20]
    best, widest = ",", 0
    for candidate in (",", ";", "\t"):
        try:
            widths = sorted(len(row) for row in csv.reader(sample, delimiter=candidate))
        except csv.Error:
            continue
        median = widths[len(widths) // 2] if widths else 0
        if median > widest:
            best, widest = candidate, median
    return best


def _xlsx_grids(path: Path) -> list[tuple[str, list[list[str]], list[tuple[int, int, int, int]]]]:
    """(sheet name, rows of text cells, merged ranges as 0-based (row, col, last row, last col))
    for every worksheet, in workbook order. Read-only mode streams the sheets; the limits module
    has already bounded their cells."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ReadError(path, f"not a readable XLSX workbook ({exc})") from None
    grids = []
    try:
        for sheet in workbook.worksheets:
            try:
                grid = [[cell_text(cell.value, getattr(cell, "number_format", "")) for cell in row]
                        for row in sheet.iter_rows()]  # fmt: skip
                merges = _merged_ranges(sheet)
            except (zipfile.BadZipFile, KeyError, OSError, ValueError, ParseError) as exc:
                raise ReadError(path, f"sheet {sheet.title!r} is not readable ({exc})") from None
            grids.append((sheet.title, grid, merges))
    finally:
        workbook.close()
    return grids


def _merged_ranges(sheet: Any) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges, from the ``<mergeCell ref="A4:A7"/>`` elements of its XML (openpyxl's
    read-only mode does not expose them; loading the workbook whole to get them would hold every
    cell as an object). The XML streams past; only the merge elements are kept."""
    source = getattr(sheet, "_get_source", None)
    if source is None:  # a normally loaded sheet knows its ranges
        return [(r.min_row - 1, r.min_col - 1, r.max_row - 1, r.max_col - 1) for r in sheet.merged_cells.ranges]
    ranges = []
    with source() as stream:
        for _, element in iterparse(stream):
            if element.tag == f"{_SHEET_MAIN}mergeCell":
                found = _REF.match(element.get("ref", ""))
                if found and found.group(3):
                    ranges.append((int(found.group(2)) - 1, _column(found.group(1)),
                                   int(found.group(4)) - 1, _column(found.group(3))))  # fmt: skip
            element.clear()  # the cells are already read: keep nothing of them
    return ranges


def _column(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def cell_text(value: Any, number_format: str = "") -> str:
    """A cell's value as the sheet shows it: numbers without a spurious ``.0``, percentages as
    percentages, dates as ISO dates (with the time only when there is one)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, int | float):
        if "%" in (number_format or ""):
            return f"{value * 100:.12g}%"
        if isinstance(value, float):
            return f"{value:.15g}" if value.is_integer() or abs(value) >= 1e-4 else repr(value)
        return str(value)
    return str(value).strip()


# -- the table in a grid ---------------------------------------------------------------------------------


def _fill_merged(grid: list[list[str]], merges: list[tuple[int, int, int, int]]) -> None:
    """Every cell of a merged range shows the range's top-left value."""
    for top, left, bottom, right in merges:
        if top >= len(grid) or left >= len(grid[top]):
            continue
        value = grid[top][left]
        for r in range(top, min(bottom, len(grid) - 1) + 1):
            row = grid[r]
            if len(row) <= right:
                row.extend([""] * (right + 1 - len(row)))
            for c in range(left, right + 1):
                row[c] = value


def _extent(row: list[str]) -> int:
    """How many columns the row reaches (its last non-empty cell)."""
    for i in range(len(row) - 1, -1, -1):
        if row[i]:
            return i + 1
    return 0


def is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.replace(" ", "")))


def _is_label(text: str) -> bool:
    return len(text) <= LABEL_MAX and not is_number(text) and not _DATE.match(text)


def _header_row(grid: list[list[str]], width: int) -> int | None:
    """The first row, within the first :data:`HEADER_SCAN` non-blank rows, that looks like a header."""
    scanned = 0
    for i, row in enumerate(grid):
        filled = [c for c in row if c]
        if not filled:
            continue
        scanned += 1
        if scanned > HEADER_SCAN:
            break
        labels = sum(1 for c in filled if _is_label(c))
        enough = len(filled) >= 2 or width == 1
        if (enough and labels >= 0.8 * len(filled) and len(filled) >= 0.5 * width
                and (len(set(filled)) >= 2 or width == 1)):  # fmt: skip
            return i
    return None


def _header_depth(grid: list[list[str]], at: int, merges: list[tuple[int, int, int, int]]) -> int:
    """How many rows the header at row ``at`` spans: more than one when its cells are merged down,
    or merged across over labels in the row below (a group name over its columns)."""
    depth = 1
    for top, left, bottom, right in merges:
        if top != at:
            continue
        depth = max(depth, bottom - top + 1)
        below = grid[at + 1] if at + 1 < len(grid) else []
        if right > left and all(_is_label(c) for c in below[left : right + 1] if c) and any(below[left : right + 1]):
            depth = max(depth, 2)
    return min(depth, 3)


def _names(rows: list[list[str]], width: int) -> tuple[str, ...]:
    """Unique column names: each column's labels top to bottom, once each; "Column C" when none."""
    names: list[str] = []
    for c in range(width):
        parts: list[str] = []
        for row in rows:
            cell = row[c] if c < len(row) else ""
            if cell and cell not in parts:
                parts.append(cell)
        name = " ".join(" ".join(parts).split()) or f"Column {_letters(c)}"
        base, n = name, 2
        while name in names:
            name, n = f"{base} ({n})", n + 1
        names.append(name)
    return tuple(names)


def _letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _table(sheet: str, grid: list[list[str]], merges: list[tuple[int, int, int, int]]) -> Table | Skipped:
    width = max((_extent(row) for row in grid[: HEADER_SCAN * 4]), default=0)
    if width == 0:
        return Skipped(sheet, "it is empty")
    at = _header_row(grid, width)
    if at is None:
        first = next(i for i, row in enumerate(grid) if any(row))
        at = first  # no row looks like a header: the first row names the columns, as a CSV's does
    depth = _header_depth(grid, at, merges)
    last_header = at + depth - 1
    width = max(width, max((_extent(row) for row in grid[at:]), default=0))
    header = _names(grid[at : last_header + 1], width)
    above = [row for row in grid[:at] if any(row)]
    caption = next(iter(set(filter(None, above[0]))), "") if above and len(set(filter(None, above[0]))) == 1 else ""
    table = Table(sheet, header, last_header + 1, caption=caption)
    after_gap = False
    for r in range(last_header + 1, len(grid)):
        cells = [*grid[r][:width], *[""] * (width - len(grid[r][:width]))]
        if not any(cells):
            after_gap = bool(table.rows)
            continue
        # One value (a merged note fills its whole range with it) under a gap: a note, not a record.
        note = after_gap and width >= 3 and len(set(filter(None, cells))) == 1
        after_gap = after_gap and note
        table.rows.append(TableRow(r + 1, tuple(cells), note))
    table.grouped = {c for top, left, bottom, right in merges if top > last_header and bottom > top
                     for c in range(left, min(right + 1, width))}  # fmt: skip
    if not table.rows:
        return Skipped(sheet, f"it has a header ({', '.join(h for h in header if not h.startswith('Column '))}) "
                              f"in row {table.header_row} but no rows under it")  # fmt: skip
    table.filled = _fill_down(table)
    return table


def _fill_down(table: Table) -> int:
    """Give a row's leading blank cells the values of the row above ("same as above"), within the
    leading hierarchy-like columns (after an item number, which each row has its own of); returns
    how many cells were filled."""
    records = [row for row in table.rows if not row.note]

    def hierarchy_like(c: int) -> bool:
        values = [row.cells[c] for row in records if row.cells[c]]
        if not values or not records[0].cells[c]:
            return False  # a hierarchy is written in full on its first row
        textual = sum(1 for v in values if not is_number(v) and not _DATE.match(v))
        return textual >= 0.8 * len(values) and sum(map(len, values)) / len(values) <= FILL_MAX_AVERAGE

    width = len(table.header)
    start = 1 if width > 1 and not hierarchy_like(0) and all(row.cells[0] for row in records) else 0
    end = start
    while end < min(start + FILL_MAX_COLUMNS, width) and hierarchy_like(end):
        end += 1
    filled = 0
    above: tuple[str, ...] = ()
    for row in records:
        lead = start
        while lead < end and not row.cells[lead]:
            lead += 1
        if above and lead > start and any(row.cells[lead:]):
            row.cells = (*row.cells[:start], *above[start:lead], *row.cells[lead:])
            filled += lead - start
            table.grouped.update(range(start, lead))
        above = row.cells
    return filled
