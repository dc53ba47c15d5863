"""Plain-text helpers every layer reads text with: where sentences begin and end.

A sentence ends at . ! or ? followed by space and a capital, digit or opening bracket, unless
the word before is a common abbreviation ("e.g. EP2 grease" is one sentence).
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'\[])")
_LIST_MARKER = re.compile(r"(?i)(?:[-*]\s*)?(?:step\s+)?\d{1,2}[.)]")  # "1." or "- Step 2." opens a list item
_ABBREVIATIONS = {"e.g.", "i.e.", "approx.", "no.", "fig.", "ref.", "max.", "min.", "incl.", "vs.", "etc.", "cf.",
                  "dr.", "mr.", "ms.", "st.", "rev.", "vol.", "nom."}  # fmt: skip


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, surrounding whitespace left out."""
    spans: list[tuple[int, int]] = []
    start = len(text) - len(text.lstrip())
    for gap in _SENTENCE_END.finditer(text):
        if gap.start() <= start:
            continue
        piece = text[start : gap.start()]
        if piece.split()[-1].lower() in _ABBREVIATIONS or _LIST_MARKER.fullmatch(piece.strip()):
            continue  # "e.g. EP2", "1. Isolate": the sentence goes on
        spans.append((start, gap.start()))
        start = gap.end()
    end = len(text.rstrip())
    if end > start:
        spans.append((start, end))
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]
