"""Evidence and citations: what an answer may say is decided by what was retrieved.

Every fact the agent retrieves becomes an :class:`Evidence` with an id the answer cites:
``doc:<chunk id>``, ``graph:<node or path ref>``, ``wo:<work-order number>``. After the model
has phrased the answer, :func:`check_citations` keeps each sentence whose citations are all in
the evidence, removes sentences that cite something never retrieved, and removes uncited
sentences that state a fact (a number or an equipment tag), then says what was removed, so
that a small model cannot slip an invented fact into an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from maintgraph.ingest.chunking import split_sentences

CITATION = re.compile(r"\[((?:doc|graph|wo):[^\]\s]+)\]")
# A sentence states a checkable fact when it carries a number or something tag-like.
FACTUAL = re.compile(r"\d|\b[A-Z]{1,4}-\d{2,4}[A-Z]?\b")


@dataclass(frozen=True)
class Evidence:
    id: str  # doc:<chunk>, graph:<ref>, wo:<number>
    kind: Literal["doc", "graph", "wo"]
    text: str
    title: str = ""


@dataclass
class CitationCheck:
    answer: str  # what may be shown: the kept sentences, plus a note on what was removed
    kept: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (sentence, why)
    cited: list[str] = field(default_factory=list)  # evidence ids the kept answer cites, in order

    @property
    def grounded(self) -> bool:
        return not self.removed


def check_citations(answer: str, evidence: list[Evidence]) -> CitationCheck:
    known = {e.id for e in evidence}
    check = CitationCheck(answer="")
    for paragraph in answer.split("\n"):
        kept_here = []
        for sentence in split_sentences(paragraph) if paragraph.strip() else []:
            ids = CITATION.findall(sentence)
            missing = [i for i in ids if i not in known]
            if missing:
                check.removed.append((sentence, f"cites {', '.join(missing)}, which was not retrieved"))
            elif not ids and FACTUAL.search(sentence):
                check.removed.append((sentence, "states a fact without a citation"))
            else:
                kept_here.append(sentence)
                check.cited += [i for i in ids if i not in check.cited]
        check.kept += kept_here
        check.answer += " ".join(kept_here) + "\n" if kept_here else ""
    check.answer = check.answer.strip()
    if check.removed:
        check.answer += (f"\n\n({len(check.removed)} statement(s) left out: the evidence retrieved does not "
                         "support them.)")  # fmt: skip
    return check
