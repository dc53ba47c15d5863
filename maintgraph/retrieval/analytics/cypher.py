"""Executing an :class:`FMEAQuery` as parameterised Cypher from fixed templates (FalkorDB and Neo4j)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from maintgraph.retrieval.analytics.query import COMPARATORS, LEVELS, NUMERIC, TEXT, FMEAQuery, ScopeNode
from maintgraph.retrieval.analytics.vocabulary import HIERARCHY_NODES

ROWS = """
MATCH (e:Equipment)-[:HAS_SUBUNIT]->(s:Subunit)-[:HAS_COMPONENT]->(c:Component)-[:HAS_FMEA]->(f:FMEAEntry)
OPTIONAL MATCH (y:System)-[:HAS_EQUIPMENT]->(e)
WITH y, e, s, c, f
WHERE ($all OR y.id IN $scope OR e.tag IN $scope OR s.id IN $scope OR c.id IN $scope) {filters}
RETURN f.id AS id, coalesce(f.failure_mode, f.mode, '') AS failure_mode, f.severity AS severity,
       f.occurrence AS occurrence, f.detection AS detection, f.rpn AS rpn, f.action_priority AS action_priority,
       f.cause AS cause, {effect} AS effect, f.recommended_action AS recommended_action,
       {controls} AS controls, f.function AS function, f.action_status AS action_status,
       c.name AS component, s.name AS subunit, e.name AS equipment, y.name AS system,
       c.as_a_whole AS c_whole, s.as_a_whole AS s_whole, c.id AS component_id, s.id AS subunit_id, e.tag AS equipment_id
ORDER BY {order} f.id
"""
AGGREGATE = """
MATCH (e:Equipment)-[:HAS_SUBUNIT]->(s:Subunit)-[:HAS_COMPONENT]->(c:Component)-[:HAS_FMEA]->(f:FMEAEntry)
OPTIONAL MATCH (y:System)-[:HAS_EQUIPMENT]->(e)
WITH y, e, s, c, f
WHERE ($all OR y.id IN $scope OR e.tag IN $scope OR s.id IN $scope OR c.id IN $scope) {filters}
RETURN count(f) AS n, avg({value}) AS mean, min({value}) AS low, max({value}) AS high
"""
GROUPED = """
MATCH (e:Equipment)-[:HAS_SUBUNIT]->(s:Subunit)-[:HAS_COMPONENT]->(c:Component)-[:HAS_FMEA]->(f:FMEAEntry)
OPTIONAL MATCH (y:System)-[:HAS_EQUIPMENT]->(e)
WITH y, e, s, c, f
WHERE ($all OR y.id IN $scope OR e.tag IN $scope OR s.id IN $scope OR c.id IN $scope) {filters}
WITH {node} AS g, f
WHERE g IS NOT NULL AND g.as_a_whole IS NULL
RETURN coalesce(g.id, g.tag) AS id, g.name AS name, g.path AS path, count(f) AS n, avg({value}) AS mean,
       max({value}) AS high,
       collect(f.id) AS entries
"""
CHILDREN = """
MATCH (n)-[:HAS_EQUIPMENT|HAS_SUBUNIT|HAS_COMPONENT*1..3]->(m:{label})
WHERE coalesce(n.id, n.tag) IN $scope AND m.as_a_whole IS NULL
RETURN DISTINCT coalesce(m.id, m.tag) AS id, m.name AS name, m.path AS path
ORDER BY m.path
"""
GROUP_NODE = {"System": "y", "Equipment": "e", "Subunit": "s", "Component": "c"}


def _where(query: FMEAQuery, params: dict[str, Any], entries: list[str] | None = None) -> str:
    """The filters as Cypher conditions on whitelisted properties; every value is a parameter."""
    parts: list[str] = []
    for i, item in enumerate(query.filters):
        key = f"p{i}"
        if item.field in NUMERIC and item.op in COMPARATORS:
            parts.append(f"{NUMERIC[item.field]} {COMPARATORS[item.op]} ${key}")
            params[key] = item.value
        elif item.field == "action_priority":
            parts.append(f"toUpper(left(coalesce(f.action_priority, ''), 1)) = ${key}")
            params[key] = str(item.value)[:1].upper()
        elif item.field == "action_status":
            parts.append(f"toLower(trim(coalesce(f.action_status, ''))) = ${key}")
            params[key] = str(item.value).lower()
        elif item.field == "recommended_action" and item.op in ("has", "has_no"):
            expr = "trim(coalesce(f.recommended_action, ''))"
            parts.append(f"{expr} <> ''" if item.op == "has" else f"{expr} = ''")
        elif item.op == "contains" and item.field in TEXT and isinstance(item.value, list):
            words = [f"toLower({TEXT[item.field]}) CONTAINS ${key}_{j}" for j in range(len(item.value))]
            condition = "(" + (" OR " if item.match == "any" else " AND ").join(words) + ")"
            if item.meaning:
                condition = f"({condition} OR f.id IN ${key}_meaning)"
                params[f"{key}_meaning"] = item.meaning
            parts.append(condition)
            params |= {f"{key}_{j}": w for j, w in enumerate(item.value)}
        elif item.op == "in" and isinstance(item.value, list):  # pragma: no cover - guarded by the model
            pass
    if entries is not None:
        parts.append("f.id IN $entries")
        params["entries"] = entries
    return "".join(f" AND {p}" for p in parts)


ENTRY_TEXT = "MATCH (f:FMEAEntry) RETURN f.id AS id, {text} AS text ORDER BY f.id"
# Cosine similarity (the packaged all-MiniLM-L6-v2) from which an entry's text is taken to mean the
# phrase asked about, read on the generator sheet of the tests: "lightning" meets no cause above 0.30,
# "lubrication problems" meets "Grease degraded" at 0.54 but "Oil starvation" only at 0.36, "dirty
# fuel" meets "Wear from dirty fuel" at 0.79. Precision first: a wrong "none" is said plainly, a
# wrong match would be a wrong figure.
MEANING_MIN = 0.5


def resolve_meaning(graph: Any, query: FMEAQuery, embedder: Any, cache: dict[str, Any] | None = None) -> None:
    """Add to each word filter the entries whose text means its phrase, by the embedding model.
    The entries' texts are read each time (one query) and embedded only when they changed."""
    import numpy as np

    for item in query.filters:
        if item.op != "contains" or not item.phrase or item.field not in TEXT:
            continue
        rows = [r for r in graph.read(ENTRY_TEXT.format(text=TEXT[item.field])) if (r["text"] or "").strip()]
        if not rows:
            continue
        texts = [" ".join(r["text"].split()) for r in rows]
        key = f"{item.field}:{hashlib.sha256(chr(0).join(texts).encode()).hexdigest()}"
        vectors = cache.get(key) if cache is not None else None
        if vectors is None:
            vectors = np.asarray(embedder.embed(texts))
            if cache is not None:
                if len(cache) > 16:  # texts that changed: the old vectors go
                    cache.clear()
                cache[key] = vectors
        asked = np.asarray(embedder.embed([item.phrase]))[0]
        scores = vectors @ asked
        item.meaning = [r["id"] for r, score in zip(rows, scores, strict=True) if score >= MEANING_MIN]


@dataclass
class Group:
    scope: list[ScopeNode]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int | None = None  # the scope's entries before filtering (a percentage's denominator)
    figures: dict[str, Any] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)


def _params(scope: list[ScopeNode]) -> dict[str, Any]:
    return {"all": not scope, "scope": [n.id for n in scope]}


def _scoped_entries(query: FMEAQuery, scope: list[ScopeNode]) -> list[str] | None:
    if not query.entries:
        return None
    if not scope:
        return query.entries
    inside = [e for e in query.entries if any(e.startswith(n.id + "/") for n in scope)]
    return inside or query.entries


def execute(graph: Any, query: FMEAQuery) -> list[Group]:
    """Run the query: one :class:`Group` of results per scope group."""
    results = []
    for scope in query.scope:
        group = Group(scope)
        params = _params(scope)
        entries = _scoped_entries(query, scope)
        if entries is not None and scope and entries == query.entries and len(query.scope) == 1:
            params = _params([])  # the named failure mode lies outside the names around it: the mode decides
        filters = _where(query, params, entries)
        if query.unmatched and not entries:  # the question names something the FMEA does not hold
            results.append(group)
            continue
        if query.operation == "locate":
            for node in scope:
                parent = node.id.rsplit("/", 1)[0] if "/" in node.id else None
                siblings = graph.read(CHILDREN.format(label=node.label), {"scope": [parent]}) if parent else []
                group.children.append({"node": node, "parent": parent, "siblings": siblings})
            results.append(group)
            continue
        if query.operation == "children" or query.operation == "count_children":
            label = query.level if query.level in LEVELS else "Component"
            ids = [n.id for n in scope]
            group.children = graph.read(CHILDREN.format(label=label), {"scope": ids}) if ids else []
            if not ids:
                group.children = [r for r in graph.read(HIERARCHY_NODES) if r["label"] == label]
            results.append(group)
            continue
        value = NUMERIC.get(query.field, "f.rpn")
        if query.operation == "group":
            node = GROUP_NODE.get(query.level or "Component", "c")
            group.groups = graph.read(GROUPED.format(filters=filters, value=value, node=node), params)
            results.append(group)
            continue
        order = ""
        if query.operation in ("top", "bottom"):
            order = f"{value} {'DESC' if query.operation == 'top' else 'ASC'},"
        group.rows = graph.read(ROWS.format(filters=filters, effect=TEXT["effect"], controls=TEXT["controls"],
                                            order=order), params)  # fmt: skip
        if query.operation in ("top", "bottom"):
            group.rows = [r for r in group.rows if r.get(query.field) is not None]
            n = query.limit or 1
            if len(group.rows) > n:  # ties at the n-th value are part of the answer
                cut = group.rows[n - 1].get(query.field)
                group.rows = group.rows[:n] + [r for r in group.rows[n:] if r.get(query.field) == cut]
        if query.operation in ("count", "average", "percentage"):
            [agg] = graph.read(AGGREGATE.format(filters=filters, value=value), params)
            group.figures = agg
        if query.operation == "percentage":
            base = dict(_params(scope if query.base_scope is None else query.base_scope))
            whole_filters = _where(FMEAQuery(filters=query.base_filters), base, entries)
            [whole] = graph.read(AGGREGATE.format(filters=whole_filters, value=value), base)
            group.total = whole["n"]
        results.append(group)
    return results
