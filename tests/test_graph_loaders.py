"""Loaders: tolerant headers, every refusal located by file/row/column with nothing written, real exports."""

from __future__ import annotations

import textwrap

import pytest
from openpyxl import Workbook

from maintgraph.errors import LoadError
from maintgraph.graph.loaders import detect_kind, ensure_vocabulary, load_paths
from maintgraph.graph.loaders.fmea import action_priority

from .conftest import SHARED_DATA

REGISTER = """\
site_id,site_name,system_id,system_name,tag,name,class_code,criticality,driven_by
NFW,Northfield,NFW-RAW,Raw water,P-101,Raw water pump 1,PU,A,M-101
NFW,Northfield,NFW-RAW,Raw water,M-101,Pump motor 1,EM,A,
"""
COMPONENTS = """\
tag,subunit,component,component_name,part_number,quantity
P-101,Power transmission,BRG-DE,Drive-end bearing,,
"""
FMEA_HEADER = ("Subsystem/System,Component,Sub-Component,Potential Failure Mode,Potential Effect(s) of Failure,Sev,"
               "Potential Cause(s),Occ,Current Controls,Det,RPN,Recommended Action\n")  # fmt: skip


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def plant(graph_store, tmp_path):
    load_paths(graph_store, [_write(tmp_path, "register.csv", REGISTER), _write(tmp_path, "comp.csv", COMPONENTS)])
    return graph_store


def _refused(store, path) -> LoadError:
    ensure_vocabulary(store)  # its own source, loaded before any file
    before = store.stats()
    with pytest.raises(LoadError) as caught:
        load_paths(store, [path])
    assert store.stats() == before, "a refused source must write nothing"
    return caught.value


def test_fmea_with_synonym_headers_loads_and_derives_action_priority(plant, tmp_path):
    path = _write(tmp_path, "fmea.csv", FMEA_HEADER + "P-101,BRG-DE,,vibration,Pump trips,7,Misalignment,5,"
                  "Route vibration,4,140,Laser align\n")  # fmt: skip
    [report] = load_paths(plant, [path])
    assert report.nodes >= 3
    [row] = plant.read(
        "MATCH (f:FMEAEntry)-[:FOR_MODE]->(m:FailureMode) RETURN f.rpn AS rpn, f.action_priority AS ap, m.code AS m"
    )
    assert row == {"rpn": 140, "ap": "M", "m": "VIB"}  # "vibration" resolved to the ISO code


def test_fmea_from_xlsx(plant, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["System", "Component", "Failure Mode", "Effect", "Severity", "Cause", "Occurrence",
                  "Current Controls", "Detection", "RPN", "Recommended Action"])  # fmt: skip
    sheet.append(["P-101", "BRG-DE", "OHE", "Bearing seizure", 8, "Grease starvation", 4, "RTD alarm", 3, 96, "Relube"])
    path = tmp_path / "fmea.xlsx"
    book.save(path)
    assert detect_kind(path) == "fmea"
    load_paths(plant, [path])
    assert plant.read("MATCH (f:FMEAEntry) RETURN f.action_priority AS ap") == [{"ap": "M"}]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("P-101,BRG-DE,,VIB,trip,11,wear,5,none,4,220,x", ":2:Severity: 11 is outside 1-10"),
        ("P-101,BRG-DE,,VIB,trip,high,wear,5,none,4,140,x", ":2:Severity: 'high' is not a whole number"),
        ("P-999,BRG-DE,,VIB,trip,7,wear,5,none,4,140,x", ":2:Component: unknown Component 'P-999/BRG-DE'"),
    ],
)
def test_fmea_refusals_name_file_row_and_column(plant, tmp_path, row, expected):
    error = _refused(plant, _write(tmp_path, "fmea.csv", FMEA_HEADER + row + "\n"))
    assert any(problem.endswith(expected) or expected in problem for problem in error.problems), error.problems
    assert "nothing written" in str(error)


def test_sheet_missing_a_required_column_is_refused_with_the_column_named(graph_store, tmp_path):
    # An FMEA needs its failure modes and causes; RPN, AP and controls are optional (AIAG-VDA, FMECA).
    path = _write(tmp_path, "fmea.csv", "System,Component,Failure Mode,Effect,Severity,Occurrence,Detection\n")
    ensure_vocabulary(graph_store)
    with pytest.raises(LoadError) as caught:
        load_paths(graph_store, [path], kind="fmea")
    assert any("required column 'Cause' is missing" in p for p in caught.value.problems)


def test_duplicate_tag_with_conflicting_data_is_refused(graph_store, tmp_path):
    path = _write(tmp_path, "register.csv", REGISTER + "NFW,Northfield,NFW-RAW,Raw water,P-101,Another pump,PU,B,\n")
    error = _refused(graph_store, path)
    assert any(":4:name: Equipment 'P-101' conflicts with an earlier row: name 'Raw water pump 1' vs 'Another pump'"
               in p for p in error.problems), error.problems  # fmt: skip


def test_cycle_in_the_drive_hierarchy_is_refused(graph_store, tmp_path):
    cyclic = REGISTER.replace("Pump motor 1,EM,A,", "Pump motor 1,EM,A,P-101")
    error = _refused(graph_store, _write(tmp_path, "register.csv", cyclic))
    assert any("driven_by: cycle in driven_by" in p for p in error.problems), error.problems


def test_unknown_class_and_bad_date_are_refused(graph_store, tmp_path):
    text = "site_id,system_id,tag,name,class_code,install_date\nNFW,NFW-RAW,P-1,pump,XX,31/12/2020\n"
    error = _refused(graph_store, _write(tmp_path, "register.csv", text))
    assert any(":2:class_code: 'XX' is not an ISO 14224 equipment class code" in p for p in error.problems)
    assert any(":2:install_date: '31/12/2020' is not a date (YYYY-MM-DD)" in p for p in error.problems)


def test_work_order_for_unknown_equipment_is_refused(plant, tmp_path):
    text = ("number,tag,wo_type,status,priority,reported_at,finished_at,description\n"
            "WO-1,P-101,CM,COMP,2,2025-01-03 08:00,2025-01-03 12:00,P-101 DE BRG HOT\n"
            "WO-2,P-777,CM,COMP,2,2025-01-04 08:00,,PUMP 777 LKG\n")  # fmt: skip
    error = _refused(plant, _write(tmp_path, "wo.csv", text))
    assert error.problems == [f"{(tmp_path / 'wo.csv').resolve()}:3:tag: unknown Equipment 'P-777' "
                              "(not in this file nor in the graph)"]  # fmt: skip


def test_work_orders_link_failure_modes_named_in_shorthand(plant, tmp_path):
    text = ("number,tag,wo_type,status,reported_at,description\n"
            "WO-1,P-101,CM,COMP,2025-01-03 08:00,P-101 DE BRG RUNNING HOT 85C\n"
            "WO-2,P-101,CM,COMP,2025-02-03,P-101 LEAKING\n")  # fmt: skip
    load_paths(plant, [_write(tmp_path, "wo.csv", text)])
    rows = plant.read("MATCH (w:WorkOrder) OPTIONAL MATCH (w)-[:RECORDED_FOR]->(m:FailureMode) "
                      "RETURN w.number AS n, m.code AS m ORDER BY n")  # fmt: skip
    # "hot" names one mode; "leaking" could be process or utility leakage, so it is not guessed.
    assert rows == [{"n": "WO-1", "m": "OHE"}, {"n": "WO-2", "m": None}]


def test_reloading_a_changed_file_replaces_what_it_asserted(plant, tmp_path):
    path = _write(tmp_path, "fmea.csv", FMEA_HEADER + "P-101,BRG-DE,,VIB,trip,7,Misalignment,5,none,4,140,x\n")
    load_paths(plant, [path])
    load_paths(plant, [path])  # unchanged: nothing changes
    assert plant.stats()["nodes"]["FMEAEntry"] == 1
    path.write_text(FMEA_HEADER + "P-101,BRG-DE,,OHE,seizure,8,Grease starvation,4,RTD,3,96,relube\n")
    load_paths(plant, [path])
    modes = plant.read("MATCH (:FMEAEntry)-[:FOR_MODE]->(m) RETURN m.code AS m")
    assert modes == [{"m": "OHE"}]
    assert plant.read("MATCH (c:Cause) RETURN c.name AS c") == [{"c": "Grease starvation"}]


@pytest.mark.parametrize(
    ("s", "o", "d", "ap"),
    [(10, 10, 10, "H"), (9, 4, 1, "M"), (9, 2, 5, "M"), (8, 4, 7, "H"), (5, 8, 2, "M"), (5, 5, 5, "L"),
     (3, 9, 9, "M"), (3, 6, 9, "L"), (1, 10, 10, "L"), (7, 1, 10, "L")],
)  # fmt: skip
def test_aiag_vda_action_priority(s, o, d, ap):
    assert action_priority(s, o, d) == ap


def test_real_cmms_exports_load_and_report_their_bad_rows(graph_store):
    sample = SHARED_DATA / "assetopsbench" / "sample_data"
    reports = load_paths(graph_store, [sample / "failure_codes.csv", sample / "all_wo_with_code_component_events.csv",
                                       SHARED_DATA / "maintkg" / "case_study_pdl.csv"])  # fmt: skip
    by_source = {r.source: r for r in reports}  # sources are named by their resolved paths
    assert len(by_source[str((sample / "failure_codes.csv").resolve())].skipped) == 1  # OP004: two meanings
    assert len(by_source[str((sample / "all_wo_with_code_component_events.csv").resolve())].skipped) == 2  # unlisted
    stats = graph_store.stats()["nodes"]
    aob_work_orders, maintkg_work_orders = 4249, 5485  # rows in the two exports
    assert stats["WorkOrder"] == aob_work_orders + maintkg_work_orders
    linked = graph_store.read("MATCH (w:WorkOrder)-[:RECORDED_FOR]->(:Equipment) RETURN count(w) AS n")[0]["n"]
    assert linked == aob_work_orders + maintkg_work_orders
    excavator = graph_store.read(
        "MATCH (w:WorkOrder {number: 'PDL-1'})-[:RECORDED_FOR]->(e:Equipment) RETURN e.tag AS tag, w.description AS d"
    )
    assert excavator == [{"tag": "PDL-A", "d": "L/H BUCKET CYL LEAKING."}]
