"""The Maximo backend against recorded exchanges with IBM Maximo's REST JSON API (lean).

Each file under ``payloads/maximo`` is one exchange: the request the backend must send (method,
path, exact query parameters such as the ``oslc.where`` it builds, the headers that change
Maximo's behaviour, the JSON body) and Maximo's answer, shaped as Maximo writes it (``member``,
``responseInfo`` paging, ``href``, ``_rowstamp``, BMXAA errors). A transport replays them in
order, fails on any request that differs, and every test checks that all were used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from maintgraph.config import Settings
from maintgraph.errors import CMMSError, ConfigError, NotFound, ServiceUnavailable
from maintgraph.tools.cmms import WorkOrderDraft, WorkOrderQuery
from maintgraph.tools.maximo import MaximoCMMS

PAYLOADS = Path(__file__).parent / "payloads" / "maximo"
BASE_URL = "https://maximo.nfw-water.example/maximo"
API_KEY = "k7r2m9xq4vbt1lp8sd3nj6hc0w"
# Headers that change what Maximo does: present exactly when an exchange expects them.
SEMANTIC_HEADERS = ("x-method-override", "properties", "patchtype", "transactionid")


class Replay:
    """An ``httpx.MockTransport`` handler that serves recorded exchanges and checks each request."""

    def __init__(self, *exchanges: str | dict[str, Any] | Callable[[httpx.Request], httpx.Response]) -> None:
        self.pending = [
            json.loads((PAYLOADS / f"{e}.json").read_text()) if isinstance(e, str) else e for e in exchanges
        ]
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert self.pending, f"unexpected request {request.method} {request.url}"
        self.sent.append(request)
        exchange = self.pending.pop(0)
        if callable(exchange):
            return exchange(request)
        expected, answer = exchange["request"], exchange["response"]
        assert request.url.scheme == "https" and request.url.host == "maximo.nfw-water.example", request.url
        assert request.method == expected["method"]
        assert request.url.path == expected["path"]
        assert dict(request.url.params) == expected["params"]
        assert len(request.url.params.get_list("lean")) == 1
        assert request.headers["apikey"] == API_KEY
        assert "apikey" not in str(request.url) and API_KEY not in str(request.url)
        for name in SEMANTIC_HEADERS:
            assert request.headers.get(name) == expected.get("headers", {}).get(name), name
        if "json" in expected:
            _match(json.loads(request.content), expected["json"])
        if "text" in answer:
            return httpx.Response(answer["status"], headers=answer["headers"], text=answer["text"])
        if "json" in answer:
            return httpx.Response(answer["status"], headers=answer["headers"], json=answer["json"])
        return httpx.Response(answer["status"], headers=answer["headers"])

    def done(self) -> list[httpx.Request]:
        assert not self.pending, f"{len(self.pending)} recorded exchange(s) never requested"
        return self.sent


def _match(actual: Any, expected: Any) -> None:
    """Equality, where ``"<datetime>"`` stands for any ISO 8601 timestamp with an offset."""
    if expected == "<datetime>":
        assert datetime.fromisoformat(actual).tzinfo is not None, actual
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), (actual, expected)
        for key in expected:
            _match(actual[key], expected[key])
    else:
        assert actual == expected


def maximo(*exchanges: Any, site: str | None = "NFW", **options: Any) -> tuple[MaximoCMMS, Replay]:
    replay = Replay(*exchanges)
    client = httpx.Client(transport=httpx.MockTransport(replay))
    return MaximoCMMS(BASE_URL, API_KEY, site, 10, client=client, retry_wait_s=0, **options), replay


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


# -- assets ---------------------------------------------------------------------------------------


def test_asset_is_read_from_mxapiasset_at_the_site():
    backend, replay = maximo("asset_p101")
    asset = backend.asset("P-101")
    assert (asset.tag, asset.name, asset.location, asset.status) == (
        "P-101",
        "Raw water lift pump 1",
        "NFW-RAW",
        "OPERATING",
    )
    assert asset.class_code == "PU"
    assert asset.criticality == "A"  # asset priority 1
    assert len(replay.done()) == 1


def test_unknown_asset_is_not_found_naming_the_tag_and_site():
    backend, replay = maximo("asset_missing")
    with pytest.raises(NotFound, match=r"asset 'P-999' at site NFW is not in Maximo"):
        backend.asset("P-999")
    replay.done()


def test_asset_404_is_not_found_with_maximos_reason():
    backend, replay = maximo("asset_404")
    with pytest.raises(NotFound) as caught:
        backend.asset("P-777")
    assert "asset 'P-777'" in str(caught.value) and "BMXAA8727E" in str(caught.value)
    replay.done()


# -- work orders: reading ---------------------------------------------------------------------------


def test_search_turns_every_filter_into_the_oslc_query():
    backend, replay = maximo("wo_search_filters")
    found = backend.search_work_orders(
        WorkOrderQuery(
            asset_tag="P-101",
            date_from=datetime(2025, 1, 1),
            date_to=datetime(2026, 1, 1, tzinfo=UTC),
            wo_types=["CM", "PdM"],
            statuses=["COMP", "CLOSE"],
            failure_code="OHE",
            text="bearing hot",
            limit=20,
        )
    )
    # the request (oslc.where, oslc.searchTerms, oslc.orderBy, oslc.pageSize) is checked against the recording
    assert [wo.number for wo in found] == ["WO-25-00031", "WO-25-00010"]
    pdm, cm = found
    assert pdm.wo_type == "PdM" and pdm.status == "CLOSE"  # Maximo's PDM, and the site's CLOSED synonym
    assert pdm.reported_at == datetime.fromisoformat("2025-06-09T07:00:00+01:00")
    assert (cm.problem_code, cm.cause_code, cm.remedy_code) == ("OHE", "GREASE-LOW", "REGREASE")
    assert cm.labour_hours == Decimal("1.5")
    assert len(replay.done()) == 1


def test_search_follows_next_page_on_the_configured_host_up_to_the_limit():
    backend, replay = maximo("wo_page1", "wo_page2", page_size=2)
    found = backend.search_work_orders(WorkOrderQuery(asset_tag="P-101", limit=3))
    assert [wo.number for wo in found] == ["WO-26-00012", "WO-26-00004", "WO-25-00188"]
    assert found[1].status == "WMATL"  # the site's WAITPARTS synonym of WMATL
    sent = replay.done()
    assert len(sent) == 2  # page 3 is never asked for: the limit is reached
    assert sent[1].url.host == "maximo.nfw-water.example"  # not Maximo's internal host from nextPage


def test_work_order_by_number_with_long_text_and_parts_used():
    backend, replay = maximo("wo_25_00010")
    order = backend.work_order("WO-25-00010")
    assert order.status == "CLOSE" and order.asset_tag == "P-101" and order.wo_type == "CM"
    assert order.long_text == (
        "Operator reported the DE bearing temperature alarm at 85 C.\n"
        "Added two shots of grease and it settled at 78 C after an hour; keep on watch."
    )  # Maximo's rich text, as plain text
    assert order.parts_used == [("GRS-EP2-400G", Decimal("1.0"))]  # two issued, one returned
    assert order.finished_at == datetime(2025, 1, 14, 11, 40, tzinfo=UTC)
    replay.done()


def test_unknown_work_order_is_not_found():
    backend, replay = maximo("wo_missing")
    with pytest.raises(NotFound, match=r"work order 'WO-99-99999' at site NFW is not in Maximo"):
        backend.work_order("WO-99-99999")
    replay.done()


# -- work orders: writing ---------------------------------------------------------------------------

HOT_BEARING = WorkOrderDraft(
    asset_tag="P-101",
    wo_type="CM",
    priority=2,
    description="P-101 DE bearing running hot, 88 C and rising",
    long_text="TT-101-DE reads 88 C against an 85 C alarm; VT-101-DE 6.4 mm/s. Grease relief plug found blocked.",
    problem_code="OHE",
)


def test_create_posts_the_draft_and_returns_the_new_wappr_work_order():
    backend, replay = maximo("wo_by_approval_none", "asset_p101", "wo_create")
    draft = HOT_BEARING
    order = backend.create_work_order(draft, approval_ref="5c1e9a7d3b2f8e04", approved_by="j.okafor")
    assert (order.number, order.status, order.priority, order.problem_code) == ("WO-26-00031", "WAPPR", 2, "OHE")
    sent = replay.done()
    assert [r.method for r in sent] == ["GET", "GET", "POST"]  # not made yet, the asset is checked, one create
    assert json.loads(sent[2].content)["worklog"][0]["description"].endswith(
        "approved by j.okafor (approval 5c1e9a7d3b2f8e04)"
    )


def test_create_cuts_a_long_description_and_reads_the_record_maximo_links_to():
    backend, replay = maximo("wo_by_approval_none", "asset_p101", "wo_create_location_only", "wo_created_read")
    description = (
        "P-101 and P-102 intake screens blinded with leaves after the storm: rake and wash both screens, "
        "check the differential level transmitters"
    )
    order = backend.create_work_order(
        WorkOrderDraft(asset_tag="P-101", wo_type="INSP", description=description),
        approval_ref="5c1e9a7d3b2f8e04",
        approved_by="a.lindqvist",
    )
    assert order.number == "WO-26-00032" and order.wo_type == "INSP"
    assert len(order.description) == 100 and order.long_text == description  # nothing of it is lost
    assert len(replay.done()) == 4


def test_create_refuses_without_approval_or_site_and_sends_nothing():
    draft = WorkOrderDraft(asset_tag="P-101", description="P-101 DE bearing hot")
    backend, replay = maximo()
    with pytest.raises(CMMSError, match="needs a human approval"):
        backend.create_work_order(draft, approval_ref="  ")
    backend, replay = maximo(site=None)
    with pytest.raises(CMMSError, match=r"MAINTGRAPH_CMMS_SITE.*no Maximo site"):
        backend.create_work_order(draft, approval_ref="approved by j.okafor")
    assert replay.done() == []


def test_invalid_transition_is_refused_before_anything_is_written():
    backend, replay = maximo("wo_26_00013_comp")
    with pytest.raises(CMMSError) as caught:
        backend.change_status("WO-26-00013", "INPRG")
    assert str(caught.value) == ("work order WO-26-00013 is COMP: it cannot go to INPRG (allowed from COMP: CLOSE)")
    assert [r.method for r in replay.done()] == ["GET"]  # the current status is read; no change is sent


def test_unknown_status_is_refused_without_any_request():
    backend, replay = maximo()
    with pytest.raises(CMMSError, match=r"'DONE' is not a work-order status"):
        backend.change_status("WO-26-00012", "DONE")
    assert replay.done() == []


def test_valid_transition_invokes_change_status_on_the_work_order():
    backend, replay = maximo("wo_26_00012_appr", "wo_26_00012_start", "wo_26_00012_inprg")
    order = backend.change_status(
        "WO-26-00012", "INPRG", memo="Isolated under LOTO-P101-03, starting DE bearing change"
    )
    assert order.status == "INPRG" and order.started_at == datetime(2026, 1, 21, 7, 12, 31, tzinfo=UTC)
    # the POST to the work order's href, with x-method-override and the body, is checked against the recording
    assert [r.method for r in replay.done()] == ["GET", "POST", "GET"]


def test_maximo_refusal_is_a_cmms_error_carrying_the_bmxaa_message():
    backend, replay = maximo("wo_26_00012_appr", "wo_26_00012_cancel_refused")
    with pytest.raises(CMMSError) as caught:
        backend.change_status("WO-26-00012", "CAN", memo="Duplicate of WO-26-00004")
    message = str(caught.value)
    assert message.startswith("status change of work order WO-26-00012 from APPR to CAN: Maximo refused it")
    assert "BMXAA4587E - Work order WO-26-00012 cannot be canceled because it has reserved materials" in message
    assert not isinstance(caught.value, (NotFound, ServiceUnavailable))
    replay.done()


# -- stock and reservations -------------------------------------------------------------------------


def test_stock_lists_every_storeroom_then_the_alternates():
    backend, replay = maximo("item_brg6312", "item_brg6312_alternates", "inventory_brg6312")
    levels = backend.stock("BRG-6312-C3")
    rows = [(s.part_number, s.storeroom, s.on_hand, s.reserved, s.available, s.alternate_for) for s in levels]
    assert rows == [
        ("BRG-6312-C3", "NFW-WEST", Decimal(3), Decimal(1), Decimal(2), None),
        ("BRG-6312-C3", "NFW-MAIN", Decimal(1), Decimal(0), Decimal(1), None),
        ("BRG-6312-2Z-C3", "NFW-MAIN", Decimal(2), Decimal(0), Decimal(2), "BRG-6312-C3"),
    ]
    assert levels[2].name == "Deep groove ball bearing 6312 2Z C3 (shielded)" and levels[1].bin == "B-04-2"
    assert len(replay.done()) == 3


def test_stock_of_an_unknown_part_is_not_found():
    backend, replay = maximo("item_missing")
    with pytest.raises(NotFound, match=r"part 'BRG-0000' is not in Maximo"):
        backend.stock("BRG-0000")
    replay.done()


@pytest.mark.parametrize("quantity", [Decimal(0), Decimal(-2), Decimal("NaN")])
def test_reservation_quantity_must_be_positive_and_is_checked_locally(quantity):
    backend, replay = maximo()
    with pytest.raises(CMMSError, match="quantity must be positive"):
        backend.reserve("BRG-6312-C3", "NFW-WEST", quantity, "WO-26-00012")
    assert replay.done() == []


def test_reservation_posts_a_hard_reservation_for_the_work_order():
    backend, replay = maximo("wo_26_00012_appr", "inventory_brg6312_west", "invres_create")
    reservation = backend.reserve("BRG-6312-C3", "NFW-WEST", Decimal(2), "WO-26-00012")
    assert (reservation.id, reservation.part_number, reservation.storeroom, reservation.work_order) == (
        1187,
        "BRG-6312-C3",
        "NFW-WEST",
        "WO-26-00012",
    )
    assert reservation.quantity == 2
    assert [r.method for r in replay.done()] == ["GET", "GET", "POST"]


def test_reserving_more_than_is_available_is_refused_before_posting():
    backend, replay = maximo("wo_26_00012_appr", "inventory_brg6312_west")
    with pytest.raises(CMMSError, match=r"cannot reserve 5 of BRG-6312-C3 in NFW-WEST: only 2.0 available"):
        backend.reserve("BRG-6312-C3", "NFW-WEST", Decimal(5), "WO-26-00012")
    assert [r.method for r in replay.done()] == ["GET", "GET"]


def test_maximo_refusing_the_reservation_is_a_cmms_error():
    backend, replay = maximo("wo_26_00012_appr", "inventory_brg6312_west", "invres_refused")
    with pytest.raises(CMMSError, match=r"BMXAA2702E - The quantity to be reserved, 2, exceeds the available"):
        backend.reserve("BRG-6312-C3", "NFW-WEST", Decimal(2), "WO-26-00012")
    replay.done()


def test_no_reservation_for_a_completed_work_order():
    backend, replay = maximo("wo_26_00013_comp")
    with pytest.raises(CMMSError, match="work order WO-26-00013 is COMP: parts cannot be reserved"):
        backend.reserve("BRG-6312-C3", "NFW-WEST", Decimal(1), "WO-26-00013")
    replay.done()


# -- PM plans and failure codes ---------------------------------------------------------------------


def test_pm_plans_give_the_next_due_date_and_meter_reading():
    backend, replay = maximo("asset_p101", "pm_p101")
    lube, seal = backend.pm_plans("P-101")
    assert lube.id == "PM-P101-LUBE" and lube.interval_days == 90  # 3 MONTHS
    assert lube.last_done_at == datetime(2025, 12, 15, 9, 10, tzinfo=UTC)
    assert lube.next_due_at == datetime(2026, 3, 15, 7, 45, tzinfo=UTC)  # Maximo's own nextdate
    assert (seal.meter, seal.interval_meter, seal.last_done_meter) == ("RUNHOURS", 16000, 32000)
    assert seal.next_due_meter == 48000 and seal.interval_days is None and seal.next_due_at is None
    assert len(replay.done()) == 2


def test_failure_code_with_its_place_in_the_hierarchy():
    backend, replay = maximo("failurecode_ohe", "failurelist_ohe", "failurelist_2136")
    code = backend.failure_code("OHE")
    assert (code.code, code.kind, code.description, code.parent) == ("OHE", "problem", "Overheating", "PUMPS")
    assert len(replay.done()) == 3


# -- transient failures and secrets -----------------------------------------------------------------


def test_a_get_answered_503_is_retried():
    backend, replay = maximo("asset_503", "asset_p101")
    assert backend.asset("P-101").name == "Raw water lift pump 1"
    assert len(replay.done()) == 2


def test_get_retries_are_bounded_and_name_the_url():
    backend, replay = maximo("asset_503", "asset_503", "asset_503", max_retries=2)
    with pytest.raises(ServiceUnavailable) as caught:
        backend.asset("P-101")
    message = str(caught.value)
    assert message.startswith(
        "asset 'P-101' at site NFW: Maximo at https://maximo.nfw-water.example/maximo/api/os/"
        "mxapiasset answered 503 Service Unavailable"
    )
    assert "after 3 attempts" in message
    assert len(replay.done()) == 3


def test_a_post_answered_503_is_not_retried():
    backend, replay = maximo("wo_by_approval_none", "asset_p101", "wo_create_503")
    with pytest.raises(ServiceUnavailable, match=r"new work order for P-101: .*answered 503.*not retried"):
        backend.create_work_order(
            WorkOrderDraft(asset_tag="P-101", description="P-101 DE bearing hot"), approval_ref="5c1e9a7d3b2f8e04"
        )
    assert [r.method for r in replay.done()] == ["GET", "GET", "POST"]  # one POST: a retry could create two


def test_no_connection_is_service_unavailable():
    backend, replay = maximo(refuse_connection, refuse_connection, max_retries=1)
    with pytest.raises(ServiceUnavailable, match=r"could not be reached \(ConnectError"):
        backend.work_order("WO-25-00010")
    assert len(replay.done()) == 2


def test_the_api_key_never_appears_in_an_error_message():
    def echoing_key(request: httpx.Request) -> httpx.Response:  # a proxy or script that echoes the header back
        return httpx.Response(
            400,
            json={
                "Error": {
                    "reasonCode": "BMXAA9549E",
                    "statusCode": "400",
                    "message": f"BMXAA9549E - The API key {API_KEY} is not valid.",
                }
            },
        )

    scenarios = [
        (("asset_401",), CMMSError),
        (("asset_503",) * 4, ServiceUnavailable),
        ((refuse_connection,) * 4, ServiceUnavailable),
        ((echoing_key,), CMMSError),
    ]
    for exchanges, error in scenarios:
        backend, replay = maximo(*exchanges)
        with pytest.raises(error) as caught:
            backend.asset("P-101")
        assert API_KEY not in str(caught.value) and API_KEY not in repr(caught.value)
        assert API_KEY not in repr(backend)
        replay.done()
    assert "BMXAA9549E - The API key *** is not valid." in str(caught.value)


def test_a_refused_api_key_says_which_setting_to_check():
    backend, replay = maximo("asset_401")
    with pytest.raises(CMMSError, match=r"refused the API key \(401: BMXAA7901E.*MAINTGRAPH_CMMS_API_KEY"):
        backend.asset("P-101")
    replay.done()


def test_a_redirect_to_a_login_page_names_the_settings_to_check():
    def to_login(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            302, headers={"location": "https://maximo.nfw-water.example/maximo/webclient/login/login.jsp"}
        )

    backend, replay = maximo(to_login)
    with pytest.raises(
        CMMSError, match=r"redirected to https://.*/login\.jsp instead of answering.*MAINTGRAPH_CMMS_URL"
    ):
        backend.asset("P-101")
    replay.done()


def test_from_settings_needs_an_api_key():
    backend = MaximoCMMS.from_settings(Settings(cmms_url=BASE_URL + "/", cmms_api_key=API_KEY, cmms_site="NFW"))
    assert (backend.api_root, backend.site) == (BASE_URL + "/api", "NFW")
    backend.close()
    with pytest.raises(ConfigError, match="MAINTGRAPH_CMMS_API_KEY"):
        MaximoCMMS.from_settings(Settings(cmms_url=BASE_URL))


# -- one work order per approved request ------------------------------------------------------------


def test_a_second_approval_of_the_same_request_finds_the_work_order_and_posts_nothing():
    from maintgraph.tools.cmms_tools import Approvals, CMMSTools

    # The first submission searches for the approval's reference (none), checks the asset and posts;
    # the second (the same paused request, approved again by someone else after a crash) finds it.
    backend, replay = maximo("wo_by_approval_none", "asset_p101", "wo_create", "wo_by_approval_found")
    tools = CMMSTools(backend, Approvals(b"test-secret"))
    draft = HOT_BEARING
    first = tools.submit_work_order(draft, tools.approvals.approve(draft, "j.okafor", nonce="5c1e9a7d3b2f8e04"))
    second = tools.submit_work_order(draft, tools.approvals.approve(draft, "m.reyes", nonce="5c1e9a7d3b2f8e04"))
    assert first["number"] == second["number"] == "WO-26-00031"
    sent = replay.done()
    assert [r.method for r in sent] == ["GET", "GET", "POST", "GET"]  # one POST
    posted = json.loads(sent[2].content)
    assert posted["externalrefid"] == "6U4LREXUOY"  # the reference's key, in a field Maximo keeps and queries
    note = posted["worklog"][0]["description"]
    assert note == "Submitted from maintgraph, approved by j.okafor (approval 5c1e9a7d3b2f8e04)"


def test_a_reference_found_on_another_asset_is_refused():
    backend, replay = maximo("wo_by_approval_found")
    used = r"approval 5c1e9a7d3b2f8e04 was already used for work order WO-26-00031 \(P-101\)"
    with pytest.raises(CMMSError, match=used):
        backend.create_work_order(
            WorkOrderDraft(asset_tag="P-102", description="P-102 seal weeping"), approval_ref="5c1e9a7d3b2f8e04"
        )
    assert [r.method for r in replay.done()] == ["GET"]
