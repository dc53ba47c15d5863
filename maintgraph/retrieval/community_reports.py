"""GraphRAG's global route: map-reduce over the community reports, then DRIFT-style local follow-ups.

A plant-wide question ("which failure mechanisms dominate our rotating equipment?") names no
asset, so no local query answers it; the communities' reports do.

- **Candidates.** graphrag's global search maps over every report of a level (22 at level 0
  here, one model call each: over a minute a question on this CPU). The reports most relevant
  to the question by hybrid search (``graphrag_global_reports`` of them) are mapped instead.
- **Map.** For each candidate, concurrently, the model scores each of the report's statements
  (its summary and findings) 0-100 for the question, under a JSON schema. graphrag's map step
  asks for new "points"; scoring the report's own statements keeps every point in the report's
  words, so the citation check still has the report's text to check the answer against.
- **Reduce.** Statements scored 0 are dropped (graphrag drops points scored 0); each report
  becomes one piece of evidence holding its kept statements best first, and reports are ordered
  by their best score. A report whose scores did not come back valid is kept, unscored, after
  the scored ones. Without a model (``llm`` None) the search order stands and nothing is dropped.
- **Follow-ups** (DRIFT's local phase). The best report's assets closest to the question, by
  graphrag's entity-description vectors (:mod:`maintgraph.search.graphrag_vectors`), are looked
  up locally (their failure modes in the graph), so the answer can cite the entities a report
  rests on, not only the report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, Field, create_model

from maintgraph.citations import doc_id
from maintgraph.errors import MaintgraphError
from maintgraph.retrieval.base import Evidence, Question, Retriever
from maintgraph.retrieval.knowledge_graph import FailureModes, TagArgs
from maintgraph.retrieval.prompts import MAP_SYSTEM, map_question

log = logging.getLogger(__name__)

MAP_TOKENS = 16  # the scores' JSON, which a small model spreads over lines: 16 tokens, then 8 a statement
FOLLOWUP_FACTS = 2  # graph facts kept per follow-up asset: the highest-RPN failure modes
COVERS = re.compile(r"\n\nCommunity (?P<key>\S+) \(level \d+\) covers: (?P<members>.*)\Z", re.S)
# "What are the recurring failure themes in the cooling water system?", "which failure mechanisms
# dominate our rotating equipment?": questions across the plant, answered from community reports.
PLANT_WIDE = re.compile(r"\b(recurring|themes?|trends?|patterns?|dominat\w*|across|plant[- ]wide|whole plant|overall|"
                        r"most (common|frequent)|typical(ly)?|in general|fleet)\b", re.I)  # fmt: skip


class ScoringModel(Protocol):
    """The served model, as the map step asks it (:class:`maintgraph.llm.client.LLMClient`)."""

    def structured(self, messages: list[dict[str, str]], schema: type[BaseModel], model: str | None = None,
                   max_tokens: int = 256, repairs: int = 2) -> Any: ...  # fmt: skip


@dataclass
class MappedReport:
    """A candidate report and what the map step made of it."""

    id: str  # doc:<chunk id>, as the report is cited
    title: str
    statements: list[str]  # its summary, then its findings (graphrag's full_content, split)
    members: list[str]  # the entity refs it covers (as far as its text lists them)
    scores: list[int] | None = None  # None: not scored (no model, or no valid answer)

    @property
    def best(self) -> int:
        return max(self.scores) if self.scores else -1

    def kept(self) -> list[str]:
        """Its statements that help, best first (all of them, in order, when unscored)."""
        if self.scores is None:
            return self.statements
        ranked = sorted(
            zip(self.scores, self.statements, strict=True), key=lambda pair: -pair[0]
        )  # stable: ties in order
        return [statement for score, statement in ranked if score > 0]

    def evidence(self) -> Evidence:
        covers = ", ".join(self.members[:12]) + (" ..." if len(self.members) > 12 else "")
        text = f"{self.title}: " + " ".join(self.kept()) + (f" Covers: {covers}." if covers else "")
        return Evidence(self.id, "doc", text, self.title)


def parse_report(chunk_id: str, text: str) -> MappedReport:
    """A stored report (graphrag's ``# title / summary / ## finding / explanation`` markdown, then
    the line saying what the community covers) as title, statements and members."""
    covers = COVERS.search(text)
    body = text[: covers.start()] if covers else text
    members = [m.strip() for m in covers["members"].replace(" ...", "").split(",") if m.strip()] if covers else []
    sections = re.split(r"^## ", body, flags=re.M)
    head = sections[0].strip().splitlines()
    title = head[0].lstrip("# ").strip() if head else chunk_id
    statements = [" ".join(" ".join(head[1:]).split())] if len(head) > 1 else []
    for section in sections[1:]:
        summary, _, explanation = section.partition("\n")
        statements.append(f"{summary.strip().rstrip('.')}: {' '.join(explanation.split())}".rstrip(": "))
    return MappedReport(doc_id(chunk_id), title, [s for s in statements if s], members)


@cache
def _scores_schema(count: int) -> type[BaseModel]:
    score = Annotated[int, Field(ge=0, le=100)]
    return create_model(f"Scores{count}", scores=(list[score], Field(min_length=count, max_length=count)))


def map_report(llm: ScoringModel, model: str | None, question: str, report: MappedReport) -> MappedReport:
    """The model's score for each of the report's statements; unscored if no valid answer came back."""
    listing = "\n".join(f"{i}. {statement[:300]}" for i, statement in enumerate(report.statements, 1))
    asked = map_question(question, report.title, listing)
    messages = [{"role": "system", "content": MAP_SYSTEM}, {"role": "user", "content": asked}]
    try:
        answer = llm.structured(messages, _scores_schema(len(report.statements)), model=model,
                                max_tokens=MAP_TOKENS + 8 * len(report.statements), repairs=1)  # fmt: skip
    except MaintgraphError as exc:
        log.warning("report %s left unscored: %s", report.id, exc)
        return report
    report.scores = list(answer.scores)
    return report


def map_reduce(
    question: str, hits: list[Any], llm: ScoringModel | None = None, model: str | None = None
) -> list[MappedReport]:
    """The candidate reports scored (concurrently: vLLM batches the calls) and reduced: those
    that help, best first; then any left unscored."""
    reports = [parse_report(hit.chunk_id, hit.text) for hit in hits]
    reports = [r for r in reports if r.statements]
    if llm is None or not reports:
        return reports
    with ThreadPoolExecutor(max_workers=len(reports)) as pool:
        return reduce_reports(list(pool.map(lambda report: map_report(llm, model, question, report), reports)))


def reduce_reports(mapped: list[MappedReport]) -> list[MappedReport]:
    """Reports with a statement scored above 0, best first (ties keep the search order); then the unscored."""
    scored = sorted((r for r in mapped if r.scores is not None and r.best > 0), key=lambda r: -r.best)
    dropped = [r.id for r in mapped if r.scores is not None and r.best <= 0]
    if dropped:
        log.info("global route: %d report(s) scored 0 for the question: %s", len(dropped), ", ".join(dropped))
    return scored + [r for r in mapped if r.scores is None]


def follow_ups(question: str, reports: list[MappedReport], nearest_assets: Callable[[str, list[str], int], list[str]],
               local: Callable[[str], list[Evidence]], count: int) -> list[Evidence]:  # fmt: skip
    """DRIFT's local phase, kept small: the best report's assets nearest the question, each
    looked up locally (``local(tag)``), ``FOLLOWUP_FACTS`` facts each."""
    best = next((r for r in reports if any(m.startswith("Equipment:") for m in r.members)), None)
    if best is None or count <= 0:
        return []
    evidence: list[Evidence] = []
    for ref in nearest_assets(question, [m for m in best.members if m.startswith("Equipment:")], count):
        tag = ref.split(":", 1)[1].upper()
        try:
            evidence += local(tag)[:FOLLOWUP_FACTS]
        except MaintgraphError as exc:  # an asset the report names but the graph no longer has
            log.warning("follow-up on %s (from %s) failed: %s", tag, best.id, exc)
    return evidence


def global_search(question: str, search: Callable[[str], list[Any]], llm: ScoringModel | None = None,
                  model: str | None = None,
                  nearest_assets: Callable[[str, list[str], int], list[str]] | None = None,
                  local: Callable[[str], list[Evidence]] | None = None,
                  followups: int = 0) -> list[Evidence]:  # fmt: skip
    """The evidence of the global route: the reduced reports, then the follow-ups' facts."""
    reports = map_reduce(question, search(question), llm, model)
    evidence = [r.evidence() for r in reports]
    if nearest_assets is not None and local is not None:
        evidence += follow_ups(question, reports, nearest_assets, local, followups)
    return evidence


@dataclass
class ReportSearch:
    """What the global route runs on: the reports' search, the model that maps them (None: the
    search order stands), and the entity index the follow-ups find a report's assets with."""

    search: Callable[[str], list[Any]]  # question -> report hits (maintgraph.retrieval.documents.DocumentIndex)
    llm: ScoringModel | None = None
    model: str | None = None
    nearest_assets: Callable[[str, list[str], int], list[str]] | None = None
    followups: int = 0


class QueryArgs(BaseModel):
    query: str


class CommunityReports(Retriever[QueryArgs]):
    """GraphRAG's global route, for a plant-wide question naming no asset (cited as documents)."""

    name = "community_reports"
    source = "docs"
    description = "The communities' reports on recurring themes across the plant, with their assets' failure modes."
    Args = QueryArgs
    needs = ("reports", "graph")

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"query": question.question}] if not question.tags and PLANT_WIDE.search(question.question) else []

    def run(self, args: QueryArgs) -> list[Evidence]:
        reports: ReportSearch = self.backends.reports
        local = FailureModes(self.backends)
        return global_search(
            args.query, reports.search, reports.llm, reports.model, followups=reports.followups,
            nearest_assets=reports.nearest_assets, local=lambda tag: local.run(TagArgs(tag=tag)),
        )  # fmt: skip
