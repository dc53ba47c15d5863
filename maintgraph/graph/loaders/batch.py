"""What one source asserts, checked as a whole and then written all at once.

Loaders only parse and validate: they fill a :class:`GraphBatch` and a
:class:`~maintgraph.graph.loaders.tabular.Problems`. :func:`commit` then checks every
relationship's ends (in the batch or already in the graph), refuses the source if anything
is wrong, and otherwise replaces what the source asserted before with what it asserts now,
in one source transaction: merge first, then retract only what the source no longer asserts.
A reload of an unchanged file changes nothing (not even the relationships other sources hang
on its nodes), a changed file replaces its facts, and a refused one leaves the graph as it was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from maintgraph.graph.base import GraphStore, rename_source, retract
from maintgraph.graph.loaders.tabular import Problems
from maintgraph.graph.schema import node_type

Where = tuple[int | None, str | None]


@dataclass
class LoadReport:
    source: str
    nodes: int
    relationships: int
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.source}: {self.nodes} nodes, {self.relationships} relationships"
        return text + (f", {len(self.skipped)} rows skipped" if self.skipped else "")


@dataclass
class GraphBatch:
    source: str
    problems: Problems
    nodes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    rels: dict[tuple[str, str, str], dict[tuple[str, str], dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    rel_where: dict[tuple[str, str, str, str, str], Where] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def node(self, label: str, key: str, props: dict[str, Any], where: Where = (None, None)) -> str:
        """Assert a node; the same key asserted twice with different values is a conflict."""
        spec = node_type(label)
        clean = {k: v for k, v in props.items() if v is not None and v != ""}
        clean.pop(spec.key, None)
        existing = self.nodes[label].get(key)
        if existing is not None:
            for name, value in clean.items():
                if name in existing and existing[name] != value:
                    self.problems.add(
                        where[0], name,
                        f"{label} {key!r} conflicts with an earlier row: {name} {existing[name]!r} vs {value!r}",
                    )  # fmt: skip
            clean = existing | clean
        self.nodes[label][key] = clean
        return key

    def rel(
        self, rel: str, start: tuple[str, str], end: tuple[str, str], props: dict[str, Any] | None = None,
        where: Where = (None, None),
    ) -> None:  # fmt: skip
        group = (rel, start[0], end[0])
        self.rels[group][(start[1], end[1])] = {k: v for k, v in (props or {}).items() if v is not None}
        self.rel_where.setdefault((rel, *start, *end), where)


def _check_ends(store: GraphStore, batch: GraphBatch) -> None:
    wanted: dict[str, set[str]] = defaultdict(set)
    for (_rel, start_label, end_label), pairs in batch.rels.items():
        for start, end in pairs:
            if start not in batch.nodes.get(start_label, {}):
                wanted[start_label].add(start)
            if end not in batch.nodes.get(end_label, {}):
                wanted[end_label].add(end)
    known = {label: store.existing_keys(label, sorted(keys)) for label, keys in wanted.items()}
    for (rel, start_label, end_label), pairs in batch.rels.items():
        for start, end in pairs:
            for label, key in ((start_label, start), (end_label, end)):
                if key not in batch.nodes.get(label, {}) and key not in known.get(label, set()):
                    row, column = batch.rel_where[(rel, start_label, start, end_label, end)]
                    batch.problems.add(row, column, f"unknown {label} {key!r} (not in this file nor in the graph)")


def commit(store: GraphStore, batch: GraphBatch, former_names: Sequence[str] = ()) -> LoadReport:
    """Validate the batch's references and write it as one source transaction.

    The batch is merged first; then the source stops asserting what it asserted before and no
    longer does (:func:`~maintgraph.graph.base.retract`), so a fact it asserts again, and every
    relationship other sources hang on it, is never touched. ``former_names``: ids the same
    source was loaded under before (renamed to ``batch.source`` in the same transaction)."""
    batch.problems.raise_if_any()
    _check_ends(store, batch)
    batch.problems.raise_if_any()
    node_count = sum(len(v) for v in batch.nodes.values())
    rel_count = sum(len(v) for v in batch.rels.values())
    keep_nodes = {(label, str(key)) for label, nodes in batch.nodes.items() for key in nodes}
    keep_rels = {
        (rel, start_label, str(start), end_label, str(end))
        for (rel, start_label, end_label), pairs in batch.rels.items()
        for start, end in pairs
    }
    with (
        store.source_transaction(batch.source) as tx,
        tqdm(total=node_count + rel_count, desc=batch.source, unit="fact", disable=None, leave=False) as bar,
    ):
        for old in former_names:
            if old != batch.source:
                rename_source(tx, old, batch.source)
        for label, nodes in batch.nodes.items():
            tx.merge_nodes(label, [{"key": k, "props": p} for k, p in nodes.items()], batch.source, exact=True)
            bar.update(len(nodes))
        for (rel, start_label, end_label), pairs in batch.rels.items():
            rows = [{"start": s, "end": e, "props": p} for (s, e), p in pairs.items()]
            tx.merge_relationships(rel, start_label, end_label, rows, batch.source, exact=True)
            bar.update(len(rows))
        retract(tx, batch.source, keep_nodes, keep_rels)
    return LoadReport(batch.source, node_count, rel_count, batch.skipped)
