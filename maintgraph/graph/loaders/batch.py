"""What one source asserts, checked as a whole and then written all at once.

Loaders only parse and validate: they fill a :class:`GraphBatch` and a
:class:`~maintgraph.graph.loaders.tabular.Problems`. :func:`commit` then checks every
relationship's ends (in the batch or already in the graph), refuses the source if anything
is wrong, and otherwise replaces what the source asserted before with what it asserts now,
in one source transaction: merge first, then retract only what the source no longer asserts.
A reload of an unchanged file changes nothing (not even the relationships other sources hang
on its nodes), a changed file replaces its facts, and a refused one leaves the graph as it was.

Strict (the default of :func:`commit`): any problem refuses the whole source. Lenient
(``strict=False``, what ``graph load`` does unless told ``--strict``): every fact is recorded
with the row (sheet line, YAML item) that asserted it, so the rows with problems are left out
and reported, relationships to nodes that are neither in the file nor in the graph are dropped
and reported, and the good rows load. A problem that belongs to no row (a missing column, an
unreadable file) or a file none of whose rows is good still refuses the source.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from tqdm import tqdm

from maintgraph.errors import LoadError
from maintgraph.graph.base import GraphStore, rename_source, retract
from maintgraph.graph.loaders.tabular import Problems
from maintgraph.graph.schema import node_type

Where = tuple[int | None, str | None]


@dataclass
class LoadReport:
    source: str
    nodes: int
    relationships: int
    skipped: list[str] = field(default_factory=list)  # "file:row:column: reason", one per problem left out
    warnings: list[str] = field(default_factory=list)  # "file:row:column: what looks wrong" (loaded as written)
    rows: int = 0  # rows (sheet lines, YAML items) whose facts were loaded
    rows_skipped: int = 0  # rows left out because of a problem
    mapping: dict[str, str] = field(default_factory=dict)  # canonical column -> header as written
    header_row: int | None = None  # the sheet row the header was read from

    def __str__(self) -> str:
        text = f"{self.source}: {self.nodes} nodes, {self.relationships} relationships"
        if self.rows:
            text += f" from {self.rows} rows"
        if self.skipped:
            text += f", {self.rows_skipped} rows skipped"
            dropped = len(self.skipped) - self.rows_skipped
            text += f" ({dropped} more problems left out)" if dropped > 0 else ""
        return text + (f", {len(self.warnings)} warnings" if self.warnings else "")


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
    mapping: dict[str, str] = field(default_factory=dict)  # canonical column -> header as written (sheets)
    header_row: int | None = None
    # The row being read: loaders set it at the top of each row (a ``where`` with a row sets it too);
    # every fact is logged with it, so that a row with a problem can be left out as a whole.
    row: int | None = None
    log: list[tuple[int | None, str, tuple[Any, ...]]] = field(default_factory=list)

    def _at(self, where: Where) -> int | None:
        if where[0] is not None:
            self.row = where[0]
        return self.row

    def node(self, label: str, key: str, props: dict[str, Any], where: Where = (None, None)) -> str:
        """Assert a node; the same key asserted twice with different values is a conflict."""
        self.log.append((self._at(where), "node", (label, key, props, where)))
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
        self.log.append((self._at(where), "rel", (rel, start, end, props, where)))
        group = (rel, start[0], end[0])
        self.rels[group][(start[1], end[1])] = {k: v for k, v in (props or {}).items() if v is not None}
        self.rel_where.setdefault((rel, *start, *end), where)


def _dangling(store: GraphStore, batch: GraphBatch) -> list[tuple[tuple[str, str, str], tuple[str, str], str]]:
    """Relationships with an end neither in the batch nor in the graph: (group, pair, problem)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for (_rel, start_label, end_label), pairs in batch.rels.items():
        for start, end in pairs:
            if start not in batch.nodes.get(start_label, {}):
                wanted[start_label].add(start)
            if end not in batch.nodes.get(end_label, {}):
                wanted[end_label].add(end)
    known = {label: store.existing_keys(label, sorted(keys)) for label, keys in wanted.items()}
    found = []
    for (rel, start_label, end_label), pairs in batch.rels.items():
        for start, end in pairs:
            for label, key in ((start_label, start), (end_label, end)):
                if key not in batch.nodes.get(label, {}) and key not in known.get(label, set()):
                    row, column = batch.rel_where[(rel, start_label, start, end_label, end)]
                    where = batch.source + (f":{row}" if row is not None else "") + (f":{column}" if column else "")
                    found.append(((rel, start_label, end_label), (start, end),
                                  f"{where}: unknown {label} {key!r} (not in this file nor in the graph)"))  # fmt: skip
    return found


def _check_ends(store: GraphStore, batch: GraphBatch) -> None:
    batch.problems.items.extend(problem for _group, _pair, problem in _dangling(store, batch))


def _row_of(source: str, problem: str) -> int | None:
    """The row a problem (``source:row:column: message``) names, or None for a file-level one."""
    rest = problem[len(source) + 1 :] if problem.startswith(source + ":") else ""
    head = rest.split(":", 1)[0]
    return int(head) if head.isdigit() else None


def _good_rows_only(store: GraphStore, batch: GraphBatch) -> tuple[GraphBatch, list[str], int, int]:
    """The batch without the rows that have problems and without relationships to unknown nodes:
    (that batch, what was left out, rows loaded, rows skipped). Raises LoadError when a problem
    belongs to no row or when no row is good."""
    problems = list(batch.problems.items)
    if any(_row_of(batch.source, p) is None for p in problems):
        raise LoadError(batch.source, problems)
    bad = {_row_of(batch.source, p) for p in problems}
    clean = GraphBatch(batch.source, Problems(batch.source), skipped=list(batch.skipped))
    own = {f.name for f in fields(GraphBatch)}
    for name, value in vars(batch).items():  # what a loader noted besides (the columns it used, ...)
        if name not in own:
            setattr(clean, name, value)
    clean.mapping, clean.header_row = dict(batch.mapping), batch.header_row
    clean.problems.warnings = list(getattr(batch.problems, "warnings", []))
    for row, what, args in batch.log:
        if row in bad:
            continue
        clean.row = row
        if what == "node":
            clean.node(*args)
        else:
            clean.rel(*args)
    # Rows that only now conflict cannot happen (a conflict is reported against the later row), but
    # should they, they are left out like any other.
    if clean.problems.items:
        return _good_rows_only(store, clean)
    rows = {row for row, _what, _args in clean.log if row is not None}
    if bad and not rows:
        raise LoadError(batch.source, [*problems, f"{batch.source}: no row could be loaded"])
    left_out = problems
    for group, pair, problem in _dangling(store, clean):
        clean.rels[group].pop(pair, None)
        left_out.append(problem + "; relationship left out")
    return clean, left_out, len(rows), len(bad)


def commit(store: GraphStore, batch: GraphBatch, former_names: Sequence[str] = (), strict: bool = True) -> LoadReport:
    """Validate the batch's references and write it as one source transaction.

    The batch is merged first; then the source stops asserting what it asserted before and no
    longer does (:func:`~maintgraph.graph.base.retract`), so a fact it asserts again, and every
    relationship other sources hang on it, is never touched. ``former_names``: ids the same
    source was loaded under before (renamed to ``batch.source`` in the same transaction).

    ``strict=False``: rows with problems and relationships to unknown nodes are left out and
    reported in the report's ``skipped``; the rest is written (see the module's docstring)."""
    warnings = list(getattr(batch.problems, "warnings", []))
    mapping, header_row = dict(batch.mapping), batch.header_row
    if strict:
        batch.problems.raise_if_any()
        _check_ends(store, batch)
        batch.problems.raise_if_any()
        skipped, rows_skipped = list(batch.skipped), len(batch.skipped)
    else:
        loader_skipped = len(batch.skipped)
        batch, left_out, _rows, bad_rows = _good_rows_only(store, batch)
        skipped, rows_skipped = [*batch.skipped, *left_out], loader_skipped + bad_rows
    loaded_rows = len({row for row, _what, _args in batch.log if row is not None})
    for group in [group for group, pairs in batch.rels.items() if not pairs]:
        del batch.rels[group]
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
    return LoadReport(
        batch.source,
        node_count,
        rel_count,
        skipped,
        warnings,
        loaded_rows,
        rows_skipped,
        mapping=mapping,
        header_row=header_row,
    )
