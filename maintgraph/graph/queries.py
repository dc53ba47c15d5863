"""The named, parameterised, read-only multi-hop queries the agent calls.

Every query returns a :class:`QueryResult`: the facts (plain rows), the graph paths they came
from (citable as ``[graph:<path ref>]``), every node cited, and the ids of the document chunks
that support those nodes (``SUPPORTED_BY``), so every hop can be cited. The Cypher is the
subset FalkorDB and Neo4j both run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from maintgraph.errors import MaintgraphError
from maintgraph.graph.base import GraphNode, GraphPath, GraphStore, NodeIdentity
from maintgraph.graph.schema import NODE_TYPES

log = logging.getLogger(__name__)

# The hierarchy below an equipment, as one reusable pattern: equipment -> subunit -> component.
_COMPONENTS = "(e:Equipment {tag: $tag})-[:HAS_SUBUNIT]->(:Subunit)-[:HAS_COMPONENT]->(c:Component)"
# Relationships worth walking between two entities; vocabulary hubs (OF_CLASS, APPLIES_TO)
# would make every two pumps "two hops apart" and explode the search.
_PATH_RELS = (
    "HAS_SYSTEM|HAS_EQUIPMENT|HAS_SUBUNIT|HAS_COMPONENT|HAS_PART|DRIVES|CAN_FAIL_BY|HAS_FMEA|FOR_MODE|"
    "CAUSED_BY|HAS_EFFECT|MANIFESTS_AS|DETECTED_BY|MONITORS|RESOLVED_BY|REQUIRES_PART|REQUIRES_LOTO|ISOLATES|"
    "CONTROLS_ENERGY|REQUIRES_ISOLATION|APPLIES_TO_EQUIPMENT"
)


class UnknownEntity(MaintgraphError):
    """A query named an entity the graph does not have."""


@dataclass
class QueryResult:
    name: str
    params: dict[str, Any]
    facts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[GraphPath] = field(default_factory=list)
    chunk_ids: dict[str, list[str]] = field(default_factory=dict)  # node ref -> supporting chunk ids

    def add(self, path: GraphPath, fact: dict[str, Any]) -> None:
        """A fact and the path it was read from: every fact is citable by its path."""
        self.paths.append(path)
        self.facts.append(fact)

    @property
    def node_refs(self) -> list[str]:
        seen: dict[str, None] = {}
        for path in self.paths:
            for node in path.nodes:
                seen.setdefault(node.ref)
        return list(seen)

    @property
    def path_refs(self) -> list[str]:
        return [path.ref for path in self.paths]


def _props(node: GraphNode | None, *names: str) -> dict[str, Any]:
    if node is None:
        return {}
    return {name: node.properties.get(name) for name in names}


def _sensor(sensor: GraphNode | None) -> dict[str, Any]:
    """The sensor that detects a failure, with its limits, as fact fields (none when no sensor)."""
    if sensor is None:
        return {}
    limits = _props(sensor, "name", "unit", "alarm_high", "trip_high")
    return {"check_sensor": sensor.ref, **{f"sensor_{k}": v for k, v in limits.items()}}


def _isolation(row: dict[str, Any]) -> dict[str, Any]:
    """An energy source and one of its isolation points (``es``, ``ip``, ``step``) as fact fields."""
    energy = _props(row["es"], "name", "kind", "magnitude")
    return {"energy_source": row["es"].ref, **{f"energy_{k}": v for k, v in energy.items()},
            "isolation_point": row["ip"].ref, "isolation_name": row["ip"].properties.get("name"),
            **_props(row["ip"], "method", "location"), "step": row["step"]}  # fmt: skip


def _require(store: GraphStore, label: str, key: str) -> None:
    if not store.existing_keys(label, [key]):
        raise UnknownEntity(f"no {label} {key!r} in the graph")


def _equipment(store: GraphStore, tag: str) -> str:
    """The tag as the graph keys it (upper case), once the graph is known to hold that equipment."""
    tag = tag.upper()
    _require(store, "Equipment", tag)
    return tag


def _records(store: GraphStore, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a lookup that cites no path (plain values only), as plain dicts."""
    return [dict(row) for row in store.read(query, params)]


def _attach_chunks(store: GraphStore, result: QueryResult) -> QueryResult:
    """Add the ids of the document chunks supporting every cited node, in one round trip."""
    by_label: dict[str, set[str]] = {}
    for path in result.paths:
        for node in path.nodes:
            if node.label in NODE_TYPES:
                by_label.setdefault(node.label, set()).add(node.key)
    if not by_label:
        return result
    parts, params = [], {}
    for i, (label, keys) in enumerate(sorted(by_label.items())):
        key = NODE_TYPES[label].key
        parts.append(
            f"MATCH (n:{label})-[:SUPPORTED_BY]->(d:DocumentChunk) WHERE n.{key} IN $k{i} "
            f"RETURN '{label}' AS label, n.{key} AS k, d.id AS chunk"
        )
        params[f"k{i}"] = sorted(keys)
    for row in store.read(" UNION ALL ".join(parts), params):
        result.chunk_ids.setdefault(NodeIdentity(row["label"], row["k"]).ref, []).append(row["chunk"])
    return result


def equipment_neighbourhood(store: GraphStore, tag: str) -> QueryResult:
    """Where an equipment sits and what it is made of: site, system, class, drives, subunits,
    components, fitted parts, sensors and the LOTO procedures that isolate it."""
    tag = _equipment(store, tag)
    result = QueryResult("equipment_neighbourhood", {"tag": tag})
    queries = [
        "MATCH p = (:Site)-[:HAS_SYSTEM]->(:System)-[:HAS_EQUIPMENT]->(e:Equipment {tag: $tag}) RETURN p",
        "MATCH p = (e:Equipment {tag: $tag})-[:OF_CLASS]->(:EquipmentClass) RETURN p",
        "MATCH p = (e:Equipment {tag: $tag})-[:DRIVES]-(:Equipment) RETURN p",
        f"MATCH p = {_COMPONENTS} RETURN p",
        f"MATCH p = {_COMPONENTS}-[:HAS_PART]->(:SparePart) RETURN p",
        "MATCH p = (:Sensor)-[:MONITORS]->(e:Equipment {tag: $tag}) RETURN p",
        f"MATCH p = (:Sensor)-[:MONITORS]->(c:Component) MATCH {_COMPONENTS} RETURN p",
        "MATCH p = (:LOTOProcedure)-[:ISOLATES]->(e:Equipment {tag: $tag}) RETURN p",
    ]
    for row in store.read(" UNION ALL ".join(queries), {"tag": tag}):  # one round trip
        path: GraphPath = row["p"]
        result.paths.append(path)
        for rel, step in zip(path.relationships, path.nodes[1:], strict=False):
            # The relationship's own direction, not the walk's (M-101 DRIVES P-101 either way round).
            result.facts.append(
                {"from": rel.start, "relation": rel.type, "to": rel.end, "name": step.properties.get("name")}
            )
    return _attach_chunks(store, result)


def drive_train(store: GraphStore, tag: str) -> list[dict[str, Any]]:
    """An equipment and what it drives or is driven by (a pump and its motor), each with its
    class, the equipment itself first: how "the motor on it" is resolved in a conversation."""
    tag = _equipment(store, tag)
    return _records(
        store,
        "MATCH (x:Equipment {tag: $tag}) RETURN x.tag AS tag, x.class_code AS class_code, x.name AS name "
        "UNION ALL MATCH (:Equipment {tag: $tag})-[:DRIVES]-(x:Equipment) "
        "RETURN x.tag AS tag, x.class_code AS class_code, x.name AS name",
        {"tag": tag},
    )


def isolation(store: GraphStore, tag: str) -> QueryResult:
    """How to isolate an equipment before physical work: each LOTO procedure that isolates it,
    with every energy source it controls and that source's isolation points in step order, and
    the procedure's own steps (equipment -> LOTO -> energy source -> isolation point)."""
    tag = _equipment(store, tag)
    result = QueryResult("isolation", {"tag": tag})
    rows = store.read(
        "MATCH p = (e:Equipment {tag: $tag})<-[:ISOLATES]-(l:LOTOProcedure)-[:CONTROLS_ENERGY]->(es:EnergySource)"
        "-[ri:REQUIRES_ISOLATION]->(ip:IsolationPoint) "
        "RETURN p, l, es, ip, ri.step AS step ORDER BY l.id, es.id, step",
        {"tag": tag},
    )
    for row in rows:
        result.add(row["p"], {"loto": row["l"].ref, "loto_name": row["l"].properties.get("name"), **_isolation(row)})
    for row in store.read("MATCH (:Equipment {tag: $tag})<-[:ISOLATES]-(l:LOTOProcedure) RETURN l", {"tag": tag}):
        result.facts.append({"ref": row["l"].ref, **_props(row["l"], "name", "steps")})
    return _attach_chunks(store, result)


def parts_named(store: GraphStore, words: list[str]) -> list[dict[str, Any]]:
    """Catalogue parts whose name or number contains the most of ``words`` (each cut to its
    first five letters, so "diaphragms" finds "diaphragm"), best first; parts matching none
    are left out."""
    stems = [w.lower()[:5] for w in words if len(w) >= 3]
    if not stems:
        return []
    return _records(
        store,
        "MATCH (sp:SparePart) WITH sp, toLower(sp.name + ' ' + sp.part_number) AS text "
        "WITH sp, size([s IN $stems WHERE text CONTAINS s]) AS hits WHERE hits > 0 "
        "RETURN sp.part_number AS part_number, sp.name AS name, hits ORDER BY hits DESC, part_number LIMIT 10",
        {"stems": stems},
    )


def failure_modes(store: GraphStore, tag: str) -> QueryResult:
    """The failure modes an equipment's FMEA lists, per component, with S/O/D, RPN, action
    priority, causes and effects, highest RPN first."""
    tag = _equipment(store, tag)
    result = QueryResult("failure_modes", {"tag": tag})
    rows = store.read(
        f"MATCH p = {_COMPONENTS}-[:HAS_FMEA]->(f:FMEAEntry)-[:FOR_MODE]->(m:FailureMode) "
        "OPTIONAL MATCH (f)-[:CAUSED_BY]->(cause:Cause) OPTIONAL MATCH (f)-[:HAS_EFFECT]->(effect:Effect) "
        "OPTIONAL MATCH (f)-[:DETECTED_BY]->(sensor:Sensor) "
        "RETURN p, c, f, m, sensor, collect(DISTINCT cause.name) AS causes, collect(DISTINCT effect.name) AS effects "
        "ORDER BY f.rpn DESC, m.code",
        {"tag": tag},
    )
    for row in rows:
        result.add(
            row["p"],
            {"component": row["c"].ref, "component_name": row["c"].properties.get("name"), "mode": row["m"].key,
             "mode_name": row["m"].properties.get("name"), "fmea": row["f"].ref,
             **_props(row["f"], "severity", "occurrence", "detection", "rpn", "action_priority",
                      "recommended_action"),
             "causes": sorted(row["causes"]), "effects": sorted(row["effects"]), **_sensor(row["sensor"])}
        )  # fmt: skip
    return _attach_chunks(store, result)


def symptom_causes(store: GraphStore, tag: str, symptom: str, min_score: float = 75.0) -> QueryResult:
    """Likely causes and the checks for a symptom on an equipment, including the equipment that
    drives it or that it drives (a motor's bearing shows as pump vibration): FMEA entries whose
    symptoms match, with their causes, mechanisms, the sensor that detects them and its limits,
    current controls and recommended actions."""
    tag = _equipment(store, tag)
    drive_train = store.read("MATCH (:Equipment {tag: $tag})-[:DRIVES]-(x:Equipment) RETURN x.tag AS t", {"tag": tag})
    tags = [tag, *sorted({r["t"] for r in drive_train})]
    # WITH e: start from the indexed equipment, not from the symptoms (which many entries share).
    in_train = "MATCH (e:Equipment) WHERE e.tag IN $tags WITH e "
    known = store.read(
        f"{in_train}MATCH (e)-[:HAS_SUBUNIT]->(:Subunit)-[:HAS_COMPONENT]->(:Component)-[:HAS_FMEA]->(:FMEAEntry)"
        "-[:MANIFESTS_AS]->(s:Symptom) RETURN DISTINCT s.id AS id, s.name AS name",
        {"tags": tags},
    )
    matched = [r["id"] for r in known if fuzz.token_set_ratio(symptom.lower(), r["name"]) >= min_score]
    result = QueryResult("symptom_causes", {"tag": tag, "symptom": symptom, "matched_symptoms": matched})
    if not matched:
        return result
    rows = store.read(
        f"{in_train}MATCH p = (e)-[:HAS_SUBUNIT]->(:Subunit)-[:HAS_COMPONENT]->(c:Component)-[:HAS_FMEA]->(f:FMEAEntry)"
        "-[:MANIFESTS_AS]->(s:Symptom) WHERE s.id IN $symptoms "
        "MATCH (f)-[:FOR_MODE]->(m:FailureMode) "
        "OPTIONAL MATCH (f)-[:CAUSED_BY]->(cause:Cause) "
        "OPTIONAL MATCH (f)-[:HAS_MECHANISM]->(mech:FailureMechanism) "
        "OPTIONAL MATCH (f)-[:DETECTED_BY]->(sensor:Sensor) "
        "RETURN p, e, c, f, m, sensor, collect(DISTINCT cause.name) AS causes, "
        "collect(DISTINCT mech.name) AS mechanisms, collect(DISTINCT s.name) AS symptoms "
        "ORDER BY f.rpn DESC",
        {"tags": tags, "symptoms": matched},
    )
    for row in rows:
        result.add(
            row["p"],
            {"equipment": row["e"].key, "component": row["c"].ref, "component_name": row["c"].properties.get("name"),
             "mode": row["m"].key, "mode_name": row["m"].properties.get("name"), "fmea": row["f"].ref,
             "symptoms": sorted(row["symptoms"]), "causes": sorted(row["causes"]),
             "mechanisms": sorted(row["mechanisms"]),
             **_props(row["f"], "rpn", "action_priority", "current_controls", "recommended_action"),
             **_sensor(row["sensor"])}
        )  # fmt: skip
    return _attach_chunks(store, result)


def failure_mode_fix(store: GraphStore, tag: str, mode: str) -> QueryResult:
    """How to fix a failure mode on an equipment: the procedures that resolve it, their LOTO
    procedure with every energy source and isolation point in order, the spare parts (with
    quantities) and the hazards."""
    tag, mode = _equipment(store, tag), mode.upper()
    _require(store, "FailureMode", mode)
    result = QueryResult("failure_mode_fix", {"tag": tag, "mode": mode})
    base = (
        "MATCH p = (m:FailureMode {code: $mode})-[:RESOLVED_BY]->(pr:Procedure)"
        "-[:APPLIES_TO_EQUIPMENT]->(e:Equipment {tag: $tag})"
    )
    params = {"tag": tag, "mode": mode}
    for row in store.read(f"{base} RETURN p, pr", params):
        result.add(row["p"], {"kind": "procedure", "procedure": row["pr"].ref,
                              **_props(row["pr"], "name", "revision", "steps")})  # fmt: skip
    loto_rows = store.read(
        f"{base} MATCH q = (pr)-[:REQUIRES_LOTO]->(l:LOTOProcedure)-[:CONTROLS_ENERGY]->(es:EnergySource)"
        "-[ri:REQUIRES_ISOLATION]->(ip:IsolationPoint) "
        "RETURN q, pr, l, es, ip, ri.step AS step ORDER BY l.id, es.id, step",
        params,
    )
    for row in loto_rows:
        result.add(
            row["q"],
            {"kind": "isolation", "procedure": row["pr"].ref, "loto": row["l"].ref,
             "loto_steps": row["l"].properties.get("steps"), **_isolation(row)}
        )  # fmt: skip
    for row in store.read(
        f"{base} MATCH q = (pr)-[r:REQUIRES_PART]->(sp:SparePart) RETURN q, pr, sp, r.quantity AS qty", params
    ):
        result.add(row["q"], {"kind": "part", "procedure": row["pr"].ref, "part": row["sp"].ref,
                              "part_name": row["sp"].properties.get("name"), "quantity": row["qty"]})  # fmt: skip
    for row in store.read(f"{base} MATCH q = (pr)-[:HAS_HAZARD]->(h:Hazard) RETURN q, pr, h", params):
        result.add(row["q"], {"kind": "hazard", "procedure": row["pr"].ref, "hazard": row["h"].properties.get("name")})
    return _attach_chunks(store, result)


def shared_components(store: GraphStore, tag: str, component: str | None = None) -> QueryResult:
    """Which other equipment has the same catalogue part fitted as this equipment (optionally
    in one component): where a failing part may fail next."""
    tag = _equipment(store, tag)
    result = QueryResult("shared_components", {"tag": tag, "component": component})
    rows = store.read(
        # Bind this equipment's parts first (WITH), then walk out to the other equipment.
        f"MATCH {_COMPONENTS}-[:HAS_PART]->(sp:SparePart) WHERE $component IS NULL OR c.code = $component "
        "WITH e, c, sp "
        "MATCH p = (e)-[:HAS_SUBUNIT]->(:Subunit)-[:HAS_COMPONENT]->(c)-[:HAS_PART]->(sp)<-[:HAS_PART]-(c2:Component)"
        "<-[:HAS_COMPONENT]-(:Subunit)<-[:HAS_SUBUNIT]-(e2:Equipment) WHERE e2.tag <> $tag "
        # Only p: c, sp, c2 and e2 are its nodes, and returned again they were parsed twice (~40%
        # of the rows' bytes; the parse, not the plan, is most of this query's time).
        "RETURN p, sp.part_number AS part_number, e2.tag AS other ORDER BY part_number, other",
        {"tag": tag, "component": component.upper() if component else None},
    )
    for row in rows:
        _, _, c, sp, c2, _, e2 = row["p"].nodes  # e, subunit, c, sp, c2, subunit, e2
        result.add(
            row["p"],
            {"component": c.ref, "part": sp.ref, "part_name": sp.properties.get("name"),
             "other_equipment": e2.key, "other_name": e2.properties.get("name"), "other_component": c2.ref}
        )  # fmt: skip
    return _attach_chunks(store, result)


def paths_between(store: GraphStore, start: str, end: str, max_hops: int = 4, limit: int = 5) -> QueryResult:
    """The shortest connections (up to ``max_hops``) between two entities named ``Label:key``."""
    if not 1 <= max_hops <= 6:
        raise ValueError(f"max_hops must be 1-6, not {max_hops}")
    (start_label, start_key), (end_label, end_key) = (_parse_ref(start), _parse_ref(end))
    _require(store, start_label, start_key)
    _require(store, end_label, end_key)
    result = QueryResult("paths_between", {"start": start, "end": end, "max_hops": max_hops})
    anchor_a = f"MATCH (a:{start_label} {{{NODE_TYPES[start_label].key}: $a}}) "
    anchor_b = f"MATCH (b:{end_label} {{{NODE_TYPES[end_label].key}: $b}}) "
    params = {"a": start_key, "b": end_key}
    # Iterative deepening, so the shortest connections come first and longer ones are never
    # enumerated. FalkorDB has no undirected shortestPath, so this is the form both engines run.
    found: list[GraphPath] = []
    for hops in range(1, max_hops + 1):
        found = _paths_of_length(store, anchor_a, anchor_b, params, hops, limit)
        if found:
            break
    for path in found:
        result.add(path, {"hops": len(path.relationships), "path": path.ref,
                          "relations": [r.type for r in path.relationships]})  # fmt: skip
    return _attach_chunks(store, result)


def _paths_of_length(
    store: GraphStore, anchor_a: str, anchor_b: str, params: dict[str, Any], hops: int, limit: int
) -> list[GraphPath]:
    """Simple paths of exactly ``hops`` relationships between the anchors ``a`` and ``b``.

    They meet in the middle: the walks of half the hops out of ``a`` are collected first, then
    the walks out of ``b`` that end where one of them ends are joined to it. Walking all the
    hops from one end fans out through every hub on the way (a system's hundred pumps, a
    failure mode every FMEA entry points at): 1-2 ms against 150 ms for four hops at 112k
    nodes. The walks are named paths (``p = ...``) on purpose: FalkorDB then traverses from
    the bound node instead of multiplying whole adjacency matrices.
    """
    if hops == 1:
        rows = store.read(f"{anchor_a}{anchor_b}MATCH p = (a)-[:{_PATH_RELS}]-(b) RETURN p LIMIT {int(limit)}", params)
        return [row["p"] for row in rows]
    near, far = (hops + 1) // 2, hops // 2
    rows = store.read(
        f"{anchor_a}MATCH p = (a)-{_walk(near)}-(m) WITH collect(p) AS halves, collect(DISTINCT m) AS middle "
        f"{anchor_b}MATCH q = (b)-{_walk(far)}-(m) WHERE m IN middle "
        f"WITH q, [h IN halves WHERE last(nodes(h)) = m] AS near_halves LIMIT {int(limit) * 4} "
        f"UNWIND near_halves AS p RETURN p, q LIMIT {int(limit) * 4}",
        params,
    )
    paths: dict[str, GraphPath] = {}
    for row in rows:
        half, other = row["p"], row["q"]
        nodes = half.nodes + tuple(reversed(other.nodes))[1:]
        if len({n.ref for n in nodes}) < len(nodes):
            continue  # the halves cross: not a simple path
        path = GraphPath(nodes, half.relationships + tuple(reversed(other.relationships)))
        paths.setdefault(path.ref, path)
    return list(paths.values())[:limit]


def _walk(hops: int) -> str:
    return f"[:{_PATH_RELS}*{hops}..{hops}]"


def _parse_ref(ref: str) -> tuple[str, str]:
    label, _, key = ref.partition(":")
    if label not in NODE_TYPES or not key:
        raise ValueError(f"{ref!r} is not Label:key (labels: {', '.join(sorted(NODE_TYPES))})")
    return label, key


QUERIES: dict[str, Callable[..., QueryResult]] = {
    f.__name__: f
    for f in (
        equipment_neighbourhood,
        failure_modes,
        symptom_causes,
        failure_mode_fix,
        shared_components,
        paths_between,
    )
}


def plant_names(store: GraphStore) -> list[str]:
    """The plant's manufacturers and sites: names that look like people's to a PII scanner ("Maddox
    Mixing" in a manual is a vendor). Empty, with a warning, when the graph cannot be read."""
    try:
        rows = store.read(
            "MATCH (n) WHERE (n:Equipment OR n:SparePart) AND n.manufacturer IS NOT NULL "
            "RETURN DISTINCT n.manufacturer AS name UNION MATCH (s:Site) RETURN s.name AS name"
        )
    except MaintgraphError as exc:
        log.warning("plant names not read from the graph: %s", exc)
        return []
    return sorted({str(r["name"]) for r in rows if r.get("name")})
