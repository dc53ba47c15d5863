"""IBM Maximo as the CMMS, through its REST JSON API (``<cmms_url>/api/os/<object structure>?lean=1``).

Queries are ``oslc.where`` / ``oslc.select`` / ``oslc.orderBy`` / ``oslc.pageSize`` on the standard
API object structures (requests, retries and paging: :mod:`.client`; the records: :mod:`.payloads`).
Lifecycle rules, positive quantities and available stock are checked here *before* anything is
written to Maximo.

Object structures and actions used (assumptions a Maximo administrator should confirm):

* ``MXAPIASSET`` -- asset by ``assetnum`` (+ ``siteid`` when ``MAINTGRAPH_CMMS_SITE`` is set).
* ``MXAPIWODETAIL`` -- work orders (``istask=0``: task rows are left out of searches). A failure-code
  filter is ``failurereport.failurecode="X"``: Maximo records a failure report down its hierarchy
  (class > problem > cause > remedy), so a work order coded with a secondary code carries its
  primary too. Text search is ``oslc.searchTerms``, over the search attributes configured on the
  object structure.
* Create: ``POST mxapiwodetail`` with a ``properties`` header so the new record comes back (201);
  Maximo sets WAPPR, the report date and the reporter (the API key's user). The approver and the
  approval reference are recorded as a ``worklog`` entry (CLIENTNOTE), and a 10-character key of
  the reference in ``externalrefid``. Before posting, the work orders are searched for that key
  (``oslc.where=externalrefid="KEY"``, at any site): a request approved again (a retry, a second
  person after a crash) answers the work order it already made instead of posting a second one.
  Maximo enforces no uniqueness there; maintgraph's per-conversation decision lock keeps two
  submissions of one request from racing. Descriptions over 100 characters (Maximo's default
  WORKORDER.DESCRIPTION length) are cut, the full text kept at the top of the long text.
* Status change: ``POST <work order href>?action=wsmethod:changeStatus`` with
  ``x-method-override: PATCH`` and ``{"status", "memo"}``, then the work order is read again.
* ``MXAPIITEM`` -- the part and its alternates (``rel.altitem{altitemnum}``: the ITEM->ALTITEM
  relation); ``MXAPIINVENTORY`` -- stock per storeroom (``location``): on hand = ``curbaltotal``,
  available = ``avblbalance``, reserved = the difference.
* Reservation: ``POST mxapiinvres`` (the INVRESERVE object structure Maximo Mobile uses), a HARD
  reservation against the work order; ``requestnum`` is the reservation id. Available stock is
  checked first (Maximo itself may allow soft over-reservation), and a refusal by Maximo (stock
  taken meanwhile) is a CMMSError.
* ``MXAPIPM`` -- ACTIVE PM plans of the asset.
* ``MXAPIFAILURECODE`` (code and description) and ``MXAPIFAILURELIST`` (hierarchy: ``type`` and
  ``parent``). A failure class (no type) is reported as kind ``problem`` with no parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

import httpx

from maintgraph.errors import ApprovalRefused, CMMSError, ConfigError, NotFound
from maintgraph.tools.cmms import (
    TRANSITIONS,
    Asset,
    CMMSBackend,
    FailureCode,
    PMPlan,
    Reservation,
    StockLevel,
    WorkOrder,
    WorkOrderDraft,
    WorkOrderQuery,
    transition_error,
)
from maintgraph.tools.maximo.client import MaximoClient
from maintgraph.tools.maximo.payloads import (
    APPROVAL_FIELD,
    APPROVAL_SELECT,
    ASSET_SELECT,
    CLOSED,
    DESCRIPTION_MAX,
    FAILURE_KINDS,
    INVENTORY_SELECT,
    ITEM_SELECT,
    PM_SELECT,
    RESERVATION_SELECT,
    TYPES_TO_MAXIMO,
    WO_DETAIL_SELECT,
    WO_SELECT,
    all_of,
    any_of,
    approval_key,
    asset_from,
    clip,
    eq,
    iso_time,
    json_number,
    pm_plan_from,
    to_decimal,
    to_int,
    work_order_from,
)
from maintgraph.urls import redact_url

if TYPE_CHECKING:
    from maintgraph.config import Settings


class MaximoCMMS(CMMSBackend):
    """The CMMS tools' backend on IBM Maximo (Manage) through its REST JSON API."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        site: str | None,
        timeout_s: float = 30.0,
        client: httpx.Client | None = None,
        **options: Any,
    ) -> None:
        """``options``: :class:`MaximoClient`'s (``connect_timeout_s``, ``max_retries``, ``retry_wait_s``,
        ``page_size``)."""
        self.api = MaximoClient(base_url, api_key, timeout_s, client, **options)
        self.site = site or None

    @classmethod
    def from_settings(cls, settings: Settings) -> MaximoCMMS:
        if not settings.cmms_url:
            raise ConfigError(
                "not set: the Maximo backend needs the REST API's URL (…/maximo)", setting="MAINTGRAPH_CMMS_URL"
            )
        key = settings.cmms_api_key.get_secret_value() if settings.cmms_api_key else ""
        return cls(
            settings.cmms_url,
            key,
            settings.cmms_site,
            timeout_s=settings.connect_timeout_s * 6,
            connect_timeout_s=settings.connect_timeout_s,
        )

    @property
    def base_url(self) -> str:
        return self.api.base_url

    @property
    def api_root(self) -> str:
        return self.api.api_root

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> MaximoCMMS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # the key stays out of reprs and tracebacks
        return f"MaximoCMMS({redact_url(self.base_url)!r}, site={self.site!r})"

    # -- reads ------------------------------------------------------------------------------------
    def asset(self, tag: str) -> Asset:
        what = f"asset {tag!r}" + (f" at site {self.site}" if self.site else "")
        members = self.api.collection(
            "mxapiasset", what, where=all_of(eq("assetnum", tag, what), self._site_clause()), select=ASSET_SELECT
        )
        return asset_from(self._one(members, "assetnum", tag, what))

    def work_order(self, number: str) -> WorkOrder:
        return self._work_order_record(number)[0]

    def search_work_orders(self, query: WorkOrderQuery) -> list[WorkOrder]:
        what = "work-order search"
        clauses = [self._site_clause(), "istask=0"]
        if query.asset_tag:
            clauses.append(eq("assetnum", query.asset_tag, what))
        if query.date_from:
            clauses.append(f'reportdate>="{iso_time(query.date_from)}"')
        if query.date_to:
            clauses.append(f'reportdate<"{iso_time(query.date_to)}"')
        if query.wo_types:
            clauses.append(any_of("worktype", [TYPES_TO_MAXIMO[t] for t in query.wo_types], what))
        if query.statuses:
            clauses.append(any_of("status", query.statuses, what))
        if query.failure_code:
            clauses.append(eq("failurereport.failurecode", query.failure_code, what))
        extra = {}
        if query.text and query.text.strip():
            terms = [word.replace('"', "") for word in query.text.split() if word.replace('"', "")]
            extra["oslc.searchTerms"] = ",".join(f'"{term}"' for term in terms)
        members = self.api.collection(
            "mxapiwodetail",
            what,
            where=all_of(*clauses),
            select=WO_SELECT,
            order_by="-reportdate",
            limit=query.limit,
            extra=extra,
        )
        return [work_order_from(member) for member in members]

    def failure_code(self, code: str) -> FailureCode:
        what = f"failure code {code!r}"
        records = self.api.collection(
            "mxapifailurecode", what, where=eq("failurecode", code, what), select="failurecode,description,orgid"
        )
        record = next((r for r in records if str(r.get("failurecode", "")).casefold() == code.casefold()), None)
        if record is None:  # failure codes belong to an organization; the first one that has it answers
            raise NotFound(f"{what} is not in Maximo")
        nodes = [
            n
            for n in self.api.collection(
                "mxapifailurelist",
                f"{what} in the failure hierarchy",
                where=eq("failurecode", code, what),
                select="failurelist,failurecode,type,parent",
            )
            if str(n.get("failurecode", "")).casefold() == code.casefold()
        ]
        kind, parent = "problem", None
        if nodes:
            node = min(nodes, key=lambda n: to_int(n.get("failurelist")) or 0)
            kind = FAILURE_KINDS.get(str(node.get("type_maxvalue") or node.get("type") or "").upper(), "problem")
            parent_id = to_int(node.get("parent"))
            if parent_id:
                parents = self.api.collection(
                    "mxapifailurelist",
                    f"parent of {what} in the failure hierarchy",
                    where=f"failurelist={parent_id}",
                    select="failurelist,failurecode",
                )
                parent = next((str(p["failurecode"]) for p in parents if p.get("failurecode")), None)
        return FailureCode(
            code=str(record["failurecode"]),
            kind=cast(Any, kind),
            description=str(record.get("description") or record["failurecode"]),
            parent=parent,
        )

    def stock(self, part_number: str) -> list[StockLevel]:
        what = f"part {part_number!r}"
        item = self._one(
            self.api.collection("mxapiitem", what, where=eq("itemnum", part_number, what), select=ITEM_SELECT),
            "itemnum",
            part_number,
            what,
        )
        part = str(item["itemnum"])
        names = {part: str(item.get("description") or part)}
        alternates = list(
            dict.fromkeys(
                str(a["altitemnum"])
                for a in item.get("altitem") or []
                if a.get("altitemnum") and a["altitemnum"] != part
            )
        )
        if alternates:
            for alt in self.api.collection(
                "mxapiitem",
                f"alternates of {what}",
                where=any_of("itemnum", alternates, what),
                select="itemnum,description",
            ):
                names[str(alt["itemnum"])] = str(alt.get("description") or alt["itemnum"])
        rows = self.api.collection(
            "mxapiinventory",
            f"stock of {what}",
            where=all_of(any_of("itemnum", [part, *alternates], what), self._site_clause()),
            select=INVENTORY_SELECT,
        )
        levels = []
        for row in rows:
            number = str(row.get("itemnum") or "")
            if number != part and number not in alternates:
                continue
            on_hand, available = (
                to_decimal(row.get("curbaltotal")),
                to_decimal(row.get("avblbalance", row.get("curbaltotal"))),
            )
            levels.append(
                StockLevel(
                    part_number=number,
                    name=names.get(number, number),
                    storeroom=str(row.get("location") or ""),
                    bin=row.get("binnum") or None,
                    on_hand=on_hand,
                    reserved=max(on_hand - available, Decimal(0)),
                    available=available,
                    alternate_for=None if number == part else part,
                )
            )
        levels.sort(key=lambda s: (s.alternate_for is not None, -s.available, s.storeroom))
        return levels

    def pm_plans(self, asset_tag: str) -> list[PMPlan]:
        asset = self.asset(asset_tag)
        what = f"PM plans of asset {asset.tag!r}"
        rows = self.api.collection(
            "mxapipm",
            what,
            where=all_of(eq("assetnum", asset.tag, what), self._site_clause(), 'status="ACTIVE"'),
            select=PM_SELECT,
        )
        return sorted((pm_plan_from(row, asset.tag) for row in rows), key=lambda p: p.id)

    # -- writes ---------------------------------------------------------------------------------
    def create_work_order(self, draft: WorkOrderDraft, approval_ref: str, approved_by: str | None = None) -> WorkOrder:
        what = f"work order for {draft.asset_tag}"
        if not approval_ref or not approval_ref.strip():
            raise CMMSError(f"{what} not created: submitting needs a human approval")
        if not self.site:
            raise CMMSError(f"{what} not created: no Maximo site to create it in", setting="MAINTGRAPH_CMMS_SITE")
        approval_ref = approval_ref.strip()
        key = approval_key(approval_ref)
        earlier = self._work_order_of_approval(approval_ref, key)
        if earlier is not None:
            if earlier.asset_tag.casefold() != draft.asset_tag.casefold():
                raise ApprovalRefused(f"approval {approval_ref} was already used for work order {earlier.number} "
                                f"({earlier.asset_tag}): a different draft needs its own approval")  # fmt: skip
            return earlier
        asset = self.asset(draft.asset_tag)
        description, long_text = draft.description, draft.long_text
        if len(description) > DESCRIPTION_MAX:
            long_text = description + ("\n\n" + long_text if long_text else "")
            description = clip(description, DESCRIPTION_MAX)
        body: dict[str, Any] = {
            "siteid": self.site,
            "assetnum": asset.tag,
            "worktype": TYPES_TO_MAXIMO[draft.wo_type],
            "wopriority": draft.priority,
            "description": description,
        }
        if long_text:
            body["description_longdescription"] = long_text
        if draft.problem_code:
            body["problemcode"] = draft.problem_code
        by = f", approved by {approved_by}" if approved_by else ""
        note = f"Submitted from maintgraph{by} (approval {approval_ref})"
        body[APPROVAL_FIELD] = key
        body["worklog"] = [{"logtype": "CLIENTNOTE", "description": clip(note, DESCRIPTION_MAX)}]
        return work_order_from(self.api.create("mxapiwodetail", f"new {what}", body, WO_DETAIL_SELECT))

    def change_status(self, number: str, status: str, memo: str | None = None) -> WorkOrder:
        if status not in TRANSITIONS:  # refused before anything is asked of Maximo
            raise CMMSError(transition_error(number, "WAPPR", status) or f"{status!r} is not a work-order status")
        current, record = self._work_order_record(number)
        problem = transition_error(number, current.status, status)
        if problem:
            raise CMMSError(problem)
        body: dict[str, Any] = {"status": status}
        if memo:
            body["memo"] = memo
        self.api.call(
            "POST",
            self.api.href(record, f"work order {number}"),
            f"status change of work order {number} from {current.status} to {status}",
            params={"action": "wsmethod:changeStatus"},
            body=body,
            headers={"x-method-override": "PATCH"},
        )
        return self.work_order(number)

    def reserve(self, part_number: str, storeroom: str, quantity: Decimal, work_order: str) -> Reservation:
        try:
            quantity = Decimal(str(quantity))
        except InvalidOperation:
            raise CMMSError(f"reservation of {part_number}: quantity {quantity!r} is not a number") from None
        if not quantity.is_finite() or quantity <= 0:
            raise CMMSError(f"reservation of {part_number}: quantity must be positive, not {quantity}")
        order, record = self._work_order_record(work_order)
        if order.status in CLOSED:
            raise CMMSError(f"work order {work_order} is {order.status}: parts cannot be reserved for it")
        site = str(record.get("siteid") or self.site or "")
        what = f"part {part_number!r} in storeroom {storeroom!r}"
        rows = self.api.collection(
            "mxapiinventory",
            f"stock of {what}",
            where=all_of(
                eq("itemnum", part_number, what),
                eq("location", storeroom, what),
                eq("siteid", site, what) if site else None,
            ),
            select=INVENTORY_SELECT,
        )
        row = next(
            (r for r in rows if str(r.get("itemnum")) == part_number and str(r.get("location")) == storeroom), None
        )
        if row is None:
            raise NotFound(
                f"part {part_number!r} is not stocked in storeroom {storeroom!r}" + (f" at site {site}" if site else "")
            )
        available = to_decimal(row.get("avblbalance", row.get("curbaltotal")))
        if quantity > available:
            raise CMMSError(f"cannot reserve {quantity} of {part_number} in {storeroom}: only {available} available")
        body = {
            "itemnum": part_number,
            "location": storeroom,
            "wonum": order.number,
            "siteid": site,
            "reservedqty": json_number(quantity),
            "restype": "HARD",
            "requireddate": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
        created = self.api.create(
            "mxapiinvres",
            f"reservation of {quantity} x {part_number} in {storeroom} for work order {work_order}",
            body,
            RESERVATION_SELECT,
        )
        request_number = to_int(created.get("requestnum"))
        if request_number is None:
            raise CMMSError(
                f"reservation of {part_number} for work order {work_order}: Maximo answered without "
                "a reservation number (requestnum)"
            )
        return Reservation(
            id=request_number,
            part_number=str(created.get("itemnum") or part_number),
            storeroom=str(created.get("location") or storeroom),
            work_order=str(created.get("wonum") or order.number),
            quantity=to_decimal(created.get("reservedqty", quantity)),
        )

    # -- records ----------------------------------------------------------------------------------
    def _work_order_of_approval(self, approval_ref: str, key: str) -> WorkOrder | None:
        """The work order an approval reference already created, at any site, or None."""
        what = f"work order of approval {approval_ref}"
        members = self.api.collection(
            "mxapiwodetail", what, where=eq(APPROVAL_FIELD, key, what), select=APPROVAL_SELECT
        )
        made = [m for m in members if str(m.get(APPROVAL_FIELD) or "") == key]
        return work_order_from(made[0]) if made else None

    def _work_order_record(self, number: str) -> tuple[WorkOrder, Mapping[str, Any]]:
        what = f"work order {number!r}" + (f" at site {self.site}" if self.site else "")
        members = self.api.collection(
            "mxapiwodetail", what, where=all_of(eq("wonum", number, what), self._site_clause()), select=WO_DETAIL_SELECT
        )
        record = self._one(members, "wonum", number, what)
        return work_order_from(record), record

    def _one(self, members: list[dict[str, Any]], key: str, value: str, what: str) -> dict[str, Any]:
        """The one member whose ``key`` is ``value``: NotFound if none, an error if it is at several sites."""
        matches = [m for m in members if str(m.get(key, "")).casefold() == value.casefold()]
        if not matches:
            raise NotFound(f"{what} is not in Maximo")
        if len(matches) > 1:
            sites = sorted({str(m.get("siteid")) for m in matches})
            raise CMMSError(
                f"{what} exists at several Maximo sites ({', '.join(sites)}): set MAINTGRAPH_CMMS_SITE "
                "to the one maintgraph works in"
            )
        return matches[0]

    def _site_clause(self) -> str | None:
        return eq("siteid", self.site, "site") if self.site else None
