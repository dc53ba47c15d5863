"""The FMEA analytics retriever: parse, execute, render; registered in the retrieval registry."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel

from maintgraph.citations import graph_id
from maintgraph.retrieval.analytics.parser import TROUBLESHOOTING, parse
from maintgraph.retrieval.analytics.query import LABEL, FMEAQuery
from maintgraph.retrieval.analytics.render import MAX_LISTED, answer, hierarchy_path, number_text
from maintgraph.retrieval.analytics.vocabulary import Vocabulary
from maintgraph.retrieval.base import Evidence, Question, Retriever


def about_its_records(query: FMEAQuery) -> bool:
    """The parse names the FMEA's own parts or failure modes and asks a figure, a field or a
    threshold of them (not a symptom's causes): a question about the FMEA's records."""
    names = bool(query.entries) or any(query.scope)
    asks = query.operation != "list" or bool(query.filters)
    return names and asks


class AnalyticsArgs(BaseModel):
    question: str
    # The query as judged from the model's proposal (JSON of FMEAQuery); absent: the parse.
    query: str | None = None
    # Asked of a question not worded as analytic: answered only if it names the FMEA's own things.
    grounded_only: bool = False


class FMEAAnalytics(Retriever[AnalyticsArgs]):
    """Exact answers over the FMEA records: the question parsed into a typed query and run."""

    name = "fmea_analytics"
    source = "graph"
    description = "Lookups, counts, averages, percentages, thresholds and rankings over the FMEA's failure modes."
    Args = AnalyticsArgs
    needs = ("graph",)
    vocabulary_seconds = 60.0  # a reloaded graph is seen within a minute

    def __init__(self, backends: Any) -> None:
        super().__init__(backends)
        self._vocabulary: tuple[float, Vocabulary] | None = None
        self._embedded: dict[str, Any] = {}  # entry texts' vectors, kept while the texts are unchanged

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        if question.intent == "analytics":
            return [{"question": question.question}]
        # "What causes pitch motor winding insulation failure?", "What is recommended for the slip
        # rings?": an FMEA without equipment tags is asked about by its own names; a troubleshooting
        # question about a tagged machine keeps its route.
        if question.intent in ("general", "diagnose") and not question.tags and not TROUBLESHOOTING.search(
                question.question):  # fmt: skip
            return [{"question": question.question, "grounded_only": True}]
        return []

    def vocabulary(self) -> Vocabulary:
        now = time.monotonic()
        if self._vocabulary is None or now - self._vocabulary[0] > self.vocabulary_seconds:
            self._vocabulary = (now, Vocabulary.read(self.backends.graph))
        return self._vocabulary[1]

    def run(self, args: AnalyticsArgs) -> list[Evidence]:
        vocabulary = self.vocabulary()
        if not vocabulary.modes:
            return []
        documents = self.backends.documents
        embedder = documents.embedder if documents is not None else None
        judged = FMEAQuery.model_validate_json(args.query) if args.query else None
        if args.grounded_only:
            judged = judged or parse(args.question, vocabulary)
            if not about_its_records(judged) or judged.unmatched:
                return []  # not a question about the FMEA's records after all: the usual route answers it
        _, result = answer(self.backends.graph, args.question, vocabulary, embedder, self._embedded, judged)
        evidence = [Evidence(graph_id(result.ref), "graph", result.text, "fmea_query")]
        for row in result.entries[:MAX_LISTED]:
            text = "; ".join(f"{LABEL.get(k, k)}: {number_text(v)}" for k, v in row.items()
                             if v not in (None, "") and k in (*LABEL, ) and k != "failure_mode")  # fmt: skip
            evidence.append(Evidence(graph_id("FMEAEntry:" + row["id"]), "graph",
                                     f"{row['failure_mode']} ({hierarchy_path(row)}): {text}", "fmea_row"))  # fmt: skip
        return evidence
