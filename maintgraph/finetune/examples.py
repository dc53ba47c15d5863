"""Supervision examples: chat conversations whose last message is the answer to learn.

Three kinds of source, each a file with a data card beside it (``NAME.card.yaml``):
- handwritten: question variants with one house-style answer (a SAFETY line, numbered CHECK
  steps, a RECORD line), written for this project;
- templates: questions generated over the knowledge graph (every equipment tag, every job
  plan), put to the agent without a model; the example is a prompt in the agent's synthesis
  format (its instructions, the evidence it found numbered by id, the question; less evidence
  than the agent sends, ``dataset.prompt_chars``, to keep CPU training short) and a short
  answer stating the opening sentences of the leading evidence entries, each with its id: it
  teaches the model to cite;
- examples: chat examples as JSONL, one ``{"id", "question", "messages"}`` per line (what
  ``maintgraph finetune examples from-traces --approved`` exports from reviewed answers).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from maintgraph.agent.synthesis import messages as synthesis_messages
from maintgraph.errors import MaintgraphError
from maintgraph.retrieval.base import Evidence

LEADING_ENTRIES = 3  # evidence entries a template answer states
SENTENCE_CHARS = 220
LEAD_CHARS = 80


@dataclass
class Example:
    id: str
    question: str  # what the user asked (the leakage check compares it with the evaluation sets)
    messages: list[dict[str, str]]  # the last one is the assistant's answer to learn
    source: str = ""
    scrubbed: int = 0  # PII findings the ingestion guard replaced
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def answer(self) -> str:
        return self.messages[-1]["content"]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "messages": self.messages, "source": self.source}


def normalised(text: str) -> str:
    """Lower case words only: "P-101 running hot?" and "p-101 running  hot" are the same question."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def text_hash(text: str) -> str:
    return hashlib.sha256(normalised(text).encode()).hexdigest()


# -- handwritten ----------------------------------------------------------------------------------


def house_answer(entry: dict[str, Any]) -> str:
    steps = "\n".join(f"{n}. {step}" for n, step in enumerate(entry["checks"], 1))
    return f"SAFETY: {entry['safety']}\nCHECK:\n{steps}\nRECORD: {entry['record']}"


def handwritten(path: Path) -> list[Example]:
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        examples = []
        for n, entry in enumerate(entries, 1):
            answer = house_answer(entry)
            for k, question in enumerate(entry["questions"], 1):
                examples.append(Example(f"{path.stem}:{n}.{k}", question, [
                    {"role": "user", "content": question}, {"role": "assistant", "content": answer}]))  # fmt: skip
        return examples
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise MaintgraphError(f"{path}: not a handwritten example file ({type(exc).__name__}: {exc})") from None


# -- chat examples as JSONL -----------------------------------------------------------------------


def from_jsonl(path: Path) -> list[Example]:
    examples = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MaintgraphError(f"{path}: cannot read ({exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            chat = data["messages"]
            if not chat or chat[-1]["role"] != "assistant" or not all(m["content"].strip() for m in chat):
                raise ValueError("messages must end with a non-empty assistant answer")
            examples.append(Example(str(data["id"]), str(data["question"]), chat))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MaintgraphError(f"{path}:{number}: not a chat example ({exc})") from None
    return examples


# -- templates over the graph ---------------------------------------------------------------------

SUBJECTS = {
    # placeholder set -> the graph query that lists its values
    "tag": "MATCH (e:Equipment) RETURN e.tag AS tag ORDER BY tag",
    "procedure": "MATCH (p:Procedure) RETURN p.id AS procedure, p.name AS name ORDER BY procedure",
}


def template_questions(path: Path, read: Callable[[str], list[dict[str, Any]]]) -> Iterator[str]:
    """Each template filled with every value its placeholders take in the graph:
    ``{tag}`` every equipment tag, ``{procedure}`` / ``{name}`` every job plan."""
    try:
        templates = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MaintgraphError(f"{path}: cannot read the templates ({exc})") from None
    for subject, questions in templates.items():
        if subject not in SUBJECTS:
            raise MaintgraphError(f"{path}: unknown subject {subject!r} (known: {', '.join(SUBJECTS)})")
        rows = read(SUBJECTS[subject])
        for template in questions:
            for row in rows:
                try:
                    yield template.format(**row)
                except KeyError as exc:
                    raise MaintgraphError(f"{path}: template {template!r} uses {exc}, which {subject} lacks") from None


def evidence_of(found: list[dict[str, str]]) -> list[Evidence]:
    return [Evidence(e["id"], e["id"].split(":", 1)[0], e["text"], e.get("title", "")) for e in found]  # type: ignore[arg-type]


def lead(text: str) -> str:
    """The opening of an evidence text: whole sentences until there are enough words to say
    something ("1." or "Revision: C." alone says nothing), cut at a word near ``SENTENCE_CHARS``."""
    sentences = re.split(r"(?<=[a-z0-9)][.!?])\s+(?=[A-Z0-9])", " ".join(text.split()))
    kept = ""
    for sentence in sentences:
        kept = f"{kept} {sentence}".strip()
        if len(kept) >= LEAD_CHARS:
            break
    return kept if len(kept) <= SENTENCE_CHARS else kept[: SENTENCE_CHARS - 1].rsplit(" ", 1)[0] + "…"


LISTED = re.compile(r"^\[([^\]]+)\] (.*)$")


def cited_answer(prompt: list[dict[str, str]]) -> str:
    """The answer to learn for a synthesis prompt: the leading evidence entries, as listed (the
    agent lists isolation first), each stated in its opening sentences and cited by its id."""
    listing = prompt[-1]["content"].split("\n\nQuestion: ", 1)[0]
    entries = [m.groups() for line in listing.splitlines() if (m := LISTED.match(line))]
    return "\n".join(f"- {lead(text)} [{ref}]" for ref, text in entries[:LEADING_ENTRIES])


def from_templates(path: Path, read: Callable[[str], list[dict[str, Any]]],
                   ask: Callable[[str], list[dict[str, str]]], prompt_chars: int,
                   limit: int | None = None, progress: Callable[[Any], Any] = iter) -> list[Example]:  # fmt: skip
    """``read`` runs a graph query; ``ask`` returns the evidence the agent finds for a question."""
    questions = list(dict.fromkeys(template_questions(path, read)))[: limit or None]
    examples = []
    for question in progress(questions):
        evidence = evidence_of(ask(question))
        if not evidence:
            continue  # nothing found: nothing to learn to cite
        prompt = synthesis_messages(question, evidence, prompt_chars)
        answer = cited_answer(prompt)
        if answer:
            examples.append(Example(f"{path.stem}:{text_hash(question)[:10]}", question,
                                    [*prompt, {"role": "assistant", "content": answer}]))  # fmt: skip
    return examples


# -- reviewed answers from traces -----------------------------------------------------------------


def from_reviews(reviewed: list[tuple[Any, Any]], prompt_chars: int) -> list[Example]:
    """Approved answers (``maintgraph.agent.traces.ReviewStore.approved``) as synthesis examples:
    the prompt rebuilt from the evidence the turn retrieved, the answer as the reviewer left it."""
    examples = []
    for trace, review in reviewed:
        found: dict[str, dict[str, str]] = {}
        dropped = set(trace.route.get("dropped", []))
        for call in trace.tool_calls:
            for result in call.get("results", []):
                if result["id"] not in dropped:
                    found.setdefault(result["id"], result)
        evidence = evidence_of(list(found.values()))
        prompt = (synthesis_messages(trace.question, evidence, prompt_chars) if evidence
                  else [{"role": "user", "content": trace.question}])  # fmt: skip
        answer = review.answer or trace.answer
        chat = [*prompt, {"role": "assistant", "content": answer}]
        examples.append(Example(f"trace:{trace.id}", trace.question, chat, meta={"reviewer": review.reviewer}))
    return examples


def write_examples(path: Path, examples: list[Example], card: dict[str, Any]) -> None:
    """The examples as JSONL and their data card beside them (``NAME.card.yaml``), each written
    whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    card_file = path.with_name(path.name.split(".", 1)[0] + ".card.yaml")
    for target, text in ((path, "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in examples)),
                         (card_file, yaml.safe_dump(card, sort_keys=False, allow_unicode=True))):  # fmt: skip
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)


def export_approved(traces: Any, path: Path, since: datetime | None = None, prompt_chars: int = 2400) -> int:
    """The answers people approved in ``traces`` (a ``TraceStore``; reviews from ``since`` on) as
    chat examples at ``path``, with a data card naming the reviewers; returns how many."""
    from maintgraph.agent.traces import ReviewStore

    reviewed = ReviewStore(traces).approved(since.astimezone() if since else None)
    if not reviewed:
        raise MaintgraphError("no approved answers to export: review some with `maintgraph trace review ID --approve`")
    examples = from_reviews(reviewed, prompt_chars)
    reviewers = sorted({r.reviewer for _, r in reviewed})
    card = {"name": path.name.split(".", 1)[0], "version": datetime.now().strftime("%Y%m%d%H%M%S"),
            "description": f"{len(examples)} answers recorded by the agent and approved by people, exported from "
                           "its traces (maintgraph finetune examples from-traces --approved)",
            "sources": [f"agent traces reviewed {reviewed[0][1].reviewed_at:%Y-%m-%d} to "
                        f"{reviewed[-1][1].reviewed_at:%Y-%m-%d}"],
            "authors": ", ".join(reviewers), "licence": "the site's own data (internal use)",
            "privacy_class": "internal", "intended_use": "supervision for the site's adapters"}  # fmt: skip
    write_examples(path, examples, card)
    return len(examples)
