"""The model phrases, the composer guarantees: the served model rewrites the composed answer's
sentences one numbered line each, within a time budget estimated from its measured rates, and each
line that fails its check falls back to the composer's sentence (:mod:`maintgraph.agent.synthesis`
composes and checks the answer; this module plans and judges the model's rewrite)."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from maintgraph.agent import compose
from maintgraph.agent.prompts import REWRITE_SYSTEM, rewrite_question
from maintgraph.agent.synthesis import ANALYTIC, WHY_REMOVED, composed
from maintgraph.agent.understand import Understanding
from maintgraph.citations import CITATION, CODE, ground
from maintgraph.retrieval.base import Evidence

CHARS_PER_TOKEN = 3.2  # SmolLM2's tokenizer on this text (tags, figures and units take more tokens than prose)
PROMPT_OVERHEAD_TOKENS = 24  # the chat template's own tokens
LINE_TOKENS = 6  # a rewritten line's number, citation and line break
REWRITE_RATIO = 1.0  # a small model's rewrite is about as long as the sentence (it mostly copies)
CALL_OVERHEAD_S = 0.3  # the request, the server's scheduling, the first token's own step
# Until the model's calls have been measured: this 2-core CPU, the base model (an adapter decodes slower).
PRIOR_DECODE_TPS = 8.0
PRIOR_PREFILL_TPS = 400.0
RECENT_CALLS = 8
# The share of the budget a plan may expect to use: the rest is room for a slower call than measured
# (a busy CPU), so that the lines sent finish, with their citations, before the budget's hard stop
# (measured on this CPU with the adapter: expected 4.6-4.9 s took 5.1-5.3 s, every line cut short).
PLAN_SHARE = 0.75
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


def measured_rates(records: Iterable[Any], model: str | None = None, recent: int = RECENT_CALLS,
                   prior_decode_tps: float | None = None) -> Rates:  # fmt: skip
    """The model's rates over its ``recent`` streamed calls that wrote something (the LLM client's
    call records: latency, time to first token, prompt and completion tokens), the median of each;
    the priors where none was measured (``prior_decode_tps``: the model's rate recorded when it
    was evaluated, else :data:`PRIOR_DECODE_TPS`). Only streamed calls: a guided tool choice's tokens come
    faster than free text's, and would promise more than the model writes."""
    calls = [r for r in records if getattr(r, "kind", "") == "stream" and not getattr(r, "error", None)
             and (r.completion_tokens or 0) >= 4 and r.first_token_s and r.latency_s > r.first_token_s
             and (model is None or r.model == model)][-recent:]  # fmt: skip
    if not calls:
        return Rates(prior_decode_tps or PRIOR_DECODE_TPS, PRIOR_PREFILL_TPS, 0)
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
        if seconds > budget_s * PLAN_SHARE or out > most_tokens:
            continue
        chosen, written, reading, plan.expected_s = trial, out, prompt / rates.prefill_tps, seconds
        plan.refs, plan.messages = refs, asking
    if not chosen:
        plan.expected_s = first
        plan.skipped = (f"over budget: no sentence fits (the first alone would take about {first:.1f} s at "
                        f"{rates.decode_tps:.1f} tokens/s, over {PLAN_SHARE:.0%} of the {budget_s:g} s "
                        "budget)")  # fmt: skip
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
