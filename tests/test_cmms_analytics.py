"""Analytic questions about the CMMS records, answered exactly by SQL: on the sample plant's export
and on AssetOpsBench's real work orders (IBM, another layout: chillers, H:MM labour, codes with
sub-codes). Every expected figure is computed here from the exported CSV, not copied from the
product's answer."""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from psycopg.rows import dict_row

from maintgraph.agent.periods import find_period
from maintgraph.retrieval.analytics.cmms import CMMSAnalytics, CMMSAnalyticsArgs, is_cmms_analytic
from maintgraph.retrieval.base import Backends
from maintgraph.tools.cmms_import import import_cmms
from maintgraph.tools.postgres_cmms import PostgresCMMS

from .conftest import REPO, SHARED_DATA, TEMPLATE_DB

PLANT = REPO / "data" / "plant"
AOB = SHARED_DATA / "assetopsbench" / "sample_data"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def cmms(running_services) -> Iterator[dict[str, CMMSAnalytics]]:
    """Two CMMS databases: the sample plant's export and AssetOpsBench's sample data."""
    admin = running_services.conninfo("postgres")
    made, backends = [], {}
    for kind, folder in (("plant", PLANT), ("assetopsbench", AOB)):
        name = f"t_cmmsq_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
        made.append(name)
        with psycopg.connect(running_services.conninfo(name), row_factory=dict_row) as conn:
            import_cmms(conn, folder, kind)
        backend = PostgresCMMS(running_services.conninfo(name))
        backends[kind] = CMMSAnalytics(Backends(cmms=SimpleNamespace(backend=backend)))
    yield backends
    for retriever in backends.values():
        retriever.backends.cmms.backend.close()
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in made:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def ask(retriever: CMMSAnalytics, question: str) -> str:
    assert is_cmms_analytic(question), question
    found = find_period(question)
    period = (found[0].isoformat(), found[1].isoformat()) if found else None
    (evidence,) = retriever.run(CMMSAnalyticsArgs(question=question, period=period))
    assert evidence.id.startswith("wo:QUERY:") and f"[{evidence.id}]" in evidence.text  # the computation cites itself
    return evidence.text


def test_counts_totals_averages_and_shares_of_the_plants_work_orders(cmms):
    orders = _rows(PLANT / "work_orders.csv")
    plant = cmms["plant"]
    cm_p401 = [o for o in orders if o["tag"] == "P-401" and o["wo_type"] == "CM"]
    assert f"There are {len(cm_p401)} corrective (CM) work orders on P-401" in ask(
        plant, "How many corrective work orders did P-401 get?"
    )
    em_hours = [Decimal(o["labor_hours"]) for o in orders if o["wo_type"] == "EM" and o["labor_hours"]]
    mean = (sum(em_hours) / len(em_hours)).quantize(Decimal("0.1"))
    assert f"is {mean} hours" in ask(plant, "What's the mean labour time of an emergency job?")
    pm = sum(o["wo_type"] == "PM" for o in orders)
    share = (Decimal(100 * pm) / len(orders)).quantize(Decimal("0.1"))
    assert f"{share}% of the work orders ({pm} of {len(orders)}) are preventive (PM)" in ask(
        plant, "What proportion of our work orders is preventive?"
    )
    q1 = [o for o in orders if o["tag"] == "P-102" and "2025-01-01" <= o["reported_at"][:10] <= "2025-03-31"]
    assert f"There are {len(q1)} work orders on P-102 reported between 2025-01-01 and 2025-03-31" in ask(
        plant, "How many work orders were logged on P-102 in the first quarter of 2025?"
    )


def test_rankings_name_the_leader_with_its_count_and_open_work_orders_are_listed(cmms):
    orders = _rows(PLANT / "work_orders.csv")
    plant = cmms["plant"]
    components = Counter(o["component"] for o in orders if o["wo_type"] in ("CM", "EM") and o["component"])
    (top, n), (second, _) = components.most_common(2)
    assert components[second] < n  # the plant's data has one clear leader
    assert f"{top} has the most corrective (CM) or emergency (EM) work orders: {n}." in ask(
        plant, "Which component turns up on the most corrective or emergency work orders?"
    )
    still_open = sorted(o["number"] for o in orders if o["status"] not in ("CLOSE", "COMP", "CAN"))
    answer = ask(plant, "Which work orders are still open, and how many are there?")
    assert f"There are {len(still_open)} work orders" in answer
    assert all(number in answer for number in still_open)


def test_a_question_about_what_the_cmms_does_not_hold_says_so(cmms):
    plant = cmms["plant"]
    assert "P-109 is not in the CMMS" in ask(plant, "How many work orders have been raised on P-109?")
    assert "There are no emergency (EM) work orders on P-401 and P-402" in ask(
        plant, "How many emergency work orders were raised on P-401 and P-402?"
    )


def test_the_question_reaches_the_database_only_as_parameters(cmms):
    plant = cmms["plant"]
    answer = ask(plant, "How many work orders on P-101'); DROP TABLE work_orders; -- were raised?")
    orders = _rows(PLANT / "work_orders.csv")
    assert f"There are {sum(o['tag'] == 'P-101' for o in orders)} work orders on P-101" in answer
    with plant.backends.cmms.backend.connect() as conn:  # the table is still there
        assert conn.execute("SELECT count(*) AS n FROM work_orders").fetchone()["n"] == len(orders)


def test_the_same_questions_over_assetopsbench_real_work_orders(cmms):
    codes = {c for row in _rows(AOB / "failure_codes.csv") for c in (row["primary_code"], row["secondary_code"]) if c}
    exported = _rows(AOB / "all_wo_with_code_component_events.csv")
    rows = [r for r in exported if r["equipment_id"] and (r["secondary_code"] or r["primary_code"]) in codes | {""}]
    aob = cmms["assetopsbench"]
    preventive = Counter(r["equipment_id"] for r in rows if r["preventive"].upper() == "TRUE")
    (leader, n), (runner_up, m) = preventive.most_common(2)
    answer = ask(aob, "Rank the two pieces of equipment with the most preventive work orders.")
    assert f"{leader}: {n}; {runner_up}: {m}" in answer
    chiller = [r for r in rows if r["equipment_id"] == "CWC04013"]
    corrective = sum(r["preventive"].upper() != "TRUE" for r in chiller)
    assert f"There are {corrective} corrective (CM) work orders on CWC04013" in ask(
        aob, "How many corrective work orders does CWC04013 have?"
    )
    code, times = Counter(r["secondary_code"] or r["primary_code"] for r in rows).most_common(1)[0]
    assert f"{code} (" in ask(aob, "What is the most frequent failure code in the work orders?")
    assert f": {times}." in ask(aob, "What is the most frequent failure code in the work orders?")
