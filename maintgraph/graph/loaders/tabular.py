"""Reading sheets (CSV or XLSX) with tolerant column names, and collecting problems by cell.

Plants' exports spell headers many ways ("Sub-Component", "sub component", "SUBCOMPONENT",
"Occ"); a :class:`Columns` spec names each canonical column with its synonyms and whether it
is required. Headers are compared case-, space- and punctuation-insensitively. A sheet
missing a required column is refused with the column named.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from maintgraph.errors import LoadError


def normalise_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


@dataclass(frozen=True)
class Column:
    name: str
    synonyms: tuple[str, ...] = ()
    required: bool = True


@dataclass
class Problems:
    """Findings of one source, each located by file, row and column."""

    source: str
    items: list[str] = field(default_factory=list)

    def add(self, row: int | None, column: str | None, message: str) -> None:
        where = self.source + (f":{row}" if row is not None else "") + (f":{column}" if column else "")
        self.items.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise LoadError(self.source, self.items)


@dataclass
class SheetRow:
    line: int  # 1-based line/row number in the file, header = 1
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def _read_raw(path: Path) -> list[list[Any]]:
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
            raise LoadError(str(path), [f"{path}: not a readable XLSX workbook ({exc})"]) from None
        try:
            sheet = workbook.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def read_sheet(
    path: Path, columns: Sequence[Column], problems: Problems, mapping: Mapping[str, str] | None = None
) -> list[SheetRow]:
    """Rows keyed by canonical column name. Refuses (raises) when a required column is missing.

    ``mapping``: canonical column name -> header text as written in the file (e.g. from a
    ``graph map`` YAML); it overrides automatic matching for the columns it names. A mapped
    header the file does not have is a problem."""
    try:
        raw = _read_raw(path)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        problems.add(None, None, f"cannot read the file ({exc})")
        problems.raise_if_any()
    if not raw:
        problems.add(None, None, "the file is empty")
        problems.raise_if_any()
    header = [normalise_header(h) if h is not None else "" for h in raw[0]]
    positions: dict[str, int] = {}
    for name, written in (mapping or {}).items():
        key = normalise_header(written)
        if key in header:
            positions[name] = header.index(key)
        else:
            problems.add(1, name, f"mapped header {written!r} is not in the file (header: {raw[0]})")
    for column in columns:
        if column.name in positions:
            continue
        for alias in (column.name, *column.synonyms):
            key = normalise_header(alias)
            if key in header:
                positions[column.name] = header.index(key)
                break
        else:
            if column.required:
                problems.add(1, column.name, f"required column {column.name!r} is missing (header: {raw[0]})")
    problems.raise_if_any()
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        if not any(v not in (None, "") for v in values):
            continue
        rows.append(
            SheetRow(
                number,
                {name: _cell(values[i]) if i < len(values) else "" for name, i in positions.items()},
            )
        )
    return rows


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
