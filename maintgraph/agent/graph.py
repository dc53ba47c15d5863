"""The agent as a LangGraph state machine: understand -> retrieve -> synthesise -> check.

This is the first, deterministic-routing version (the issue's model-chosen tools, evidence
grading, memory, human-in-the-loop, guards and traces plug in around it):

- ``understand`` links entities and classifies the intent; a question about a tag that is not
  in the register stops here with the nearest real tags, and no model call.
- ``retrieve`` runs the deterministic plan within its call budget.
- ``synthesise`` asks the served model to phrase an answer from the numbered evidence, citing
  ids; with no model (or a model that fails) the answer is the evidence itself, cited.
- ``check`` keeps only what the evidence supports (:func:`check_citations`); if nothing cited
  survives, the extractive answer is used instead. What could not be checked is said.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from maintgraph.agent.evidence import Evidence, check_citations
from maintgraph.agent.plan import Toolbox, plan, run_plan
from maintgraph.agent.understand import Understanding, understand
from maintgraph.errors import MaintgraphError
from maintgraph.graph.linking import EntityLinker

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
MAX_EVIDENCE_IN_PROMPT = 12
SYSTEM = (
    "You are a maintenance assistant. Answer the technician's question using ONLY the evidence listed. "
    "After every fact put the id of its evidence in square brackets, exactly as listed, e.g. [wo:WO-25-00077]. "
    "If the evidence includes a LOTO or isolation procedure, state isolation first. Never advise bypassing an "
    "interlock or guard. If the evidence does not answer the question, say what is unknown."
)


class AgentState(TypedDict, total=False):
    question: str
    understanding: Understanding
    evidence: list[Evidence]
    calls: list[str]
    not_checked: list[str]
    draft: str
    answer: str
    cited: list[str]
    removed: int
    timings: dict[str, float]


def _timed(name: str, node: Any) -> Any:
    def run(state: AgentState) -> dict[str, Any]:
        started = time.perf_counter()
        update = node(state)
        return {**update, "timings": {**state.get("timings", {}), name: time.perf_counter() - started}}

    return run


def build_agent(linker: EntityLinker, toolbox: Toolbox, llm: Any = None, model: str | None = None,
                budget: int = 8, checkpointer: Any = None) -> Any:  # fmt: skip
    """The compiled graph; ``llm`` is an :class:`~maintgraph.llm.client.LLMClient` (or None)."""

    def understand_node(state: AgentState) -> dict[str, Any]:
        return {"understanding": understand(state["question"], linker)}

    def after_understanding(state: AgentState) -> str:
        seen = state["understanding"]
        return "unknown_asset" if seen.unknown_tags and not seen.equipment else "retrieve"

    def unknown_asset_node(state: AgentState) -> dict[str, Any]:
        lines = [
            f"There is no asset {word} in the asset register"
            + (f"; did you mean {', '.join(c.key for c in nearest)}?" if nearest else ".")
            for word, nearest in state["understanding"].unknown_tags.items()
        ]
        return {"answer": "\n".join(lines), "evidence": [], "cited": [], "calls": [], "not_checked": []}

    def retrieve_node(state: AgentState) -> dict[str, Any]:
        done = run_plan(plan(state["understanding"]), toolbox, budget)
        return {"evidence": done.evidence, "calls": [r.call for r in done.records], "not_checked": done.not_checked}

    def synthesise_node(state: AgentState) -> dict[str, Any]:
        evidence = ordered(state["evidence"])[:MAX_EVIDENCE_IN_PROMPT]
        if llm is None or not evidence:
            return {"draft": ""}
        listing = "\n".join(f"[{e.id}] {e.text}" for e in evidence)
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": f"Evidence:\n{listing}\n\nQuestion: {state['question']}"}]  # fmt: skip
        try:
            return {"draft": llm.chat(messages, model=model, max_tokens=300).text}
        except MaintgraphError as exc:  # the model server down: the evidence is still shown
            log.warning("model call failed, answering from the evidence: %s", exc)
            return {"draft": "", "not_checked": [*state.get("not_checked", []), f"model: {exc}"]}

    def check_node(state: AgentState) -> dict[str, Any]:
        evidence = state["evidence"]
        checked = check_citations(state.get("draft", ""), evidence)
        answer, cited = checked.answer, checked.cited
        if not cited:  # nothing supported survived: the evidence itself, cited
            answer, cited = extractive_answer(evidence)
        if state.get("not_checked"):
            answer += "\n\nCould not check: " + "; ".join(state["not_checked"])
        return {"answer": answer, "cited": cited, "removed": len(checked.removed)}

    graph = StateGraph(AgentState)
    graph.add_node("understand", _timed("understand", understand_node))
    graph.add_node("unknown_asset", _timed("unknown_asset", unknown_asset_node))
    graph.add_node("retrieve", _timed("retrieve", retrieve_node))
    graph.add_node("synthesise", _timed("synthesise", synthesise_node))
    graph.add_node("check", _timed("check", check_node))
    graph.add_edge(START, "understand")
    graph.add_conditional_edges("understand", after_understanding, ["unknown_asset", "retrieve"])
    graph.add_edge("unknown_asset", END)
    graph.add_edge("retrieve", "synthesise")
    graph.add_edge("synthesise", "check")
    graph.add_edge("check", END)
    return graph.compile(checkpointer=checkpointer)


def checked_question(question: str) -> str:
    question = question.strip()
    if not question:
        raise MaintgraphError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise MaintgraphError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return question


def ask(agent: Any, question: str, thread: str = "default") -> AgentState:
    return agent.invoke({"question": checked_question(question)}, {"configurable": {"thread_id": thread}})


def ordered(evidence: list[Evidence]) -> list[Evidence]:
    """Isolation first (it comes before any task step), then what answers the question (causes
    and failure modes, documents, records), and the asset's surroundings last."""

    def rank(item: Evidence) -> int:
        if "LOTOProcedure" in item.id:
            return 0
        if item.title in ("symptom_causes", "failure_modes", "failure_mode_fix"):
            return 1
        if item.title == "equipment_neighbourhood":
            return 4
        return {"doc": 2, "wo": 3}.get(item.kind, 3)

    return sorted(evidence, key=rank)  # stable: each source keeps its own ranking


def extractive_answer(evidence: list[Evidence], limit: int = 6) -> tuple[str, list[str]]:
    """The evidence itself, one cited line each, isolation first."""
    if not evidence:
        return "I found nothing in the documents, the equipment graph or the CMMS that answers this.", []
    chosen = ordered(evidence)[:limit]
    lines = [f"- {' '.join(e.text.split())[:300]} [{e.id}]" for e in chosen]
    return "From the plant's records:\n" + "\n".join(lines), [e.id for e in chosen]


def open_agent(settings: Any) -> Any:
    """The agent on the configured stores: the graph (and its entity linker), document search,
    the CMMS and the model server. Synthesis uses the base model: the shipped house-style
    adapter was trained for its answer format, not for citing evidence (the fine-tuning issue
    trains one that does)."""
    from maintgraph.agent.plan import build_toolbox
    from maintgraph.graph.store import open_graph_store
    from maintgraph.llm.client import LLMClient
    from maintgraph.search.embeddings import build_embedder
    from maintgraph.search.store import DocumentStore, SearchFilters
    from maintgraph.services import Services
    from maintgraph.tools.cmms_tools import Approvals, CMMSTools, open_backend

    graph = open_graph_store(settings)
    documents = DocumentStore(Services(settings).pg_conninfo(), settings.connect_timeout_s)
    embedder = build_embedder(settings)
    privacy = SearchFilters(privacy_classes=list(settings.search_privacy_classes))

    def search(question: str, tags: list[str]) -> list[Any]:
        vector = embedder.embed([question])[0]
        return documents.search(question, vector, embedder.name, k=5, filters=privacy, boost_equipment=tags)

    cmms = CMMSTools(open_backend(settings), Approvals.for_data_dir(settings.data_dir))
    toolbox = build_toolbox(graph=graph, search=search, cmms=cmms)
    return build_agent(EntityLinker.from_store(graph), toolbox, LLMClient(settings), model=settings.llm_model)
