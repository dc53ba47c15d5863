"""Personal data in tables, column by column (as presidio-structured analyses a DataFrame).

Read as one run of prose, a sheet row ("Sub-Component: Woodward Governor\\nSeverity: 7") gives
spaCy capitalised component names, field labels and table values to guess at: a people-free
FMEA lost 41 values to "PERSON". A table is analysed per column instead, over all of a file's
rows, since one row alone cannot show a column's profile:

- ``header``: column names are never analysed.
- ``person``: the header names people (Raised By, Technician, Owner, Responsibility) or most of
  the column's values read as names on their own: every value is a name, unless it is blank or
  a role title ("Reliability Eng.", "Mech team").
- ``controlled``: numbers, dates, codes, or a small set of values repeated down the column
  (severity classes, failure codes, component names of a hierarchy): never a person.
- ``label``: short values (a sub-component, a part, a place): spaCy's guesses are not trusted
  there, only explicit name patterns ("reported by Ewa Nowak", "T. NOWAK").
- ``free``: free text, each cell scanned as its own text, so neither a field label nor the
  header is ever part of a span.

presidio-structured itself (0.0.10) was not used: it takes a whole pandas DataFrame and gives
each column one entity type, replacing whole cells, whereas ingestion anonymises spans inside
free-text cells through the ingest guard (its operators, keys and audit decisions). Its
"most common entity" vote is kept: :func:`profile_columns` asks whether most of a short-valued
column's values are names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

ColumnRole = Literal["header", "person", "controlled", "label", "free"]
COLUMN_ROLES: tuple[str, ...] = ("header", "person", "controlled", "label", "free")

# Headers that say a column holds people: who raised, did, signed or owns something.
_PEOPLE_VERBS = (
    "raised|reported|requested|signed|checked|approved|completed|verified|witnessed|inspected|performed|done"
    "|entered|created|closed|assigned|authori[sz]ed|issued|accepted|prepared|reviewed|attended|fitted|repaired"
    "|logged|submitted|updated|modified|changed|owned|led|actioned|executed|carried out|received"
)
_PEOPLE_NOUNS = (
    "technicians?|techs?|operators?|owners?|responsib\\w*|fitters?|electricians?|mechanics?|engineers?|planners?"
    "|supervisors?|inspectors?|authors?|assignees?|persons?|people|contacts?|requesters?|requestors?|originators?"
    "|reporters?|signator(?:y|ies)|sign(?:ed)?[- ]?off|employees?|staff|foreman|crew member|team lead|leader"
    "|witness(?:es)?|approvers?|reviewers?|who|initials"
)
PEOPLE_HEADER = re.compile(
    rf"(?i)\b(?:(?:{_PEOPLE_VERBS})\s*(?:off\s+|out\s+)?(?:by|to|for)\b|(?:{_PEOPLE_NOUNS})\b)"
    r"|^\s*(?:(?:full|first|last|given|family|contact|employee|person|staff|user|tech|technician)\s+)?name\s*$"
    r"|^\s*surname\s*$"
)
# ... unless the header says the column holds something about them that is not their name.
NOT_NAMES_HEADER = re.compile(
    r"(?i)\b(?:ids?|no|nr|number|num|codes?|phone|tel|mobile|e-?mail|hours?|time|count|types?|class|level|actions?"
    r"|notes?|comments?|instructions?|remarks?|descriptions?|text|role|title|department|dept|group|signature"
    r"|qualification|shift|rate|cost|manual|training|error|interface|panel|station|console|log|category)\b"
)

# Words that make a value in a people column a role, a team or a system rather than a person.
ROLE_WORDS = frozenset("""
engineer eng engr technician tech techs fitter fitters electrician electricians mechanic mechanics operator
operators operations ops planner planning scheduler supervisor supervisors superintendent manager mgr lead
leader foreman crew team teams shift dept department maintenance maint mtce mnt reliability production process
quality qa qc hse ehs she safety inspector inspection contractor contractors vendor vendors supplier oem
manufacturer site plant control controls room instrument instruments instrumentation inst mechanical mech
electrical elec ei ic lube lubrication condition monitoring cm analyst coordinator specialist officer head chief
director admin administrator storeman stores warehouse purchasing procurement design designer asset area unit
section group day days night nights apprentice trainee rigger riggers welder welders boilermaker millwright
scaffolder scaffolders painter insulator all others everyone anyone tbd tba tbc na nil none unknown various
system auto automatic scada cmms sap maximo cmm dcs pm program programme service services workshop
engineering technical project projects field senior junior chief principal lead assistant operator's
""".split())  # fmt: skip
BLANKS = frozenset({"", "-", "--", "—", "n/a", "na", "none", "nil", "tbd", "tba", "tbc", "?", "x", "unknown", "."})

# A cell that holds no prose: numbers, dates, times, money, percentages, codes (PM01, CWC04013,
# MT010b, 7/4/3), short upper-case flags and classes (TRUE, LEFT, A, III). Not "NOWAK".
_NUMERIC = re.compile(r"^[\d\s.,:/%+()\[\]$€£~<>=-]*\d[\d\s.,:/%+()\[\]$€£~<>=a-zA-Z-]{0,6}$")
_CODE = re.compile(r"^(?=\S*\d)[A-Za-z0-9._/#-]{2,20}$|^[A-Z&/-]{1,4}$|^[IVX]{1,4}$")
# A sentence inside a value: a full stop, question or exclamation mark followed by more text.
_SENTENCE = re.compile(r"[.!?;]\s+\S")
_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)

# "Header: value" lines (or "; "-joined pairs, as table rows were rendered): a header is a short
# label that starts with a letter and has no sentence in it.
_HEADER = r"[^\W\d_](?:[^:\n.!?;]|\.(?!\s)){0,40}?"  # no sentence in it ("Item No." is one)
_FIELD = re.compile(rf"(?m)^[^\S\n]*({_HEADER})[^\S\n]*:(?!\d\d)[^\S\n]?(.*?)[^\S\n]*$")  # not 14:00


def is_people_header(header: str) -> bool:
    """True when a column's header says its values are people (Raised By, Technician, Owner)."""
    return bool(PEOPLE_HEADER.search(header)) and not NOT_NAMES_HEADER.search(header)


def is_blank(value: str) -> bool:
    return value.strip().casefold() in BLANKS


def is_coded(value: str) -> bool:
    """True for a cell that holds no words a person could be named in: a number, date or code."""
    value = value.strip()
    return not value or bool(_NUMERIC.match(value) or _CODE.match(value))


def holds_no_personal_data(value: str) -> bool:
    """True for a value too short and plain to hold any (a severity, a class, a short code: 8, H, II,
    PM01): no name, no e-mail, too few digits for a phone number or a badge."""
    value = value.strip()
    return (len(value) <= 12 and "@" not in value and sum(c.isdigit() for c in value) < 4
            and not re.search(r"[^\W\d_]{5,}", value))  # fmt: skip


def is_short(value: str) -> bool:
    """A label rather than prose: at most six words, no sentence in it, one line."""
    value = value.strip()
    return len(value) <= 60 and len(value.split()) <= 6 and "\n" not in value and not _SENTENCE.search(value)


def profile_columns(
    columns: Mapping[str, Sequence[str]], looks_like_person: Callable[[str], bool] | None = None, sample: int = 24
) -> dict[str, ColumnRole]:
    """The role of each column, from its header and all its values in one file.

    ``looks_like_person(value)``: whether a value read on its own is a person's name (the PII
    scanner's verdict); asked of at most ``sample`` distinct values of each short-valued column
    whose header does not already decide it. A column most of whose values are names holds
    people even when its header does not say so (presidio-structured's "most common" vote)."""
    roles: dict[str, ColumnRole] = {}
    for header, cells in columns.items():
        values = [v.strip() for v in cells if not is_blank(v)]
        if is_people_header(header):
            roles[header] = "person"
            continue
        if not values or sum(is_coded(v) for v in values) >= 0.9 * len(values):
            roles[header] = "controlled"
            continue
        if sum(is_short(v) for v in values) < 0.9 * len(values):
            roles[header] = "free"
            continue
        distinct = sorted(set(values), key=values.index)
        named = [v for v in distinct if not is_coded(v)][:sample]
        if looks_like_person is not None and named and sum(map(looks_like_person, named)) >= 0.5 * len(named):
            roles[header] = "person"
        elif len(values) >= 4 and len(distinct) <= max(2, len(values) // 2):
            roles[header] = "controlled"  # a small vocabulary repeated down the column
        else:
            roles[header] = "label"
    return roles


def name_spans(value: str) -> list[tuple[int, int]]:
    """The spans of ``value`` (a cell of a people column) that name someone: runs of words that are
    not a role title, a number or a code. "Reliability Eng." and "-" name no one; "J. Smith
    (Reliability Eng.)" names J. Smith; "T. Nowak / A. Brennan 2024-03-01" names two people."""
    if is_blank(value):
        return []
    spans: list[tuple[int, int]] = []
    # Runs of words, broken by separators between people and by anything that is not a word.
    for part in re.finditer(r"[^,;/&+()\[\]\n|]+", value):
        words = [w for w in _WORD.finditer(part.group()) if w.group().casefold() not in {"and", "or", "with", "by"}]
        words = [w for w in words if not (w.group().strip(".").casefold() in BLANKS and w.group() != "X")]
        if not words:
            continue
        folded = {w.group().strip(".'’").casefold() for w in words}
        if folded & ROLE_WORDS or all(w.group().isupper() and len(w.group()) <= 3 and w.group() != w.group()[:1]
                                      and not w.group().endswith(".") for w in words):  # fmt: skip
            continue  # a role ("Reliability Eng."), a team, or a department code (QA, HSE)
        start, end = part.start() + words[0].start(), part.start() + words[-1].end()
        if value[end - 1 : end] == "." and not re.search(r"(?:^|\W)\w\.$", value[start:end]):
            end -= 1  # a full stop ends the cell, not the name (an initial keeps its own)
        spans.append((start, end))
    return spans


def parse_fields(text: str) -> list[tuple[str, int, int]] | None:
    """``text`` read as a table row of ``Header: value`` lines (or "; "-joined pairs): each field's
    header and its value's span in ``text``; None when the text is not such a row (prose, or one
    lone "Note: ..." line)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and text.count("; ") >= 1:
        return _joined_fields(text)
    fields = [(m.group(1), m.start(2), m.end(2)) for m in _FIELD.finditer(text) if m.group(0).strip()]
    if (
        len(lines) < 2
        or len(fields) < len(lines)
        or len({h for h, _, _ in fields}) < 2
        or any(len(h.split()) > 6 for h, _, _ in fields)
    ):
        return None
    return fields


def _joined_fields(text: str) -> list[tuple[str, int, int]] | None:
    fields, offset = [], 0
    for part in text.split("; "):
        match = re.match(rf"\s*({_HEADER})\s*:(?!\d\d)\s?(.*?)\s*$", part, re.S)
        if match is None:
            return None
        fields.append((match.group(1), offset + match.start(2), offset + match.end(2)))
        offset += len(part) + 2
    return fields if len(fields) >= 2 else None


def locate_cells(text: str, header: Sequence[str], cells: Sequence[str]) -> list[tuple[int, int]] | None:
    """Where each cell's value stands in a row's rendered ``text`` ("Header: value" lines, or pairs
    joined by "; "), in order, looked for after its own header so that a value is never matched
    inside a header; empty cells get an empty span. None when one is not found as written (the
    row is then scanned as prose)."""
    spans, cursor = [], 0
    for i, cell in enumerate(cells):
        value = cell.strip()
        if not value:
            spans.append((cursor, cursor))
            continue
        name = header[i].strip() if i < len(header) else ""
        labelled = text.find(name, cursor) if name else -1
        start = labelled + len(name) if labelled >= 0 else cursor
        at = text.find(value, start)
        if at < 0:
            return None
        spans.append((at, at + len(value)))
        cursor = at + len(value)
    return spans
