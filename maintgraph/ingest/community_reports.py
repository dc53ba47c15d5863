"""Community reports (GraphRAG): graphrag writes a report for each community through the
project's model server; the reports are kept on the Community nodes and as searchable,
citable documents (``graphrag:report/<community key>``, doc type ``community_report``).

graphrag is used as a library: its context builder and ``summarize_communities`` (via
``create_community_reports``) run over the tables :mod:`maintgraph.graph.communities` exports,
with a ``graphrag_llm`` completion pointed at the configured OpenAI-compatible server (the
embedded vLLM by default) and the served model's own tokenizer (graphrag's default, tiktoken,
would download its encodings). Its prompt is replaced by a short one: the default does not fit
a 2,048-token context.

Cost is known before anything runs: :func:`plan` builds graphrag's context for each community
that needs a report and counts the prompt with that tokenizer; a run whose prompts plus
``graphrag_report_max_tokens`` per call exceed ``graphrag_budget_tokens`` is refused. A
community whose report does not come back as valid JSON is asked again
(``graphrag_report_retries`` times), then marked ``unreported`` while the run goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from maintgraph.config import Settings
from maintgraph.connections import llm_api_key
from maintgraph.errors import MaintgraphError
from maintgraph.graph.base import GraphStore
from maintgraph.graph.communities import REPORT_DOC_TYPE, REPORT_SOURCE, SOURCE, Change, Community, GraphTables
from maintgraph.graph.linking import normalise
from maintgraph.ingest.prompts import REPORT_PROMPT
from maintgraph.search.embeddings import Embedder
from maintgraph.search.records import Chunk, Document
from maintgraph.search.store import DocumentStore, StoredChunk

log = logging.getLogger(__name__)

REPORT_CONCURRENCY = 4  # reports asked at once: vLLM batches them (on CPU about twice the throughput of one)
# A small model under a JSON grammar repeats itself until max_tokens, and the cut JSON is invalid:
# length limits in the schema (which vLLM enforces) and a frequency penalty keep reports whole.
FREQUENCY_PENALTY = 0.8
REPORT_COLLECTION = "community_reports"


def _bounded_report() -> type:
    """graphrag's report schema with the length limits vLLM's structured output enforces; a
    subclass, so graphrag reads it as its own."""
    from graphrag.index.operations.summarize_communities.community_reports_extractor import (
        CommunityReportResponse,
        FindingModel,
    )
    from pydantic import Field

    class BoundedFinding(FindingModel):
        summary: str = Field(max_length=100, description="The finding in one line.")
        explanation: str = Field(max_length=240, description="Why, naming the ids it rests on.")

    class BoundedReport(CommunityReportResponse):
        title: str = Field(max_length=80, description="The main equipment or theme.")
        summary: str = Field(max_length=300, description="Two or three sentences.")
        findings: list[BoundedFinding] = Field(min_length=1, max_length=2, description="The findings.")  # type: ignore[assignment]
        rating: float = Field(ge=0, le=10, description="How much this matters for reliability.")
        rating_explanation: str = Field(max_length=120, description="Why that rating.")

    return BoundedReport


class BudgetExceeded(MaintgraphError):
    """A report run would use more tokens than ``graphrag_budget_tokens`` allows; nothing was asked."""


@dataclass
class ReportPlan:
    """What a report run will ask the model, counted before it runs."""

    communities: list[Community]
    prompt_tokens: int
    max_completion_tokens: int
    tokenizer: Any = field(default=None, repr=False, compare=False)  # the one it was counted with, reused to ask

    @property
    def calls(self) -> int:
        return len(self.communities)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.max_completion_tokens

    def summary(self) -> str:
        return (f"{self.calls} model calls, about {self.prompt_tokens:,} prompt tokens and at most "
                f"{self.max_completion_tokens:,} completion tokens ({self.tokens:,} in all; "
                "retries not counted)")  # fmt: skip


@dataclass
class ReportRun:
    reported: list[str] = field(default_factory=list)
    unreported: list[str] = field(default_factory=list)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{len(self.reported)} reports written, {len(self.unreported)} communities unreported; "
                f"{self.calls} model calls, {self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion "
                f"tokens, {self.seconds:.0f} s")  # fmt: skip


# -- graphrag's tables ---------------------------------------------------------------------------------


def communities_table(communities: list[Community], everything: list[Community]) -> Any:
    """``communities`` in graphrag's final communities shape (ids numbered over ``everything``)."""
    import pandas as pd

    number = {c.key: i for i, c in enumerate(everything)}
    children: dict[str, list[int]] = {}
    for c in everything:
        if c.parent:
            children.setdefault(c.parent, []).append(number[c.key])
    return pd.DataFrame([
        {"id": c.key, "human_readable_id": number[c.key], "community": number[c.key], "level": c.level,
         "parent": number[c.parent] if c.parent else -1, "children": children.get(c.key, []), "title": c.title,
         "entity_ids": list(c.members), "relationship_ids": list(c.links), "text_unit_ids": list(c.chunks),
         "period": datetime.now(UTC).date().isoformat(), "size": len(c.members)}
        for c in communities
    ])  # fmt: skip


class ServedTokenizer:
    """graphrag_llm's Tokenizer over the served base model's own tokenizer (no download)."""

    def __init__(self, settings: Settings) -> None:
        from transformers import AutoTokenizer

        from maintgraph.llm.registry import ModelRegistry

        self._hf = AutoTokenizer.from_pretrained(ModelRegistry(settings).prepare(settings.llm_model))

    def encode(self, text: str) -> list[int]:
        return self._hf.encode(text, add_special_tokens=False)

    def decode(self, tokens: list[int]) -> str:
        return self._hf.decode(tokens)

    def num_tokens(self, text: str) -> int:
        return len(self.encode(text))


def _graphrag_tokenizer(settings: Settings) -> Any:
    from graphrag_llm.tokenizer import Tokenizer

    class _Tokenizer(ServedTokenizer, Tokenizer):  # graphrag type-checks nothing, but keep its interface
        def __init__(self) -> None:
            ServedTokenizer.__init__(self, settings)

    return _Tokenizer()


def _contexts(tables: GraphTables, communities: Any, tokenizer: Any, max_input_tokens: int) -> tuple[Any, Any]:
    """graphrag's nodes and local contexts (entity and relationship tables as text) of the
    ``communities`` table's communities: the first steps of its create_community_reports."""
    from graphrag.callbacks.noop_workflow_callbacks import NoopWorkflowCallbacks
    from graphrag.index.operations.summarize_communities.explode_communities import explode_communities
    from graphrag.index.operations.summarize_communities.graph_context.context_builder import build_local_context
    from graphrag.index.workflows.create_community_reports import _prep_edges, _prep_nodes

    nodes = _prep_nodes(explode_communities(communities, tables.entities()))
    edges = _prep_edges(tables.relationships())
    return nodes, build_local_context(nodes, edges, None, tokenizer, NoopWorkflowCallbacks(), max_input_tokens)


async def _summarize(tables: GraphTables, communities: Any, model: Any, tokenizer: Any, settings: Settings,
                     on_report: Callable[[int], None]) -> Any:  # fmt: skip
    """The rest of graphrag's create_community_reports, except that a batch whose reports all
    failed gives an empty table (graphrag's own would fail finalising it)."""
    from graphrag.callbacks.noop_workflow_callbacks import NoopWorkflowCallbacks
    from graphrag.config.enums import AsyncType
    from graphrag.index.operations.finalize_community_reports import finalize_community_reports
    from graphrag.index.operations.summarize_communities.graph_context.context_builder import build_level_context
    from graphrag.index.operations.summarize_communities.summarize_communities import summarize_communities

    class Ticks(NoopWorkflowCallbacks):  # graphrag ticks once per community asked
        def progress(self, progress: Any) -> None:
            on_report(int(progress.completed_items or 0))

    nodes, local = _contexts(tables, communities, tokenizer, settings.graphrag_report_max_input_tokens)
    reports = await summarize_communities(
        nodes, communities, local, build_level_context, Ticks(), model=model, prompt=REPORT_PROMPT,
        tokenizer=tokenizer, max_input_length=settings.graphrag_report_max_input_tokens, max_report_length=120,
        num_threads=REPORT_CONCURRENCY, async_type=AsyncType.AsyncIO,
    )  # fmt: skip
    return finalize_community_reports(reports, communities) if len(reports) else reports


# -- plan and run ------------------------------------------------------------------------------------------


def plan(settings: Settings, tables: GraphTables, found: list[Community], change: Change,
         tokenizer: Any | None = None) -> ReportPlan:  # fmt: skip
    """The calls and tokens a report run will take: one call per community that needs a report
    on a reported level (new, changed, or never reported)."""
    wanted = set(change.needs_report())
    todo = [c for c in found if c.key in wanted and c.level in settings.graphrag_report_levels]
    if not todo:
        return ReportPlan([], 0, 0, tokenizer)
    tokenizer = tokenizer or _graphrag_tokenizer(settings)
    _, contexts = _contexts(
        tables, communities_table(todo, found), tokenizer, settings.graphrag_report_max_input_tokens
    )
    template = tokenizer.num_tokens(REPORT_PROMPT.format(input_text="", max_report_length=0))
    prompt_tokens = int(contexts["context_size"].sum()) + template * len(todo)
    return ReportPlan(todo, prompt_tokens, settings.graphrag_report_max_tokens * len(todo), tokenizer)


def check_budget(settings: Settings, planned: ReportPlan) -> None:
    if planned.tokens > settings.graphrag_budget_tokens:
        raise BudgetExceeded(f"the report run needs {planned.summary()}, over MAINTGRAPH_GRAPHRAG_BUDGET_TOKENS "
                             f"({settings.graphrag_budget_tokens:,}); nothing was asked. Raise the budget or "
                             "report fewer levels (MAINTGRAPH_GRAPHRAG_REPORT_LEVELS)")  # fmt: skip


class _CountingModel:
    """The graphrag_llm completion, counting calls and tokens as the server reports them, and
    asking for graphrag's report schema with length limits."""

    def __init__(self, model: Any, run: ReportRun) -> None:
        self._model, self._run, self._bounded = model, run, _bounded_report()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    async def completion_async(self, **kwargs: Any) -> Any:
        if kwargs.get("response_format") is not None:
            kwargs["response_format"] = self._bounded
        self._run.calls += 1
        response = await self._model.completion_async(**kwargs)
        usage = getattr(response, "usage", None)
        self._run.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self._run.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        return response


def _completion(settings: Settings, tokenizer: Any) -> Any:
    """graphrag_llm's completion (litellm) against the project's OpenAI-compatible server."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm would fetch its price list
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)  # a line per call otherwise, over the progress bar
    from graphrag_llm.completion import create_completion
    from graphrag_llm.config import ModelConfig

    from maintgraph.llm.client import LLMClient

    client = LLMClient(settings)
    key = llm_api_key(settings) or "not-needed"  # the embedded vLLM's own key, or the external server's
    config = ModelConfig(model_provider="openai", model=client.resolve(None), api_base=client.base_url, api_key=key,
                         call_args={"max_tokens": settings.graphrag_report_max_tokens, "temperature": 0.0,
                                    "frequency_penalty": FREQUENCY_PENALTY, "timeout": settings.llm_timeout_s},
                         retry=None, metrics=None)  # fmt: skip
    return create_completion(config, tokenizer=tokenizer)


def write_reports(settings: Settings, graph: GraphStore, docs: DocumentStore, embedder: Embedder,
                  tables: GraphTables, found: list[Community], planned: ReportPlan,
                  progress: Callable[[int, int], None] | None = None) -> ReportRun:  # fmt: skip
    """Ask for the planned reports (each community once, then again for those that failed, up to
    ``graphrag_report_retries`` times) and store each as it comes."""
    check_budget(settings, planned)
    docs.ensure_space(embedder.name, embedder.dimension)  # the same vectors as the documents', or refused
    run, started = ReportRun(), time.monotonic()
    tokenizer = planned.tokenizer or _graphrag_tokenizer(settings)
    model = _CountingModel(_completion(settings, tokenizer), run)
    waiting = {c.key: c for c in planned.communities}
    by_number = dict(enumerate(found))  # graphrag's community numbers, as communities_table gives them
    for attempt in range(1 + settings.graphrag_report_retries):
        if not waiting:
            break
        if attempt:
            log.warning("asking again for %d community reports that did not come back valid", len(waiting))
        batch = communities_table(list(waiting.values()), found)
        before = len(run.reported)

        def asked(done: int, before: int = before) -> None:
            if progress:
                progress(min(before + done, planned.calls), planned.calls)

        frame = asyncio.run(_summarize(tables, batch, model, tokenizer, settings, asked))
        for row in frame.to_dict("records") if len(frame) else []:
            community = by_number[int(row["community"])]
            store_report(graph, docs, embedder, community, row)
            run.reported.append(community.key)
            waiting.pop(community.key, None)
    run.unreported = sorted(waiting)
    if run.unreported:
        mark_unreported(graph, run.unreported)
    run.seconds = time.monotonic() - started
    return run


# -- storage ----------------------------------------------------------------------------------------------


def report_text(community: Community, row: dict[str, Any]) -> str:
    """The report as its document holds it: graphrag's text, then what it covers (ids to follow)."""
    members = ", ".join(community.members[:40]) + (" ..." if len(community.members) > 40 else "")
    return f"{row['full_content']}\n\nCommunity {community.key} (level {community.level}) covers: {members}"


def store_report(graph: GraphStore, docs: DocumentStore, embedder: Embedder, community: Community,
                 row: dict[str, Any]) -> None:  # fmt: skip
    """One report, on its Community node and as a one-chunk document; the document is written
    inside the graph write, so neither is left without the other."""
    text = report_text(community, row)
    findings = [{"summary": f["summary"], "explanation": f["explanation"]} for f in row.get("findings") or []]
    tags = sorted(m.split(":", 1)[1].upper() for m in community.members if m.startswith("Equipment:"))
    source = f"{REPORT_SOURCE}{community.key}"
    document = Document(source=source, uri=f"graphrag://community/{community.key}", title=str(row["title"]),
                        doc_type=REPORT_DOC_TYPE, content_hash=hashlib.sha256(text.encode()).hexdigest(), blocks=[],
                        collection=REPORT_COLLECTION, privacy_class="internal",
                        licence="generated from the plant's graph", ingested_at=datetime.now(UTC),
                        equipment_tags=tags)  # fmt: skip
    chunk = Chunk(0, "report", (str(row["title"]),), text, embedder.count_tokens(text))
    normal = hashlib.sha256(normalise(text).encode()).hexdigest()  # as the ingest pipeline hashes chunks
    item = StoredChunk(chunk, embedder.embed([text])[0], normal, list(community.members[:200]), tags)
    props = {"report_status": "reported", "report_title": str(row["title"]), "report_summary": str(row["summary"]),
             "report_rating": float(row.get("rank") or 0.0), "report_findings": json.dumps(findings),
             "report_fingerprint": community.fingerprint, "reported_at": datetime.now(UTC).isoformat()}  # fmt: skip

    def on_the_node() -> None:
        with graph.source_transaction(SOURCE) as tx:
            tx.merge_nodes("Community", [{"key": community.key, "props": props}], SOURCE)

    docs.replace_document(document, [item], embedder.name, before_commit=on_the_node)


def mark_unreported(graph: GraphStore, keys: list[str]) -> None:
    with graph.source_transaction(SOURCE) as tx:
        tx.run("MATCH (c:Community) WHERE c.key IN $keys SET c.report_status = 'unreported'", {"keys": keys})


def remove_reports(docs: DocumentStore, keys: list[str]) -> list[str]:
    """The documents of communities that are gone."""
    return docs.delete([f"{REPORT_SOURCE}{k}" for k in keys]) if keys else []
