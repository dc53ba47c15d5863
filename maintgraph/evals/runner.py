"""Evaluation runs: contestants answer the sets' items, each result is scored and stored at once.

A contestant is a name and a function from an item to an :class:`Answered`. Two ship:
- ``agent``: the assistant, each item in its own conversation (its ``context`` asked first);
- ``vector-only``: document search (the agent's own search: same embedder, store, k and
  filters) and the same answer composition and model, if any; no graph, no CMMS, no memory.
Comparing the two in one run shows what the graph and the tools add. A third, on request:
- ``agent-no-global``: the same agent without GraphRAG's global route (no community reports), which
  shows what the reports add to plant-wide questions.

A run stores each result as soon as it is scored. Interrupted (Ctrl-C, a crash), it is marked
``interrupted`` and resumes with ``--resume``: the items already answered are not asked again.
Its summary and report exist only once every item is answered.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maintgraph.errors import MaintgraphError
from maintgraph.evals.metrics import Answered, answered_turn, result_row, summarise
from maintgraph.evals.prompts import JUDGE_SYSTEM, JUDGE_USER
from maintgraph.evals.sets import EvalItem, EvalSet
from maintgraph.evals.store import EvalStore

if TYPE_CHECKING:
    from maintgraph.agent.context import AgentContext

log = logging.getLogger(__name__)

Judge = Callable[[EvalItem, Answered, dict[str, str]], float | None]


@dataclass
class Contestant:
    name: str
    answer: Callable[[EvalItem, str], tuple[Answered, dict[str, str]]]  # (item, set) -> (answered, evidence id -> text)


def set_config(sets: list[EvalSet]) -> list[dict[str, Any]]:
    """What a run records of its sets; ``source`` (a name or a path) is what resuming loads again."""
    return [{"name": s.name, "source": s.source, "version": s.version, "items": len(s.items), "problems": s.problems}
            for s in sets]  # fmt: skip


def evaluate(store: EvalStore, sets: list[EvalSet], contestants: list[Contestant], config: dict[str, Any],
             resume: str | None = None, judge: Judge | None = None, progress: bool = False) -> str:  # fmt: skip
    """Answer and score every item for every contestant; returns the run id."""
    if not any(s.items for s in sets):
        raise MaintgraphError("nothing to evaluate: the sets hold no valid item (see the lines reported as left out)")
    if resume:
        run = store.run(resume)
        if run["kind"] != "eval":
            raise MaintgraphError(f"run {resume} is a {run['kind']} run: resume it with `maintgraph trace replay`")
        if run["status"] == "complete":
            raise MaintgraphError(f"run {resume} is already complete")
        _same_sets(run["config"], sets)
        run_id, done = resume, store.done(resume)
        store.mark(run_id, "running")
    else:
        run_id, done = store.start("eval", {**config, "sets": set_config(sets)}), set()
    todo = [
        (c, s, item) for c in contestants for s in sets for item in s.items if (c.name, s.name, item.id) not in done
    ]
    try:
        for contestant, eval_set, item in progress_over(todo, progress, f"{run_id}: answering"):
            answered, evidence = _answer(contestant, item, eval_set.name)
            if judge is not None and answered.error is None:
                answered.judge = judge(item, answered, evidence)
            store.add(run_id, contestant.name, result_row(item, eval_set.name, answered, evidence))
    except BaseException:
        store.mark(run_id, "interrupted")
        raise
    store.finish(run_id, summary_of(store, run_id))
    return run_id


def summary_of(store: EvalStore, run_id: str) -> dict[str, Any]:
    """contestant -> {"all": figures, set name: figures}."""
    by_contestant: dict[str, list[dict[str, Any]]] = {}
    for row in store.results(run_id):
        by_contestant.setdefault(row["contestant"], []).append(row)
    summary = {}
    for name, rows in by_contestant.items():
        per_set = {s: summarise([r for r in rows if r["set"] == s]) for s in dict.fromkeys(r["set"] for r in rows)}
        summary[name] = {"all": summarise(rows), **per_set}
    return summary


def _same_sets(config: dict[str, Any], sets: list[EvalSet]) -> None:
    recorded = {s["name"]: s["version"] for s in config.get("sets", [])}
    now = {s.name: s.version for s in sets}
    if recorded != now:
        raise MaintgraphError(
            f"the sets changed since the run started (recorded {recorded}, now {now}): resuming would mix "
            "two versions; start a new run"
        )


def _answer(contestant: Contestant, item: EvalItem, set_name: str) -> tuple[Answered, dict[str, str]]:
    started = time.perf_counter()
    try:
        return contestant.answer(item, set_name)
    except MaintgraphError as exc:
        log.warning("%s on %s: %s", contestant.name, item.id, exc)
        error = str(exc)
    except Exception as exc:  # one failing item is scored as failed; the run goes on
        log.exception("%s failed on %s", contestant.name, item.id)
        error = f"{type(exc).__name__}: {exc}"
    return Answered("", [], time.perf_counter() - started, error=error), {}


def progress_over(todo: list[Any], show: bool, description: str) -> Any:
    if not show:
        return todo
    from rich.progress import track

    return track(todo, description=description)


# -- the contestants -------------------------------------------------------------------------------


def agent_contestant(assistant: Any, thread_prefix: str | None = None, name: str = "agent") -> Contestant:
    """Each item in its own conversation: its context questions first, then the question."""
    prefix = thread_prefix or f"eval-{uuid.uuid4().hex[:6]}"

    def answer(item: EvalItem, set_name: str) -> tuple[Answered, dict[str, str]]:
        thread = f"{prefix}-{set_name}-{item.id}"
        for earlier in item.context:
            assistant.ask(earlier, thread)
        started = time.perf_counter()
        result = assistant.ask(item.question, thread)
        seconds = time.perf_counter() - started
        return answered_turn(result, seconds), {e["id"]: e["text"] for e in result.evidence}

    return Contestant(name, answer)


def no_global_contestant(assistant: Any) -> Contestant:
    """The same agent (same parts, same conversation store) with GraphRAG's global route off."""
    from dataclasses import replace

    from maintgraph.agent.session import Assistant

    twin = Assistant(replace(assistant.context, global_route=False), assistant.graph.checkpointer)
    return agent_contestant(twin, name="agent-no-global")


def vector_only_contestant(context: AgentContext) -> Contestant:
    """The agent's own document search (same store, k and filters) + the same answer composition,
    model and limits; the conversation's earlier questions are searched with the question, as a
    naive RAG would."""
    from maintgraph.agent.synthesis import finish, messages
    from maintgraph.agent.understand import Understanding

    search, llm = context.retrievers["search"], context.llm

    def answer(item: EvalItem, set_name: str) -> tuple[Answered, dict[str, str]]:
        started = time.perf_counter()
        query = " ".join([*item.context, item.question])
        evidence = search.run(search.Args(query=query))
        retrieved = time.perf_counter()
        draft, tokens = "", {}
        if llm is not None and evidence:
            try:
                prompt = messages(item.question, evidence, context.prompt_chars)
                reply = llm.chat(prompt, model=context.model, max_tokens=context.answer_tokens)
                draft, tokens = reply.text, {"prompt": reply.prompt_tokens or 0,
                                             "completion": reply.completion_tokens or 0}  # fmt: skip
            except MaintgraphError as exc:
                log.warning("vector-only: the model failed on %s: %s", item.id, exc)
        done = finish(draft, evidence, Understanding(item.question, "general"), [])
        now = time.perf_counter()
        answered = Answered(
            done.text, done.cited, now - started, [e.id for e in evidence], [f"docs.search(query={query!r})"], tokens,
            timings={"retrieve:docs": retrieved - started, "synthesise": now - retrieved},
        )  # fmt: skip
        return answered, {e.id: e.text for e in evidence}

    return Contestant("vector-only", answer)


def _judged(answered: Answered, evidence: dict[str, str], most: int = 8) -> list[str]:
    """The evidence the judge reads: what the answer cites first, then the rest, as far as fits."""
    cited = [evidence[c] for c in answered.cited if c in evidence]
    return (cited + [t for i, t in evidence.items() if i not in answered.cited])[:most]


def model_judge(llm: Any, model: str | None) -> Judge:
    """LLM-as-judge faithfulness through the same OpenAI-compatible client: the share of the
    answer's statements the model finds supported by the evidence. Reported apart from the
    deterministic metrics, never instead of them; ``None`` when the judge gives no usable verdict."""
    schema = {"type": "object", "additionalProperties": False, "required": ["supported", "unsupported"],
              "properties": {"supported": {"type": "integer", "minimum": 0},
                             "unsupported": {"type": "integer", "minimum": 0}}}  # fmt: skip
    response_format = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}

    def judge(item: EvalItem, answered: Answered, evidence: dict[str, str]) -> float | None:
        shown = "\n".join(f"- {t[:400]}" for t in _judged(answered, evidence))
        prompt = [
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": JUDGE_USER.format(evidence=shown, question=item.question,
                                                          answer=answered.answer[:1500])},
        ]  # fmt: skip
        try:
            # The schema is enforced, but a small model pads it with whitespace: room for that.
            reply = llm.chat(prompt, model=model, max_tokens=200, response_format=response_format)
            import json

            verdict = json.loads(reply.text)
            total = verdict["supported"] + verdict["unsupported"]
            return verdict["supported"] / total if total else None
        except (MaintgraphError, ValueError, KeyError, TypeError) as exc:
            log.warning("judge gave no verdict on %s: %s", item.id, exc)
            return None

    return judge
