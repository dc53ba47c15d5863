"""Grading the evidence: drop what does not bear on the question; reformulate once if too little is left.

Graph facts and CMMS records were fetched for the linked entities, and community reports for a
plant-wide question (their words are the model's, not the question's), so they are relevant by
construction. Document hits come from a similarity search and can be off the point: a hit is
kept when it names an asked equipment or shares enough of the question's content words. When
fewer than ``MIN_EVIDENCE`` items survive, the document query is reformulated once from what
entity linking understood (equipment names, failure terms, part names and the intent's own
vocabulary), which finds manuals that use other words than the technician.
"""

from __future__ import annotations

import re

from maintgraph.agent.understand import Understanding
from maintgraph.citations import doc_id
from maintgraph.graph.communities import REPORT_SOURCE
from maintgraph.retrieval.base import Evidence

MIN_EVIDENCE = 3
REPORT_EVIDENCE = doc_id(REPORT_SOURCE)
MIN_OVERLAP = 0.25  # share of the question's content words a document hit must contain
WORD = re.compile(r"[a-z][a-z0-9]+")
STOP = frozenset(
    "the and for with what why how when where which who does did do is are was were has have had can could should "
    "would will there their this that these those from into onto about after before over under any some our your "
    "its it's not but all also just still need needs check checked running runs what's".split()
)  # fmt: skip
INTENT_WORDS = {
    "diagnose": "causes checks troubleshooting",
    "procedure": "procedure steps isolation lockout",
    "history": "history inspection record",
    "parts": "spare part bearing seal",
    "work_order": "repair",
    "analytics": "failure modes FMEA",
    "general": "",
}


def content_words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if len(w) > 2 and w not in STOP}


def relevant(item: Evidence, seen: Understanding, words: set[str]) -> bool:
    if item.kind != "doc" or item.id.startswith(REPORT_EVIDENCE):
        return True  # fetched for the linked entities, or the community reports a plant-wide question asked for
    text = item.text.lower() + " " + item.title.lower()
    if any(tag.lower() in text for tag in seen.tags):
        return True
    return bool(words) and len(words & content_words(text)) / len(words) >= MIN_OVERLAP


def grade(evidence: list[Evidence], seen: Understanding) -> tuple[list[Evidence], list[str]]:
    """(kept, ids dropped as irrelevant)."""
    words = content_words(seen.question) - {t.lower() for t in seen.tags}
    kept = [e for e in evidence if relevant(e, seen, words)]
    return kept, [e.id for e in evidence if e not in kept]


def too_little(kept: list[Evidence]) -> bool:
    return len(kept) < MIN_EVIDENCE


def reformulate(seen: Understanding) -> str:
    """A document query in the manuals' words: what was linked, by name, and the intent's vocabulary."""
    names = [f"{c.key} {c.name}" for c in seen.equipment] + [c.name for c in (*seen.failure_terms, *seen.parts)]
    query = " ".join([*names, INTENT_WORDS[seen.intent]]).strip()
    return query if query and query.lower() != seen.question.lower() else ""
