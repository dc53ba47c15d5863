"""Real plant data in, unchanged (issue 26): a bad row does not sink its file, nor a file its folder;
a folder's files no kind fits are listed with the reason; `graph map` writes a column mapping that
`graph load` and `cmms import` use for an export with its own column names.

The work-order export (`tests/data/layouts/pump_station_wo_export.csv`, its own headers and
dd/mm/yyyy dates) was written apart from the loader code; the other sheets are small and inline.
"""

from __future__ import annotations

import shutil
import textwrap
import uuid

import psycopg
import pytest
import yaml

from maintgraph.errors import LoadError
from maintgraph.graph.falkordb import FalkorDBStore
from maintgraph.graph.loaders import load_all, load_paths
from maintgraph.graph.loaders.mapping import read_mapping

from .conftest import REPO, SHARED_DATA, run_cli
from .test_graph_reload import snapshot

LAYOUTS = REPO / "tests" / "data" / "layouts"
AOB = SHARED_DATA / "assetopsbench" / "sample_data"
REGISTER = """\
site_id,system_id,tag,name,class_code
PS,PS-AIR,AC-1,Air compressor 1 motor,EM
PS,PS-AIR,AC-2,Air compressor 2 motor,EM
PS,PS-WAT,BPS-1,Booster pump set 1,PU
PS,PS-COOL,CT-2A,Cooling tower 2A fan motor,EM
PS,PS-COOL,CT-2B,Cooling tower 2B fan motor,EM
PS,PS-BULK,CV-03,Overland conveyor drive motor,EM
PS,PS-PWR,GEN-1,Standby generator jacket water heater,HB
"""
WORK_ORDERS = """\
number,tag,wo_type,status,priority,reported_at,finished_at,description,parts_used
WO-1,AC-1,CM,COMP,2,2025-01-03 08:00,2025-01-03 12:00,AC-1 running hot,
WO-2,AC-1,CM,DONE-ISH,2,2025-01-04 08:00,,AC-1 surge,
WO-3,AC-2,PM,COMP,3,2025-01-05,2025-01-05,AC-2 service,FLT-9:1
WO-4,AC-9,CM,COMP,3,2025-01-06,,AC-9 noisy,
"""


def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def graph_env(running_services):
    """A graph of its own for the command line: (env, store); deleted afterwards."""
    name = f"t_rows_{uuid.uuid4().hex[:10]}"
    env = {"MAINTGRAPH_DATA_DIR": str(running_services.settings.data_dir), "MAINTGRAPH_GRAPH_NAME": name}
    store = FalkorDBStore(running_services.services.falkordb.client(), name)
    store.ensure_schema()
    yield env, store
    store.clear()


def _numbers(store) -> list[str]:
    return [r["n"] for r in store.read("MATCH (w:WorkOrder) RETURN w.number AS n ORDER BY n")]


def test_a_bad_row_is_left_out_and_reported_and_strict_refuses_the_file(graph_env, tmp_path):
    env, store = graph_env
    register = _write(tmp_path, "register.csv", REGISTER)
    orders = _write(tmp_path, "wo.csv", WORK_ORDERS)
    strict = run_cli("graph", "load", str(register), str(orders), "--strict", env=env)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "refused" in strict.stderr and "wo.csv:3:status: 'DONE-ISH' is not one of" in strict.stderr.replace("\n", "")
    assert _numbers(store) == [], "a strict load writes nothing of a file with a problem"

    done = run_cli("graph", "load", str(register), str(orders), env=env)
    assert done.returncode == 0, done.stdout + done.stderr  # only rows were skipped
    problems = done.stderr.replace("\n", "")
    assert f"{orders.resolve()}:3:status: 'DONE-ISH' is not one of" in problems
    assert f"{orders.resolve()}:4:parts_used: unknown SparePart 'FLT-9'" in problems  # a dangling relationship
    assert f"{orders.resolve()}:5:tag: unknown Equipment 'AC-9'" in problems
    assert "2 files loaded, 10 rows loaded, 1 rows skipped, 0 warnings, 0 files refused" in done.stdout
    assert _numbers(store) == ["WO-1", "WO-3", "WO-4"]  # WO-2 left out, the others' good facts loaded
    assert store.read("MATCH (:WorkOrder)-[r:REQUIRES_PART]->() RETURN count(r) AS n") == [{"n": 0}]
    linked = store.read("MATCH (w:WorkOrder)-[:RECORDED_FOR]->(e:Equipment) RETURN w.number AS w, e.tag AS e")
    assert sorted((r["w"], r["e"]) for r in linked) == [("WO-1", "AC-1"), ("WO-3", "AC-2")]


def test_a_folder_loads_what_it_recognises_and_lists_the_rest(graph_env, tmp_path):
    env, store = graph_env
    _write(tmp_path, "register.csv", REGISTER)
    meter = shutil.copy(AOB / "meter.csv", tmp_path / "meter.csv")  # a sensor-like sheet without equipment tags
    _write(tmp_path, "wo.csv", "number,tag,wo_type,status,reported_at,description\n"
                               "WO-1,AC-1,CM,COMP,yesterday,hot\nWO-2,AC-2,CM,COMP,31/12/2024,noisy\n")  # fmt: skip
    done = run_cli("graph", "load", str(tmp_path), env=env)
    assert done.returncode == 1, "a refused file makes the exit status non-zero"
    errors = done.stderr.replace("\n", "")
    assert f"refused: {(tmp_path / 'wo.csv').resolve()}: refused" in errors and "no row could be loaded" in errors
    assert f"not recognised: {meter}: columns meter, component, measurement" in errors
    assert "match no source kind (nearest: sensors, which also needs tag)" in errors
    assert f"maintgraph graph map {meter}" in errors
    assert "1 files loaded, 7 rows loaded, 0 rows skipped, 0 warnings, 1 files refused, 1 files not recognised" in (
        done.stdout
    )
    assert store.stats()["nodes"]["Equipment"] == 7 and "WorkOrder" not in store.stats()["nodes"]


def test_the_assetopsbench_sample_data_folder_loads_as_the_readme_says(graph_env):
    """The folder load asserts exactly what the two files the evaluation's graph is loaded from do
    (tests/test_evals.py: 0.923 accuracy), so it answers the same."""
    env, store = graph_env
    load_paths(store, [AOB / "failure_codes.csv", AOB / "all_wo_with_code_component_events.csv"])
    before = snapshot(store)
    done = run_cli("graph", "load", str(AOB), env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 files loaded" in done.stdout and "12 files not recognised" in done.stdout
    assert "not recognised:" in done.stderr and "meter.csv" in done.stderr
    assert snapshot(store) == before


def test_graph_map_writes_a_mapping_that_graph_load_and_cmms_import_use(graph_env, pg_conninfo, tmp_path):
    env, store = graph_env
    export = shutil.copy(LAYOUTS / "pump_station_wo_export.csv", tmp_path / "pump_station_wo_export.csv")
    (tmp_path / "register").mkdir()
    load_paths(store, [_write(tmp_path / "register", "register.csv", REGISTER)])
    refused = run_cli("graph", "load", str(export), env=env)
    assert refused.returncode == 1 and "match no source kind" in refused.stderr.replace("\n", "")

    mapped = run_cli("graph", "map", str(export), env=env)
    assert mapped.returncode == 0, mapped.stdout + mapped.stderr
    assert "work_orders" in mapped.stdout and "Problem Reported" in mapped.stdout
    written = tmp_path / "pump_station_wo_export.csv.mapping.yaml"
    text = written.read_text()
    assert text.startswith("# ") and "CHECK IT" in text
    mapping = yaml.safe_load(text)
    assert mapping["kind"] == "work_orders" and mapping["date_format"] == "dd/mm/yyyy"
    assert mapping["columns"] == {
        "number": "Job No", "tag": "Unit", "status": "Status", "priority": "Priority", "reported_at": "Raised",
        "finished_at": "Closed", "description": "Problem Reported", "long_text": "Work Done",
        "labor_hours": "Labour Hrs",
    }  # fmt: skip
    again = run_cli("graph", "map", str(export), env=env)
    assert again.returncode == 1 and "--force" in again.stderr, "a checked mapping is not overwritten"

    loaded = run_cli("graph", "load", str(export), env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "1 files loaded, 60 rows loaded, 0 rows skipped" in loaded.stdout
    assert "number <- 'Job No'" in loaded.stdout.replace("\n", "")  # the mapping it used
    [order] = store.read(
        "MATCH (w:WorkOrder {number: 'J25-0119'})-[:RECORDED_FOR]->(e:Equipment) RETURN w.reported_at AS r, "
        "w.finished_at AS f, w.status AS s, w.priority AS p, w.wo_type AS t, w.labor_hours AS h, e.tag AS e"
    )
    assert order == {"r": "2025-01-06T00:00", "f": "2025-01-07T00:00", "s": "CLOSE", "p": 2, "t": "CM", "h": 6.5,
                     "e": "CT-2A"}  # fmt: skip
    statuses = {r["s"] for r in store.read("MATCH (w:WorkOrder) RETURN DISTINCT w.status AS s")}
    assert statuses == {"CLOSE", "APPR", "INPRG", "WMATL", "CAN"}

    imported = run_cli("cmms", "import", str(export), env={"MAINTGRAPH_PG_DSN": pg_conninfo})
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "60 work orders" in imported.stdout
    with psycopg.connect(pg_conninfo) as conn:
        row = conn.execute("SELECT asset_tag, status, priority, reported_at::date::text, labour_hours::float "
                           "FROM work_orders WHERE number = 'J25-0119'").fetchone()  # fmt: skip
    assert row == ("CT-2A", "CLOSE", 2, "2025-01-06", 6.5)


def test_a_bad_mapping_file_is_refused_naming_the_key(tmp_path):
    bad = _write(tmp_path, "x.csv.mapping.yaml", "kind: work_orders\ncolumns: {nmber: Job No}\n"
                 "date_format: dd/qq/yyyy\nsheet: 2\n")  # fmt: skip
    with pytest.raises(LoadError) as caught:
        read_mapping(bad)
    problems = caught.value.problems
    assert any(p.startswith(f"{bad}: date_format: 'dd/qq/yyyy' is not a date format") for p in problems), problems
    assert any(p.startswith(f"{bad}: sheet: not a key of a mapping") for p in problems), problems
    wrong = _write(tmp_path, "y.csv.mapping.yaml", "kind: work_order\ncolumns: {}\n")
    with pytest.raises(LoadError, match="kind: 'work_order' is not a kind a mapping can name"):
        read_mapping(wrong)
    fields = _write(tmp_path, "z.csv.mapping.yaml", "kind: work_orders\ncolumns: {nmber: Job No}\n")
    with pytest.raises(LoadError, match="'nmber' is not a field of work_orders"):
        read_mapping(fields)


def test_warnings_are_carried_and_do_not_skip_rows(graph_env):
    _env, store = graph_env
    done = load_all(store, [LAYOUTS / "generator_classic_fmea.csv"])
    [report] = [r for r, kind in done.loaded if kind == "fmea"]
    assert len(report.warnings) == 2 and all(":RPN:" in w for w in report.warnings), report.warnings
    assert report.rows_skipped == 0 and report.rows == 45


def test_docs_ingest_passes_over_a_mapping_file_beside_its_sheet(tmp_path):
    """`graph map` writes FILE.mapping.yaml beside the sheet; ingesting the folder as documents
    takes the sheet, not the mapping (which it would reject as an unsupported file)."""
    from maintgraph.ingest.pipeline import discover

    for name in ("orders.csv", "orders.csv.mapping.yaml", "datacard.yaml"):
        (tmp_path / name).write_text("x\n")
    assert [file.name for file, _ in discover([tmp_path])] == ["orders.csv"]
