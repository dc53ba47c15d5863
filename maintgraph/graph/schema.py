"""The maintenance knowledge graph's schema, as code.

Modelled on ISO 14224 (taxonomy, failure modes, failure mechanisms) and FMEA. Every node has
one natural key (``key``) that loaders MERGE on, so re-loading a source never duplicates a
node; every node and relationship records the sources that asserted it (``sources``: a list of
source ids), so deleting a source removes exactly the facts only it supported.

The hierarchy is ``Site -> System -> Equipment -> Subunit -> Component``; the catalogue part
fitted in a component is a ``SparePart`` (``HAS_PART``), keyed by part number, so that
"which equipment shares this part" is one hop. Engine-specific DDL lives in the adapters;
this module only says what must be unique and what is searched.

An FMEA sheet without equipment tags brings its own hierarchy (System / Equipment / Subunit /
Component named as the sheet writes them, with a ``path``; see
:mod:`maintgraph.graph.loaders.fmea`); its entries keep the plant's failure-mode text and
point at an ISO failure mode (``FOR_MODE``, with ``confidence`` and ``method``) only when the
mapping was confident.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeType:
    label: str
    key: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    # Properties entity linking matches free text against (names, synonyms, codes).
    searchable: tuple[str, ...] = ("name",)


@dataclass(frozen=True)
class RelType:
    type: str
    start: tuple[str, ...]
    end: tuple[str, ...]
    properties: tuple[str, ...] = field(default=())


def _n(label: str, key: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = (), **kw) -> NodeType:
    return NodeType(label, key, required, optional, **kw)


NODE_TYPES: dict[str, NodeType] = {
    t.label: t
    for t in [
        # hierarchy
        _n("Site", "id", ("name",), ("location",)),
        _n("System", "id", ("name",), ("description", "path")),
        _n(
            "Equipment",
            "tag",
            ("name",),
            (
                "class_code",
                "criticality",
                "manufacturer",
                "model",
                "serial_number",
                "install_date",
                "rated_power_kw",
                "path",
            ),
            searchable=("tag", "name"),
        ),
        _n("Subunit", "id", ("name",), ("path", "as_a_whole")),
        _n("Component", "id", ("name",), ("component_type", "path", "as_a_whole")),
        _n("EquipmentClass", "code", ("name",), searchable=("code", "name")),
        # failure knowledge
        _n("FailureMode", "code", ("name",), ("description", "synonyms"), searchable=("code", "name", "synonyms")),
        _n(
            "FailureMechanism",
            "id",
            ("name",),
            ("description", "synonyms", "category"),
            searchable=("name", "synonyms"),
        ),
        _n("Cause", "id", ("name",)),
        _n("Symptom", "id", ("name",), ("synonyms",), searchable=("name", "synonyms")),
        _n("Effect", "id", ("name",)),
        _n("Sensor", "id", ("name",), ("measures", "unit", "alarm_high", "trip_high")),
        _n(
            "FMEAEntry",
            "id",
            ("severity", "occurrence", "detection", "rpn", "action_priority"),
            (
                "current_controls",
                "recommended_action",
                "failure_mode",
                "mode_code",
                "mode_confidence",
                "mode_method",
                "function",
                "effect",
                "cause",
                "prevention_controls",
                "detection_controls",
                "detection_method",
                "compensating_provisions",
                "severity_class",
                "failure_mode_ratio",
                "failure_rate",
                "criticality",
            ),
            searchable=(),
        ),
        # work knowledge
        _n("Procedure", "id", ("name", "steps"), ("revision",)),
        _n("LOTOProcedure", "id", ("name", "steps"), ("revision",)),
        _n("EnergySource", "id", ("name", "kind"), ("magnitude",)),
        _n("IsolationPoint", "id", ("name", "method"), ("location",)),
        _n("Hazard", "id", ("name",), ("description",)),
        _n("SparePart", "part_number", ("name",), ("manufacturer", "unit"), searchable=("part_number", "name")),
        # records
        _n(
            "WorkOrder",
            "number",
            ("description", "wo_type"),
            ("status", "priority", "reported_at", "finished_at", "labor_hours", "failure_code", "long_text"),
            searchable=("number",),
        ),
        _n("DocumentChunk", "id", (), ("document", "title"), searchable=()),
        # GraphRAG: communities of facts (maintgraph.graph.communities) and their reports
        _n("Community", "key", ("level", "title"), ("size", "parent", "fingerprint", "report_status"), searchable=()),
    ]
}

_ANY_FACT = tuple(label for label in NODE_TYPES if label not in ("DocumentChunk", "Community"))

REL_TYPES: dict[str, RelType] = {
    r.type: r
    for r in [
        RelType("HAS_SYSTEM", ("Site",), ("System",)),
        RelType("HAS_EQUIPMENT", ("System",), ("Equipment",)),
        RelType("HAS_SUBUNIT", ("Equipment",), ("Subunit",)),
        RelType("HAS_COMPONENT", ("Subunit",), ("Component",)),
        RelType("HAS_PART", ("Component",), ("SparePart",), ("quantity",)),
        RelType("OF_CLASS", ("Equipment",), ("EquipmentClass",)),
        RelType("DRIVES", ("Equipment",), ("Equipment",)),
        RelType("APPLIES_TO", ("FailureMode",), ("EquipmentClass",)),
        RelType("CAN_FAIL_BY", ("Component", "Equipment"), ("FailureMode",)),
        RelType("HAS_FMEA", ("Component", "Equipment"), ("FMEAEntry",)),
        RelType("FOR_MODE", ("FMEAEntry",), ("FailureMode",), ("confidence", "method")),
        RelType("HAS_MECHANISM", ("FailureMode", "FMEAEntry"), ("FailureMechanism",)),
        RelType("CAUSED_BY", ("FMEAEntry", "FailureMode"), ("Cause",)),
        RelType("HAS_EFFECT", ("FMEAEntry",), ("Effect",)),
        RelType("MANIFESTS_AS", ("FailureMode", "FMEAEntry"), ("Symptom",)),
        RelType("DETECTED_BY", ("FailureMode", "FMEAEntry", "Symptom"), ("Sensor",)),
        RelType("MONITORS", ("Sensor",), ("Equipment", "Component")),
        RelType("RESOLVED_BY", ("FailureMode", "FMEAEntry"), ("Procedure",)),
        RelType("REQUIRES_PART", ("Procedure", "WorkOrder"), ("SparePart",), ("quantity",)),
        RelType("REQUIRES_LOTO", ("Procedure",), ("LOTOProcedure",)),
        RelType("ISOLATES", ("LOTOProcedure",), ("Equipment",)),
        RelType("CONTROLS_ENERGY", ("LOTOProcedure",), ("EnergySource",)),
        RelType("REQUIRES_ISOLATION", ("LOTOProcedure", "EnergySource"), ("IsolationPoint",), ("step",)),
        RelType("HAS_HAZARD", ("Procedure", "LOTOProcedure", "Equipment"), ("Hazard",)),
        RelType("APPLIES_TO_EQUIPMENT", ("Procedure",), ("Equipment", "EquipmentClass")),
        RelType("RECORDED_FOR", ("WorkOrder",), ("Equipment", "FailureMode", "Component")),
        RelType("SUPPORTED_BY", _ANY_FACT, ("DocumentChunk",)),
        RelType("IN_COMMUNITY", _ANY_FACT, ("Community",)),
        RelType("PART_OF", ("Community",), ("Community",)),
    ]
}

# Node properties every node carries besides its schema: where the fact came from.
SOURCES = "sources"


def node_type(label: str) -> NodeType:
    try:
        return NODE_TYPES[label]
    except KeyError:
        raise KeyError(f"unknown node label {label!r} (known: {', '.join(sorted(NODE_TYPES))})") from None


def rel_type(name: str) -> RelType:
    try:
        return REL_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown relationship type {name!r} (known: {', '.join(sorted(REL_TYPES))})") from None
