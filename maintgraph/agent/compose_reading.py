"""How the composer reads a question and an evidence item: the answer's sentence (what it
states, what it cites, how closely it answers), the question as read (what it turns on, how long
its answer may be), a field the evidence's text states, and how much of the question a text says.
See :mod:`maintgraph.agent.compose`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from maintgraph.agent.wording import clean, stem
from maintgraph.retrieval.base import PHYSICAL, Evidence

# Characters as read, each citation counted as a number ("[3]": a client may show the ids as numbers).
DIAGNOSIS_CHARS = 1200  # a diagnosis or a job: about a phone screen
LOOKUP_CHARS = 800  # one fact asked for: a few sentences
OVERVIEW_CHARS = 1600  # what recurs across the plant's records: the themes, each with its example
BUDGET = {"history": 900}  # a lookup of records: a few more lines
CITATION_CHARS = 4
WORD = re.compile(r"[a-z0-9][a-z0-9-]*")
NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
LOOP = re.compile(r"(?<=[A-Z-])\d{3,}(?=\b|-)")  # a tag's loop number: P-501, TT-M501-WDG: the same loop
PARTS = re.compile(r"(?i)\b(parts?|spares?|kit|order|stores?|stock|need|take[sn]?|fitted|number)\b")  # asks for parts
ASKS = re.compile(r"(?i)\b(?:what|which|where|when|who|how|why|is there|are there|do we|have we|has it)\b")
NAMED = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9.]+)+\b")  # tags and part numbers: P-101, BRG-6312-C3


@dataclass(frozen=True)
class Sentence:
    """One sentence of the answer and the evidence it states."""

    text: str  # without its citations
    cited: tuple[str, ...]
    section: str = "answer"
    score: float = 0.0  # how closely it answers the question (higher first when space is short)
    numbered: bool = False  # a step of a numbered list
    # A quote of a source's pieces (a document's sentences): those quoted and, said when the answer
    # has room (see fill), those around them, each as (where in the source, text).
    quoted: tuple[tuple[int, str], ...] = ()
    more: tuple[tuple[int, str], ...] = ()

    def cited_text(self) -> str:
        return f"{self.text} {' '.join(f'[{c}]' for c in self.cited)}".strip()

    @property
    def size(self) -> int:
        """Its length as read, with a line break (and a list number)."""
        return len(self.text) + CITATION_CHARS * len(self.cited) + 4


@dataclass(frozen=True)
class Asked:
    """What the composer reads of the question."""

    question: str
    intent: str = "general"
    terms: tuple[str, ...] = ()  # words the question turns on (topic, failure terms)
    names: tuple[str, ...] = ()  # tags and part numbers it names
    diagnosis: bool = False  # a symptom to troubleshoot or a job to do: the longer answer
    common: tuple[str, ...] = ()  # names most of the evidence holds (the asset asked about): they tell little
    wants_parts: bool = False  # the question asks which parts (to order, to fit, in stock)
    modes: tuple[str, ...] = ()  # the failure modes linking found in it (ISO 14224 codes: OHE, VIB)
    overview: bool = False  # a look over the plant's records: what recurs, what dominates
    several: bool = False  # it asks more than one thing ("which sensor ..., and what part ...")

    @property
    def physical(self) -> bool:
        return self.intent in PHYSICAL

    @property
    def budget(self) -> int:
        if self.overview:
            return OVERVIEW_CHARS
        return DIAGNOSIS_CHARS if self.diagnosis else BUDGET.get(self.intent, LOOKUP_CHARS)


def asked(question: str, intent: str = "general", topic: Iterable[str] = (), names: Iterable[str] = (),
          failure_terms: Iterable[str] = (), symptom: bool = False, modes: Iterable[str] = (),
          overview: bool = False) -> Asked:  # fmt: skip
    """The question as the composer reads it: a symptom to troubleshoot, a job to do, or a look
    over the plant's records (``overview``: what recurs, what dominates) gets the longer answer;
    anything else is a lookup."""
    tags = {*names, *NAMED.findall(question)}
    figures = NUMBER.findall(NAMED.sub(" ", question))  # "in 2025", "8 mm/s": records that state them
    words = [w.lower() for w in (*topic, *failure_terms, *figures) if w]
    several = len(ASKS.findall(question)) >= 2  # "which sensor ..., and what part ...": more than one fact
    diagnosis = intent == "procedure" or (intent == "diagnose" and symptom) or several or overview
    return Asked(question, intent, tuple(dict.fromkeys(words)), tuple(sorted(tags)), diagnosis,
                 wants_parts=bool(PARTS.search(question)), modes=tuple(modes), overview=overview,
                 several=several)  # fmt: skip


# -- words ------------------------------------------------------------------------------------------------


def said(item: Evidence, key: str) -> Any:
    """A field of ``item`` if its text states it (a string the guards cut out of the text, or
    never rendered into it, is not written back); lists keep the elements the text states."""
    value = item.fields.get(key)
    if value in (None, "", [], {}):
        return None
    if isinstance(value, str):
        return clean(value) if value in item.text else None
    if isinstance(value, list):
        kept = [clean(v) for v in value if isinstance(v, str) and v and v in item.text]
        return kept or None
    return value


# -- relevance --------------------------------------------------------------------------------------------


def relevance(text: str, question: Asked) -> float:
    """How much of what the question turns on ``text`` states: names (tags, part numbers) count
    three, a name's loop number in another tag a half (M-501 and TT-M501-WDG go with P-501), other
    words one (matched on their first five letters, "greasing" ~ "grease", also inside a longer
    word, "greased" ~ "REGREASE")."""
    lowered = text.lower()
    words = set(WORD.findall(lowered)) | set(re.findall(r"[a-z0-9]+", lowered))  # "brg-de" is also "de"
    stems = {stem(w) for w in words if len(w) >= 4}
    score = sum(0.5 if name in question.common else 3.0 for name in question.names if name.lower() in lowered)
    loops = {n for name in question.names if name.lower() not in lowered for n in LOOP.findall(name)}
    score += 0.5 * sum(1 for n in loops if re.search(rf"(?<![\d.]){n}(?![\d.])", lowered))  # M-501 of P-501
    for term in question.terms:
        parts = term.lower().split()
        hits = sum(1.0 for p in parts if p in words or (len(p) >= 4 and said_as(stem(p), stems, words)))
        score += hits / max(1, len(parts))
    return score


def said_as(root: str, stems: set[str], words: set[str]) -> bool:
    """A word's stem among the text's, or (five letters of it) inside a longer word: "greased" ~ "REGREASE"."""
    return root in stems or (len(root) >= 5 and any(root in w for w in words if len(w) > len(root) + 1))
