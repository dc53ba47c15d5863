"""The CMMS in the real embedded Postgres: imports of real exports, tools, lifecycle and stock rules."""

from __future__ import annotations

import base64
import csv
import json
import shutil
import threading
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from maintgraph.errors import CMMSError, LoadError, NotFound
from maintgraph.tools.cmms import WorkOrderDraft
from maintgraph.tools.cmms_import import import_cmms
from maintgraph.tools.cmms_tools import (
    Approvals,
    AssetArgument,
    CMMSTools,
    PartArgument,
    SearchWorkOrders,
    StatusChange,
)
from maintgraph.tools.postgres_cmms import PostgresCMMS

from .conftest import REPO, SHARED_DATA, run_cli

ASSETOPS = SHARED_DATA / "assetopsbench" / "sample_data"
MAINTKG = SHARED_DATA / "maintkg" / "case_study_pdl.csv"


def _import(conninfo: str, path: Path, kind: str):
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return import_cmms(conn, path, kind)


@pytest.fixture
def plant_copy(pg_conninfo, tmp_path):
    """Tools over a fresh database holding the CMMS history of a copy of the sample plant (to edit
    and import again): (tools, backend, conninfo, the copy's folder)."""
    plant = tmp_path / "plant"
    shutil.copytree(REPO / "data" / "plant", plant)
    report = _import(pg_conninfo, plant, "plant")
    assert report.rejected == [] and report.counts["work_orders"] == 400
    backend = PostgresCMMS(pg_conninfo)
    yield CMMSTools(backend, Approvals(b"test-secret")), backend, pg_conninfo, plant
    backend.close()


@pytest.fixture
def cmms(pg_conninfo, tmp_path):
    """Tools over a fresh database holding the sample plant's CMMS history."""
    report = _import(pg_conninfo, REPO / "data" / "plant", "plant")
    assert report.rejected == [] and report.counts["work_orders"] == 400
    backend = PostgresCMMS(pg_conninfo)
    yield CMMSTools(backend, Approvals(b"test-secret")), backend, pg_conninfo
    backend.close()


def test_assetopsbench_export_imports_with_rejected_rows_named(pg_conninfo):
    report = _import(pg_conninfo, ASSETOPS, "assetopsbench")
    assert report.counts["work_orders"] == 4247 and report.counts["events"] == 6256
    # Two rows use secondary codes that the export's own code list lacks: named, not imported.
    assert report.rejected == [
        "all_wo_with_code_component_events.csv:2222: WO221582: failure code 'MT001c' is not in failure_codes.csv",
        "all_wo_with_code_component_events.csv:2245: WO305385: failure code 'MT017a' is not in failure_codes.csv",
    ]
    backend = PostgresCMMS(pg_conninfo)
    tools = CMMSTools(backend, Approvals(b"x"))
    # 4/6/16 14:00 is read as month/day/year: 6 April 2016.
    order = backend.work_order("WO259747")
    assert order.finished_at.date().isoformat() == "2016-04-06" and order.wo_type == "PM"
    assert order.labour_hours == 1 and order.problem_code == "MT010b"
    # A primary code finds the work orders coded with its secondary codes.
    by_primary = tools.search_work_orders(SearchWorkOrders(asset_tag="CWC04013", failure_code="MT010", limit=200))
    assert by_primary and {o["failure_code"][:5] for o in by_primary} == {"MT010"}
    assert {o["failure_code"] for o in by_primary} - {"MT010"}  # matched through its secondary codes
    again = _import(pg_conninfo, ASSETOPS, "assetopsbench")  # re-import replaces, does not duplicate
    assert again.counts["work_orders"] == 4247
    backend.close()


def test_maintkg_shorthand_work_orders(pg_conninfo):
    report = _import(pg_conninfo, MAINTKG, "maintkg")
    assert report.rejected == [] and report.counts == {"work_orders": 5485, "assets": 5}
    backend = PostgresCMMS(pg_conninfo)
    tools = CMMSTools(backend, Approvals(b"x"))
    leaks = tools.search_work_orders(SearchWorkOrders(asset_tag="EXC-A", text="leaking", limit=200))
    assert leaks and all("LEAK" in o["description"].upper() for o in leaks)
    history = tools.asset_history(AssetArgument(asset_tag="EXC-A"))
    assert history["by_type"]["CM"] > 100 and history["mtbf_days"] > 0
    backend.close()


def test_bad_exports_are_refused_with_the_file_and_reason(pg_conninfo, tmp_path):
    bad = tmp_path / "pdl.csv"
    rows = [
        "0,01/07/2004,A,BUCKET WON'T OPEN,PM01,1,,,,,,,,,,0,R,0",
        "1,2005-03-20,A,CYL LEAKING,PM99,1,,,,,,,,,,0,R,1",
        "2,2005-03-21,A,SWAP BUCKET,PM01,1,,,,,,,,,,0,R,2",
    ]
    bad.write_text("\n".join([MAINTKG.read_text().splitlines()[0], *rows]) + "\n")
    report = _import(pg_conninfo, bad, "maintkg")
    assert report.counts["work_orders"] == 1
    assert report.rejected == [
        "pdl.csv:2: BscStartDate '01/07/2004' is not YYYY-MM-DD",
        "pdl.csv:3: order type 'PM99' is not one of PM01, PM02, PM03, PM04, PM05, PM06, PM13",
    ]
    with pytest.raises(LoadError, match="unknown format 'sap'"):
        _import(pg_conninfo, bad, "sap")
    with pytest.raises(LoadError, match=r"event\.csv: missing from the export"):
        (tmp_path / "export").mkdir()
        for name in ("failure_codes.csv", "all_wo_with_code_component_events.csv"):
            (tmp_path / "export" / name).write_text((ASSETOPS / name).read_text(encoding="utf-8-sig"))
        _import(pg_conninfo, tmp_path / "export", "assetopsbench")


def test_asset_history_pm_status_and_parts(cmms):
    tools, _, _ = cmms
    history = tools.asset_history(AssetArgument(asset_tag="P-102"))
    assert history["id"] == "ASSET:P-102" and history["corrective_failures"] > 3
    assert history["mtbf_days"] > 0 and history["mttr_hours"] > 0
    assert history["top_failure_codes"][0]["code"] == "ELP"  # the seal leaks
    plans = tools.pm_status(AssetArgument(asset_tag="P-401"))
    monthly = next(p for p in plans if p["id"] == "PM:PM-P401-MONTHLY")
    assert monthly["last_done_at"] and monthly["next_due_at"] > monthly["last_done_at"]
    (seal,) = tools.part_availability(PartArgument(part_number="SEAL-MS-55"))
    assert seal["id"] == "PART:SEAL-MS-55" and seal["available"] == "0.00"
    with pytest.raises(NotFound, match="part 'SEAL-MS-99' is not in the CMMS"):
        tools.part_availability(PartArgument(part_number="SEAL-MS-99"))


def test_alternates_are_listed_after_the_part(cmms):
    tools, _, conninfo = cmms
    with psycopg.connect(conninfo) as conn:
        conn.execute("INSERT INTO parts (part_number, name) VALUES ('BRG-6312-C3-FAG', 'FAG 6312-C3 (equivalent)')")
        conn.execute("INSERT INTO stock (part_number, storeroom, quantity_on_hand) VALUES ('BRG-6312-C3-FAG', "
                     "'NFW-MAIN', 4)")  # fmt: skip
        conn.execute("INSERT INTO part_alternates VALUES ('BRG-6312-C3', 'BRG-6312-C3-FAG')")
    rows = tools.part_availability(PartArgument(part_number="BRG-6312-C3"))
    assert [(r["part_number"], r["alternate_for"], r["available"]) for r in rows] == [
        ("BRG-6312-C3", None, "1.00"), ("BRG-6312-C3-FAG", "BRG-6312-C3", "4.00"),
    ]  # fmt: skip


def test_search_filters_and_unknown_inputs(cmms):
    tools, _, _ = cmms
    seals = tools.search_work_orders(SearchWorkOrders(asset_tag="P-102", failure_code="ELP", wo_type="CM"))
    assert seals and all(o["failure_code"] == "ELP" and o["type"] == "CM" for o in seals)
    in_2025 = tools.search_work_orders(SearchWorkOrders(date_from=datetime(2025, 1, 1), date_to=datetime(2025, 2, 1),
                                                        limit=200))  # fmt: skip
    assert in_2025 and all(o["reported"].startswith("2025-01") for o in in_2025)
    assert tools.search_work_orders(SearchWorkOrders(text="diaphragm", asset_tag="P-401"))
    # Counting reads every match, not one page: all 400 plant work orders, by type and code.
    everything = tools.count_work_orders(SearchWorkOrders(limit=5))
    assert everything["count"] == 400 and sum(everything["by_type"].values()) == 400
    p102 = tools.count_work_orders(SearchWorkOrders(asset_tag="P-102"))
    assert p102["count"] == tools.asset_history(AssetArgument(asset_tag="P-102"))["work_orders"]
    assert p102["by_primary_code"]["ELP"] == 4
    with pytest.raises(NotFound, match="asset 'P-999' is not in the CMMS"):
        tools.search_work_orders(SearchWorkOrders(asset_tag="P-999"))
    with pytest.raises(NotFound, match="failure code 'XYZ' is not in the CMMS"):
        tools.search_work_orders(SearchWorkOrders(failure_code="XYZ"))


def test_work_order_needs_an_approval_of_exactly_this_draft(cmms):
    tools, _, _ = cmms
    draft = WorkOrderDraft(asset_tag="P-101", description="DE bearing 85 C after greasing, check relief plug",
                           problem_code="OHE", priority=2)  # fmt: skip
    checked = tools.draft_work_order(draft)
    assert checked["needs_approval"] and checked["asset"] == "Raw water lift pump 1"
    with pytest.raises(CMMSError, match="approval token is malformed"):
        tools.submit_work_order(draft, "yes please")
    token = tools.approvals.approve(draft, "j.smith")
    changed = draft.model_copy(update={"priority": 1})
    with pytest.raises(CMMSError, match="does not approve this draft"):
        tools.submit_work_order(changed, token)
    forged = Approvals(b"another-secret").approve(draft, "j.smith")
    with pytest.raises(CMMSError, match="does not approve this draft"):
        tools.submit_work_order(draft, forged)
    created = tools.submit_work_order(draft, token)
    assert created["status"] == "WAPPR" and created["id"].startswith("WO:WO-")
    again = tools.submit_work_order(draft, token)  # a retried submission does not make a second work order
    assert again["number"] == created["number"]
    with pytest.raises(CMMSError, match="approval token is malformed"):
        tools.submit_work_order(draft, base64.urlsafe_b64encode("x:é".encode()).decode())
    assert created["number"] in {o["number"] for o in tools.open_work_orders(AssetArgument(asset_tag="P-101"))}
    with pytest.raises(NotFound, match="asset 'P-999'"):
        tools.draft_work_order(WorkOrderDraft(asset_tag="P-999", description="does not exist"))
    with pytest.raises(NotFound, match="failure code 'ZZZ'"):
        tools.draft_work_order(draft.model_copy(update={"problem_code": "ZZZ"}))


def test_status_lifecycle_rules(cmms):
    tools, backend, _ = cmms
    draft = WorkOrderDraft(asset_tag="P-301", description="Cooling pump noisy at NDE")
    number = tools.submit_work_order(draft, tools.approvals.approve(draft, "a.jones"))["number"]
    with pytest.raises(CMMSError, match=rf"{number} is WAPPR: it cannot go to INPRG \(allowed from WAPPR: APPR, CAN\)"):
        tools.update_work_order_status(StatusChange(number=number, status="INPRG"))
    for status in ("APPR", "WSCH", "INPRG", "COMP", "CLOSE"):
        assert tools.update_work_order_status(StatusChange(number=number, status=status))["status"] == status
    order = backend.work_order(number)
    assert order.started_at and order.finished_at and order.finished_at >= order.started_at
    with pytest.raises(CMMSError, match="is CLOSE: it cannot go to INPRG \\(allowed from CLOSE: none: it is final\\)"):
        tools.update_work_order_status(StatusChange(number=number, status="INPRG"))
    with pytest.raises(NotFound, match="work order 'WO-0' does not exist"):
        tools.update_work_order_status(StatusChange(number="WO-0", status="APPR"))


def test_reservations_respect_stock_and_never_oversell_the_last_part(cmms):
    tools, _, conninfo = cmms
    draft = WorkOrderDraft(asset_tag="P-101", description="Replace DE bearing")
    drafts = (draft, draft.model_copy(update={"description": "Replace DE bearing (second crew)"}))
    numbers = [tools.submit_work_order(d, tools.approvals.approve(d, "a"))["number"] for d in drafts]
    with pytest.raises(CMMSError, match="quantity must be positive, not -1"):
        tools.reserve_part("BRG-6312-C3", "NFW-MAIN", Decimal(-1), numbers[0])
    with pytest.raises(CMMSError, match=r"cannot reserve 5 of BRG-6312-C3 in NFW-MAIN: only 1\.00 available"):
        tools.reserve_part("BRG-6312-C3", "NFW-MAIN", Decimal(5), numbers[0])
    with pytest.raises(NotFound, match="not stocked in storeroom 'NFW-CHEM'"):
        tools.reserve_part("BRG-6312-C3", "NFW-CHEM", Decimal(1), numbers[0])
    # Two crews reserve the last bearing at the same moment: exactly one succeeds.
    barrier, outcomes = threading.Barrier(2), []
    crews = [PostgresCMMS(conninfo) for _ in numbers]
    for crew in crews:
        crew.work_order(numbers[0])  # connected before the race starts

    def reserve(crew: PostgresCMMS, number: str) -> None:
        barrier.wait()
        try:
            outcomes.append(crew.reserve("BRG-6312-C3", "NFW-MAIN", Decimal(1), number).id)
        except CMMSError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=reserve, args=pair) for pair in zip(crews, numbers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for crew in crews:
        crew.close()
    assert sorted(type(o).__name__ for o in outcomes) == ["int", "str"], outcomes
    assert "only 0.00 available" in next(o for o in outcomes if isinstance(o, str))
    assert tools.part_availability(PartArgument(part_number="BRG-6312-C3"))[0]["available"] == "0.00"
    # The work order that got the bearing is cancelled: the bearing is available again.
    winner = next(n for n in numbers if _holds(conninfo, n))
    tools.update_work_order_status(StatusChange(number=winner, status="CAN", memo="duplicate"))
    assert tools.part_availability(PartArgument(part_number="BRG-6312-C3"))[0]["available"] == "1.00"


def _holds(conninfo: str, number: str) -> bool:
    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT 1 FROM reservations WHERE work_order = %s", (number,)).fetchone() is not None


def test_cmms_cli(running_services, pg_conninfo):
    env = {"MAINTGRAPH_PG_DSN": pg_conninfo}
    imported = run_cli("cmms", "import", str(REPO / "data" / "plant"), "--format", "plant", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "400 work orders" in imported.stdout
    listed = run_cli("cmms", "wo", "list", "--asset", "P-102", "--type", "CM", "--json", env=env)
    assert listed.returncode == 0 and "WO-25-00046" in {row["number"] for row in json.loads(listed.stdout)}
    table = run_cli("cmms", "wo", "list", "--asset", "P-102", "--code", "ELP", env=env)
    assert table.returncode == 0 and "WO-25-00046" in table.stdout
    shown = run_cli("cmms", "wo", "show", "WO-25-00046", env=env)
    assert shown.returncode == 0 and "SEAL-MS-55" in shown.stdout
    asset = run_cli("cmms", "asset", "P-102", env=env)
    assert asset.returncode == 0 and "MTBF" in asset.stdout and "ELP" in asset.stdout
    refused = run_cli("cmms", "wo", "create", "--asset", "P-102", "--description", "Seal weeping again", env=env)
    assert refused.returncode == 1 and "--approved-by" in refused.stderr
    created = run_cli("cmms", "wo", "create", "--asset", "P-102", "--description", "Seal weeping again",
                      "--approved-by", "j.smith", env=env)  # fmt: skip
    assert created.returncode == 0 and "WAPPR" in created.stdout
    bad_type = run_cli("cmms", "wo", "list", "--type", "REPAIR", env=env)
    assert bad_type.returncode == 2 and "--type: Input should be 'CM', 'PM'" in bad_type.stderr
    unknown = run_cli("cmms", "wo", "show", "WO-404", env=env)
    assert unknown.returncode == 1 and "work order 'WO-404' does not exist" in unknown.stderr


def test_configuration_selects_the_cmms_backend(tmp_path):
    from maintgraph.config import Settings
    from maintgraph.errors import ConfigError
    from maintgraph.tools.cmms_tools import open_backend
    from maintgraph.tools.maximo import MaximoCMMS

    rest = open_backend(Settings(data_dir=tmp_path, cmms_url="https://maximo.plant.example/maximo",
                                 cmms_api_key="k-123", cmms_site="NFW"))  # fmt: skip
    assert isinstance(rest, MaximoCMMS) and "k-123" not in repr(rest)
    with pytest.raises(ConfigError, match="MAINTGRAPH_CMMS_API_KEY"):
        open_backend(Settings(data_dir=tmp_path, cmms_url="https://maximo.plant.example/maximo"))
    assert isinstance(open_backend(Settings(data_dir=tmp_path, pg_dsn="postgresql://u@db.example/x")), PostgresCMMS)


def test_plant_rows_that_break_a_rule_are_named_and_reimport_keeps_their_reservations(plant_copy):
    tools, _, conninfo, plant = plant_copy
    # An open work order of the plant's history holds the last 6312 bearing...
    open_order = tools.open_work_orders(AssetArgument(asset_tag="P-101"))[0]["number"]
    tools.reserve_part("BRG-6312-C3", "NFW-MAIN", Decimal(1), open_order)
    # ...and the export is imported again, with three bad rows added.
    with (plant / "work_orders.csv").open("a") as rows:
        rows.write("WO-X-1,P-999,CM,CLOSE,3,2026-01-01 08:00,,Unknown pump,,,,1.0,\n"
                   "WO-X-2,P-101,CM,DONE,3,2026-01-01 08:00,,Odd status,,,,1.0,\n"
                   "WO-X-3,P-101,CM,CLOSE,3,01/02/2026,,US date,,,,1.0,\n")  # fmt: skip
    report = _import(conninfo, plant, "plant")
    assert report.counts["work_orders"] == 400 and "stock_rows_released" not in report.counts
    assert report.rejected == [
        "work_orders.csv:402: WO-X-1: asset 'P-999' is not in asset_register.csv",
        "work_orders.csv:403: WO-X-2: status 'DONE' is not one of APPR, CAN, CLOSE, COMP, INPRG, WAPPR, WMATL, WSCH",
        "work_orders.csv:404: WO-X-3: reported_at '01/02/2026' is not YYYY-MM-DD HH:MM",
    ]
    assert tools.part_availability(PartArgument(part_number="BRG-6312-C3"))[0]["available"] == "0.00"  # still held


# -- re-imports: sources named by path, local changes kept ---------------------------------------------


def _maintkg_export(folder: Path, ids: range) -> Path:
    """A MaintKG export called pdl.csv in ``folder``, with the rows of the real one whose id is in ``ids``."""
    header, *rows = MAINTKG.read_text().splitlines()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pdl.csv"
    path.write_text("\n".join([header, *(r for r in rows if int(r.rsplit(",", 1)[1]) in ids)]) + "\n")
    return path


def _numbers(conninfo: str, prefix: str = "PDL-") -> set[str]:
    with psycopg.connect(conninfo) as conn:
        return {r[0] for r in conn.execute("SELECT number FROM work_orders WHERE number LIKE %s", (prefix + "%",))}


def test_exports_with_the_same_file_name_in_different_folders_do_not_replace_each_other(pg_conninfo, tmp_path):
    north = _maintkg_export(tmp_path / "north", range(0, 5))
    south = _maintkg_export(tmp_path / "south", range(5, 8))
    first, second = _import(pg_conninfo, north, "maintkg"), _import(pg_conninfo, south, "maintkg")
    assert first.source != second.source and str(tmp_path / "north" / "pdl.csv") in first.source
    assert _numbers(pg_conninfo) == {f"PDL-{n}" for n in range(8)}  # both exports' work orders
    again = _import(pg_conninfo, north, "maintkg")  # re-importing one leaves the other alone
    assert again.counts["work_orders"] == 5 and again.rejected == []
    assert _numbers(pg_conninfo) == {f"PDL-{n}" for n in range(8)}


def test_a_database_named_by_file_name_is_re_imported_as_the_same_source(pg_conninfo, tmp_path):
    export = _maintkg_export(tmp_path / "north", range(0, 5))
    _import(pg_conninfo, export, "maintkg")
    with psycopg.connect(pg_conninfo) as conn:  # as an import before sources were named by path left it
        for table in ("work_orders", "assets"):
            conn.execute(f"UPDATE {table} SET source = 'maintkg:pdl.csv' WHERE source <> 'maintgraph'")
    again = _import(pg_conninfo, export, "maintkg")
    assert again.rejected == [] and again.counts["work_orders"] == 5  # its own rows, not "already imported"
    with psycopg.connect(pg_conninfo) as conn:
        sources = {r[0] for r in conn.execute("SELECT DISTINCT source FROM work_orders")}
    assert sources == {again.source}


def test_re_importing_an_export_keeps_local_status_changes_history_and_reservations(plant_copy):
    tools, backend, conninfo, plant = plant_copy
    # Local work on an imported open work order: a status change and a reservation.
    number = "WO-26-00174"
    assert backend.work_order(number).status == "WAPPR"
    tools.update_work_order_status(StatusChange(number=number, status="APPR", memo="seals ordered"))
    tools.reserve_part("BRG-6312-C3", "NFW-MAIN", Decimal(1), number)
    # A submitted work order: its history is the product's own.
    draft = WorkOrderDraft(asset_tag="P-101", description="Check coupling guard after vibration alarm")
    own = tools.submit_work_order(draft, tools.approvals.approve(draft, "a.jones"))["number"]
    report = _import(conninfo, plant, "plant")  # the same export again
    assert report.counts["work_orders"] == 400 and report.rejected == []
    assert backend.work_order(number).status == "APPR"  # the local change stands
    assert _history(conninfo, number) == [("WAPPR", "APPR", "seals ordered")]
    assert _holds(conninfo, number) and backend.work_order(own).status == "WAPPR"
    assert [h[1] for h in _history(conninfo, own)] == ["WAPPR"]
    assert tools.part_availability(PartArgument(part_number="BRG-6312-C3"))[0]["available"] == "0.00"
    # The export moves on (the work was closed in the plant's CMMS): the export's new status wins,
    # is recorded, and the work order's reservation is released.
    _edit_plant_orders(plant, lambda row: {**row, "status": "CLOSE"} if row["number"] == number else row)
    moved = _import(conninfo, plant, "plant")
    assert moved.counts["stock_rows_released"] == 1 and backend.work_order(number).status == "CLOSE"
    assert [h[:2] for h in _history(conninfo, number)] == [("WAPPR", "APPR"), ("APPR", "CLOSE")]
    assert tools.part_availability(PartArgument(part_number="BRG-6312-C3"))[0]["available"] == "1.00"
    # A work order gone from the export goes, unless local actions refer to it.
    _edit_plant_orders(plant, lambda row: None if row["number"] in (number, "WO-24-00001") else row)
    shrunk = _import(conninfo, plant, "plant")
    assert shrunk.counts["work_orders"] == 398 and shrunk.counts["kept_with_local_changes"] == 1
    assert backend.work_order(number).status == "CLOSE" and len(_history(conninfo, number)) == 2
    with pytest.raises(NotFound):
        backend.work_order("WO-24-00001")


def _edit_plant_orders(plant: Path, edit) -> None:
    path = plant / "work_orders.csv"
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, [edit(row) for row in reader]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(row for row in rows if row is not None)


def _history(conninfo: str, number: str) -> list[tuple]:
    with psycopg.connect(conninfo) as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT from_status, to_status, memo FROM work_order_status_history WHERE number = %s ORDER BY id",
            (number,),
        )]  # fmt: skip


# -- one work order per approved request ---------------------------------------------------------------


def test_a_second_approval_of_the_same_request_by_someone_else_creates_no_second_work_order(cmms):
    tools, _, conninfo = cmms
    draft = WorkOrderDraft(asset_tag="P-301", description="Cooling pump seal weeping at the gland")
    before = len(tools.open_work_orders(AssetArgument(asset_tag="P-301")))
    # Both approve the same paused request (the nonce names it): the first one's submission was
    # committed, then the process died before the agent recorded it; another person approves again.
    first = tools.submit_work_order(draft, tools.approvals.approve(draft, "j.smith", nonce="3f9c0a17d2b4e685"))
    second = tools.submit_work_order(draft, tools.approvals.approve(draft, "a.jones", nonce="3f9c0a17d2b4e685"))
    assert second["number"] == first["number"]
    assert len(tools.open_work_orders(AssetArgument(asset_tag="P-301"))) == before + 1
    with psycopg.connect(conninfo) as conn:
        ref, by = conn.execute("SELECT approval_ref, approved_by FROM work_orders WHERE number = %s",
                               (first["number"],)).fetchone()  # fmt: skip
    assert (ref, by) == ("3f9c0a17d2b4e685", "j.smith")  # the reference is the request; the approver is kept
    # The same request cannot submit a different draft.
    other = draft.model_copy(update={"description": "Cooling pump bearing noisy"})
    used = rf"approval 3f9c0a17d2b4e685 was already used for work order {first['number']} \(P-301\)"
    with pytest.raises(CMMSError, match=used):
        tools.submit_work_order(other, tools.approvals.approve(other, "a.jones", nonce="3f9c0a17d2b4e685"))


def test_the_migration_splits_old_approval_references_and_keeps_what_imports_said(pg_conninfo):
    from alembic import command

    from maintgraph.migrations import _alembic, upgrade

    _import(pg_conninfo, MAINTKG, "maintkg")
    with _alembic(pg_conninfo) as (config, _):
        command.downgrade(config, "0009")  # as a database before this change was
    with psycopg.connect(pg_conninfo) as conn:
        conn.execute("UPDATE work_orders SET status = 'CAN' WHERE number = 'PDL-1'")
        conn.execute("INSERT INTO work_order_status_history (number, from_status, to_status) "
                     "VALUES ('PDL-1', 'CLOSE', 'CAN')")  # fmt: skip
        for number, ref in (("WO-1", "approved by J. Smith (3f9c0a17d2b4e685)"),
                            ("WO-2", "approved by A. Jones (3f9c0a17d2b4e685)"),  # the duplicate this fixes
                            ("WO-3", "approved by A. Jones (c0ffee00c0ffee00)")):  # fmt: skip
            conn.execute(
                """INSERT INTO work_orders (number, asset_tag, wo_type, status, description, reported_at,
                       approval_ref, source) VALUES (%s, 'EXC-A', 'CM', 'WAPPR', 'x', now(), %s, 'maintgraph')""",
                (number, ref),
            )
    upgrade(pg_conninfo)
    with psycopg.connect(pg_conninfo) as conn:
        rows = conn.execute(
            "SELECT number, approval_ref, approved_by, imported_status FROM work_orders "
            "WHERE number IN ('WO-1', 'WO-2', 'WO-3', 'PDL-1', 'PDL-2') ORDER BY number"
        ).fetchall()
        assert rows == [
            ("PDL-1", None, None, "CLOSE"), ("PDL-2", None, None, "CLOSE"),
            ("WO-1", "3f9c0a17d2b4e685", "J. Smith", None),
            ("WO-2", "approved by A. Jones (3f9c0a17d2b4e685)", "A. Jones", None),
            ("WO-3", "c0ffee00c0ffee00", "A. Jones", None),
        ]  # fmt: skip
        with pytest.raises(psycopg.errors.RestrictViolation):  # history is never deleted with its work order
            conn.execute("DELETE FROM work_orders WHERE number = 'PDL-1'")
