"""Wording an answer's sentences: whole sentences of a bounded length, cut at a clause and never
inside a word, lists joined as a person writes them, words matched by their stems."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

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


def clauses(text: str, limit: int = SENTENCE_CHARS) -> list[str]:
    """A long sentence (a table row: ``Tag: M-501; Drives: P-501; ...``) in pieces of whole clauses."""
    pieces, current = [], ""
    for clause in text.split("; "):
        if current and len(current) + len(clause) + 2 > limit:
            pieces.append(current)
            current = clause
        else:
            current = f"{current}; {clause}" if current else clause
    return [*pieces, current] if current else pieces
