"""Composing the answer from the evidence: the model phrases and orders, the evidence decides.

The model sees the evidence numbered by id and is asked to cite ids; :func:`finish` then keeps
only what the citation check lets through. If nothing cited survives (small models rarely
cite), the answer is the evidence itself, one cited line each. For physical work the isolation
steps come first whatever the model wrote: they are prepended from the graph's LOTO facts when
the model's answer does not cite them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from maintgraph.agent.prompts import ANSWER_SYSTEM, answer_question
from maintgraph.agent.understand import Understanding
from maintgraph.citations import doc_id, ground, keep_grounded
from maintgraph.graph.communities import REPORT_SOURCE
from maintgraph.retrieval.base import PHYSICAL, Evidence
from maintgraph.retrieval.community_reports import PLANT_WIDE

MAX_EVIDENCE_IN_PROMPT = 12
EXTRACTIVE_LINES = 8
LINE_CHARS = 400
REPORT_EVIDENCE = doc_id(REPORT_SOURCE)


def is_isolation(item: Evidence) -> bool:
    return item.title == "isolation" or "LOTOProcedure" in item.id


def ordered(evidence: list[Evidence], focus: tuple[str, ...] = (), intent: str = "") -> list[Evidence]:
    """Isolation first (it comes before any task step), then what answers the question (causes
    and failure modes, fixes, documents, records), and the asset's surroundings last; within
    each, what mentions a ``focus`` term (the failure mode or part asked about) first."""
    terms = [t.lower() for t in focus if t]

    def rank(item: Evidence) -> int:
        if is_isolation(item):
            return 0
        if item.id.startswith("wo:STOCK:") or item.title in ("fitted part", "part"):  # asked only for parts
            return 1
        if item.id.startswith(REPORT_EVIDENCE):  # a plant-wide question's answer: the reports, then their follow-ups
            return 1
        if item.title in ("symptom_causes", "failure_modes", "failure_mode_fix", "shared_components"):
            return 2 if intent == "parts" else 1  # a parts question is answered by the stock first
        if intent == "history" and item.kind == "wo":  # the records are the answer
            return 1
        if item.title == "equipment_neighbourhood":
            return 4
        return {"doc": 2, "wo": 3}.get(item.kind, 3)

    def about(item: Evidence) -> int:
        text = item.text.lower()
        return -sum(term in text for term in terms)  # more of the question's terms: earlier

    return sorted(evidence, key=lambda item: (rank(item), about(item)))  # stable: each source keeps its own ranking


def prompt_chars(context_tokens: int, answer_tokens: int) -> int:
    """How much evidence text fits the model's context beside the instructions and the answer:
    3 characters a token, which is conservative for text full of tags and part numbers."""
    return max(500, (context_tokens - answer_tokens - 200) * 3)


def messages(question: str, evidence: list[Evidence], max_chars: int = 4800,
             seen: Understanding | None = None) -> list[dict[str, str]]:  # fmt: skip
    """The prompt: the best evidence (in the extractive answer's order), numbered by id, as much
    as fits ``max_chars``."""
    entries: list[str] = []
    used = len(ANSWER_SYSTEM) + len(question)
    focus, intent = (focus_terms(seen), seen.intent) if seen else ((), "")
    for item in ordered(evidence, focus, intent)[:MAX_EVIDENCE_IN_PROMPT]:
        entry = f"[{item.id}] {' '.join(item.text.split())[:LINE_CHARS]}"
        if used + len(entry) > max_chars:
            break
        entries.append(entry)
        used += len(entry) + 1
    listing = "\n".join(entries)
    return [{"role": "system", "content": ANSWER_SYSTEM},
            {"role": "user", "content": answer_question(listing, question)}]  # fmt: skip


def line(item: Evidence) -> str:
    text = " ".join(item.text.split())
    return f"- {text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + '…'} [{item.id}]"


def focus_terms(seen: Understanding) -> tuple[str, ...]:
    """What the answer should lead with: the failure modes, symptoms and parts asked about."""
    terms = [f"mode: {c.key}" if c.label == "FailureMode" else c.name for c in seen.failure_terms]
    return (*terms, *(c.key for c in seen.parts), *(word[:5] for word in seen.topic))


def unmentioned(seen: Understanding, evidence: list[Evidence]) -> list[str]:
    """Words the question turns on that no evidence contains ("warranty"): what the records do
    not say, which the answer must admit rather than answer around."""
    text = " ".join(e.text.lower() for e in evidence)
    # "recurring", "themes", "across" ask how to look at the records, not for something in them.
    return [word for word in seen.topic if len(word) >= 5 and word[:5] not in text and not PLANT_WIDE.fullmatch(word)]


def extractive_answer(
    evidence: list[Evidence], focus: tuple[str, ...] = (), intent: str = "", limit: int = EXTRACTIVE_LINES
) -> tuple[str, list[str]]:
    """The evidence itself, one cited line each, best first (isolation is :func:`finish`'s to add)."""
    chosen = [e for e in ordered(evidence, focus, intent) if not is_isolation(e)][:limit]
    if not chosen:
        return "I found nothing in the documents, the equipment graph or the CMMS that answers this.", []
    return "From the plant's records:\n" + "\n".join(line(e) for e in chosen), [e.id for e in chosen]


@dataclass
class CitationCheck:
    answer: str  # what may be shown: the kept claims, plus a note on what was removed
    kept: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (claim, why)
    cited: list[str] = field(default_factory=list)  # evidence ids the kept answer cites, in order

    @property
    def grounded(self) -> bool:
        return not self.removed


WHY_REMOVED = {
    "unknown_citation": lambda c: f"cites {', '.join(c.missing)}, which was not retrieved",
    "uncited_fact": lambda c: "states a fact without a citation",
    "number_not_in_evidence": lambda c: f"quotes {', '.join(c.unsupported)}, which the evidence it cites does not",
}


def check_citations(answer: str, evidence: list[Evidence]) -> CitationCheck:
    """The model's answer less every claim :func:`maintgraph.citations.ground` finds ungrounded
    (the rules the ``grounded`` guard applies too), and a note saying how many were left out, so
    that a small model cannot slip an invented fact into an answer."""
    claims = ground(answer, {e.id: e.text for e in evidence})
    kept = [c for c in claims if c.grounded]
    check = CitationCheck(answer=keep_grounded(answer, claims).strip(), kept=[c.text.strip() for c in kept])
    check.removed = [(c.text.strip(), WHY_REMOVED[c.problem](c)) for c in claims if c.problem]
    check.cited = list(dict.fromkeys(i for c in kept for i in c.cited))
    if check.removed:
        check.answer += (f"\n\n({len(check.removed)} statement(s) left out: the evidence retrieved does not "
                         "support them.)")  # fmt: skip
    return check


@dataclass
class Answer:
    text: str
    cited: list[str]
    removed: int  # sentences of the model's draft the citation check left out
    extractive: bool  # the evidence itself was shown, not the model's phrasing


def not_checked_note(not_checked: list[str]) -> str:
    """The line saying which sources or tools could not be consulted this turn."""
    return "Could not check: " + "; ".join(not_checked)


# The titles of computed answers (maintgraph.retrieval.analytics): over the FMEA, over the CMMS records.
ANALYTIC = ("fmea_query", "cmms_query")


def analytic_answer(draft: str, evidence: list[Evidence], not_checked: list[str]) -> Answer | None:
    """A question the FMEA's or the CMMS's records answer exactly: the computed sentences lead, with their
    figures and the entries they were computed from, never the raw records. The model's draft
    follows only for what it adds from the documents (a claim citing a document), so it cannot
    restate a figure wrongly."""
    computed = [e for e in evidence if e.title in ANALYTIC]
    if not computed:
        return None
    checked = check_citations("\n\n".join(e.text for e in computed), evidence)
    text, cited = checked.answer, checked.cited
    extra = check_citations(draft, evidence) if draft else None
    if extra is not None and any(c.startswith("doc:") for c in extra.cited):
        text += "\n\nFrom the documents:\n" + extra.answer
        cited += [c for c in extra.cited if c not in cited]
    if not_checked:
        text += "\n\n" + not_checked_note(not_checked)
    return Answer(text, cited, len(checked.removed), extra is None or not extra.cited)


def finish(draft: str, evidence: list[Evidence], seen: Understanding, not_checked: list[str]) -> Answer:
    """The answer that may be shown: the checked draft (or the evidence), isolation first for
    physical work, and what could not be checked."""
    analytic = analytic_answer(draft, evidence, not_checked)
    if analytic is not None:
        return analytic
    checked = check_citations(draft, evidence)
    text, cited, extractive = checked.answer, checked.cited, False
    if not cited:  # nothing supported survived: the evidence itself, cited
        (text, cited), extractive = extractive_answer(evidence, focus_terms(seen), seen.intent), True
    missing = unmentioned(seen, evidence)
    if missing:
        text = f"Not found in the records retrieved: {', '.join(missing)}. What they do say:\n\n{text}"
    isolation = sorted((e for e in evidence if is_isolation(e)), key=lambda e: "LOTOProcedure" not in e.id)
    if seen.intent in PHYSICAL and isolation:  # always the whole block, before anything else
        text = "Isolate first:\n" + "\n".join(line(e) for e in isolation) + "\n\n" + text
        cited = [e.id for e in isolation] + [c for c in cited if c not in {e.id for e in isolation}]
    if not_checked:
        text += "\n\n" + not_checked_note(not_checked)
    return Answer(text, cited, len(checked.removed), extractive)
