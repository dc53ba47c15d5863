"""The CMMS tools the agent calls.

Each tool has typed arguments (a pydantic model the model server can be constrained to) and a
docstring written for the model; each result carries the ids to cite (``WO:<number>``,
``ASSET:<tag>``, ``PART:<number>``, ``PM:<id>``). Submitting a work order is a write: it needs
an approval token that only the agent's human-in-the-loop step can issue (an HMAC over the
exact draft), so a model cannot approve its own draft or submit a different one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import statistics
from collections import Counter
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from maintgraph.config import Settings
from maintgraph.errors import ApprovalRefused, CMMSError
from maintgraph.tools.cmms import (
    OPEN_STATUSES,
    CMMSBackend,
    WorkOrder,
    WorkOrderDraft,
    WorkOrderQuery,
    WorkOrderStatus,
    WorkOrderType,
)

CORRECTIVE = ("CM", "EM")
COUNT_LIMIT = 10_000  # counting reads every matching row; beyond this, ask for narrower filters


# -- arguments ------------------------------------------------------------------------------------


class SearchWorkOrders(BaseModel):
    """Find work orders by asset, date range, type, status, failure code and words in their text."""

    asset_tag: str | None = Field(None, description="Asset tag, e.g. P-101.")
    date_from: datetime | None = Field(None, description="Reported on or after (ISO date).")
    date_to: datetime | None = Field(None, description="Reported before (ISO date).")
    wo_type: WorkOrderType | None = Field(None, description="CM, PM, EM, PdM, CAL or INSP.")
    status: WorkOrderStatus | None = Field(None, description="WAPPR, APPR, WMATL, WSCH, INPRG, COMP, CLOSE or CAN.")
    failure_code: str | None = Field(None, description="Failure code; a primary code includes its secondary codes.")
    text: str | None = Field(None, description="Words to look for in the description and long text.")
    limit: int = Field(20, ge=1, le=200)


class AssetArgument(BaseModel):
    asset_tag: str = Field(description="Asset tag, e.g. P-101.")


class PartArgument(BaseModel):
    part_number: str = Field(description="Part (item) number, e.g. BRG-6312-C3.")


class EventQuery(BaseModel):
    """An asset's event log: work orders, alerts and anomalies, oldest first."""

    asset_tag: str = Field(description="Asset tag, e.g. CWC04009.")
    date_from: datetime | None = Field(None, description="At or after (ISO date).")
    date_to: datetime | None = Field(None, description="Before (ISO date).")
    groups: list[str] = Field([], description="WORK_ORDER, ALERT and/or ANOMALY; empty = all.")


class StatusChange(BaseModel):
    number: str = Field(description="Work order number.")
    status: WorkOrderStatus = Field(description="The new status; the lifecycle decides which are allowed.")
    memo: str | None = Field(None, description="Why the status changes.")


# -- approval ---------------------------------------------------------------------------------------


class Approvals:
    """Issues and checks approval tokens for work-order drafts (the human-in-the-loop step)."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Approvals:
        """The data dir's own secret (created once, readable by its owner only)."""
        path = data_dir / "approval.key"
        data_dir.mkdir(parents=True, exist_ok=True)
        try:  # created whole and private, once: O_EXCL makes a second first run read the first one's key
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
        key = path.read_bytes()
        if len(key) < 32:
            raise CMMSError(f"{path} is not a usable approval key ({len(key)} bytes); delete it to make a new one")
        return cls(key)

    def _mac(self, draft: WorkOrderDraft, approver: str, nonce: str) -> str:
        payload = json.dumps({"draft": draft.model_dump(mode="json"), "approver": approver, "nonce": nonce},
                             sort_keys=True)  # fmt: skip
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()

    def approve(self, draft: WorkOrderDraft, approver: str, nonce: str | None = None) -> str:
        """The token a person's approval of exactly this draft produces. Each approval is unique,
        unless ``nonce`` names the request being approved (a paused agent run): then every approval
        of it, by whoever, gives the same reference, and the CMMS makes one work order for it."""
        nonce = nonce or secrets.token_hex(8)
        if ":" in nonce:
            raise CMMSError("an approval nonce cannot contain ':'")
        return base64.urlsafe_b64encode(f"{approver}:{nonce}:{self._mac(draft, approver, nonce)}".encode()).decode()

    def check(self, draft: WorkOrderDraft, token: str) -> tuple[str, str]:
        """(approver, approval reference), or CMMSError when the token does not approve this draft.
        The reference is the nonce alone: it names the approved request, not who approved it, so
        two approvals of one request (a retry, a second person after a crash) share it and the
        CMMS makes one work order for them."""
        refused = f"work order for {draft.asset_tag} not submitted"
        try:
            approver, nonce, mac = base64.urlsafe_b64decode(token.encode()).decode().rsplit(":", 2)
        except (ValueError, UnicodeError):
            raise ApprovalRefused(f"{refused}: the approval token is malformed") from None
        if not hmac.compare_digest(mac.encode(), self._mac(draft, approver, nonce).encode()):
            raise ApprovalRefused(f"{refused}: the approval token does not approve this draft (it was changed after "
                            "approval, or the token is not genuine)")  # fmt: skip
        return approver, nonce


# -- the tools ----------------------------------------------------------------------------------------


def _cite(order: WorkOrder) -> dict[str, Any]:
    return {
        "id": f"WO:{order.number}", "number": order.number, "asset": order.asset_tag, "type": order.wo_type,
        "status": order.status, "priority": order.priority, "failure_code": order.problem_code,
        "description": order.description, "reported": _day(order.reported_at), "finished": _day(order.finished_at),
        "labour_hours": float(order.labour_hours) if order.labour_hours is not None else None,
    }  # fmt: skip


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


class CMMSTools:
    def __init__(self, backend: CMMSBackend, approvals: Approvals) -> None:
        self.backend, self.approvals = backend, approvals

    def _query(self, args: SearchWorkOrders, limit: int) -> WorkOrderQuery:
        if args.asset_tag:
            self.backend.asset(args.asset_tag)  # an unknown tag is an error, not "no work orders"
        if args.failure_code:
            self.backend.failure_code(args.failure_code)
        return WorkOrderQuery(
            asset_tag=args.asset_tag, date_from=args.date_from, date_to=args.date_to,
            wo_types=[args.wo_type] if args.wo_type else [], statuses=[args.status] if args.status else [],
            failure_code=args.failure_code, text=args.text, limit=limit,
        )  # fmt: skip

    def search_work_orders(self, args: SearchWorkOrders) -> list[dict[str, Any]]:
        """Work orders matching the filters, newest first, each with its id to cite (at most
        ``limit``: use count_work_orders for how many there are)."""
        return [_cite(order) for order in self.backend.search_work_orders(self._query(args, args.limit))]

    def count_work_orders(self, args: SearchWorkOrders) -> dict[str, Any]:
        """How many work orders match the filters (all of them, not a page), by type, status and
        primary failure code."""
        orders = self.backend.search_work_orders(self._query(args, COUNT_LIMIT))
        if len(orders) == COUNT_LIMIT:
            raise CMMSError(f"more than {COUNT_LIMIT} work orders match: narrow the filters (asset, dates, type)")
        primary: dict[str, str] = {}
        for code in {o.problem_code for o in orders if o.problem_code}:
            primary[code] = self.backend.failure_code(code).parent or code
        return {
            "count": len(orders),
            "by_type": dict(Counter(o.wo_type for o in orders)),
            "by_status": dict(Counter(o.status for o in orders)),
            "by_primary_code": dict(Counter(primary[o.problem_code] for o in orders if o.problem_code)),
        }

    def asset_history(self, args: AssetArgument) -> dict[str, Any]:
        """An asset's maintenance history: counts by type, MTBF and MTTR of its corrective work,
        its most frequent failure codes, and its latest work orders."""
        asset = self.backend.asset(args.asset_tag)
        orders = self.backend.search_work_orders(WorkOrderQuery(asset_tag=args.asset_tag, limit=10_000))
        # Failures are corrective work that was approved: cancelled and unapproved requests are not.
        failures = sorted(
            (
                o
                for o in orders
                if o.wo_type in CORRECTIVE and o.status not in ("CAN", "WAPPR") and (o.reported_at or o.finished_at)
            ),
            key=lambda o: o.reported_at or o.finished_at,  # type: ignore[arg-type, return-value]
        )
        gaps = [
            ((b.reported_at or b.finished_at) - (a.reported_at or a.finished_at)).total_seconds() / 86400  # type: ignore[operator]
            for a, b in pairwise(failures)
        ]
        repairs = [
            (o.finished_at - (o.started_at or o.reported_at)).total_seconds() / 3600  # type: ignore[operator]
            for o in failures
            if o.finished_at and (o.started_at or o.reported_at)
        ]
        codes = Counter(o.problem_code for o in orders if o.problem_code)
        return {
            "id": f"ASSET:{asset.tag}", "asset": asset.model_dump(),
            "work_orders": len(orders), "by_type": dict(Counter(o.wo_type for o in orders)),
            "corrective_failures": len(failures),
            "mtbf_days": round(statistics.mean(gaps), 1) if gaps else None,
            "mttr_hours": round(statistics.mean(repairs), 1) if repairs else None,
            "top_failure_codes": [{"code": c, "count": n} for c, n in codes.most_common(5)],
            "latest": [_cite(o) for o in orders[:5]],
        }  # fmt: skip

    def open_work_orders(self, args: AssetArgument) -> list[dict[str, Any]]:
        """Work orders on the asset that are not complete, closed or cancelled."""
        self.backend.asset(args.asset_tag)
        query = WorkOrderQuery(asset_tag=args.asset_tag, statuses=list(OPEN_STATUSES), limit=200)
        return [_cite(order) for order in self.backend.search_work_orders(query)]

    def event_log(self, args: EventQuery) -> list[dict[str, Any]]:
        """The asset's events (work orders, alerts, anomalies) in a date range, oldest first."""
        return [
            {**event.model_dump(mode="json"), "id": f"EVENT:{event.id}"}
            for event in self.backend.events(args.asset_tag, args.date_from, args.date_to, args.groups)
        ]

    def pm_status(self, args: AssetArgument) -> list[dict[str, Any]]:
        """The asset's PM plans: interval, when each was last done and when it is next due."""
        return [
            {**plan.model_dump(mode="json"), "id": f"PM:{plan.id}",
             "overdue": bool(plan.next_due_at and plan.next_due_at < datetime.now(plan.next_due_at.tzinfo))}
            for plan in self.backend.pm_plans(args.asset_tag)
        ]  # fmt: skip

    def part_availability(self, args: PartArgument) -> list[dict[str, Any]]:
        """Stock of a part per storeroom (on hand, reserved, available, bin), then its alternates."""
        return [
            {"id": f"PART:{level.part_number}", **level.model_dump(mode="json")}
            for level in self.backend.stock(args.part_number)
        ]

    def draft_work_order(self, draft: WorkOrderDraft) -> dict[str, Any]:
        """Check a proposed work order (asset and failure code exist) without creating it. A
        person must approve the draft before it can be submitted."""
        asset = self.backend.asset(draft.asset_tag)
        if draft.problem_code:
            self.backend.failure_code(draft.problem_code)
        open_now = self.open_work_orders(AssetArgument(asset_tag=asset.tag))
        return {"draft": draft.model_dump(mode="json"), "asset": asset.name, "open_work_orders_on_asset": open_now,
                "needs_approval": True}  # fmt: skip

    def submit_work_order(self, draft: WorkOrderDraft, approval_token: str) -> dict[str, Any]:
        """Create the approved draft in the CMMS (status WAPPR). Needs the approval token; a token
        of a request already submitted answers the work order it made."""
        approver, reference = self.approvals.check(draft, approval_token)
        order = self.backend.create_work_order(draft, approval_ref=reference, approved_by=approver)
        return _cite(order)

    def update_work_order_status(self, args: StatusChange) -> dict[str, Any]:
        """Move a work order along its lifecycle (WAPPR > APPR > WMATL/WSCH > INPRG > COMP > CLOSE, or CAN)."""
        return _cite(self.backend.change_status(args.number, args.status, args.memo))

    def reserve_part(self, part_number: str, storeroom: str, quantity: Decimal, work_order: str) -> dict[str, Any]:
        """Reserve stock of a part for a work order."""
        reservation = self.backend.reserve(part_number, storeroom, quantity, work_order)
        return {**reservation.model_dump(mode="json"), "reservation": reservation.id, "id": f"PART:{part_number}"}


def open_backend(settings: Settings) -> CMMSBackend:
    """The configured CMMS: a Maximo-compatible REST API (``MAINTGRAPH_CMMS_URL``), or the tables
    in the product's Postgres."""
    if settings.cmms_url:
        from maintgraph.tools.maximo import MaximoCMMS

        return MaximoCMMS.from_settings(settings)
    from maintgraph.connections import pg_conninfo
    from maintgraph.tools.postgres_cmms import PostgresCMMS

    return PostgresCMMS(pg_conninfo(settings), settings.connect_timeout_s)
