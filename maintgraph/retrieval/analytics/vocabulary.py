"""The graph's own words for the parser: hierarchy names and failure-mode texts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from maintgraph.retrieval.analytics.query import LEVELS, ScopeNode

HIERARCHY_NODES = """
MATCH (n) WHERE (n:System OR n:Equipment OR n:Subunit OR n:Component) AND n.as_a_whole IS NULL
  AND (n)-[:HAS_EQUIPMENT|HAS_SUBUNIT|HAS_COMPONENT|HAS_FMEA*1..4]->(:FMEAEntry)
RETURN DISTINCT labels(n)[0] AS label, coalesce(n.id, n.tag) AS id, n.name AS name, n.path AS path
"""
ENTRY_MODES = (
    "MATCH (f:FMEAEntry) RETURN f.id AS id, coalesce(f.failure_mode, f.mode, '') AS mode, f.action_status AS status"
)

STOP = frozenset(
    "a an the of on in at to for and or is are was were be by with which what whats how many much does do did has "
    "have its it this that these those there their all any every each our fmea s mode modes failure failures "
    "rated rating ratings give given gives value list show tell me whole entire".split()
)  # fmt: skip


def stem(word: str) -> str:
    """A crude suffix strip, enough to meet "fails"/"failing", "bearings"/"bearing"."""
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tokens(text: str) -> list[str]:
    return [stem(t) for t in re.findall(r"[a-z0-9]+", text.lower().replace("'s", "")) if t != "s"]


@dataclass
class Vocabulary:
    nodes: list[ScopeNode]
    modes: dict[str, str]  # entry id -> failure mode text
    statuses: list[str] = field(default_factory=list)  # the action statuses the sheet uses ("open", "closed")

    @classmethod
    def read(cls, graph: Any) -> Vocabulary:
        nodes = [ScopeNode(label=r["label"], id=r["id"], name=r["name"] or r["id"], path=r["path"] or "")
                 for r in graph.read(HIERARCHY_NODES) if r["label"] in LEVELS]  # fmt: skip
        rows = graph.read(ENTRY_MODES)
        statuses = sorted({r["status"].strip().lower() for r in rows if r.get("status")}, key=len, reverse=True)
        return cls(nodes, {r["id"]: r["mode"] for r in rows}, statuses)
