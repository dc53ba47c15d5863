"""The citation grammar: how evidence is named, how an answer cites it, and what is grounded.

One module, below both the agent and the guards, so that what the agent's citation check keeps
and what the ``grounded`` guard lets through are decided by the same rules.

Evidence ids: ``doc:<chunk id>`` (a document chunk or a community report), ``graph:<node ref>``
(a fact of the knowledge graph: ``graph:FMEAEntry:...``), ``wo:<key>`` (a CMMS record: a work
order number, or ``wo:HISTORY:<tag>``, ``wo:STOCK:<part>@<store>``...). An answer cites them in
square brackets: ``[wo:WO-25-00077]``.

Claims: an answer is read line by line; on a line, a claim is the text up to and including a run
of citations (a citation covers what precedes it on its line), and the uncited rest of a line is
one claim per sentence. A claim is **grounded** unless it

- cites an id that was never retrieved (``unknown_citation``),
- cites nothing yet states a fact, a number or an equipment tag (``uncited_fact``), or
- quotes a number that none of the evidence it cites contains (``number_not_in_evidence``).

Tags, part numbers and citation ids are names, not numbers (P-101, BRG-6312-C3); list and step
numbers ("1. Isolate ...") number the answer's lines and state nothing. Lines the product writes
about its own process (``notes``: "Could not check: ...") are not claims.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from maintgraph.text import sentence_spans

EvidenceKind = Literal["doc", "graph", "wo"]
EVIDENCE_KINDS: tuple[EvidenceKind, ...] = ("doc", "graph", "wo")

# -- names ---------------------------------------------------------------------------------------------

# An id never holds "[" (nor "]" or a space): a scan that fails at "[doc:[doc:..." fails at the next
# "[", so every pattern here is linear in the text, whatever an answer or a document holds.
_ID = r"(?:doc|graph|wo):[^\[\]\s]+"
CITATION = re.compile(rf"\[({_ID})\]")


def numbered(text: str, ids: list[str]) -> str:
    """``text`` with each citation of one of ``ids`` written as its number in that list ("[3]"), as
    a reader sees it beside a numbered list of sources; other brackets are left as they are."""
    number = {cited: n for n, cited in enumerate(ids, 1)}
    return CITATION.sub(lambda m: f"[{number[m[1]]}]" if m[1] in number else m[0], text)


CITATION_RUN = re.compile(rf"\[{_ID}\](?:\s*\[{_ID}\])*[.!?]?")  # starts at its "[": no rescans of the space before
# What an equipment tag looks like on a plant: P-101, XV-201, AIT-401, HX301 (never inside BRG-6312-C3).
EQUIPMENT_TAG = r"[A-Z]{1,4}-?\d{2,4}[A-Z]?"
TAG_IN_TEXT = re.compile(rf"(?<![\w-]){EQUIPMENT_TAG}(?![\w-])")


def doc_id(chunk_id: str) -> str:
    return f"doc:{chunk_id}"


def graph_id(ref: str) -> str:
    """A graph fact, named by its node: ``graph:FMEAEntry:P-101/3``."""
    return f"graph:{ref}"


def wo_id(*parts: str) -> str:
    """A CMMS record: ``wo_id("WO-25-00077")``, ``wo_id("HISTORY", "P-101")``."""
    return "wo:" + ":".join(parts)


def cited_ids(text: str) -> list[str]:
    """The evidence ids ``text`` cites, in order, each once."""
    return list(dict.fromkeys(CITATION.findall(text)))


def without_citations(text: str) -> str:
    return CITATION.sub(" ", text)


# -- numbers ---------------------------------------------------------------------------------------------

CODE = re.compile(r"\b(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]++(?:[-/][A-Za-z0-9]++)+\b|\b[A-Za-z]++\d[A-Za-z0-9]*+\b")
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?")
# A list item's or step's own number: "1. Isolate ...", "- Step 2: ...", "... done. 3. Fit ...".
LIST_NUMBER = re.compile(r"(?im)(?:^[^\S\n]*(?:[-*][^\S\n]*)?(?:step\s+)?|(?<=[.:;]\s))\d{1,2}[.):]\s+(?=[A-Z])")
# A claim states a checkable fact when it carries a digit: a number, or a tag (every tag has one).
FACTUAL = re.compile(r"\d")


def numbers(text: str, claim: bool = False) -> set[str]:
    """The numbers in ``text``, written one way (9,2 -> 9.2), without those inside codes and
    citations; in a ``claim``, without list and step numbers."""
    plain = CODE.sub(" ", without_citations(LIST_NUMBER.sub(" ", text) if claim else text))
    return {n.replace(",", ".") for n in NUMBER.findall(plain)}


# -- grounding -------------------------------------------------------------------------------------------

Problem = Literal["unknown_citation", "uncited_fact", "number_not_in_evidence"]


@dataclass(frozen=True)
class Claim:
    start: int
    end: int
    text: str
    cited: list[str] = field(default_factory=list)
    problem: Problem | None = None
    missing: list[str] = field(default_factory=list)  # cited ids never retrieved
    unsupported: list[str] = field(default_factory=list)  # numbers none of its cited evidence holds

    @property
    def grounded(self) -> bool:
        return self.problem is None


def claim_spans(text: str) -> list[tuple[int, int]]:
    """Where each claim of ``text`` starts and ends (see the module's docstring)."""
    spans: list[tuple[int, int]] = []
    line_start = 0
    for line in text.split("\n"):
        start = 0
        for run in CITATION_RUN.finditer(line):
            spans.append((line_start + start, line_start + run.end()))
            start = run.end()
        rest = line[start:]
        spans += [(line_start + start + s, line_start + start + e) for s, e in sentence_spans(rest)]
        line_start += len(line) + 1
    return [(s, e) for s, e in spans if text[s:e].strip()]


def ground(text: str, evidence: Mapping[str, str], notes: Sequence[str] = ()) -> list[Claim]:
    """Every claim of ``text``, judged against ``evidence`` (id -> text). The agent keeps the
    grounded claims of a model's answer; the ``grounded`` guard reports the others."""
    exempt = [(m.start(), m.start() + len(note)) for note in notes if note for m in re.finditer(re.escape(note), text)]
    claims = []
    for start, end in claim_spans(text):
        if any(s <= start and end <= e + 1 for s, e in exempt):
            continue
        sentence = text[start:end]
        cited = cited_ids(sentence)
        missing = [c for c in cited if c not in evidence]
        problem: Problem | None = None
        unsupported: list[str] = []
        if missing:
            problem = "unknown_citation"
        elif not cited and FACTUAL.search(LIST_NUMBER.sub(" ", sentence)):
            problem = "uncited_fact"
        elif cited:
            supported = set().union(*(numbers(evidence[c]) for c in cited))
            unsupported = sorted(numbers(sentence, claim=True) - supported)
            problem = "number_not_in_evidence" if unsupported else None
        claims.append(Claim(start, end, sentence, cited, problem, missing, unsupported))
    return claims


def keep_grounded(text: str, claims: Sequence[Claim]) -> str:
    """``text`` without its ungrounded claims: a line that lost a claim has its spacing tidied,
    and a line left with nothing is dropped."""
    cuts = sorted((c.start, c.end) for c in claims if not c.grounded)
    lines, line_start = [], 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        here = [(max(s, line_start), min(e, line_end)) for s, e in cuts if s < line_end and e > line_start]
        if here:
            kept, last = [], line_start
            for s, e in here:
                kept.append(text[last:s])
                last = max(last, e)
            line = " ".join("".join([*kept, text[last:line_end]]).split())
        if line.strip():
            lines.append(line.rstrip())
        line_start = line_end + 1
    return "\n".join(lines)
