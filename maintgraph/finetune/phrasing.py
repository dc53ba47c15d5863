"""The model's one job in the agent, as supervision and as a measure: rephrase the composed answer.

The agent composes its answer from the evidence (:mod:`maintgraph.agent.compose`) and asks the
model to rewrite it sentence by sentence, each line keeping its ``[n]`` citation
(:func:`maintgraph.agent.phrasing.rewrite_messages`); a line that fails the citation check gives
way to the composer's sentence. This module

- **builds** examples of exactly that task (:func:`build`): questions over the loaded plant's
  equipment and job plans (worded unlike any evaluation item: the build refuses one that is an
  item of any set in ``data/eval``), the evidence the agent's own retrievers find, the composed
  sentences in the windows of 1-3 the time budget sends, and the answer to learn: each sentence
  condensed where a safe rule applies (:func:`condensed`), with its citation, in order, one line
  each, nothing added, every line passing the same check the agent applies
  (:func:`maintgraph.agent.phrasing.check_line`); plus refusals, where the sentence says the
  records hold nothing, which the answer says again and invents nothing around. The examples
  go to a JSONL file with its data card, a source of kind ``examples`` for the fine-tuning
  pipeline (``data/finetune/phrasing.train.yaml``);
- **evaluates** base vs adapter on the held-out split in one run (:func:`evaluate`): both models
  answer the same prompts, interleaved, through the running vLLM; scored by the share of model
  sentences that survive the check, essential-nugget recall (the figures and tags of the
  sentences that the model's lines keep), answer length, and decode speed (what the agent's time
  budget allows it);
- **promotes** the adapter only when it beats the base (survival at least twice the base's and
  higher nugget recall); the registry entry holds the figures either way.

    python -m maintgraph.finetune.phrasing build [--limit N] [--out data/finetune/phrasing.jsonl]
    maintgraph finetune train --config data/finetune/phrasing.train.yaml --no-eval
    python -m maintgraph.finetune.phrasing evaluate ADAPTER [--limit N] [--promote]

The other-shape FMEA and work-order files in ``tests/data/layouts`` are not used: their README
reserves them for evaluation and tests ("do not use these files, or anything made from them, to
train or fine-tune a model").
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maintgraph.agent import compose, phrasing, synthesis
from maintgraph.agent.prompts import REWRITE_SYSTEM
from maintgraph.errors import MaintgraphError
from maintgraph.finetune.examples import Example, text_hash, write_examples
from maintgraph.retrieval.base import Evidence

REPO = Path(__file__).resolve().parents[2]
EVAL_DIR = REPO / "data" / "eval"
DEFAULT_OUT = REPO / "data" / "finetune" / "phrasing.jsonl"
TAG_TEMPLATES = (
    "{tag} is running hotter than usual. What should I look at first?",
    "Vibration on {tag} has crept up over the week. What could be behind it?",
    "{tag} keeps giving trouble. Which failure modes and causes are on file?",
    "I am pulling {tag} apart next shift. Which spares should I book out?",
    "What has been done to {tag} over the last couple of years?",
    "Going to work on {tag} tomorrow; walk me through what to check.",
)
PROCEDURE_TEMPLATES = ("I have job plan {procedure} on my list today. What matters in it?",)
REFUSAL_SUBJECTS = ("the warranty end date", "the purchase price", "the paint colour code", "the installer's name",
                    "the insurance policy number", "the commissioning engineer's phone number")  # fmt: skip
WINDOWS = (1, 2, 3)  # sentences per prompt, as the time budget sends them (mostly one or two)
LINE_SPLIT = re.compile(r"^(\d{1,2})\. (.*?)((?: \[\d{1,2}\])+)$")


class LeakedEvaluationItem(MaintgraphError):
    """A training question is an evaluation item's."""


# -- the answer to learn -------------------------------------------------------------------------------

REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"; the step that matters: "), ": "),
    (re.compile(r"\bthe pump casing is strained\b"), "the casing is strained"),
    (re.compile(r", or the "), " or the "),
    (re.compile(r"\bcheck that the (.+?) is clear first\b"), r"first check the \1 is clear"),
    (re.compile(r"\b(\d+) (?:of them )?available\b"), r"\1 available"),
    (re.compile(r"\bhas (\d+) work orders on record\b"), r"has \1 work orders"),
)


def condensed(sentence: compose.Sentence, refs: list[str], evidence: dict[str, str]) -> str:
    """``sentence`` condensed by the rules that keep every fact (never a number, tag, negation
    or comparison dropped), if the agent's check passes the result; else the sentence as written."""
    text = sentence.text
    for pattern, replacement in REWRITES:
        text = pattern.sub(replacement, text)
    line = f"{text} " + " ".join(f"[{refs.index(c) + 1}]" for c in sentence.cited)
    kept, _ = phrasing.check_line(line, sentence, refs, evidence)
    return kept.text if kept is not None else sentence.text


def answer_lines(sentences: list[compose.Sentence], refs: list[str], evidence: dict[str, str]) -> str:
    return "\n".join(f"{n}. {condensed(s, refs, evidence)} " + " ".join(f"[{refs.index(c) + 1}]" for c in s.cited)
                     for n, s in enumerate(sentences, 1))  # fmt: skip


def windows(indexes: list[int], sizes: Iterable[int] = WINDOWS) -> list[list[int]]:
    """``indexes`` cut into consecutive runs of 1, 2, 3, 1, 2, 3... sentences."""
    out, start, cycle = [], 0, list(sizes)
    while start < len(indexes):
        size = cycle[len(out) % len(cycle)]
        out.append(indexes[start : start + size])
        start += size
    return out


def examples_for(question: str, evidence: list[Any], seen: Any, source: str) -> list[Example]:
    """The rewrite examples one question's composed answer gives: one per window of sentences."""
    sentences = synthesis.composed(evidence, seen)
    texts = {e.id: e.text for e in evidence}
    phrasable = [i for i, s in enumerate(sentences) if phrasing.phrasable_sentence(s)]
    out = []
    for k, window in enumerate(windows(phrasable)):
        chosen = [sentences[i] for i in window]
        messages, refs = phrasing.rewrite_messages(question, chosen)
        answer = answer_lines(chosen, refs, texts)
        out.append(Example(f"{source}:{text_hash(question)[:10]}.{k}", question,
                           [*messages, {"role": "assistant", "content": answer}]))  # fmt: skip
    return out


def refusal(question: str, n: int) -> Example:
    """The composer found nothing: the answer says so, in its words, and invents nothing."""
    messages, _ = phrasing.rewrite_messages(question, [compose.Sentence(synthesis.NOTHING, ())])
    return Example(f"refusal:{text_hash(question)[:10]}.{n}", question,
                   [*messages, {"role": "assistant", "content": f"1. {synthesis.NOTHING}"}])  # fmt: skip


# -- never an evaluation item ----------------------------------------------------------------------------


def evaluation_questions(folder: Path = EVAL_DIR) -> dict[str, str]:
    """Every question (and context question) of every evaluation set in ``folder``, by hash."""
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            item = json.loads(line)
            for question in (item.get("question", ""), *item.get("context", [])):
                if question:
                    found.setdefault(text_hash(question), f"{path.stem}:{item.get('id', number)}")
    return found


def check_no_evaluation_items(questions: Iterable[str], folder: Path = EVAL_DIR) -> None:
    """Refuse the build when a training question is an evaluation item's (any set, any wording
    that normalises the same)."""
    items = evaluation_questions(folder)
    hits = [f"{q!r} is {items[text_hash(q)]}" for q in questions if text_hash(q) in items]
    if hits:
        raise LeakedEvaluationItem(f"{len(hits)} training question(s) are evaluation items: {'; '.join(hits[:5])}")


# -- the build -----------------------------------------------------------------------------------------


def plant_questions(read: Callable[[str], list[dict[str, Any]]], limit: int | None = None) -> list[str]:
    tags = [r["tag"] for r in read("MATCH (e:Equipment) RETURN e.tag AS tag ORDER BY tag")]
    procedures = [r["procedure"].split(":", 1)[-1] for r in read("MATCH (p:Procedure) RETURN p.id AS procedure "
                                                                 "ORDER BY procedure")]  # fmt: skip
    questions = [t.format(tag=tag) for i, tag in enumerate(tags) for t in TAG_TEMPLATES[i % 3 :: 3]]
    questions += [t.format(procedure=p) for p in procedures for t in PROCEDURE_TEMPLATES]
    return questions[: limit or None]


def build(settings: Any, out: Path = DEFAULT_OUT, limit: int | None = None, progress: bool = True) -> int:
    """Examples over the loaded plant, through the agent's own understanding and retrievers (no
    model, no memory): written to ``out`` with its data card; returns how many."""
    from maintgraph.agent.nodes import SOURCE_ORDER
    from maintgraph.agent.session import open_assistant
    from maintgraph.agent.understand import understand
    from maintgraph.graph.store import open_graph_store

    graph = open_graph_store(settings)
    assistant = open_assistant(settings, use_model=False, record_traces=False)
    try:
        questions = plant_questions(graph.read, limit)
        refusals = [f"What is {subject} of {tag}?" for subject, tag in
                    zip(REFUSAL_SUBJECTS, questions_tags(graph.read), strict=False)]  # fmt: skip
        check_no_evaluation_items([*questions, *refusals])
        context, examples = assistant.context, []
        started = time.perf_counter()
        for n, question in enumerate(questions, 1):
            seen = understand(question, context.linker)
            done = context.retrievers.run(context.retrievers.plan(seen))
            evidence = sorted({e.id: e for e in reversed(done.evidence)}.values(), key=lambda e: SOURCE_ORDER[e.kind])
            if evidence:
                examples += examples_for(question, evidence, seen, "plant")
            if progress and n % 10 == 0:
                seconds = time.perf_counter() - started
                print(f"{n}/{len(questions)} questions, {len(examples)} examples, {seconds:.0f} s")
        examples += [refusal(q, n) for n, q in enumerate(refusals)]
    finally:
        assistant.close()
        graph.close()
    card = {"name": out.name.split(".", 1)[0], "version": time.strftime("%Y%m%d%H%M%S"),
            "description": f"{len(examples)} examples of the agent's phrasing task: the composed answer's sentences "
                           "(1-3, each cited [n]) rewritten one numbered line each with the same citations, condensed "
                           "only by rules that keep every fact; refusals where the records hold nothing. Generated by "
                           "maintgraph.finetune.phrasing over the sample plant (data/plant), the agent's retrievers.",
            "sources": ["data/plant (the project's invented sample plant)", "maintgraph.agent.compose (the composer)"],
            "authors": "the project's developers (generated)", "licence": "Apache-2.0 (the project's own text and "
            "sample plant)", "privacy_class": "internal",
            "intended_use": "supervision for the phrasing adapter; never evaluation items (checked against every "
                            "set in data/eval)"}  # fmt: skip
    write_examples(out, examples, card)
    return len(examples)


def questions_tags(read: Callable[[str], list[dict[str, Any]]]) -> list[str]:
    return [r["tag"] for r in read("MATCH (e:Equipment) RETURN e.tag AS tag ORDER BY tag")][::4]


# -- evaluation: base vs adapter on the held-out split, one run -----------------------------------------


@dataclass
class Prompted:
    """A held-out prompt read back: the sentences it asks to rewrite, what they cite."""

    sentences: list[compose.Sentence]
    refs: list[str]
    evidence: dict[str, str]  # each citation number -> the sentences citing it (what the check reads)


def read_prompt(content: str) -> Prompted | None:
    """The sentences of a rewrite prompt, each citing ``doc:ref<n>``; its evidence is the sentences
    themselves (stricter than the evidence they were composed from)."""
    listing = content.split("\n\nSentences:\n", 1)[-1]
    sentences, refs = [], []
    for line in listing.splitlines():
        found = LINE_SPLIT.match(line.strip())
        if not found:
            return None  # a refusal (no citation): nothing to score
        cited = tuple(f"doc:ref{n}" for n in re.findall(r"\d+", found[3]))  # an id the citation grammar reads
        refs += [c for c in cited if c not in refs]
        sentences.append(compose.Sentence(found[2], cited))
    refs = sorted(refs, key=lambda r: int(r.removeprefix("doc:ref")))
    evidence = {r: " ".join(s.text for s in sentences if r in s.cited) for r in refs}
    return Prompted(sentences, refs, evidence) if sentences else None


NUGGET = re.compile(r"\b(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)+\b|(?<![\w.])\d+(?:\.\d+)?")


def nuggets(text: str) -> set[str]:
    """The facts a rewrite must keep: tags, part numbers, codes and figures."""
    return set(NUGGET.findall(text))


def score(draft: str, prompted: Prompted) -> dict[str, Any]:
    plan = phrasing.Phrasing(prompted.sentences, 0.0, phrasing.Rates(1, 1), sent=list(range(len(prompted.sentences))),
                              refs=prompted.refs)  # fmt: skip
    evidence = [Evidence(r, "doc", t, "") for r, t in prompted.evidence.items()]
    phrased = phrasing.phrase(draft, plan, evidence)
    wanted = set().union(*(nuggets(s.text) for s in prompted.sentences))
    kept = nuggets(draft)
    return {"sent": phrased.sent, "survived": phrased.survived, "nuggets": len(wanted),
            "nuggets_kept": len(wanted & kept), "chars": len(draft.strip()),
            "composed_chars": sum(len(s.text) for s in prompted.sentences),
            "failed": [why for _, why in phrased.failed]}  # fmt: skip


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    sent = sum(r["sent"] for r in rows)
    wanted = sum(r["nuggets"] for r in rows)
    rates = [r["decode_tps"] for r in rows if r.get("decode_tps")]
    return {"prompts": len(rows), "sentences": sent,
            "survival": sum(r["survived"] for r in rows) / sent if sent else None,
            "nugget_recall_essential": sum(r["nuggets_kept"] for r in rows) / wanted if wanted else None,
            "answer_chars_p50": statistics.median(r["chars"] for r in rows) if rows else None,
            "composed_chars_p50": statistics.median(r["composed_chars"] for r in rows) if rows else None,
            "seconds_p50": statistics.median(r["seconds"] for r in rows) if rows else None,
            "decode_tps_p50": statistics.median(rates) if rates else None,
            "judged_faithfulness": statistics.mean(judged) if (judged := [r["judged"] for r in rows
                                                                          if r.get("judged") is not None]) else None,
            "judged": len(judged)}  # fmt: skip


def beats(base: dict[str, Any], adapter: dict[str, Any]) -> tuple[bool, str]:
    """The promotion rule: survival at least twice the base's (and above zero) and higher nugget recall."""
    b_s, a_s = base["survival"] or 0.0, adapter["survival"] or 0.0
    b_n, a_n = base["nugget_recall_essential"] or 0.0, adapter["nugget_recall_essential"] or 0.0
    reasons = []
    if not (a_s > 0 and a_s >= 2 * b_s):
        reasons.append(f"survival {a_s:.3f} is not at least twice the base's {b_s:.3f}")
    if not a_n > b_n:
        reasons.append(f"nugget recall {a_n:.3f} is not above the base's {b_n:.3f}")
    return (not reasons), "; ".join(reasons) or (f"survival {a_s:.3f} vs {b_s:.3f}, nugget recall {a_n:.3f} vs "
                                                 f"{b_n:.3f}")  # fmt: skip


def evaluate(settings: Any, adapter: str, validation: list[Example], limit: int | None = None,
             judge: bool = True) -> dict[str, Any]:  # fmt: skip
    """Base and adapter on the same held-out prompts, interleaved in one run through vLLM; with
    ``judge``, each draft's faithfulness to the sentences it rewrites is also judged by the
    evaluation harness's LLM judge (the base model, the same judge for both)."""
    from maintgraph.evals.metrics import Answered
    from maintgraph.evals.runner import model_judge
    from maintgraph.evals.sets import EvalItem
    from maintgraph.finetune import adapters
    from maintgraph.llm.client import LLMClient

    adapters.make_servable(settings, adapter)
    client = LLMClient(settings)
    judged = model_judge(client, settings.llm_model) if judge else None
    prompts = [(e, p) for e in validation if (p := read_prompt(e.messages[-2]["content"]))][: limit or None]
    rows: dict[str, list[dict[str, Any]]] = {"base": [], "adapter": []}
    run = f"phrasing-eval-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    for example, prompted in prompts:
        most = math.ceil(sum(phrasing.tokens_of(s.text) + phrasing.LINE_TOKENS for s in prompted.sentences) * 1.3)
        for name, model in (("base", settings.llm_model), ("adapter", adapter)):
            usage: list[Any] = []
            started = time.perf_counter()
            asked = [{"role": "system", "content": REWRITE_SYSTEM}, *example.messages[1:-1]]  # as the agent asks now
            draft = "".join(client.stream(asked, model=model, max_tokens=most + 16, usage=usage))
            record = usage[0] if usage else None
            row = score(draft, prompted) | {"id": example.id, "seconds": time.perf_counter() - started,
                                            "draft": draft}  # fmt: skip
            if record and record.completion_tokens and record.first_token_s:
                row["decode_tps"] = (record.completion_tokens - 1) / max(1e-6, record.latency_s - record.first_token_s)
            if judged is not None and draft.strip():
                item = EvalItem(id=example.id, category="phrasing", question=example.question)
                row["judged"] = judged(item, Answered(draft, list(prompted.refs), 0.0), prompted.evidence)
            rows[name].append(row)
    base, tuned = summary(rows["base"]), summary(rows["adapter"])
    better, why = beats(base, tuned)
    calibration = None
    if judged is not None:  # the judge on the composed sentences themselves: faithful by construction
        scores = [judged(EvalItem(id=e.id, category="phrasing", question=e.question),
                         Answered("\n".join(x.text for x in p.sentences), list(p.refs), 0.0), p.evidence)
                  for e, p in prompts]  # fmt: skip
        scores = [x for x in scores if x is not None]
        calibration = statistics.mean(scores) if scores else None
    return {"eval_run": run, "task": "phrasing: rewrite the composed answer's sentences, citations kept",
            "held_out_prompts": len(prompts), "base": base, "adapter": tuned, "beats_base": better, "verdict": why,
            "judge": (f"the evaluation harness's LLM judge ({settings.llm_model}, the base model, for both): the "
                      "share of each draft's statements it finds supported by the sentences rewritten"
                      if judge else "not run (--no-judge)"),
            # What the judge gives text that is its own evidence: below ~0.9 it cannot tell a faithful
            # answer from an unfaithful one, and its figures are reported but decide nothing.
            "judge_on_the_composed_sentences": calibration,
            "rows": rows}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    from maintgraph.config import load_settings
    from maintgraph.finetune import adapters
    from maintgraph.finetune.dataset import SupervisionSet
    from maintgraph.finetune.pipeline import sets_root
    from maintgraph.llm.registry import ModelRegistry

    parser = argparse.ArgumentParser(prog="python -m maintgraph.finetune.phrasing", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    making = sub.add_parser("build", help="Write the phrasing examples over the loaded plant.")
    making.add_argument("--out", type=Path, default=DEFAULT_OUT)
    making.add_argument("--limit", type=int, default=None, help="At most this many questions.")
    judging = sub.add_parser("evaluate", help="Base vs an adapter on its held-out split.")
    judging.add_argument("adapter")
    judging.add_argument("--limit", type=int, default=None, help="At most this many held-out prompts.")
    judging.add_argument(
        "--promote", action="store_true", help="Promote the adapter for phrasing if it beats the base."
    )
    judging.add_argument("--no-judge", action="store_true", help="Skip the LLM judge's faithfulness scores.")
    judging.add_argument("--rows", type=Path, default=None, help="Write every generated answer here (JSON).")
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.command == "build":
        print(f"{build(settings, args.out, args.limit)} examples written to {args.out}")
        return
    entry = ModelRegistry(settings).adapter(args.adapter)
    if not entry.dataset:
        raise SystemExit(f"adapter {args.adapter!r} was not trained by a pipeline run: no held-out split")
    held_out = SupervisionSet.load(sets_root(settings) / entry.dataset["name"] / entry.dataset["version"]).validation
    try:
        result = evaluate(settings, args.adapter, held_out, args.limit, judge=not args.no_judge)
    finally:
        adapters.release(settings, args.adapter)
    if args.rows:
        args.rows.write_text(json.dumps(result["rows"], indent=2, ensure_ascii=False))
    recorded = {k: v for k, v in result.items() if k != "rows"}
    promoted = bool(args.promote and result["beats_base"])
    recorded["promoted"] = promoted
    recorded["promoted_for"] = "phrasing" if promoted else None
    adapters.update(settings, args.adapter, evaluation=recorded)
    if promoted:
        adapters.promote(settings, args.adapter, task="phrasing")
    print(json.dumps(recorded, indent=2))
    print(("promoted: " if promoted else "not promoted: ") + result["verdict"])


if __name__ == "__main__":
    main()
