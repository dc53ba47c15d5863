"""The agent's question set for the sample plant, its scoring, and the vector-only baseline.

A question is answered correctly when every expected fact is in the answer (an item that is a
list is satisfied by any one alternative; case-insensitive) and, where citations are expected,
at least one cited evidence id starts with an expected prefix. An unanswerable question expects
no citation: its facts are the phrases an honest "not known" answer contains.

The baseline answers the same questions with document search alone (same embedder, same
store, same answer composition and model, if any): no graph, no CMMS tools. Comparing the two
in one run shows what the graph and the tools add.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from maintgraph.errors import MaintgraphError

Category = Literal["single_hop", "multi_hop", "history", "parts", "loto", "unanswerable"]
CATEGORIES: tuple[Category, ...] = ("single_hop", "multi_hop", "history", "parts", "loto", "unanswerable")
DEFAULT_SET = Path(__file__).resolve().parents[2] / "data" / "eval" / "agent_questions.yaml"


class Question(BaseModel, extra="forbid"):
    id: str
    category: Category
    question: str = Field(min_length=1)
    facts: list[str | list[str]]
    cites: list[str]
    source: str = ""


def load_questions(path: Path = DEFAULT_SET) -> list[Question]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MaintgraphError(f"cannot read the question set {path}: {exc}") from None
    if not isinstance(raw, list):
        raise MaintgraphError(f"{path}: expected a list of questions")
    questions = []
    for n, item in enumerate(raw, 1):
        try:
            questions.append(Question.model_validate(item))
        except ValidationError as exc:
            raise MaintgraphError(f"{path}: question {n}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    ids = [q.id for q in questions]
    if len(ids) != len(set(ids)):
        raise MaintgraphError(f"{path}: question ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    return questions


@dataclass
class Answered:
    answer: str
    cited: list[str]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    route: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scored:
    question: Question
    answered: Answered
    missing_facts: list[str]
    citation_ok: bool

    @property
    def correct(self) -> bool:
        return not self.missing_facts and self.citation_ok


def score(question: Question, answered: Answered) -> Scored:
    text = answered.answer.lower()
    missing = []
    for fact in question.facts:
        options = fact if isinstance(fact, list) else [fact]
        if not any(option.lower() in text for option in options):
            missing.append(" | ".join(options))
    if question.cites:
        citation_ok = any(c.startswith(prefix) for c in answered.cited for prefix in question.cites)
    else:
        citation_ok = True  # "not known" needs no source; facts decide
    return Scored(question, answered, missing, citation_ok)


@dataclass
class Report:
    name: str
    scored: list[Scored]

    def by_category(self) -> dict[str, tuple[int, int]]:
        """category -> (correct, asked)."""
        table: dict[str, tuple[int, int]] = {}
        for item in self.scored:
            right, asked = table.get(item.question.category, (0, 0))
            table[item.question.category] = (right + item.correct, asked + 1)
        return {c: table[c] for c in CATEGORIES if c in table}

    def accuracy(self, category: str | None = None) -> float:
        chosen = [s for s in self.scored if category is None or s.question.category == category]
        return sum(s.correct for s in chosen) / len(chosen) if chosen else 0.0

    def latency(self) -> dict[str, float]:
        seconds = sorted(s.answered.seconds for s in self.scored)
        return {"p50_s": statistics.median(seconds), "p95_s": _percentile(seconds, 0.95)}

    def node_latency(self) -> dict[str, dict[str, float]]:
        """p50/p95 seconds per node (retrieval branches as retrieve:<source>)."""
        per_node: dict[str, list[float]] = {}
        for item in self.scored:
            for node, seconds in item.answered.timings.items():
                per_node.setdefault(node, []).append(seconds)
        return {node: {"p50_s": statistics.median(v), "p95_s": _percentile(sorted(v), 0.95)}
                for node, v in per_node.items()}  # fmt: skip


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def run_set(name: str, questions: list[Question], answer: Callable[[Question], Answered],
            progress: bool = False) -> Report:  # fmt: skip
    from rich.progress import track

    items = track(questions, description=f"{name}: answering") if progress else questions
    return Report(name, [score(q, answer(q)) for q in items])


def comparison_table(reports: list[Report]) -> str:
    """Per-category accuracy of each report side by side, as plain text."""
    header = f"{'category':<14}" + "".join(f"{r.name:>16}" for r in reports)
    lines = [header, "-" * len(header)]
    for category in CATEGORIES:
        cells = []
        for report in reports:
            right, asked = report.by_category().get(category, (0, 0))
            cells.append(f"{right:>3}/{asked:<3} {right / asked if asked else 0:>5.0%}   ")
        lines.append(f"{category:<14}" + "".join(f"{c:>16}" for c in cells))
    lines.append(f"{'all':<14}" + "".join(f"{r.accuracy():>15.0%} " for r in reports))
    return "\n".join(lines)


# -- the two contestants --------------------------------------------------------------------------


def agent_answerer(assistant: Any, thread_prefix: str = "eval") -> Callable[[Question], Answered]:
    """Each question in its own conversation, as a technician's first question."""

    def answer(question: Question) -> Answered:
        started = time.perf_counter()
        result = assistant.ask(question.question, f"{thread_prefix}-{question.id}")
        seconds = time.perf_counter() - started
        return Answered(result.answer, [c["id"] for c in result.cited], seconds, result.timings, result.route)

    return answer


def vector_only_answerer(search: Callable[[str], list[Any]], llm: Any = None, model: str | None = None,
                         prompt_chars: int = 4800) -> Callable[[Question], Answered]:  # fmt: skip
    """Document search (``search(question)`` -> evidence; the agent's own search, so the two
    compare like with like) + the same answer composition and model, if given; nothing else."""
    from maintgraph.agent.synthesis import finish, messages
    from maintgraph.agent.understand import Understanding

    def answer(question: Question) -> Answered:
        started = time.perf_counter()
        evidence = search(question.question)
        retrieved = time.perf_counter()
        draft = ""
        if llm is not None and evidence:
            try:
                prompt = messages(question.question, evidence, prompt_chars)
                draft = llm.chat(prompt, model=model, max_tokens=300).text
            except MaintgraphError:
                draft = ""
        done = finish(draft, evidence, Understanding(question.question, "general"), [])
        now = time.perf_counter()
        timings = {"retrieve:docs": retrieved - started, "synthesise": now - retrieved}
        return Answered(done.text, done.cited, now - started, timings)

    return answer
