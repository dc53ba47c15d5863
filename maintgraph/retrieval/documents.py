"""Document search (pgvector + full text): manuals, procedures and bulletins, cited by chunk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from maintgraph.citations import doc_id
from maintgraph.graph.communities import REPORT_DOC_TYPE
from maintgraph.retrieval.base import MAX_ASSETS, Evidence, Question, Retriever
from maintgraph.search.embeddings import Embedder
from maintgraph.search.store import DocumentStore, SearchFilters, SearchHit


@dataclass
class DocumentIndex:
    """The document store searched with the product's embedder, within the privacy classes a
    search may read. Community reports answer plant-wide questions (the global route): the
    ordinary search leaves them out, :meth:`reports` searches only them."""

    store: DocumentStore
    embedder: Embedder
    privacy_classes: tuple[str, ...]
    k: int = 5
    reports_k: int = 4

    def search(self, query: str, tags: list[str] | tuple[str, ...] = ()) -> list[SearchHit]:
        filters = SearchFilters(privacy_classes=list(self.privacy_classes), other_than_doc_types=[REPORT_DOC_TYPE])
        vector = self.embedder.embed([query])[0]
        return self.store.search(query, vector, self.embedder.name, k=self.k, filters=filters,
                                 boost_equipment=list(tags))  # fmt: skip

    def reports(self, query: str) -> list[SearchHit]:
        filters = SearchFilters(privacy_classes=list(self.privacy_classes), doc_types=[REPORT_DOC_TYPE])
        vector = self.embedder.embed([query])[0]
        return self.store.search(query, vector, self.embedder.name, k=self.reports_k, filters=filters)


def from_search_hits(hits: list[SearchHit]) -> list[Evidence]:
    """Document-search hits -> one evidence per chunk, cited by chunk id."""
    return [
        Evidence(doc_id(hit.chunk_id), "doc", hit.text, " > ".join([hit.title, *hit.heading_path]),
                 {"document": hit.title, "headings": list(hit.heading_path)})
        for hit in hits
    ]  # fmt: skip


class SearchArgs(BaseModel):
    query: str
    tags: tuple[str, ...] = ()  # the asked equipment: chunks about it rank first


class DocumentSearch(Retriever[SearchArgs]):
    name = "search"
    source = "docs"
    description = "Manuals, procedures and bulletins that match the question."
    Args = SearchArgs
    needs = ("documents",)

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"query": question.question, "tags": tuple(question.tags[:MAX_ASSETS])}]  # always

    def run(self, args: SearchArgs) -> list[Evidence]:
        return from_search_hits(self.backends.documents.search(args.query, args.tags))
