"""The answer from the evidence: the composer guarantees, the model phrases.

:mod:`maintgraph.agent.compose` writes the answer from the evidence, each sentence citing what it
states. The model then rewrites it sentence by sentence (:func:`plan_phrasing`, :func:`phrase`):
it gets the composed sentences after the isolation steps (which stay as the composer wrote them),
each with its citation as a short number, and answers one numbered line per sentence. Each line is
checked on its own against the evidence its sentence cites (:func:`check_line`: the same
citations, no number, tag or claim its evidence does not hold, no negation gained or lost); a
line that fails gives way to the composer's sentence, never to a dump of the records.

A model whose recent rewrites mostly failed the check is not called (:class:`Survival`: fewer
than one sentence in five survived over its last phrased turns; one turn in five still calls it,
to measure it again). Otherwise the model is called only for what it is expected to finish within the time budget
(``agent_model_budget_s``): the expected time comes from the prompt's and the rewrite's token
counts and the decode and prefill rates of the model's recent calls (the LLM client records each
call's latency and tokens). The sentences that fit are sent, in the answer's order (what the
question asks, then the causes...); when none fits, or the answer is a computed one
(:func:`analytic_answer`), the model is skipped, and the route's ``phrasing`` says why. Its
``max_tokens`` is what the budget allows, so it cannot run on past it either.

:func:`finish` then adds what the records lack and what could not be checked. Given a free-form
draft (the vector-only baseline's), it keeps the claims the citation check lets through, else
the composed answer; for physical work the isolation steps come first whatever the model wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from maintgraph.agent import compose
from maintgraph.agent.prompts import ANSWER_SYSTEM, answer_question
from maintgraph.agent.understand import Understanding
from maintgraph.citations import doc_id, ground, keep_grounded
from maintgraph.graph.communities import REPORT_SOURCE
from maintgraph.retrieval.base import PHYSICAL, Evidence
from maintgraph.retrieval.community_reports import PLANT_WIDE
from maintgraph.retrieval.readings import TITLE as READING_CHECK
from maintgraph.text import split_sentences

MAX_EVIDENCE_IN_PROMPT = 12
LINE_CHARS = 400  # of one evidence item's text in the model's prompt
REPORT_EVIDENCE = doc_id(REPORT_SOURCE)


def is_isolation(item: Evidence) -> bool:
    return item.title == "isolation" or "LOTOProcedure" in item.id


def ordered(evidence: list[Evidence], focus: tuple[str, ...] = (), intent: str = "") -> list[Evidence]:
    """Isolation first (it comes before any task step), then what answers the question (causes
    and failure modes, fixes, documents, records), and the asset's surroundings last; within
    each, what mentions a ``focus`` term (the failure mode or part asked about) first."""
    terms = [t.lower() for t in focus if t]

    def rank(item: Evidence) -> float:
        if is_isolation(item):
            return 0
        if item.title == READING_CHECK:  # where the question's reading stands: right after isolation
            return 0.5
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


def focus_terms(seen: Understanding) -> tuple[str, ...]:
    """What the answer should lead with: the failure modes, symptoms and parts asked about."""
    terms = [f"mode: {c.key}" if c.label == "FailureMode" else c.name for c in seen.failure_terms]
    return (*terms, *(c.key for c in seen.parts), *(word[:5] for word in seen.topic))


# Words a question asks with, not about: never reported as missing from the records.
ASKING = frozenset(
    "shows show showing behind watch makes make made value values highest lowest largest smallest associated "
    "modes mode subcomponent subcomponents component components likely usual usually cause causes caused "
    "which whats would could should first second third thing things something anything everything about "
    "doing going there where whose while since until against between within without through during "
    "across recurring themes common pattern patterns overall main often again settings setting tomorrow "
    "quick please thanks looking looks keeps kept problem problems worry worried normal okay reads reading".split()
)  # fmt: skip


def unmentioned(seen: Understanding, evidence: list[Evidence]) -> list[str]:
    """Words the question turns on that no evidence contains ("warranty"): what the records do
    not say, which the answer must admit rather than answer around. Words that say how the
    question is asked ("shows", "behind", "value") are not among them."""
    text = " ".join(e.text.lower() for e in evidence)
    linked = " ".join(f"{c.alias} {c.name}".lower() for c in seen.failure_terms)  # "surging": linked, so known
    asking = set(re.findall(r"[a-z][a-z0-9-]+", asking_part(seen.question).lower()))
    # "recurring", "themes", "across" ask how to look at the records, not for something in them.
    return [word for word in seen.topic if len(word) >= 5 and word[:5] not in text and word not in ASKING
            and word not in linked and not PLANT_WIDE.fullmatch(word) and word in asking]  # fmt: skip


def asking_part(question: str) -> str:
    """The sentences that ask (ending in "?"), without what the asker says of themselves or the job
    before them ("I'm Priya, the new reliability engineer (...). What alarm ... on IT-M201?"); the
    whole question when no sentence ends in "?"."""
    asked = [s for s in split_sentences(question) if s.rstrip().endswith("?")]
    return " ".join(asked) or question


def named_but_missing(seen: Understanding, evidence: list[Evidence]) -> list[str]:
    """The things the question names (an asset, a part, a failure mode linking found) that no
    evidence is about."""
    text = " ".join(f"{e.id} {e.text}" for e in evidence).lower()
    missing = [tag for tag in seen.tags if tag.lower() not in text]
    missing += [part.key for part in seen.parts if part.key.lower() not in text]
    # A failure mode the question names (not one linking read into its words): "overheating", "OHE".
    asked = seen.question.lower()
    modes = [c for c in seen.failure_terms if c.label == "FailureMode" and (c.name.lower() in asked or c.key in
                                                                            seen.question.split())]  # fmt: skip
    missing += [f"{c.name} ({c.key})" for c in modes if f"mode: {c.key}".lower() not in text
                and c.name.lower() not in text]  # fmt: skip
    return missing


def asked(seen: Understanding) -> compose.Asked:
    """The question as the composer reads it (:mod:`maintgraph.agent.compose`)."""
    symptom = bool(seen.failure_terms)
    modes = [c.key for c in seen.failure_terms if c.label == "FailureMode"]
    return compose.asked(seen.question, seen.intent, seen.topic, [*seen.tags, *(p.key for p in seen.parts)],
                         [c.name for c in seen.failure_terms], symptom, modes,
                         overview=PLANT_WIDE.search(seen.question) is not None)  # fmt: skip


def composed(evidence: list[Evidence], seen: Understanding) -> list[compose.Sentence]:
    """The composer's answer: its sentences, best evidence first, isolation first for physical work."""
    return compose.compose(ordered(evidence, focus_terms(seen), seen.intent), asked(seen))


def composed_pairs(evidence: list[Evidence], seen: Understanding) -> list[tuple[str, list[str]]]:
    """The composed answer as (sentence, evidence ids): what a model rewriting it sentence by
    sentence must keep cited."""
    return compose.pairs(composed(evidence, seen))


NOTHING = "I found nothing in the documents, the equipment graph or the CMMS that answers this."


def composed_answer(evidence: list[Evidence], seen: Understanding) -> tuple[str, list[str]]:
    """The composed answer's text and the ids it cites, isolation included."""
    sentences = composed(evidence, seen)
    if not [s for s in sentences if s.section != "isolate"] and not sentences:
        return NOTHING, []
    return compose.render(sentences), list(dict.fromkeys(c for s in sentences for c in s.cited))


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
    """The line saying which sources or tools could not be consulted this turn, in words
    ("cmms asset history", not "cmms asset_history")."""
    return "Could not check: " + "; ".join(re.sub(r"(?<=[a-z])_(?=[a-z])", " ", item) for item in not_checked)


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


def missing_note(seen: Understanding, evidence: list[Evidence]) -> str:
    """What the records do not hold about the question: a thing it names with no evidence, or
    words it turns on that no evidence mentions; empty when nothing is missing."""
    named, words = named_but_missing(seen, evidence), unmentioned(seen, evidence)
    notes = []
    if named:
        notes.append(f"The records retrieved hold nothing about {compose.join(named)}.")
    if words:
        notes.append(f"The records retrieved do not say anything about {compose.join(words)}.")
    return " ".join(notes)


def finish(draft: str, evidence: list[Evidence], seen: Understanding, not_checked: list[str]) -> Answer:
    """The answer that may be shown: the checked draft (or the composed answer), isolation
    first for physical work, what the records lack, and what could not be checked."""
    analytic = analytic_answer(draft, evidence, not_checked)
    if analytic is not None:
        return analytic
    checked = check_citations(draft, evidence)
    text, cited, extractive = checked.answer, checked.cited, False
    if not cited:  # nothing supported survived: the answer composed from the evidence
        (text, cited), extractive = composed_answer(evidence, seen), True
    elif seen.intent in PHYSICAL:  # the model's answer: the composer's isolation block before it
        block = compose.isolation_block(evidence, compose.Asked(seen.question, seen.intent))
        if block and not any(c in cited for s in block for c in s.cited):
            text = compose.render(block) + "\n\n" + text
            cited = list(dict.fromkeys([*(c for s in block for c in s.cited), *cited]))
    missing = missing_note(seen, evidence)
    if missing:
        text += "\n\n" + missing
    if not_checked:
        text += "\n\n" + not_checked_note(not_checked)
    return Answer(text, cited, len(checked.removed), extractive)
