"""GraphRAG community reports: graphrag's report generation over the sample plant's communities
through the real vLLM, stored on the Community nodes and as searchable documents; the cost is
counted before a run and a run over the budget is refused; reports that do not come back as
valid JSON are asked again, then marked unreported while the run goes on."""

from __future__ import annotations

import json

import pytest
from psycopg.conninfo import conninfo_to_dict

from maintgraph.graph.communities import REPORT_DOC_TYPE, refresh
from maintgraph.ingest.community_reports import BudgetExceeded, ReportPlan, plan, write_reports
from maintgraph.search.embeddings import build_embedder
from maintgraph.search.store import DocumentStore, SearchFilters

from .conftest import PLANT, cli_env, run_cli


@pytest.fixture
def report_settings(running_services, pg_conninfo, llm_settings, vllm):
    """A database and a graph of their own (reports are written into them), the plant's graph
    loaded, and the session's vLLM."""
    from maintgraph.config import Settings
    from maintgraph.graph.falkordb import FalkorDBStore
    from maintgraph.graph.loaders import load_paths

    name = conninfo_to_dict(pg_conninfo)["dbname"]
    graph = FalkorDBStore(running_services.services.falkordb.client(), name)
    graph.ensure_schema()
    load_paths(graph, [PLANT])
    settings = Settings(data_dir=running_services.settings.data_dir, pg_database=name, graph_name=name,
                        llm_port=llm_settings.llm_port)  # fmt: skip
    docs = DocumentStore(pg_conninfo)
    yield settings, graph, docs
    docs.close()
    graph.clear()


def test_dry_run_counts_calls_and_tokens_and_writes_nothing(report_settings):
    settings, graph, _ = report_settings
    env = {**cli_env(settings), "MAINTGRAPH_GRAPHRAG_REPORT_MAX_TOKENS": str(settings.graphrag_report_max_tokens)}
    result = run_cli("graph", "communities", "--dry-run", "--json", env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    tables, found, change = refresh(graph, write=False)
    planned = plan(settings, tables, found, change)
    assert shown["dry_run"] and shown["calls"] == planned.calls == change.levels[0]  # one per top-level community
    assert shown["tokens"] == planned.tokens and planned.prompt_tokens > 100 * planned.calls
    assert graph.read("MATCH (c:Community) RETURN count(c) AS n") == [{"n": 0}]

    over = run_cli("graph", "communities", env={**env, "MAINTGRAPH_GRAPHRAG_BUDGET_TOKENS": "1000"}, timeout=600)
    assert over.returncode != 0 and "over MAINTGRAPH_GRAPHRAG_BUDGET_TOKENS (1,000); nothing was asked" in over.stderr
    assert graph.read("MATCH (c:Community) RETURN count(c) AS n") == [{"n": 0}]


def test_reports_are_written_by_the_model_stored_on_their_communities_and_found_by_search(report_settings):
    settings, graph, docs = report_settings
    tables, found, change = refresh(graph)
    planned = plan(settings, tables, found, change)
    two = ReportPlan(planned.communities[:2], 0, 0)  # two reports: enough to see them through, at CPU speed
    embedder = build_embedder(settings)
    run = write_reports(settings, graph, docs, embedder, tables, found, two)
    # A 135M model sometimes writes no valid report even when asked again: at least one must come.
    assert run.reported and sorted(run.reported + run.unreported) == sorted(c.key for c in two.communities)
    assert 2 <= run.calls <= 2 * (1 + settings.graphrag_report_retries) and run.completion_tokens > 0

    stored = graph.read("MATCH (c:Community) WHERE c.report_status = 'reported' RETURN c.key AS key, "
                        "c.report_title AS title, c.report_findings AS findings")  # fmt: skip
    assert {row["key"] for row in stored} == set(run.reported) and all(row["title"] for row in stored)
    community = next(c for c in two.communities if c.key in run.reported)
    hits = docs.search(community.title, embedder.embed([community.title])[0], embedder.name, k=5,
                       filters=SearchFilters(doc_types=[REPORT_DOC_TYPE]))  # fmt: skip
    assert {h.source for h in hits} == {f"graphrag:report/{key}" for key in run.reported}
    report = next(h for h in hits if h.source.endswith(community.key))
    assert f"Community {community.key}" in report.text and community.members[0] in report.text  # what it covers

    # The global route: a plant-wide question reads the reports and cites them; an asset's does not.
    from maintgraph.agent.session import open_assistant

    assistant = open_assistant(settings, use_model=False)
    try:
        themes = assistant.ask("What are the recurring failure themes across the plant?", "global-1")
        local = assistant.ask("What drives P-501?", "local-1")
    finally:
        assistant.close()
    assert any(call.startswith("docs.community_reports(") for call in themes.tool_calls)
    read = {e["id"] for e in themes.evidence if e["id"].startswith("doc:graphrag:report/")}
    assert read == {f"doc:graphrag:report/{key}#0" for key in run.reported}
    assert any(c["id"] in read for c in themes.cited)  # the answer cites a report
    assert not any(e["id"].startswith("doc:graphrag:report/") for e in local.evidence)

    # With the model: each report's statements are scored (the map step), and the answer cites a report.
    asking = open_assistant(settings.model_copy(update={"llm_answer_tokens": 48}))
    try:
        mapped = asking.ask("Which failure mechanisms dominate across the plant?", "global-2")
        scored = [c for c in asking.context.llm.calls if c.kind == "structured"]
    finally:
        asking.close()
    assert len(scored) >= len(run.reported)  # one scoring call per report, more where one was repaired
    kept = {e["id"] for e in mapped.evidence if e["id"].startswith("doc:graphrag:report/")}
    assert kept <= read and all(c["id"] in kept or not c["id"].startswith("doc:graphrag:report/")
                                for c in mapped.cited)  # fmt: skip

    # Nothing changed: a second look finds nothing to recompute for these two.
    _, _, again = refresh(graph, write=False)
    assert not (again.added or again.changed or again.removed)
    assert not set(run.reported) & set(again.needs_report())


def test_a_report_that_never_comes_back_as_valid_json_is_retried_then_marked_unreported(report_settings):
    settings, graph, docs = report_settings
    truncated = settings.model_copy(update={"graphrag_report_max_tokens": 8, "graphrag_report_retries": 1})
    tables, found, change = refresh(graph)
    planned = plan(truncated, tables, found, change)
    one = ReportPlan(planned.communities[:1], 0, 0)
    run = write_reports(truncated, graph, docs, build_embedder(settings), tables, found, one)
    assert run.unreported == [one.communities[0].key] and not run.reported
    assert run.calls == 2  # asked, then asked once again
    status = graph.read("MATCH (c:Community {key: $key}) RETURN c.report_status AS s", {"key": run.unreported[0]})
    assert status == [{"s": "unreported"}]
    assert not docs.documents("community_reports")


def test_a_plan_over_the_budget_is_refused_before_any_call(report_settings):
    settings, graph, docs = report_settings
    tables, found, change = refresh(graph)
    planned = plan(settings, tables, found, change)
    tight = settings.model_copy(update={"graphrag_budget_tokens": planned.tokens - 1})
    with pytest.raises(BudgetExceeded, match="nothing was asked"):
        write_reports(tight, graph, docs, build_embedder(settings), tables, found, planned)
    assert not docs.documents("community_reports")


def test_the_global_route_follows_up_on_the_assets_a_report_covers_nearest_the_question(report_settings):
    """DRIFT's local phase: the facts are embedded into graphrag's entity index (pgvector), only
    where they changed; the best report's assets nearest the question are looked up in the graph."""
    from dataclasses import replace

    from maintgraph.graph import queries
    from maintgraph.ingest.entity_vectors import index_entities
    from maintgraph.retrieval.community_reports import FOLLOWUP_FACTS, MappedReport, follow_ups
    from maintgraph.retrieval.knowledge_graph import from_graph_result
    from maintgraph.search.graphrag_vectors import entity_index, nearest
    from maintgraph.services import Services

    settings, graph, _ = report_settings
    tables, _, _ = refresh(graph, write=False)
    embedder = build_embedder(settings)
    store = entity_index(Services(settings).pg_conninfo(), embedder)
    try:
        first = index_entities(store, tables, embedder)
        assert (first.embedded, first.unchanged, first.removed) == (len(tables.facts), 0, 0) == (store.count(), 0, 0)
        edited = next(ref for ref in tables.facts if ref.startswith("Equipment:"))
        gone = next(ref for ref in tables.facts if ref.startswith("Sensor:"))
        tables.facts[edited] = replace(tables.facts[edited], description=tables.facts[edited].description + "; x")
        del tables.facts[gone]
        again = index_entities(store, tables, embedder)
        assert (again.embedded, again.unchanged, again.removed) == (1, len(tables.facts) - 1, 1)

        among = ["Equipment:P-101", "Equipment:AG-401", "Equipment:HX-301"]
        assert set(among) <= set(tables.facts)
        assert nearest(store, embedder, "raw water lift pump bearing", among, 1) == ["Equipment:P-101"]
        report = MappedReport("doc:graphrag:report/L0-x#0", "Pumps", ["leaks recur"], [*among, "FailureMode:ELP"])
        found = follow_ups(
            "raw water lift pump bearing failures",
            [report],
            lambda text, refs, k: nearest(store, embedder, text, refs, k),
            lambda tag: from_graph_result(queries.failure_modes(graph, tag)),
            1,
        )
    finally:
        store.close()
    expected = from_graph_result(queries.failure_modes(graph, "P-101"))[:FOLLOWUP_FACTS]
    assert found == expected and all(e.id.startswith("graph:FMEAEntry:") for e in found)
