"""Wording an answer's sentences: whole sentences of a bounded length, cut at a clause and never
inside a word, lists joined as a person writes them, words matched by their stems."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from maintgraph.citations import LIST_NUMBER
from maintgraph.text import split_sentences

SENTENCE_CHARS = 260  # one sentence, at most (cut at a clause, never inside a word)


def clean(text: str) -> str:
    return " ".join(str(text).split()).strip()


def sentence(text: str, limit: int = SENTENCE_CHARS) -> str:
    """``text`` as one sentence of at most about ``limit`` characters: its first sentence, cut
    at the last clause (``;``, ``,``) that fits when that is longer, never inside a word; a
    capital first and a full stop last."""
    text = clean(text)
    first = next(iter(split_sentences(text)), text)
    if len(first) > limit:
        cut = max(first.rfind("; ", 0, limit), first.rfind(", ", 0, limit), first.rfind(" - ", 0, limit))
        first = first[:cut] if cut > limit // 3 else first  # no clause to cut at: the whole sentence
    first = first.rstrip(" ;,:-")
    if not first:
        return ""
    first = first[0].upper() + first[1:]
    return first if first[-1] in ".!?" else first + "."


def lower_first(text: str) -> str:
    """ "Housing packed..." -> "housing packed...", but "P-101 ..." and "EP2 ..." stay as written."""
    head = text.split(" ", 1)[0]
    return text if not text or head.isupper() or any(c.isdigit() for c in head) else text[0].lower() + text[1:]


def key_of(ref: Any) -> str:
    """``"Sensor:TT-101-DE"`` -> ``"TT-101-DE"``."""
    return str(ref).split(":", 1)[-1]


def join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def stem(word: str) -> str:
    """A word's first letters once its ending is cut: "rated" ~ "rating", "tripped" ~ "trip", "greasing" ~ "grease"."""
    cut = re.sub(r"(?:ings?|ed|es|s)$", "", word) if len(word) > 4 else word
    if len(cut) > 3 and cut[-1] == cut[-2]:  # "tripp" -> "trip"
        cut = cut[:-1]
    return cut[:5]


def clauses(text: str, limit: int = SENTENCE_CHARS, mark: str = "; ") -> list[str]:
    """A long sentence (a table row: ``Tag: M-501; Drives: P-501; ...``) in pieces of whole clauses
    (cut at ``mark``)."""
    pieces, current = [], ""
    for clause in text.split(mark):
        if current and len(current) + len(clause) + len(mark) > limit:
            pieces.append(current)
            current = clause
        else:
            current = f"{current}{mark}{clause}" if current else clause
    return [*pieces, current] if current else pieces


# A key opening a table row written as text: at the start, after a value ("... 145 °C Sensor: TT-2") or
# after the table's lead-in ("wired to SCADA: Sensor: TT-1"), never after a "; " (the same row's next column).
ROW_START = re.compile(r"(?:^|(?<=[^;,:\s]) |(?<=: ))([A-Z][A-Za-z]+(?: [a-z]+){0,2}): ")


def rows(text: str) -> list[str]:
    """A table flattened into text (``Sensor: TT-1; Alarm: 85 °C Sensor: TT-2; Alarm: 90 °C``) in
    its rows, cut where the key that opens a row comes again; any other text is one piece."""
    if "; " not in text:
        return [text]
    starts = list(ROW_START.finditer(text))
    counts: dict[str, int] = {}
    for match in starts:
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    key = next((m.group(1) for m in starts if counts[m.group(1)] >= 2), None)
    if key is None:
        return [text]
    cuts = [m.start(1) for m in starts if m.group(1) == key]
    pieces = [text[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return [p for p in pieces if p]


def lead_in(found: list[str], i: int, limit: int) -> int | None:
    """Where the lead-in of the table whose row is ``found[i]`` is ("Online monitoring:"), if short."""
    key = ROW_START.match(found[i])
    j = i - 1
    while key and j >= 0 and found[j].startswith(f"{key.group(1)}: "):
        j -= 1
    return j if key and j >= 0 and j < i and found[j].endswith(":") and len(found[j]) < limit else None


def pieces(text: str, limit: int) -> list[str]:
    """``text`` in the pieces an answer quotes: its sentences, a table's rows, and what is still
    longer than ``limit`` cut at its clauses."""
    out: list[str] = []
    # "6. Backwash pump ...", "House: 4. Air dryer ...": the document's list numbers are not the answer's.
    for s in split_sentences(LIST_NUMBER.sub("", clean(text))):
        for row in rows(s):
            for piece in clauses(row, limit) if len(row) > limit else [row]:
                out += clauses(piece, limit, ", ") if len(piece) > limit else [piece]  # no "; ": at its commas
    return out
