"""The registry of retrievers: what the plan may call, what the model is offered, and running calls.

:data:`RETRIEVERS` lists every retriever, in the order the deterministic plan makes their calls;
adding a retriever is one module and one line here. :func:`build_retrievers` instantiates those
whose backends are configured; a planned call whose retriever is not configured is reported as
not checked (the answer says so), never silently dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from maintgraph.errors import MaintgraphError, public_error, validation_problems
from maintgraph.retrieval.analytics import CMMSAnalytics, FMEAAnalytics
from maintgraph.retrieval.base import MAX_ASSETS, Backends, Call, Intent, Question, Retrieved, Retriever, ToolCallRecord
from maintgraph.retrieval.cmms import (
    AssetHistory,
    CountWorkOrders,
    EventSummary,
    FittedPartStock,
    OpenWorkOrders,
    PartAvailability,
    PartsNamed,
    PmStatus,
    WorkOrdersAbout,
)
from maintgraph.retrieval.community_reports import CommunityReports
from maintgraph.retrieval.documents import DocumentSearch
from maintgraph.retrieval.knowledge_graph import (
    EquipmentNeighbourhood,
    FailureModeFix,
    FailureModes,
    Isolation,
    SharedComponents,
    SymptomCauses,
)
from maintgraph.retrieval.readings import ReadingCheck

log = logging.getLogger(__name__)

# The plan's order: question-level retrievers before the first per-asset one are planned first;
# then, for each linked asset in turn, the per-asset ones; then the remaining question-level ones.
RETRIEVERS: list[type[Retriever[Any]]] = [
    DocumentSearch,
    FMEAAnalytics,
    CMMSAnalytics,
    ReadingCheck,  # a reading in the question against its sensor's limits: the answer's first line
    Isolation,
    SymptomCauses,
    FailureModes,
    AssetHistory,
    PmStatus,
    OpenWorkOrders,
    WorkOrdersAbout,
    CountWorkOrders,
    EventSummary,
    FailureModeFix,
    SharedComponents,
    EquipmentNeighbourhood,
    FittedPartStock,
    CommunityReports,
    PartAvailability,
    PartsNamed,
]


@dataclass
class Retrievers:
    """The configured retrievers, and every kind the plan knows (configured or not)."""

    configured: dict[str, Retriever[Any]] = field(default_factory=dict)
    kinds: list[type[Retriever[Any]]] = field(default_factory=lambda: list(RETRIEVERS))
    backends: Backends = field(default_factory=lambda: Backends())

    def __iter__(self) -> Iterator[Retriever[Any]]:
        return iter(self.configured.values())

    def __contains__(self, name: str) -> bool:
        return name in self.configured

    def __getitem__(self, name: str) -> Retriever[Any]:
        return self.configured[name]

    def kind(self, name: str) -> type[Retriever[Any]] | None:
        return next((k for k in self.kinds if k.name == name), None)

    def replaced(self, retriever: Retriever[Any]) -> Retrievers:
        """The same registry with ``retriever`` in place of the one of its name."""
        return Retrievers({**self.configured, retriever.name: retriever}, self.kinds, self.backends)

    def extended(self, kind: type[Retriever[Any]]) -> Retrievers:
        """The same registry with ``kind`` added last, on the same backends."""
        return build_retrievers(self.backends, [*self.kinds, kind])

    # -- planning -------------------------------------------------------------------------------------
    def plan(self, question: Question, skip: Iterable[str] = ()) -> list[Call]:
        """The deterministic route: each retriever's own rule, question-level and per linked asset
        (at most ``MAX_ASSETS``); ``skip`` names retrievers left out (a baseline without one)."""
        left_out = set(skip)
        kinds = [k for k in self.kinds if k.name not in left_out]
        first_per_asset = next((i for i, k in enumerate(kinds) if k.per_asset), len(kinds))
        calls: list[Call] = []
        for kind in kinds[:first_per_asset]:
            calls += [kind.call(**args) for args in kind.plan(question, None) if not kind.per_asset]
        for tag in question.tags[:MAX_ASSETS]:
            calls += [kind.call(**args) for kind in kinds if kind.per_asset for args in kind.plan(question, tag)]
        for kind in kinds[first_per_asset:]:
            calls += [kind.call(**args) for args in kind.plan(question, None) if not kind.per_asset]
        return list(dict.fromkeys(calls))

    def offered(self, intent: Intent) -> list[type[Retriever[Any]]]:
        """The retrievers the model may call for a question of ``intent``."""
        return [k for k in self.kinds if k.serves(intent)]

    def offered_tools(self, question: Question) -> list[Any]:
        """The tools the intent allows whose every argument can be filled from what was linked,
        as strict schemas (fewer tools, a shorter prompt: each schema costs the CPU model seconds)."""
        return [tool for kind in self.offered(question.intent) if (tool := kind.as_tool(question))]

    # -- running --------------------------------------------------------------------------------------
    def run(self, calls: list[Call]) -> Retrieved:
        """Make the calls in order, gathering their evidence (each id once). A call that fails is
        reported as what could not be checked; the others still count."""
        retrieved = Retrieved()
        for call in calls:
            retriever = self.configured.get(call.name)
            if retriever is None or retriever.source != call.source:
                retrieved.records.append(ToolCallRecord(str(call), 0.0, error="no such tool"))
                retrieved.not_checked.append(f"{call.source} {call.name}: no such tool")
                continue
            started = time.perf_counter()
            try:
                found = retriever.run(retriever.Args.model_validate(call.kwargs))
            except Exception as exc:  # noqa: BLE001 - logged whole (public_error), the answer told in short
                told = _told(exc, call)
                record = ToolCallRecord(str(call), time.perf_counter() - started, error=told)
                retrieved.not_checked.append(f"{call.source} {call.name}: {told}")
            else:
                known = {e.id for e in retrieved.evidence}
                retrieved.evidence += [e for e in found if e.id not in known]
                record = ToolCallRecord(str(call), time.perf_counter() - started, [e.id for e in found])
            retrieved.records.append(record)
        return retrieved

    def run_plan(self, calls: list[Call], budget: int = 10) -> Retrieved:
        admitted, skipped = admit(calls, budget)
        retrieved = self.run(admitted)
        retrieved.skipped = skipped
        return retrieved


def _told(exc: Exception, call: Call) -> str:
    """What the answer may say of a failed call: the refusal itself when it is the user's to act on
    (no such asset, bad arguments); for a dependency down or a bug, a short message and the error id
    under which the whole of it (socket paths, hosts, a traceback) is logged."""
    if isinstance(exc, ValidationError):
        exc = MaintgraphError(f"arguments refused: {validation_problems(exc, 'arguments')}")
    told, error_id = public_error(exc, str(call), log)
    if error_id is None:
        log.warning("%s failed: %s", call, exc)
    return told


def admit(calls: list[Call], budget: int, made: list[Call] | None = None) -> tuple[list[Call], list[str]]:
    """The calls to make this turn, and why the others are skipped: a call identical to one
    already made (``made``) or planned is a repeat, and no more than ``budget`` are made in all."""
    admitted: list[Call] = []
    skipped: list[str] = []
    seen = set(made or [])
    for call in calls:
        if call in seen:
            skipped.append(f"{call} (repeated)")
        elif len(seen) >= budget:
            skipped.append(f"{call} (over the budget of {budget} calls)")
        else:
            seen.add(call)
            admitted.append(call)
    return admitted, skipped


def build_retrievers(backends: Backends, kinds: Iterable[type[Retriever[Any]]] = RETRIEVERS) -> Retrievers:
    """The registry on the configured backends: every retriever whose backends are all there."""
    kinds = list(kinds)
    configured = {
        kind.name: kind(backends) for kind in kinds if all(getattr(backends, need) is not None for need in kind.needs)
    }
    return Retrievers(configured, kinds, backends)
