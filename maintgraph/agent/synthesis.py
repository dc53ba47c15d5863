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

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from maintgraph.agent import compose
from maintgraph.agent.prompts import ANSWER_SYSTEM, REWRITE_SYSTEM, answer_question, rewrite_question
from maintgraph.agent.understand import Understanding
from maintgraph.citations import CITATION, CODE, doc_id, ground, keep_grounded
from maintgraph.graph.communities import REPORT_SOURCE
from maintgraph.retrieval.base import PHYSICAL, Evidence
from maintgraph.retrieval.community_reports import PLANT_WIDE
from maintgraph.retrieval.readings import TITLE as READING_CHECK

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
    # "recurring", "themes", "across" ask how to look at the records, not for something in them.
    return [word for word in seen.topic if len(word) >= 5 and word[:5] not in text and word not in ASKING
            and word not in linked and not PLANT_WIDE.fullmatch(word)]  # fmt: skip


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
                         [c.name for c in seen.failure_terms], symptom, modes)  # fmt: skip


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


# -- the model phrases, the composer guarantees ---------------------------------------------------------

CHARS_PER_TOKEN = 3.2  # SmolLM2's tokenizer on this text (tags, figures and units take more tokens than prose)
PROMPT_OVERHEAD_TOKENS = 24  # the chat template's own tokens
LINE_TOKENS = 6  # a rewritten line's number, citation and line break
REWRITE_RATIO = 1.0  # a small model's rewrite is about as long as the sentence (it mostly copies)
CALL_OVERHEAD_S = 0.3  # the request, the server's scheduling, the first token's own step
# Until the model's calls have been measured: this 2-core CPU, the base model (an adapter decodes slower).
PRIOR_DECODE_TPS = 8.0
PRIOR_PREFILL_TPS = 400.0
RECENT_CALLS = 8
CITE_NUMBER = re.compile(r"\[(\d{1,2})\]")
LINE = re.compile(r"^\s*(?:[-*]\s*)?(\d{1,2})[.)]\s+(.*\S)\s*$")
NEGATION = re.compile(r"(?i)\b(?:not|no|never|none|nothing|without|cannot|can't|don't|do not|must not|isn't|is not)\b")
FLIP = re.compile(r"(?i)\b(?:above|below|over|under|before|after|higher|lower|more|less|open|closed?|on|off)\b")
RAW_FIELD = re.compile(r"\b[a-z]+_[a-z_]+:")
WORDS = re.compile(r"[a-z][a-z-]{2,}")


@dataclass(frozen=True)
class Rates:
    """How fast the model writes (tokens a second after the first) and reads its prompt."""

    decode_tps: float
    prefill_tps: float
    measured: int = 0  # calls measured (0: the priors)


def measured_rates(records: Iterable[Any], model: str | None = None, recent: int = RECENT_CALLS) -> Rates:
    """The model's rates over its ``recent`` streamed calls that wrote something (the LLM client's
    call records: latency, time to first token, prompt and completion tokens), the median of each;
    the priors where none was measured. Only streamed calls: a guided tool choice's tokens come
    faster than free text's, and would promise more than the model writes."""
    calls = [r for r in records if getattr(r, "kind", "") == "stream" and not getattr(r, "error", None)
             and (r.completion_tokens or 0) >= 4 and r.first_token_s and r.latency_s > r.first_token_s
             and (model is None or r.model == model)][-recent:]  # fmt: skip
    if not calls:
        return Rates(PRIOR_DECODE_TPS, PRIOR_PREFILL_TPS, 0)
    decode = statistics.median((r.completion_tokens - 1) / (r.latency_s - r.first_token_s) for r in calls)
    prefill = [r.prompt_tokens / r.first_token_s for r in calls if r.prompt_tokens]
    return Rates(decode, statistics.median(prefill) if prefill else PRIOR_PREFILL_TPS, len(calls))


@dataclass
class Survival:
    """How the model's recent rewrites fared, per model (one record per assistant, on its
    context): a model whose sentences mostly fail the check is not called (its time would be
    thrown away), but for one turn in ``probe_every``, which keeps measuring it (an adapter
    promoted since, a lighter load)."""

    recent: int = 10  # phrased turns remembered
    least: float = 0.2  # the share of sentences that must survive
    probe_every: int = 5
    turns: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # model -> (sent, survived) per turn
    skipped: dict[str, int] = field(default_factory=dict)

    def record(self, model: str, sent: int, survived: int) -> None:
        self.turns[model] = [*self.turns.get(model, []), (sent, survived)][-self.recent :]
        self.skipped[model] = 0

    def share(self, model: str) -> tuple[int, int]:
        done = self.turns.get(model, [])
        return sum(s for s, _ in done), sum(k for _, k in done)

    def why_not(self, model: str) -> str:
        """Why ``model`` is not to be called this turn ("" when it is)."""
        sent, survived = self.share(model)
        if len(self.turns.get(model, [])) < 3 or survived >= self.least * sent:
            return ""
        self.skipped[model] = self.skipped.get(model, 0) + 1
        if self.skipped[model] >= self.probe_every:  # a probe: measured again
            return ""
        return (
            f"its rewrites fail the check: {survived} of {sent} sentences survived over its last "
            f"{len(self.turns[model])} phrased turns (called again every {self.probe_every} turns to re-measure)"
        )


def tokens_of(text: str) -> float:
    return len(text) / CHARS_PER_TOKEN


@dataclass
class Phrasing:
    """What the model is asked to rewrite, within the time budget, or why it is not called."""

    sentences: list[compose.Sentence]  # the composed answer
    budget_s: float
    rates: Rates
    sent: list[int] = field(default_factory=list)  # indexes in ``sentences`` the model rewrites, in order
    refs: list[str] = field(default_factory=list)  # evidence ids: ``[n]`` in the prompt is refs[n - 1]
    messages: list[dict[str, str]] = field(default_factory=list)
    max_tokens: int = 0
    expected_s: float = 0.0
    skipped: str = ""  # why the model is not called ("" when it is)

    def skip(self, why: str) -> None:
        """Not called after all (``why`` empty: nothing changes)."""
        if why:
            self.skipped, self.sent, self.messages, self.max_tokens = why, [], [], 0

    def trace(self) -> dict[str, Any]:
        phrasable = [i for i, s in enumerate(self.sentences) if phrasable_sentence(s)]
        return {"budget_s": self.budget_s, "expected_s": round(self.expected_s, 2), "sent": len(self.sent),
                "of": len(phrasable), "max_tokens": self.max_tokens, "skipped": self.skipped,
                "decode_tps": round(self.rates.decode_tps, 1), "prefill_tps": round(self.rates.prefill_tps, 1),
                "rates_measured_on": self.rates.measured}  # fmt: skip


def phrasable_sentence(sentence: compose.Sentence) -> bool:
    """A sentence the model may rewrite: a cited one outside the isolation steps (those stay as
    the composer wrote them, from the procedure)."""
    return sentence.section != "isolate" and bool(sentence.cited)


def cited_line(sentence: compose.Sentence, refs: list[str]) -> str:
    return f"{sentence.text} {' '.join(f'[{refs.index(c) + 1}]' for c in sentence.cited)}".rstrip()


def rewrite_messages(question: str, sentences: list[compose.Sentence]) -> tuple[list[dict[str, str]], list[str]]:
    """The model's prompt to rewrite ``sentences`` (each citing its evidence as ``[n]``), and the
    evidence ids the numbers stand for (``[n]`` is ``refs[n - 1]``)."""
    refs = list(dict.fromkeys(c for s in sentences for c in s.cited))
    lines = [cited_line(s, refs) for s in sentences]
    return [{"role": "system", "content": REWRITE_SYSTEM},
            {"role": "user", "content": rewrite_question(question, lines)}], refs  # fmt: skip


def plan_phrasing(question: str, evidence: list[Evidence], seen: Understanding, budget_s: float,
                  rates: Rates, most_tokens: int = 2048) -> Phrasing:  # fmt: skip
    """The composed sentences the model can rewrite within ``budget_s`` seconds, in the answer's
    order, each taken while the expected time still fits (prompt tokens at the prefill rate, the
    rewrite's tokens at the decode rate; one too long is left to the composer); none, with the
    reason, when none fits. ``most_tokens`` bounds what it writes (``llm_answer_tokens``)."""
    if any(e.title in ANALYTIC for e in evidence):
        return Phrasing([], budget_s, rates, skipped="a computed answer: its figures are stated as computed")
    sentences = composed(evidence, seen)
    plan = Phrasing(sentences, budget_s, rates)
    candidates = [i for i, s in enumerate(sentences) if phrasable_sentence(s)]
    if not candidates:
        plan.skipped = "nothing to phrase: the answer is the isolation steps or says nothing was found"
        return plan
    fixed = tokens_of(REWRITE_SYSTEM) + PROMPT_OVERHEAD_TOKENS
    chosen: list[int] = []
    written = reading = 0.0
    first = 0.0
    for i in candidates:  # in the answer's order; one that does not fit is left to the composer
        trial = [*chosen, i]
        asking, refs = rewrite_messages(question, [sentences[j] for j in trial])
        lines = [cited_line(sentences[j], refs) for j in trial]
        prompt = fixed + tokens_of(asking[-1]["content"])
        out = written + tokens_of(lines[-1]) * REWRITE_RATIO + LINE_TOKENS
        seconds = CALL_OVERHEAD_S + prompt / rates.prefill_tps + out / rates.decode_tps
        first = first or seconds
        if seconds > budget_s or out > most_tokens:
            continue
        chosen, written, reading, plan.expected_s = trial, out, prompt / rates.prefill_tps, seconds
        plan.refs, plan.messages = refs, asking
    if not chosen:
        plan.expected_s = first
        plan.skipped = (f"over budget: no sentence fits (the first alone would take about {first:.1f} s at "
                        f"{rates.decode_tps:.1f} tokens/s, over the {budget_s:g} s budget)")  # fmt: skip
        return plan
    plan.sent = chosen
    room = math.floor((budget_s - CALL_OVERHEAD_S - reading) * rates.decode_tps)  # the budget's hard stop
    plan.max_tokens = max(16, min(math.ceil(written * 1.3) + 8, room, most_tokens))
    return plan


@dataclass
class Phrased:
    """The answer with the model's sentences that passed, the composer's elsewhere."""

    text: str  # "" when no model sentence passed (the composed answer is the answer)
    survived: int
    sent: int
    failed: list[tuple[int, str]] = field(default_factory=list)  # (the sentence's number, why it fell back)

    def trace(self) -> dict[str, Any]:
        return {"survived": self.survived, "failed": [f"{n}: {why}" for n, why in self.failed]}


def drafted_lines(draft: str) -> dict[int, str]:
    """The model's numbered lines (the first line of each number); a line it wrapped is joined."""
    lines: dict[int, str] = {}
    last = None
    for raw in draft.splitlines():
        found = LINE.match(raw)
        if found:
            number = int(found[1])
            last = number if number not in lines else None
            if last is not None:
                lines[last] = found[2]
        elif raw.strip() and last is not None and not lines[last].rstrip().endswith("]"):
            lines[last] += " " + raw.strip()
    return lines


def stems_of(text: str) -> set[str]:
    return {compose.stem(w) for w in WORDS.findall(text.lower())}


def turning(text: str, *patterns: re.Pattern[str]) -> set[str]:
    """The words of ``text`` that turn its meaning: negations, and (by default) comparisons and states."""
    return {w.lower() for p in patterns or (NEGATION, FLIP) for w in p.findall(text)}


def negated(text: str) -> set[str]:
    """The stem of the word each negation in ``text`` turns: "do not add" -> "add", "cannot escape" -> "escap"."""
    out = set()
    for found in NEGATION.finditer(text):
        following = WORDS.search(text.lower(), found.end())
        if following and following.start() - found.end() < 12:
            out.add(compose.stem(following[0]))
    return out


def check_line(line: str | None, sentence: compose.Sentence, refs: list[str],
               evidence: dict[str, str]) -> tuple[compose.Sentence | None, str]:  # fmt: skip
    """The model's rewrite of ``sentence`` if it holds, else ``(None, why)``: it cites (as
    ``[n]`` or in full) only evidence the sentence cites, and at least one; the citation check
    passes it against that evidence (no number it does not hold); every tag or code it names is
    in that evidence; its words are the evidence's or the sentence's; it gains or loses no
    negation, nor a word that turns a comparison (above/below, open/closed); it is not longer
    than the sentence by half."""
    if not line:
        return None, "not written (cut off, or a line left out)"
    cited = [refs[int(n) - 1] for n in CITE_NUMBER.findall(line) if 0 < int(n) <= len(refs)]
    cited += CITATION.findall(line)
    cited = list(dict.fromkeys(cited))
    text = " ".join(CITATION.sub(" ", CITE_NUMBER.sub(" ", line)).split()).strip()
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    if not cited:
        return None, "dropped its citation"
    if not set(cited) <= set(sentence.cited):
        return None, "cites evidence its sentence does not"
    if len(text) < 8 or not re.search(r"[A-Za-z]{3}", text):
        return None, "empty"
    if len(text) > 1.5 * len(sentence.text) + 20:
        return None, "longer than the sentence it rewrites"
    if RAW_FIELD.search(text) or "['" in text:
        return None, "a raw record field"
    source = " ".join(evidence.get(c, "") for c in cited)
    claims = ground(text + " " + " ".join(f"[{c}]" for c in cited), {c: evidence.get(c, "") for c in cited})
    bad = [c for c in claims if not c.grounded]
    if bad:
        return None, "; ".join(WHY_REMOVED[c.problem](c) for c in bad if c.problem)
    known = f"{source} {sentence.text}".lower()
    names = [n for n in CODE.findall(text) if n.lower() not in known]
    if names:
        return None, f"names {', '.join(names)}, which its evidence does not"
    words = stems_of(text)
    novel = words - stems_of(known)
    if words and len(novel) > max(1, 0.3 * len(words)):
        return None, f"says what its evidence does not ({', '.join(sorted(novel)[:4])})"
    gained = turning(text) - turning(sentence.text)
    if gained:
        return None, f"turns the meaning ({', '.join(sorted(gained))})"
    lost = negated(sentence.text) & words if not turning(text, NEGATION) else set()
    if lost:  # "do not add grease" -> "add grease"; dropping the whole negated clause is condensing
        return None, f"drops a negation (of {', '.join(sorted(lost))})"
    text = text if text.endswith((".", "!", "?", ":")) else text + "."
    return replace(sentence, text=text[0].upper() + text[1:], cited=tuple(cited)), ""


def phrase(draft: str, plan: Phrasing, evidence: list[Evidence]) -> Phrased:
    """The composed answer with each sentence the model rewrote in its words where the rewrite
    holds (:func:`check_line`), in the composer's words where it does not."""
    lines = drafted_lines(draft)
    texts = {e.id: e.text for e in evidence}
    out = list(plan.sentences)
    failed: list[tuple[int, str]] = []
    for number, index in enumerate(plan.sent, 1):
        kept, why = check_line(lines.get(number), plan.sentences[index], plan.refs, texts)
        if kept is None:
            failed.append((number, why))
        else:
            out[index] = kept
    survived = len(plan.sent) - len(failed)
    return Phrased(compose.render(out) if survived else "", survived, len(plan.sent), failed)
