"""Column mappings: how a sheet no rule knows becomes one of the source kinds.

``maintgraph graph map FILE`` proposes one (:func:`propose`): the kind (asset register,
components, sensors, spare parts, work orders, FMEA) and, for each of the kind's fields, the
header that holds it, found by matching the headers' tokens (case, punctuation, plurals,
abbreviations such as Hrs, No, Qty) against the field's name, synonyms and description, and by
looking at the values (dates where a date belongs, numbers where a number does). It is written
as a small YAML beside the sheet (``FILE.mapping.yaml``) for the user to check::

    kind: work_orders
    date_format: dd/mm/yyyy        # optional: how the sheet writes dates (or a strptime format)
    columns:                       # field: header as written in the sheet
      number: Job No
      reported_at: Raised
    defaults:                      # optional: a value for a field the sheet has no column for
      wo_type: CM

``graph load`` uses a mapping file found beside a sheet (or given with ``--mapping``), and
``cmms import --mapping`` the same file for a work-order export. Mapping files are validated
(:func:`read_mapping`); a bad one is refused naming the file, the key and what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from maintgraph.errors import LoadError

if TYPE_CHECKING:
    from maintgraph.graph.loaders.tabular import Column, Problems, SheetRow

MAPPING_SUFFIX = ".mapping.yaml"

# What each field holds, in words a plant's header might use (besides the field's name and synonyms).
FIELD_WORDS: dict[str, dict[str, str]] = {
    "assets": {
        "site_id": "site, site code, plant, location", "site_name": "site name, plant name",
        "system_id": "system, system code, process, process unit, area, line", "system_name": "system name",
        "tag": "tag, equipment number, equipment no, asset id, equipment id, functional location, asset tag",
        "name": "name, description, equipment description, asset description, title",
        "class_code": "class, equipment class, equipment type, category, iso class", "criticality": "criticality",
        "manufacturer": "manufacturer, make, vendor, oem, supplier, brand", "model": "model, model number",
        "serial_number": "serial number, serial", "install_date": "install date, installed, commissioned",
        "rated_power_kw": "rated power, power kw, kw, rating", "driven_by": "driven by, driver",
    },
    "components": {
        "tag": "tag, equipment, asset, parent equipment, equipment tag", "subunit": "subunit, sub unit, assembly",
        "component": "component, component code, maintainable item, item code",
        "component_name": "component name, component description", "component_type": "component type",
        "part_number": "part number, spare part, item number", "quantity": "quantity, count",
    },
    "sensors": {
        "sensor_id": "sensor, sensor id, instrument tag, instrument, meter, point, transmitter",
        "tag": "equipment tag, asset, equipment", "component": "component, component code",
        "name": "name, description", "measures": "measures, measurement, variable, measured variable",
        "unit": "unit, engineering unit", "alarm_high": "alarm, high alarm, alarm limit",
        "trip_high": "trip, high trip",
    },
    "spare_parts": {
        "part_number": "part number, item number, stock code, material, material number",
        "name": "name, description, part name, part description",
        "manufacturer": "manufacturer, make, vendor, supplier",
        "unit": "unit, unit of measure",
    },
    "work_orders": {
        "number": "job, job number, work order number, work order, order number, ticket, request number",
        "tag": "tag, equipment, asset, unit, machine, functional location, equipment tag, asset tag",
        "wo_type": "type, work type, order type, maintenance type, job type", "status": "status, state",
        "priority": "priority, urgency", "reported_at": "reported, raised, created, opened, date raised, request date",
        "finished_at": "finished, closed, completed, date closed, completion date, done",
        "description": "description, problem, problem reported, fault, fault reported, short text, symptom, "
        "complaint, issue, job description",
        "long_text": "work done, long text, details, action taken, remarks, comments, notes, work performed",
        "failure_code": "failure code, problem code, failure mode, cause code", "component": "component",
        "labor_hours": "labour hours, labor hours, man hours, hours, hours worked, duration",
        "parts_used": "parts used, materials, parts",
    },
}  # fmt: skip
DATE_FIELDS = {"install_date", "reported_at", "finished_at"}
NUMBER_FIELDS = {"rated_power_kw", "quantity", "alarm_high", "trip_high", "labor_hours", "Severity", "Occurrence",
                 "Detection", "RPN"}  # fmt: skip
# A field the sheet lacks but its kind requires, and the value ``graph map`` proposes for it.
PROPOSED_DEFAULTS = {"work_orders": {"wo_type": "CM"}}
ABBREVIATIONS = {"no": "number", "num": "number", "nr": "number", "hrs": "hours", "hr": "hours", "qty": "quantity",
                 "desc": "description", "descr": "description", "wo": "work order", "sev": "severity",
                 "occ": "occurrence", "det": "detection", "labour": "labor", "uom": "unit", "eqpt": "equipment",
                 "equip": "equipment", "mfr": "manufacturer", "mfg": "manufacturer", "pri": "priority",
                 "prio": "priority", "s/n": "serial number", "id": "id", "crit": "criticality"}  # fmt: skip
DATE_CANDIDATES = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%m/%d/%y"]
_HUMAN = {"%Y": "yyyy", "%y": "yy", "%m": "mm", "%d": "dd", "%H": "HH", "%M": "MM", "%S": "ss"}


def sheet_kinds() -> dict[str, list[Column]]:
    """The kinds a mapping can name, with their columns."""
    from maintgraph.graph.loaders import assets, fmea, work_orders

    return {
        "assets": assets.ASSET_COLUMNS, "components": assets.COMPONENT_COLUMNS, "sensors": assets.SENSOR_COLUMNS,
        "spare_parts": assets.PART_COLUMNS, "work_orders": work_orders.PLANT_COLUMNS, "fmea": fmea.FMEA_COLUMNS,
    }  # fmt: skip


def strptime_format(text: str) -> str:
    """``dd/mm/yyyy HH:MM`` (or a strptime format as is) -> ``%d/%m/%Y %H:%M``."""
    if "%" in text:
        return text
    out = text
    for human, code in (("yyyy", "%Y"), ("YYYY", "%Y"), ("yy", "%y"), ("YY", "%y"), ("dd", "%d"), ("DD", "%d"),
                        ("HH", "%H"), ("hh", "%H"), ("ss", "%S"), ("SS", "%S")):  # fmt: skip
        out = out.replace(human, code)
    out = re.sub(r"(%H[:.]?)(MM|mm)", r"\1%M", out)
    return out.replace("MM", "%m").replace("mm", "%m")


def human_format(fmt: str) -> str:
    out = fmt
    for code, human in _HUMAN.items():
        out = out.replace(code, human)
    return out


class SheetMapping(BaseModel):
    """A mapping file: the sheet's kind, field -> header as written, and how it writes dates."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    columns: dict[str, str] = {}
    date_format: str | None = None
    defaults: dict[str, str] = {}

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in sheet_kinds():
            raise ValueError(f"{kind!r} is not a kind a mapping can name ({', '.join(sheet_kinds())})")
        return kind

    @field_validator("date_format")
    @classmethod
    def _readable_format(cls, text: str | None) -> str | None:
        if text is None:
            return None
        fmt = strptime_format(text)
        sample = datetime(2021, 11, 23, 14, 5, 9)
        try:
            back = datetime.strptime(sample.strftime(fmt), fmt)
        except ValueError:
            back = None
        if back is None or back.date() != sample.date() or re.search(r"[A-Za-z]", re.sub(r"%[A-Za-z]", "", fmt)):
            raise ValueError(f"{text!r} is not a date format (write it like dd/mm/yyyy or yyyy-mm-dd HH:MM)")
        return text

    @model_validator(mode="after")
    def _known_fields(self) -> SheetMapping:
        names = [column.name for column in sheet_kinds()[self.kind]]
        for key in (*self.columns, *self.defaults):
            if key not in names:
                raise ValueError(f"{key!r} is not a field of {self.kind} (fields: {', '.join(names)})")
        for key, header in self.columns.items():
            if not str(header).strip():
                raise ValueError(f"columns.{key}: the header is empty")
        return self

    def date_formats(self, own: Sequence[str]) -> tuple[str, ...]:
        """The formats to read dates with: the mapping's (with and without a time), then ``own``."""
        if not self.date_format:
            return tuple(own)
        fmt = strptime_format(self.date_format)
        mine = [fmt] if "%H" in fmt else [fmt, f"{fmt} %H:%M", f"{fmt} %H:%M:%S"]
        return tuple(dict.fromkeys([*mine, *own]))


def formats(mapping: SheetMapping | None, own: Sequence[str]) -> tuple[str, ...]:
    return mapping.date_formats(own) if mapping else tuple(own)


def is_mapping_file(path: Path) -> bool:
    return path.name.lower().endswith((".mapping.yaml", ".mapping.yml"))


def mapping_beside(path: Path) -> Path | None:
    """``FILE.mapping.yaml`` (or ``.yml``) next to the sheet, if there is one."""
    for suffix in (MAPPING_SUFFIX, ".mapping.yml"):
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_mapping(path: Path) -> SheetMapping:
    """A mapping file, validated; LoadError naming the file, the key and what was wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LoadError(str(path), [f"{path}: cannot read the mapping ({exc})"]) from None
    if not isinstance(raw, dict):
        raise LoadError(str(path), [f"{path}: a mapping is a YAML object with kind and columns"])
    try:
        return SheetMapping.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "not a key of a mapping (kind, columns, date_format, defaults)"
            problems.append(f"{path}: {key}: {message}")
        raise LoadError(str(path), problems) from None


def read_mapped(
    path: Path, columns: Sequence[Column], problems: Problems, mapping: SheetMapping | None
) -> list[SheetRow]:
    """:func:`~maintgraph.graph.loaders.tabular.read_sheet` through a mapping: its headers, and
    its defaults for fields the sheet has no column (or an empty cell) for."""
    from maintgraph.graph.loaders.tabular import read_sheet

    if mapping is None:
        return read_sheet(path, columns, problems)
    specs = [replace(c, required=False) if c.name in mapping.defaults else c for c in columns]
    rows = read_sheet(path, specs, problems, mapping=mapping.columns)
    for row in rows:
        for name, value in mapping.defaults.items():
            if not row.get(name):
                row.values[name] = value
    return rows


# -- proposing a mapping ---------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+|s/n", re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text)).lower())
    out: list[str] = []
    for word in words:
        word = ABBREVIATIONS.get(word, word)
        for part in word.split():
            out.append(part[:-1] if len(part) > 3 and part.endswith("s") and not part.endswith("ss") else part)
    return out


def _similarity(header: str, alias: str) -> float:
    """1.0 for the same words; less for near spellings and for a header that is part of the alias."""
    from rapidfuzz import fuzz

    a, b = _tokens(header), _tokens(alias)
    if not a or not b:
        return 0.0
    if a == b or sorted(a) == sorted(b):
        return 1.0
    joined = fuzz.ratio(" ".join(sorted(a)), " ".join(sorted(b))) / 100
    joined = joined if joined >= 0.85 else 0.0  # a misspelling, not a different word
    covered = sum(any(fuzz.ratio(t, u) >= 90 for u in b) for t in a) / len(a)
    extra = sum(not any(fuzz.ratio(u, t) >= 90 for t in a) for u in b)
    return max(joined, 0.85 * covered / (1 + 0.5 * extra) if covered == 1 else 0.0)


def _field_score(header: str, column: Column, words: str) -> float:
    aliases = [column.name, column.name.replace("_", " "), *column.synonyms]
    best = max(column.score(header), *(_similarity(header, alias) for alias in aliases))
    phrases = [phrase.strip() for phrase in words.split(",") if phrase.strip()]
    if phrases:
        best = max(best, 0.9 * max(_similarity(header, phrase) for phrase in phrases))
    return best


def _date_format_of(values: list[str]) -> str | None:
    """The one candidate format every value parses with (day first when both would)."""
    values = [v.strip() for v in values if v.strip()]
    if not values:
        return None
    for fmt in DATE_CANDIDATES:
        for suffix in ("", " %H:%M", " %H:%M:%S"):
            try:
                for value in values:
                    datetime.strptime(value, fmt + suffix)
            except ValueError:
                continue
            return fmt + suffix
    return None


def _is_number(text: str) -> bool:
    try:
        float(text.replace(":", "."))
        return True
    except ValueError:
        return False


@dataclass
class Proposal:
    path: Path
    kind: str
    columns: dict[str, tuple[str, float]]  # field -> (header as written, confidence 0-1)
    missing: list[str]  # required fields no header was found for (and without a default)
    defaults: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    kind_scores: dict[str, float] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)  # headers mapped to no field

    @property
    def confidence(self) -> float:
        return self.kind_scores.get(self.kind, 0.0)

    def as_yaml(self) -> str:
        body: dict = {"kind": self.kind}
        if self.date_format:
            body["date_format"] = self.date_format
        body["columns"] = {name: header for name, (header, _score) in self.columns.items()}
        if self.defaults:
            body["defaults"] = dict(self.defaults)
        scores = ", ".join(f"{name} {score:.2f}" for name, (_h, score) in self.columns.items())
        notes = [
            f"Column mapping for {self.path.name}, proposed by `maintgraph graph map` "
            f"(kind {self.kind}, confidence {self.confidence:.2f}).",
            "CHECK IT before loading: each field on the left names the header as written in the sheet;",
            "fix or delete a wrong line, add the ones it missed. Then `maintgraph graph load` uses it",
            "when it lies beside the sheet (or with --mapping), and so does `maintgraph cmms import --mapping`.",
            f"Confidence per field: {scores}.",
        ]
        if self.missing:
            notes.append(f"Required fields not mapped: {', '.join(self.missing)} (the load refuses the sheet "
                         "until each has a column or a value under defaults).")  # fmt: skip
        if self.defaults:
            notes.append(f"Defaults assumed for fields the sheet has no column for: "
                         f"{', '.join(f'{k}={v}' for k, v in self.defaults.items())}.")  # fmt: skip
        if self.unused:
            notes.append(f"Headers left unmapped: {', '.join(self.unused)}.")
        comment = "".join(f"# {line}\n" for line in notes)
        return comment + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def _sample(path: Path, limit: int = 200) -> tuple[list[str], list[list[str]]]:
    """The header as written (the row among the first few that fits a kind best, titles and notes
    above it skipped) and up to ``limit`` rows of values under it."""
    from maintgraph.graph.loaders.tabular import HEADER_SCAN, _cell, header_fit, read_raw

    try:
        raw = read_raw(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LoadError(str(path), [f"{path}: cannot read the sheet ({exc})"]) from None
    if not raw:
        raise LoadError(str(path), [f"{path}: the file is empty"])
    specs = list(sheet_kinds().values())
    best, best_fit = 0, (-1.0, -1)
    for index, row in enumerate(raw[:HEADER_SCAN]):
        if sum(v not in (None, "") for v in row) < 2:
            continue
        fit = max(header_fit(row, columns) for columns in specs)
        if fit > best_fit:
            best, best_fit = index, fit
    header = [str(h).strip() if h is not None else "" for h in raw[best]]
    rows = [[_cell(v).strip() for v in row] for row in raw[best + 1 : best + 1 + limit]]
    return header, rows


def _assign(header: list[str], rows: list[list[str]], kind: str, columns: Sequence[Column]):
    words = FIELD_WORDS.get(kind, {})
    values = {i: [r[i] for r in rows if i < len(r) and r[i]] for i in range(len(header))}
    candidates = []
    for i, written in enumerate(header):
        if not written:
            continue
        sample = values[i][:50]
        for column in columns:
            score = _field_score(written, column, words.get(column.name, ""))
            if sample and column.name in DATE_FIELDS:
                score = score * (1.1 if _date_format_of(sample) else 0.6)
            elif sample and column.name in NUMBER_FIELDS:
                share = sum(_is_number(v) for v in sample) / len(sample)
                score = score * (0.7 + 0.35 * share)
            candidates.append((min(score, 1.0), i, column))
    taken_fields, taken_headers, mapped = set(), set(), {}
    for score, i, column in sorted(candidates, key=lambda c: -c[0]):
        if score < 0.6 or column.name in taken_fields or i in taken_headers:
            continue
        taken_fields.add(column.name)
        taken_headers.add(i)
        mapped[column.name] = (header[i], round(score, 2), i)
    return mapped


def propose(path: Path, kind: str | None = None) -> Proposal:
    """The kind (unless given) and the column mapping a sheet most likely has."""
    kinds = sheet_kinds()
    if kind is not None and kind not in kinds:
        raise LoadError(str(path), [f"{path}: {kind!r} is not a kind a mapping can name ({', '.join(kinds)})"])
    header, rows = _sample(path)
    results, scores = {}, {}
    for name, columns in kinds.items():
        if kind is not None and name != kind:
            continue
        mapped = _assign(header, rows, name, columns)
        required = [c for c in columns if c.required]
        defaults = PROPOSED_DEFAULTS.get(name, {})
        got = [mapped[c.name][1] if c.name in mapped else (0.5 if c.name in defaults else 0.0) for c in required]
        scores[name] = round(sum(got) / len(got), 2) if got else 0.0
        results[name] = mapped
    best = kind or max(scores, key=lambda name: (scores[name], len(results[name])))
    mapped, columns = results[best], kinds[best]
    order = [c.name for c in columns]
    chosen = {name: (mapped[name][0], mapped[name][1]) for name in sorted(mapped, key=order.index)}
    defaults = {k: v for k, v in PROPOSED_DEFAULTS.get(best, {}).items() if k not in chosen}
    missing = [c.name for c in columns if c.required and c.name not in chosen and c.name not in defaults]
    date_format = None
    date_values = [r[mapped[f][2]] for f in DATE_FIELDS if f in mapped for r in rows if mapped[f][2] < len(r)]
    found = _date_format_of(date_values)
    if found and not found.startswith("%Y-%m-%d"):
        date_format = human_format(found)
    used = {mapped[f][2] for f in mapped}
    unused = [h for i, h in enumerate(header) if h and i not in used]
    return Proposal(path, best, chosen, missing, defaults, date_format, scores, unused)


def default_mapping_path(path: Path) -> Path:
    return path.with_name(path.name + MAPPING_SUFFIX)
