"""Groundedness of an answer: its citations were retrieved, and its numbers are in the evidence.

The answer is read in claims: a claim is the text up to and including a run of citations (a
citation covers what precedes it on its line), or a line's uncited remainder. A claim that
cites something never retrieved, states a fact (a number or a tag) without a citation, or
quotes a number that none of the evidence it cites contains, is not grounded. Tags and
citation ids are not "numbers" (P-101 is a name); everything else with a digit is. Lines the
product writes about its own process (``notes``: "Could not check: ...") are not claims.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from maintgraph.guardrails.findings import Finding, without

CITATION = re.compile(r"\[((?:doc|graph|wo):[^\]\s]+)\]")
# A sentence states a checkable fact when it carries a number or something tag-like.
FACTUAL = re.compile(r"\d|\b[A-Z]{1,4}-\d{2,4}[A-Z]?\b")
CODE = re.compile(r"\b[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*(?:[-/][A-Za-z0-9]+)+\b|\b[A-Za-z]+\d[A-Za-z0-9]*\b")
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?")
CLAIM = re.compile(r"[^\n]*?(?:(?:\s*\[(?:doc|graph|wo):[^\]\s]+\])+[.!?]?|\n|$)")


# A list item's or step's own number: "1. Isolate ...", "- Step 2: ...", "... done. 3. Fit ...".
LIST_NUMBER = re.compile(r"(?im)(?:^\s*(?:[-*]\s*)?(?:step\s+)?|(?<=[.:;]\s))\d{1,2}[.):]\s+(?=[A-Z])")


def numbers(text: str, claim: bool = False) -> set[str]:
    """The numbers in ``text``, written one way (9,2 -> 9.2), without those inside codes and
    citations; in a ``claim``, without list and step numbers (they number the answer's lines,
    they state nothing)."""
    plain = CODE.sub(" ", CITATION.sub(" ", LIST_NUMBER.sub(" ", text) if claim else text))
    return {n.replace(",", ".") for n in NUMBER.findall(plain)}


def find_ungrounded(text: str, evidence: Mapping[str, str], notes: Sequence[str] = ()) -> list[Finding]:
    findings = []
    exempt = [(m.start(), m.start() + len(note)) for note in notes if note for m in re.finditer(re.escape(note), text)]
    for match in CLAIM.finditer(text):
        sentence = match.group()
        if not sentence.strip() or any(s <= match.start() and match.end() <= e + 1 for s, e in exempt):
            continue
        cited = CITATION.findall(sentence)
        missing = [c for c in cited if c not in evidence]
        if missing:
            kind, reason = "unknown_citation", f"cites {len(missing)} source(s) that were not retrieved"
        elif not cited and FACTUAL.search(LIST_NUMBER.sub(" ", CITATION.sub("", sentence))):
            kind, reason = "uncited_fact", "states a fact without a citation"
        else:
            supported = set().union(*(numbers(evidence[c]) for c in cited)) if cited else set()
            unsupported = numbers(sentence, claim=True) - supported
            if not unsupported:
                continue
            kind, reason = "number_not_in_evidence", f"{len(unsupported)} number(s) not in the cited evidence"
        findings.append(Finding("grounded", kind, match.start(), match.end(), reason))
    return findings


def drop_ungrounded(text: str, findings: list[Finding]) -> str:
    """``text`` without the ungrounded sentences, and a note saying how many were removed."""
    remainder = re.sub(r"\n{2,}", "\n", without(text, findings)).strip()
    note = f"({len(findings)} statement(s) removed: not supported by the retrieved records.)"
    return f"{remainder}\n{note}" if remainder else note
