"""IBM Maximo as the CMMS, through its REST JSON API (``<cmms_url>/api/os/<object structure>?lean=1``).

Every call sends the ``apikey`` header and ``lean=1``; queries are ``oslc.where`` / ``oslc.select``
/ ``oslc.orderBy`` / ``oslc.pageSize`` on the standard API object structures, and long results
follow ``responseInfo.nextPage`` (rebased onto the configured host: Maximo behind a proxy or a
route often answers with its internal host name). Idempotent GETs are retried, bounded, on 5xx,
429 and connection errors; POSTs never are (a retried create could make two work orders).
Lifecycle rules, positive quantities and available stock are checked here *before* anything is
written to Maximo, and Maximo's own refusals (``{"Error": {"reasonCode": "BMXAA...", ...}}``)
become a :class:`~maintgraph.errors.CMMSError` carrying its BMXAA message. The API key never
appears in a message: it travels in a header, never in a URL, and is masked if echoed back.

Object structures and actions used (assumptions a Maximo administrator should confirm):

* ``MXAPIASSET`` -- asset by ``assetnum`` (+ ``siteid`` when ``MAINTGRAPH_CMMS_SITE`` is set).
  ``classstructure.classificationid`` (the 1:1 CLASSSTRUCTURE relation) gives the class code;
  Maximo has no A/B/C criticality, so the asset ``priority`` is read as 1 = A, 2 = B, 3+ = C.
* ``MXAPIWODETAIL`` -- work orders (``istask=0``: task rows are left out of searches). Cause and
  remedy come from the ``failurereport`` child, parts used from the ``matusetrans`` child (issues
  are negative quantities). A failure-code filter is ``failurereport.failurecode="X"``: Maximo
  records a failure report down its hierarchy (class > problem > cause > remedy), so a work order
  coded with a secondary code carries its primary too. Text search is ``oslc.searchTerms``, over
  the search attributes configured on the object structure. Status is read from
  ``status_maxvalue`` when Maximo sends it (site synonyms map to the internal value); WPCOND is read
  as WSCH and HISTEDIT as CLOSE. Work types outside CM/PM/EM/PDM/CAL/INSP are read as CM (logged).
* Create: ``POST mxapiwodetail`` with a ``properties`` header so the new record comes back (201);
  Maximo sets WAPPR, the report date and the reporter (the API key's user). The approval reference
  is recorded as a ``worklog`` entry (CLIENTNOTE). Descriptions over 100 characters (Maximo's
  default WORKORDER.DESCRIPTION length) are cut, the full text kept at the top of the long text.
* Status change: ``POST <work order href>?action=wsmethod:changeStatus`` with
  ``x-method-override: PATCH`` and ``{"status", "memo"}``, then the work order is read again.
* ``MXAPIITEM`` -- the part and its alternates (``rel.altitem{altitemnum}``: the ITEM->ALTITEM
  relation); ``MXAPIINVENTORY`` -- stock per storeroom (``location``): on hand = ``curbaltotal``,
  available = ``avblbalance``, reserved = the difference.
* Reservation: ``POST mxapiinvres`` (the INVRESERVE object structure Maximo Mobile uses), a HARD
  reservation against the work order; ``requestnum`` is the reservation id. Available stock is
  checked first (Maximo itself may allow soft over-reservation), and a refusal by Maximo (stock
  taken meanwhile) is a CMMSError.
* ``MXAPIPM`` -- ACTIVE PM plans of the asset; ``nextdate`` is Maximo's own next due date; the
  interval is ``frequency``/``frequnit`` in days (months = 30, years = 365 days); the first
  ``pmmeter`` row gives the meter, its interval and ``lastpmwogenread``.
* ``MXAPIFAILURECODE`` (code and description) and ``MXAPIFAILURELIST`` (hierarchy: ``type`` and
  ``parent``). A failure class (no type) is reported as kind ``problem`` with no parent.

Dates in filters are ISO 8601: a naive datetime is sent as-is (Maximo reads it in its server's
time zone), an aware one with its offset. The client this class builds stores no cookie: with a
session cookie beside the API key, Maximo may prefer the (credential-less) session and answer 401.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, NoReturn, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter, wait_none

from maintgraph.config import redact_url
from maintgraph.errors import CMMSError, ConfigError, NotFound, ServiceUnavailable
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
    WorkOrderStatus,
    WorkOrderType,
    transition_error,
)

if TYPE_CHECKING:
    from maintgraph.config import Settings

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3
DESCRIPTION_MAX = 100  # WORKORDER.DESCRIPTION and WORKLOG.DESCRIPTION, as Maximo ships them

WO_SELECT = (
    "wonum,siteid,assetnum,location,worktype,wopriority,status,description,description_longdescription,"
    "failurecode,problemcode,reportdate,schedstart,actstart,actfinish,actlabhrs,failurereport{failurecode,type}"
)
WO_DETAIL_SELECT = WO_SELECT + ",matusetrans{itemnum,quantity}"
ASSET_SELECT = "assetnum,siteid,description,location,status,priority,classstructure.classificationid"
ITEM_SELECT = "itemnum,description,rel.altitem{altitemnum}"
INVENTORY_SELECT = "itemnum,location,siteid,binnum,curbaltotal,avblbalance"
RESERVATION_SELECT = "requestnum,itemnum,location,wonum,siteid,reservedqty,restype"
PM_SELECT = (
    "pmnum,siteid,assetnum,description,status,frequency,frequnit,laststartdate,lastcompdate,nextdate,"
    "pmmeter{metername,frequency,lastpmwogenread}"
)

_TYPES_FROM_MAXIMO: dict[str, WorkOrderType] = {
    "CM": "CM",
    "PM": "PM",
    "EM": "EM",
    "PDM": "PdM",
    "CAL": "CAL",
    "INSP": "INSP",
}
_TYPES_TO_MAXIMO = {ours: theirs for theirs, ours in _TYPES_FROM_MAXIMO.items()}
_STATUS_ALIASES = {"WPCOND": "WSCH", "HISTEDIT": "CLOSE"}  # Maximo internal statuses maintgraph has no name for
_FREQ_DAYS = {"DAYS": 1, "WEEKS": 7, "MONTHS": 30, "YEARS": 365}
_FAILURE_KINDS = {"PROBLEM": "problem", "CAUSE": "cause", "REMEDY": "remedy"}
_CLOSED = ("COMP", "CLOSE", "CAN")


class _Transient(Exception):
    """A failure worth another try (GETs only): 5xx, 429, or no connection."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MaximoCMMS(CMMSBackend):
    """The CMMS tools' backend on IBM Maximo (Manage) through its REST JSON API."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        site: str | None,
        timeout_s: float = 30.0,
        client: httpx.Client | None = None,
        *,
        connect_timeout_s: float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_wait_s: float = 0.5,
        page_size: int = 100,
    ) -> None:
        if not api_key:
            raise ConfigError(
                "Maximo's REST API needs an API key (Maximo: Administration > API Keys)",
                setting="MAINTGRAPH_CMMS_API_KEY",
            )
        self.base_url = base_url.rstrip("/")
        # ``…/maximo`` is the documented form; ``…/maximo/api`` or ``…/maximo/oslc`` are taken as given.
        self.api_root = self.base_url if self.base_url.endswith(("/api", "/oslc")) else self.base_url + "/api"
        self.site = site or None
        self.max_retries, self.retry_wait_s, self.page_size = max(0, max_retries), retry_wait_s, max(1, page_size)
        self._api_key = api_key
        self._owns_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s or timeout_s),
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # store no cookie, ever
        )

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

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> MaximoCMMS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # the key stays out of reprs and tracebacks
        return f"MaximoCMMS({redact_url(self.base_url)!r}, site={self.site!r})"

    # -- reads ------------------------------------------------------------------------------------
    def asset(self, tag: str) -> Asset:
        what = f"asset {tag!r}" + (f" at site {self.site}" if self.site else "")
        members = self._collection(
            "mxapiasset", what, where=_and(_eq("assetnum", tag, what), self._site_clause()), select=ASSET_SELECT
        )
        return _asset(self._one(members, "assetnum", tag, what))

    def work_order(self, number: str) -> WorkOrder:
        return self._work_order_record(number)[0]

    def search_work_orders(self, query: WorkOrderQuery) -> list[WorkOrder]:
        what = "work-order search"
        clauses = [self._site_clause(), "istask=0"]
        if query.asset_tag:
            clauses.append(_eq("assetnum", query.asset_tag, what))
        if query.date_from:
            clauses.append(f'reportdate>="{_when(query.date_from)}"')
        if query.date_to:
            clauses.append(f'reportdate<"{_when(query.date_to)}"')
        if query.wo_types:
            clauses.append(_any("worktype", [_TYPES_TO_MAXIMO[t] for t in query.wo_types], what))
        if query.statuses:
            clauses.append(_any("status", query.statuses, what))
        if query.failure_code:
            clauses.append(_eq("failurereport.failurecode", query.failure_code, what))
        extra = {}
        if query.text and query.text.strip():
            terms = [word.replace('"', "") for word in query.text.split() if word.replace('"', "")]
            extra["oslc.searchTerms"] = ",".join(f'"{term}"' for term in terms)
        members = self._collection(
            "mxapiwodetail",
            what,
            where=_and(*clauses),
            select=WO_SELECT,
            order_by="-reportdate",
            limit=query.limit,
            extra=extra,
        )
        return [_work_order(member) for member in members]

    def failure_code(self, code: str) -> FailureCode:
        what = f"failure code {code!r}"
        records = self._collection(
            "mxapifailurecode", what, where=_eq("failurecode", code, what), select="failurecode,description,orgid"
        )
        record = next((r for r in records if str(r.get("failurecode", "")).casefold() == code.casefold()), None)
        if record is None:  # failure codes belong to an organization; the first one that has it answers
            raise NotFound(f"{what} is not in Maximo")
        nodes = [
            n
            for n in self._collection(
                "mxapifailurelist",
                f"{what} in the failure hierarchy",
                where=_eq("failurecode", code, what),
                select="failurelist,failurecode,type,parent",
            )
            if str(n.get("failurecode", "")).casefold() == code.casefold()
        ]
        kind, parent = "problem", None
        if nodes:
            node = min(nodes, key=lambda n: _int(n.get("failurelist")) or 0)
            kind = _FAILURE_KINDS.get(str(node.get("type_maxvalue") or node.get("type") or "").upper(), "problem")
            parent_id = _int(node.get("parent"))
            if parent_id:
                parents = self._collection(
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
            self._collection("mxapiitem", what, where=_eq("itemnum", part_number, what), select=ITEM_SELECT),
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
            for alt in self._collection(
                "mxapiitem",
                f"alternates of {what}",
                where=_any("itemnum", alternates, what),
                select="itemnum,description",
            ):
                names[str(alt["itemnum"])] = str(alt.get("description") or alt["itemnum"])
        rows = self._collection(
            "mxapiinventory",
            f"stock of {what}",
            where=_and(_any("itemnum", [part, *alternates], what), self._site_clause()),
            select=INVENTORY_SELECT,
        )
        levels = []
        for row in rows:
            number = str(row.get("itemnum") or "")
            if number != part and number not in alternates:
                continue
            on_hand, available = _dec(row.get("curbaltotal")), _dec(row.get("avblbalance", row.get("curbaltotal")))
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
        rows = self._collection(
            "mxapipm",
            what,
            where=_and(_eq("assetnum", asset.tag, what), self._site_clause(), 'status="ACTIVE"'),
            select=PM_SELECT,
        )
        return sorted((_pm_plan(row, asset.tag) for row in rows), key=lambda p: p.id)

    # -- writes ---------------------------------------------------------------------------------
    def create_work_order(self, draft: WorkOrderDraft, approval_ref: str) -> WorkOrder:
        what = f"work order for {draft.asset_tag}"
        if not approval_ref or not approval_ref.strip():
            raise CMMSError(f"{what} not created: submitting needs a human approval")
        if not self.site:
            raise CMMSError(f"{what} not created: no Maximo site to create it in", setting="MAINTGRAPH_CMMS_SITE")
        asset = self.asset(draft.asset_tag)
        description, long_text = draft.description, draft.long_text
        if len(description) > DESCRIPTION_MAX:
            long_text = description + ("\n\n" + long_text if long_text else "")
            description = description[: DESCRIPTION_MAX - 3].rstrip() + "..."
        body: dict[str, Any] = {
            "siteid": self.site,
            "assetnum": asset.tag,
            "worktype": _TYPES_TO_MAXIMO[draft.wo_type],
            "wopriority": draft.priority,
            "description": description,
        }
        if long_text:
            body["description_longdescription"] = long_text
        if draft.problem_code:
            body["problemcode"] = draft.problem_code
        note = f"Submitted from maintgraph, {approval_ref.strip()}"
        body["worklog"] = [{"logtype": "CLIENTNOTE", "description": _clip(note, DESCRIPTION_MAX)}]
        response = self._call(
            "POST",
            self._os_url("mxapiwodetail"),
            f"new {what}",
            body=body,
            headers={"properties": WO_DETAIL_SELECT},
        )
        return _work_order(self._created(response, f"new {what}", WO_DETAIL_SELECT))

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
        self._call(
            "POST",
            self._href(record, f"work order {number}"),
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
        if order.status in _CLOSED:
            raise CMMSError(f"work order {work_order} is {order.status}: parts cannot be reserved for it")
        site = str(record.get("siteid") or self.site or "")
        what = f"part {part_number!r} in storeroom {storeroom!r}"
        rows = self._collection(
            "mxapiinventory",
            f"stock of {what}",
            where=_and(
                _eq("itemnum", part_number, what),
                _eq("location", storeroom, what),
                _eq("siteid", site, what) if site else None,
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
        available = _dec(row.get("avblbalance", row.get("curbaltotal")))
        if quantity > available:
            raise CMMSError(f"cannot reserve {quantity} of {part_number} in {storeroom}: only {available} available")
        body = {
            "itemnum": part_number,
            "location": storeroom,
            "wonum": order.number,
            "siteid": site,
            "reservedqty": _json_number(quantity),
            "restype": "HARD",
            "requireddate": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
        response = self._call(
            "POST",
            self._os_url("mxapiinvres"),
            f"reservation of {quantity} x {part_number} in {storeroom} for work order {work_order}",
            body=body,
            headers={"properties": RESERVATION_SELECT},
        )
        created = self._created(
            response, f"the reservation of {part_number} for work order {work_order}", RESERVATION_SELECT
        )
        request_number = _int(created.get("requestnum"))
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
            quantity=_dec(created.get("reservedqty", quantity)),
        )

    # -- records ----------------------------------------------------------------------------------
    def _work_order_record(self, number: str) -> tuple[WorkOrder, Mapping[str, Any]]:
        what = f"work order {number!r}" + (f" at site {self.site}" if self.site else "")
        members = self._collection(
            "mxapiwodetail", what, where=_and(_eq("wonum", number, what), self._site_clause()), select=WO_DETAIL_SELECT
        )
        record = self._one(members, "wonum", number, what)
        return _work_order(record), record

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
        return _eq("siteid", self.site, "site") if self.site else None

    # -- HTTP -------------------------------------------------------------------------------------
    def _os_url(self, name: str) -> str:
        return f"{self.api_root}/os/{name}"

    def _href(self, record: Mapping[str, Any], what: str) -> str:
        href = record.get("href")
        if not href:
            raise CMMSError(f"{what}: Maximo sent no resource link (href) for it; is lean=1 honoured?")
        return self._rebase(str(href))

    def _rebase(self, href: str) -> str:
        """A link Maximo sent, on the configured scheme and host (it may name its internal host)."""
        base = urlsplit(self.base_url)
        parts = urlsplit(href)
        if not parts.scheme:  # relative, e.g. "oslc/os/mxapiasset/_..." or "/maximo/api/os/..."
            root = urlunsplit((base.scheme, base.netloc, "", "", ""))
            prefix = "" if href.startswith("/") else base.path.rstrip("/") + "/"
            return root + prefix + href
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def _collection(
        self,
        os_name: str,
        what: str,
        *,
        where: str,
        select: str,
        order_by: str | None = None,
        limit: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Members of a collection query, following ``responseInfo.nextPage`` (up to ``limit``)."""
        params: dict[str, str] | None = {"oslc.where": where, "oslc.select": select, **(extra or {})}
        if order_by:
            params["oslc.orderBy"] = order_by
        if limit is not None:
            params["oslc.pageSize"] = str(min(limit, self.page_size))
        url, seen, members = self._os_url(os_name), set(), []
        while True:
            data = self._json(self._call("GET", url, what, params=params), what)
            members.extend(m for m in data.get("member") or [] if isinstance(m, dict))
            info = data.get("responseInfo") or {}
            next_href = (info.get("nextPage") or {}).get("href") if isinstance(info, dict) else None
            if not next_href or (limit is not None and len(members) >= limit):
                break
            url, params = self._rebase(str(next_href)), None
            if url in seen or len(seen) >= 1000:  # a page that points back at itself must not loop forever
                break
            seen.add(url)
        return members[:limit] if limit is not None else members

    def _created(self, response: httpx.Response, what: str, select: str) -> dict[str, Any]:
        """The record a create returned (``properties`` header), or the one its Location names."""
        data = self._json(response, what) if response.content.strip() else {}
        if data:
            return data
        location = response.headers.get("location")
        if not location:
            raise CMMSError(f"{what}: Maximo answered {response.status_code} with neither the record nor its link")
        return self._json(self._call("GET", self._rebase(location), what, params={"oslc.properties": select}), what)

    def _call(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request (GETs retried on transient failures); a refusal becomes the matching error."""
        # httpx replaces a URL's query with ``params``: keep a followed link's own (nextPage, Location)
        query = httpx.URL(url).params.merge({"lean": "1", **(params or {})})
        sent_headers = {"apikey": self._api_key, "accept": "application/json", **(headers or {})}
        attempts = self.max_retries + 1 if method == "GET" else 1
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(multiplier=self.retry_wait_s, max=8) if self.retry_wait_s > 0 else wait_none(),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "Maximo %s failed (%s); retry %d of %d",
                what,
                self._scrub(str(state.outcome.exception())),
                state.attempt_number,
                attempts - 1,
            ),
        )
        shown = self._shown(url)
        try:
            for attempt in retrying:
                with attempt:
                    try:
                        response = self.client.request(method, url, params=query, json=body, headers=sent_headers)
                    except httpx.TransportError as exc:
                        raise _Transient(f"could not be reached ({type(exc).__name__}: {exc})") from exc
                    if response.status_code >= 500 or response.status_code == 429:
                        raise _Transient(
                            f"answered {response.status_code} {response.reason_phrase}" + _detail(response)
                        )
        except _Transient as exc:
            tries = f" (after {attempts} attempts)" if attempts > 1 else " (not retried: it is a write)"
            raise ServiceUnavailable(self._scrub(f"{what}: Maximo at {shown} {exc.reason}{tries}")) from None
        except httpx.HTTPError as exc:  # an invalid URL, too many redirects, a broken body
            raise ServiceUnavailable(self._scrub(f"{what}: Maximo at {shown} failed ({exc})")) from None
        if response.is_success:
            return response
        self._refused(response, what)

    def _refused(self, response: httpx.Response, what: str) -> NoReturn:
        code, message = response.status_code, _maximo_message(response)
        if 300 <= code < 400:  # e.g. to a login page: not the REST API, or the key was not taken
            raise CMMSError(
                self._scrub(
                    f"{what}: Maximo at {self._shown(str(response.request.url))} redirected to "
                    f"{self._shown(response.headers.get('location', '?'))} instead of answering; check that "
                    "MAINTGRAPH_CMMS_URL is Maximo's root (…/maximo) and that the API key is valid"
                )
            )
        if code == 404:
            raise NotFound(self._scrub(f"{what}: Maximo has no such record ({message})"))
        if code in (401, 403):
            raise CMMSError(
                self._scrub(
                    f"{what}: Maximo refused the API key ({code}: {message}); check MAINTGRAPH_CMMS_API_KEY and the "
                    "security groups of its user"
                )
            )
        raise CMMSError(self._scrub(f"{what}: Maximo refused it ({message})"))

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ServiceUnavailable(
                self._scrub(
                    f"{what}: Maximo at {self._shown(str(response.request.url))} answered {response.status_code} "
                    "with something other than a JSON object (a login page or a proxy in the way?)"
                )
            )
        return data

    def _shown(self, url: str) -> str:
        """The URL as messages show it: no query string, no user info."""
        parts = urlsplit(url)
        return redact_url(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if len(self._api_key) >= 4 else text


# -- oslc.where ------------------------------------------------------------------------------------


def _quote(value: object, what: str) -> str:
    text = str(value)
    if '"' in text:
        raise CMMSError(f"{what}: {text!r} contains a double quote, which Maximo's oslc.where cannot express")
    return f'"{text}"'


def _eq(attribute: str, value: object, what: str) -> str:
    return f"{attribute}={_quote(value, what)}"


def _any(attribute: str, values: Iterable[object], what: str) -> str:
    values = list(dict.fromkeys(values))
    if len(values) == 1:
        return _eq(attribute, values[0], what)
    return f"{attribute} in [{','.join(_quote(v, what) for v in values)}]"


def _and(*clauses: str | None) -> str:
    return " and ".join(c for c in clauses if c)


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# -- records ---------------------------------------------------------------------------------------


def _asset(m: Mapping[str, Any]) -> Asset:
    classification = m.get("classstructure")
    if isinstance(classification, list):
        classification = classification[0] if classification else None
    priority = _int(m.get("priority"))
    criticality = None if priority is None or priority < 1 else "A" if priority == 1 else "B" if priority == 2 else "C"
    return Asset(
        tag=str(m["assetnum"]),
        name=str(m.get("description") or m["assetnum"]),
        class_code=(classification or {}).get("classificationid") if isinstance(classification, dict) else None,
        location=m.get("location") or None,
        criticality=cast(Any, criticality),
        status=str(m.get("status_maxvalue") or m.get("status") or "OPERATING"),
    )


def _work_order(m: Mapping[str, Any]) -> WorkOrder:
    number = str(m.get("wonum") or "")
    codes: dict[str, str] = {}
    for row in m.get("failurereport") or []:
        kind = str(row.get("type_maxvalue") or row.get("type") or "").upper()
        if row.get("failurecode") and kind not in codes:
            codes[kind] = str(row["failurecode"])
    return WorkOrder(
        number=number,
        asset_tag=str(m.get("assetnum") or m.get("location") or ""),
        wo_type=_wo_type(m.get("worktype"), number),
        priority=_int(m.get("wopriority")),
        status=_wo_status(m, number),
        problem_code=m.get("problemcode") or codes.get("PROBLEM"),
        cause_code=codes.get("CAUSE"),
        remedy_code=codes.get("REMEDY"),
        description=str(m.get("description") or ""),
        long_text=_plain(m.get("description_longdescription")),
        labour_hours=_dec_or_none(m.get("actlabhrs")),
        reported_at=_dt(m.get("reportdate")),
        scheduled_at=_dt(m.get("schedstart")),
        started_at=_dt(m.get("actstart")),
        finished_at=_dt(m.get("actfinish")),
        parts_used=_parts_used(m.get("matusetrans")),
    )


def _wo_type(value: object, number: str) -> WorkOrderType:
    known = _TYPES_FROM_MAXIMO.get(str(value or "").upper())
    if known is None:
        log.warning("work order %s has Maximo work type %r, which maintgraph does not know: read as CM", number, value)
        return "CM"
    return known


def _wo_status(m: Mapping[str, Any], number: str) -> WorkOrderStatus:
    internal = str(m.get("status_maxvalue") or m.get("status") or "").upper()
    internal = _STATUS_ALIASES.get(internal, internal)
    if internal not in TRANSITIONS:
        raise CMMSError(
            f"work order {number} has Maximo status {m.get('status')!r}, which maintgraph cannot place "
            f"in its lifecycle ({', '.join(TRANSITIONS)})"
        )
    return cast(WorkOrderStatus, internal)


def _parts_used(rows: object) -> list[tuple[str, Decimal]]:
    used: dict[str, Decimal] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("itemnum"):
            used[str(row["itemnum"])] = used.get(str(row["itemnum"]), Decimal(0)) - _dec(row.get("quantity"))
    return [(item, quantity) for item, quantity in used.items() if quantity > 0]  # issues are negative in Maximo


def _pm_plan(m: Mapping[str, Any], asset_tag: str) -> PMPlan:
    frequency, unit = _int(m.get("frequency")), str(m.get("frequnit_maxvalue") or m.get("frequnit") or "").upper()
    interval_days = frequency * _FREQ_DAYS[unit] if frequency and unit in _FREQ_DAYS else None
    last_at = _dt(m.get("lastcompdate")) or _dt(m.get("laststartdate"))
    next_at = _dt(m.get("nextdate")) or (last_at + timedelta(days=interval_days) if last_at and interval_days else None)
    meters = [r for r in m.get("pmmeter") or [] if isinstance(r, dict) and r.get("metername")]
    meter = meters[0] if meters else {}
    interval_meter = _dec_or_none(meter.get("frequency"))
    last_meter = _dec_or_none(meter.get("lastpmwogenread"))
    return PMPlan(
        id=str(m["pmnum"]),
        asset_tag=str(m.get("assetnum") or asset_tag),
        description=str(m.get("description") or ""),
        interval_days=interval_days,
        meter=meter.get("metername"),
        interval_meter=interval_meter or None,
        last_done_at=last_at,
        next_due_at=next_at,
        last_done_meter=last_meter,
        next_due_meter=last_meter + interval_meter if last_meter is not None and interval_meter else None,
    )


# -- values ----------------------------------------------------------------------------------------


def _maximo_message(response: httpx.Response) -> str:
    """Maximo's own words: ``Error.message`` (lean) or ``oslc:Error.oslc:message``, else the body's start."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("Error") or data.get("oslc:Error")
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("oslc:message") or "").strip()
            reason = str(error.get("reasonCode") or error.get("spi:reasonCode") or "").strip()
            if message:
                return message if not reason or reason in message else f"{reason} - {message}"
            if reason:
                return reason
    text = " ".join(response.text.split())
    if "<" in text:  # an HTML error page from Maximo's web server or a proxy
        text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return text[:200] or f"HTTP {response.status_code} {response.reason_phrase}"


def _detail(response: httpx.Response) -> str:
    message = _maximo_message(response)
    return f": {message}" if message and message != f"HTTP {response.status_code} {response.reason_phrase}" else ""


def _plain(text: object) -> str | None:
    """Maximo's rich-text long descriptions (HTML) as plain text."""
    if not text:
        return None
    value = str(text)
    if re.search(r"</?[a-zA-Z][^>]*>", value):
        value = re.sub(r"(?i)<br\s*/?>|</(p|div|li)>", "\n", value)
        value = html.unescape(re.sub(r"<[^>]+>", "", value))
        value = "\n".join(line.strip() for line in value.splitlines())
        value = re.sub(r"\n{3,}", "\n\n", value)
    return value.strip() or None


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 3].rstrip() + "..."


def _dt(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        log.warning("Maximo sent a date that is not ISO 8601: %r", value)
        return None


def _int(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def _dec(value: object) -> Decimal:
    return _dec_or_none(value) or Decimal(0)


def _dec_or_none(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
