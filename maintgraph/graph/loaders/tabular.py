"""Reading sheets (CSV or XLSX) as plants write them, and collecting problems by cell.

Plants' exports spell headers many ways ("Sub-Component", "SUBCOMPONENT", "Potential Cause(s)
of Failure", "Occ", "Failure Mode (FM)"); a :class:`Columns` spec names each canonical column
with a few synonyms. Headers are compared by normalised tokens (:func:`header_tokens`): case,
punctuation, parenthesised notes ("(FM)", "(s)"), plurals, filler words ("Potential",
"Current") and common abbreviations (Sev/Occ/Det, S/O/D, AP, RPN, FE/FM/FC, PC/DC) do not
matter, and word order does not either. A column marked ``loose`` also takes a header that
holds all of one of its names plus other words ("Potential Cause(s) of Failure" for
"Cause"), when no header fits it exactly.

The header row is the row among the first :data:`HEADER_SCAN` that fits the columns best, so
title, notes and blank rows above it are skipped. XLSX merged ranges give every cell of the
range the top-left value; ``fill_down`` columns (a hierarchy) left blank take the value of the
row above while the levels above them are unchanged ("same as above"). A row holding a
single text in its first cell (a note, a section title) is not data. :func:`read_sheet`
returns the rows with the mapping it used (canonical column -> header as written) and the
header's row number. A sheet missing a required column is refused with the column named.
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from maintgraph.errors import LoadError

HEADER_SCAN = 15  # rows searched for the header
MERGED_CELLS_MAX_BYTES = 20_000_000  # larger workbooks are streamed (read-only mode: no merged ranges)


def normalise_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


# Token-level abbreviations, and abbreviations that are the whole header (a lone "S" is severity).
_ABBREVIATIONS = {
    "sev": "severity", "occ": "occurrence", "occurence": "occurrence", "det": "detection",
    "fe": "failure effect", "fm": "failure mode", "fc": "failure cause", "pc": "prevention control",
    "dc": "detection control", "rec": "recommended", "recommend": "recommended", "qty": "quantity",
}  # fmt: skip
_WHOLE_ABBREVIATIONS = {"s": "severity", "o": "occurrence", "d": "detection"}
_PHRASES = [("risk priority number", "rpn"), ("risk priority no", "rpn"), ("action priority", "ap")]
_FILLER = {"potential", "current", "existing", "of", "the", "a", "an", "and", "or", "for", "in", "s"}


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def header_tokens(text: Any) -> frozenset[str]:
    """The words a header means, whatever its case, punctuation, notes, plurals and abbreviations."""
    raw = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode().lower()
    without = re.sub(r"\([^)]*\)", " ", raw)
    words = re.findall(r"[a-z0-9]+", without) or re.findall(r"[a-z0-9]+", raw)
    if len(words) == 1 and words[0] in _WHOLE_ABBREVIATIONS:
        words = [_WHOLE_ABBREVIATIONS[words[0]]]
    phrase = " ".join(_ABBREVIATIONS.get(w, w) for w in words)
    phrase = " ".join(_singular(w) for w in phrase.split())
    for long, short in _PHRASES:
        phrase = re.sub(rf"\b{long}\b", short, phrase)
    return frozenset(w for w in phrase.split() if w not in _FILLER)


@dataclass(frozen=True)
class Column:
    name: str
    synonyms: tuple[str, ...] = ()
    required: bool = True
    # Also take a header holding all the words of one of its names and more ("Potential
    # Cause(s) of Failure" for "Cause"), when no header fits exactly.
    loose: bool = False

    def score(self, header: Any) -> float:
        """How well a header fits: 1.0 exactly (tokens or compact spelling), less when loose, 0 not."""
        compact, tokens = normalise_header(header), header_tokens(header)
        if not compact:
            return 0.0
        best = 0.0
        for alias in (self.name, *self.synonyms):
            alias_tokens = header_tokens(alias)
            if compact == normalise_header(alias) or (alias_tokens and tokens == alias_tokens):
                return 1.0
            if self.loose and alias_tokens and alias_tokens < tokens:
                best = max(best, 0.9 * len(alias_tokens) / len(tokens))
        return best


def match_columns(header: Sequence[Any], columns: Sequence[Column]) -> dict[str, int]:
    """Canonical column -> position in ``header``: best fits first, each header used once."""
    fits = sorted(
        ((column.score(cell), -c, -i, column.name, i)
         for c, column in enumerate(columns) for i, cell in enumerate(header) if cell not in (None, "")),
        reverse=True,
    )  # fmt: skip
    positions: dict[str, int] = {}
    for score, _c, _i, name, i in fits:
        if score > 0 and name not in positions and i not in positions.values():
            positions[name] = i
    return positions


def header_fit(header: Sequence[Any], columns: Sequence[Column]) -> tuple[float, int]:
    """(share of the required columns found, columns found) for one candidate header row."""
    found = match_columns(header, columns)
    required = [c for c in columns if c.required]
    share = sum(c.name in found for c in required) / len(required) if required else 0.0
    return share, len(found)


def find_header_row(raw: Sequence[Sequence[Any]], columns: Sequence[Column]) -> int:
    """Index (0-based) of the row among the first :data:`HEADER_SCAN` that fits ``columns`` best."""
    best, best_fit = 0, (-1.0, -1)
    for index, row in enumerate(raw[:HEADER_SCAN]):
        if sum(v not in (None, "") for v in row) < 2:
            continue  # a title or a blank row
        fit = header_fit(row, columns)
        if fit > best_fit:
            best, best_fit = index, fit
    return best


def sheet_header(path: Path, specs: Sequence[Sequence[Column]]) -> list[str]:
    """The header row as written (non-empty cells) of a sheet: among its first rows, the one that
    fits one of ``specs`` (column lists of the kinds of sheet) best; the first row if none fits."""
    raw = read_raw_head(path, HEADER_SCAN)
    best, best_fit = 0, (-1.0, -1)
    for index, row in enumerate(raw):
        if sum(v not in (None, "") for v in row) < 2:
            continue
        fit = max(header_fit(row, columns) for columns in specs)
        if fit > best_fit:
            best, best_fit = index, fit
    return [str(h).strip() for h in (raw[best] if raw else []) if h is not None and str(h).strip()]


@dataclass
class Problems:
    """Findings of one source, each located by file, row and column.

    ``items`` are problems (the row's facts are not loaded); ``warnings`` never skip a row
    (an RPN that disagrees with S x O x D is kept as written)."""

    source: str
    items: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def _where(self, row: int | None, column: str | None) -> str:
        return self.source + (f":{row}" if row is not None else "") + (f":{column}" if column else "")

    def add(self, row: int | None, column: str | None, message: str) -> None:
        self.items.append(f"{self._where(row, column)}: {message}")

    def warn(self, row: int | None, column: str | None, message: str) -> None:
        self.warnings.append(f"{self._where(row, column)}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise LoadError(self.source, self.items)


@dataclass
class SheetRow:
    line: int  # 1-based line/row number in the file
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


class Sheet(list[SheetRow]):
    """The data rows of a sheet, with the header row it used and the mapping (canonical column
    -> header as written) it read them by."""

    def __init__(self, rows: list[SheetRow], mapping: dict[str, str], header_row: int, title: str = "") -> None:
        super().__init__(rows)
        self.mapping = mapping
        self.header_row = header_row
        self.title = title  # the first text above the header ("FMECA - Belt conveyor CV-01"), if any


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    streamed = path.stat().st_size > MERGED_CELLS_MAX_BYTES
    try:
        workbook = load_workbook(path, read_only=streamed, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise LoadError(str(path), [f"{path}: not a readable XLSX workbook ({exc})"]) from None
    try:
        sheet = workbook.worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        for merged in () if streamed else sheet.merged_cells.ranges:
            top_left = rows[merged.min_row - 1][merged.min_col - 1] if merged.min_row <= len(rows) else None
            for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
                row = rows[r]
                row.extend([None] * (merged.max_col - len(row)))
                for c in range(merged.min_col - 1, merged.max_col):
                    row[c] = top_left
        return rows
    finally:
        workbook.close()


def read_raw(path: Path) -> list[list[Any]]:
    """Every row of a CSV or of an XLSX's first sheet (merged ranges filled), as cell values."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _read_xlsx(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def read_raw_head(path: Path, rows: int) -> list[list[Any]]:
    """The first ``rows`` rows of a sheet (merged ranges filled for XLSX)."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _read_xlsx(path)[:rows]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        return [row for _, row in zip(range(rows), reader, strict=False)]


def _is_note(values: Sequence[Any]) -> bool:
    """A row holding one text in its first cell (or one text merged across the row): a note, a
    title or a section heading."""
    filled = [i for i, v in enumerate(values) if v not in (None, "") and str(v).strip()]
    if not filled or filled[0] != 0 or len(values) < 2 or re.fullmatch(r"[\d.,]+", str(values[0]).strip()):
        return False
    return filled == [0] or (len(filled) > 2 and len({str(values[i]).strip() for i in filled}) == 1)


def read_sheet(
    path: Path,
    columns: Sequence[Column],
    problems: Problems,
    mapping: Mapping[str, str] | None = None,
    fill_down: Sequence[str] = (),
) -> Sheet:
    """Rows keyed by canonical column name. Refuses (raises) when a required column is missing.

    ``mapping``: canonical column name -> header text as written in the file (e.g. from a
    ``graph map`` YAML); it overrides automatic matching for the columns it names. A mapped
    header the file does not have is a problem. ``fill_down``: hierarchy columns, top level
    first, whose blank cells repeat the row above while the levels above them do not change."""
    try:
        raw = read_raw(path)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        problems.add(None, None, f"cannot read the file ({exc})")
        problems.raise_if_any()
    if not raw:
        problems.add(None, None, "the file is empty")
        problems.raise_if_any()
    mapped = {name: normalise_header(written) for name, written in (mapping or {}).items()}
    head = next(
        (i for i, row in enumerate(raw[:HEADER_SCAN])
         if mapped and set(mapped.values()) <= {normalise_header(h) for h in row if h is not None}),
        None,
    )  # fmt: skip
    if head is None:
        head = find_header_row(raw, columns)
    header = [h if h is not None else "" for h in raw[head]]
    compact = [normalise_header(h) for h in header]
    positions: dict[str, int] = {}
    for name, key in mapped.items():
        if key in compact:
            positions[name] = compact.index(key)
        else:
            problems.add(head + 1, name, f"mapped header {mapping[name]!r} is not in the file (header: {header})")
    rest = [c for c in columns if c.name not in positions]
    taken = set(positions.values())
    automatic = match_columns([h if i not in taken else "" for i, h in enumerate(header)], rest)
    positions |= automatic
    for column in rest:
        if column.required and column.name not in positions:
            problems.add(head + 1, column.name, f"required column {column.name!r} is missing (header: {header})")
    problems.raise_if_any()
    rows: list[SheetRow] = []
    hierarchy = [name for name in fill_down if name in positions]
    above: dict[str, str] = {}
    for number, values in enumerate(raw[head + 1 :], start=head + 2):
        if not any(v not in (None, "") and str(v).strip() for v in values):
            continue
        cells = {name: _cell(values[i]).strip() if i < len(values) else "" for name, i in positions.items()}
        note = _is_note(values)
        if note and not (hierarchy and positions[hierarchy[0]] == 0 and len(_cell(values[0])) <= 60):
            continue  # a note: not data
        same = True
        for name in hierarchy:
            if not cells[name] and same:
                cells[name] = above.get(name, "")
            same = same and cells[name] == above.get(name, "")
        above = {name: cells[name] for name in hierarchy}
        if note:
            continue  # a section heading: names the level for the rows below it
        rows.append(SheetRow(number, cells))
    used = {name: str(header[i]).strip() for name, i in sorted(positions.items(), key=lambda item: item[1])}
    title = next((str(v).strip() for row in raw[:head] for v in row if v not in (None, "") and str(v).strip()), "")
    return Sheet(rows, used, head + 1, title)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_int(
    row: SheetRow, column: str, problems: Problems, low: int | None = None, high: int | None = None
) -> int | None:
    text = row.get(column)
    try:
        value = int(float(text))
        if float(text) != value:
            raise ValueError
    except ValueError:
        problems.add(row.line, column, f"{text!r} is not a whole number")
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        problems.add(row.line, column, f"{value} is outside {low}-{high}")
        return None
    return value


def parse_datetime(text: str, formats: tuple[str, ...]) -> str | None:
    """ISO text (minutes) of ``text`` read with the first of ``formats`` that fits, or None.

    Formats are explicit: exports write dates many ways (4/6/16 14:00, 2004-07-01), and a
    guessing parser would read 4/6/16 as June or April depending on the locale.
    """
    for fmt in formats:
        try:
            return datetime.strptime(text.strip(), fmt).isoformat(timespec="minutes")
        except ValueError:
            continue
    return None


def parse_float(row: SheetRow, column: str, problems: Problems) -> float | None:
    text = row.get(column)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        problems.add(row.line, column, f"{text!r} is not a number")
        return None


def split_list(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[;|]", text) if item.strip()]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
