"""The CMMS as the tools see it: records, the work-order lifecycle, and the backend interface.

Two backends implement :class:`CMMSBackend`: the product's own Postgres tables
(``postgres_cmms.py``) and a real CMMS's REST API (``maximo.py``, IBM Maximo's JSON API);
``MAINTGRAPH_CMMS_URL`` selects the second. Everything a backend refuses is a
:class:`~maintgraph.errors.CMMSError` whose message names the record and the rule.
"""

from __future__ import annotations

import abc
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from maintgraph.errors import CMMSError

WorkOrderType = Literal["CM", "PM", "EM", "PdM", "CAL", "INSP"]
WorkOrderStatus = Literal["WAPPR", "APPR", "WMATL", "WSCH", "INPRG", "COMP", "CLOSE", "CAN"]
OPEN_STATUSES: tuple[WorkOrderStatus, ...] = ("WAPPR", "APPR", "WMATL", "WSCH", "INPRG")

# Maximo's lifecycle: waiting approval -> approved -> waiting material / scheduled -> in
# progress -> complete -> closed; cancel until work has started. CLOSE and CAN are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "WAPPR": frozenset({"APPR", "CAN"}),
    "APPR": frozenset({"WMATL", "WSCH", "INPRG", "CAN"}),
    "WMATL": frozenset({"WSCH", "INPRG", "CAN"}),
    "WSCH": frozenset({"WMATL", "INPRG", "CAN"}),
    "INPRG": frozenset({"WMATL", "COMP"}),
    "COMP": frozenset({"CLOSE"}),
    "CLOSE": frozenset(),
    "CAN": frozenset(),
}


def transition_error(number: str, current: str, new: str) -> str | None:
    """Why ``current -> new`` is not allowed for work order ``number``, or None if it is."""
    if new not in TRANSITIONS:
        return f"{new!r} is not a work-order status (one of {', '.join(TRANSITIONS)})"
    if new in TRANSITIONS[current]:
        return None
    allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is final"
    return f"work order {number} is {current}: it cannot go to {new} (allowed from {current}: {allowed})"


class Asset(BaseModel):
    tag: str
    name: str
    class_code: str | None = None
    location: str | None = None
    criticality: Literal["A", "B", "C"] | None = None
    status: str = "OPERATING"


class WorkOrder(BaseModel):
    number: str
    asset_tag: str
    wo_type: WorkOrderType
    priority: int | None = None
    status: WorkOrderStatus
    problem_code: str | None = None
    cause_code: str | None = None
    remedy_code: str | None = None
    description: str
    long_text: str | None = None
    labour_hours: Decimal | None = None
    reported_at: datetime | None = None
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    parts_used: list[tuple[str, Decimal]] = []


class WorkOrderDraft(BaseModel):
    """What a technician (or the agent) proposes; it becomes a work order only when submitted."""

    asset_tag: str = Field(description="Tag of the asset the work is on, e.g. P-101.")
    wo_type: WorkOrderType = Field("CM", description="CM corrective, PM preventive, EM emergency, PdM predictive, "
                                   "CAL calibration, INSP inspection.")  # fmt: skip
    priority: int = Field(3, ge=1, le=5, description="1 = most urgent, 5 = least.")
    description: str = Field(min_length=5, max_length=200, description="One line: what is wrong or what to do.")
    long_text: str | None = Field(None, description="Details: symptoms, readings, what was already tried.")
    problem_code: str | None = Field(None, description="Failure (problem) code, if known.")


class WorkOrderQuery(BaseModel):
    asset_tag: str | None = None
    date_from: datetime | None = None  # reported (or finished, when not reported) at or after
    date_to: datetime | None = None  # ... and before
    wo_types: list[WorkOrderType] = []
    statuses: list[WorkOrderStatus] = []
    failure_code: str | None = None  # problem, cause or remedy code; a primary code matches its secondaries
    text: str | None = None
    limit: int = Field(50, ge=1, le=10_000)


class StockLevel(BaseModel):
    part_number: str
    name: str
    storeroom: str
    bin: str | None
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    alternate_for: str | None = None  # set when this row is an alternate of the part asked for


class Reservation(BaseModel):
    id: int
    part_number: str
    storeroom: str
    work_order: str
    quantity: Decimal


class PMPlan(BaseModel):
    id: str
    asset_tag: str
    description: str
    interval_days: int | None
    meter: str | None
    interval_meter: Decimal | None
    last_done_at: datetime | None
    next_due_at: datetime | None
    last_done_meter: Decimal | None
    next_due_meter: Decimal | None


class FailureCode(BaseModel):
    code: str
    kind: Literal["problem", "cause", "remedy"]
    description: str
    parent: str | None = None


class Event(BaseModel):
    """A line of the asset's event log: a work order, an alert or an anomaly."""

    id: str
    event_group: str
    category: str | None
    event_type: str | None
    description: str | None
    asset_tag: str
    event_time: datetime


class CMMSBackend(abc.ABC):
    """What the agent's CMMS tools need from a CMMS."""

    @abc.abstractmethod
    def asset(self, tag: str) -> Asset: ...

    @abc.abstractmethod
    def search_work_orders(self, query: WorkOrderQuery) -> list[WorkOrder]: ...

    @abc.abstractmethod
    def work_order(self, number: str) -> WorkOrder: ...

    @abc.abstractmethod
    def create_work_order(self, draft: WorkOrderDraft, approval_ref: str, approved_by: str | None = None) -> WorkOrder:
        """Submit a draft (status WAPPR). ``approval_ref`` names the approved request and makes one
        work order at most: a reference already used answers the work order it created (the same
        draft, submitted again after a crash or by a second approval of the same request) and is
        refused for any other draft. ``approved_by`` is recorded with the work order."""

    @abc.abstractmethod
    def change_status(self, number: str, status: str, memo: str | None = None) -> WorkOrder: ...

    @abc.abstractmethod
    def stock(self, part_number: str) -> list[StockLevel]:
        """Stock of a part in every storeroom, then of its alternates."""

    @abc.abstractmethod
    def reserve(self, part_number: str, storeroom: str, quantity: Decimal, work_order: str) -> Reservation: ...

    @abc.abstractmethod
    def pm_plans(self, asset_tag: str) -> list[PMPlan]: ...

    @abc.abstractmethod
    def failure_code(self, code: str) -> FailureCode: ...

    def events(
        self, asset_tag: str, date_from: datetime | None, date_to: datetime | None, groups: list[str]
    ) -> list[Event]:
        """The asset's event log (work orders, alerts, anomalies), oldest first; not every CMMS keeps one."""
        raise CMMSError(f"{type(self).__name__} has no event log")
