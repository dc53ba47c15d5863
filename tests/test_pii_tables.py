"""Ingestion's PII on tables: column by column, so technical sheets come through unchanged.

A people-free FMEA used to lose component names, field labels and table values to "PERSON"
(`Sub-Component: <PERSON>`). These tests read sheets as ``docs ingest`` does and scrub them as
ingestion does, on three FMEA layouts written for this project (tests/data/layouts) and on real
third-party maintenance data (../shared/data), and measure recall on planted names.
"""

from __future__ import annotations

import functools

import pytest

from bench.pii_tables import measure, row_document
from maintgraph.guardrails.guard import GuardConfig, PlantGuards
from maintgraph.guardrails.pii_tables import is_people_header, name_spans, parse_fields, profile_columns
from maintgraph.ingest.scrubbing import column_roles, scrub_document

from .conftest import REPO

LAYOUTS = REPO / "tests" / "data" / "layouts"
POLICY = {"pii": "fix", "injection": "block", "unsafe": "fix", "grounded": "fix", "topic": "block"}


@functools.cache
def _guards() -> PlantGuards:
    return PlantGuards(GuardConfig(policy=POLICY, ingest_operators={"internal": "replace"}))


def test_people_free_sheets_keep_every_value_and_planted_names_are_still_found(capsys):
    if not (LAYOUTS / "generator_classic_fmea.csv").exists():
        pytest.skip("tests/data/layouts is not there")
    figures = measure(rows=30)
    with capsys.disabled():
        print("\n" + figures.report())
    free = figures.people_free
    assert len([s for s in free if s.name.endswith((".csv", ".xlsx"))]) >= 3  # three FMEA layouts at least
    assert {s.name: s.false_person for s in free} == {s.name: 0 for s in free}
    assert {s.name: s.false_other for s in free} == {s.name: 0 for s in free}
    named = [s for s in figures.sheets if s.people]
    assert sum(s.people for s in named) >= 180  # the export's 81 names and 60 planted names, twice each
    assert figures.recall >= 0.95, [s.missed for s in named]
    assert sum(s.false_person for s in named) <= 1  # hardly anything else masked in sheets with people


def test_a_row_keeps_its_components_headers_and_role_titles_and_loses_its_people():
    header = ["Component", "Sub-Component", "Failure Mode", "Severity", "Action", "Raised By", "Responsibility"]
    rows = [
        ["Engine", "Woodward Governor", "Hunting at no load", "6", "Reset droop.", "Ewa Zielińska", "Reliability Eng."],
        ["Engine", "Bosch Pump", "Leaking at delivery valve", "7", "Lister Petter engine: check.", "T. Nowak", ""],
        ["Alternator", "Basler AVR", "Output voltage unstable", "8", "Olufemi Adeyemi replaced the AVR.",
         "Engine Room B", "Mech team / 2027-01-31"],
    ]  # fmt: skip
    documents = [row_document(f"t:{i}", header, row) for i, row in enumerate(rows)]
    scrub = _guards().scrub
    roles = column_roles((d.blocks for d in documents), scrub, "internal")
    assert roles["Raised By"] == roles["Responsibility"] == "person" and roles["Severity"] == "controlled"
    fired = [scrub_document(d, scrub, roles) for d in documents]
    texts = [d.blocks[0].text for d in documents]
    assert "Sub-Component: Woodward Governor" in texts[0] and "Sub-Component: Bosch Pump" in texts[1]
    assert "Raised By: <PERSON>" in texts[0] and "Zieli" not in texts[0] and "Nowak" not in texts[1]
    assert "Responsibility: Reliability Eng." in texts[0] and "Mech team / 2027-01-31" in texts[2]
    assert "Action: <PERSON> replaced the AVR." in texts[2] and "Lister Petter engine" in texts[1]
    assert documents[0].blocks[0].cells[5] == "<PERSON>" and documents[0].blocks[0].cells[1] == "Woodward Governor"
    # Decisions point at the row's text, where the name was.
    assert "Raised By: Engine Room B" in texts[2]  # a place, in a people column, is not a person
    spans = [(f["start"], f["end"]) for d in fired[0] for f in d["findings"]]
    assert len(spans) == 1
    original = "\n".join(f"{h}: {c}" for h, c in zip(header, rows[0], strict=True))
    assert original[spans[0][0] : spans[0][1]] == "Ewa Zielińska"


def test_a_column_of_names_under_a_header_that_does_not_say_so_is_found_by_its_values():
    header = ["Unit", "Crew", "Notes"]
    people = ["Sipho Dlamini", "Maria Gonzalez", "Kenji Watanabe", "Aisha Bello", "Liam Byrne", "Hannah Weber"]
    documents = [row_document(f"c:{i}", header, ["CT-2A", name, "Fan checked."]) for i, name in enumerate(people)]
    scrub = _guards().scrub
    roles = column_roles((d.blocks for d in documents), scrub, "internal")
    assert roles["Crew"] == "person"
    for document in documents:
        scrub_document(document, scrub, roles)
    assert all("Crew: <PERSON>" in d.blocks[0].text for d in documents)


def test_column_profiles_from_headers_and_values():
    assert all(map(is_people_header, ["Raised By", "Technician", "Operator", "Signed off", "Owner",
                                      "Responsibility & Target Date", "Reported by", "Name"]))  # fmt: skip
    assert not any(map(is_people_header, ["Operator Action", "Equipment Name", "Technician Notes", "Owner Dept",
                                          "Sub-Component", "Potential Failure Mode", "Engineer ID"]))  # fmt: skip
    roles = profile_columns({
        "Severity": ["8", "5", "5", "7"], "AP": ["H", "M", "L", "L"], "Item No.": ["1.1", "1.2", "2.1", "3.4"],
        "Component": ["Engine", "Engine", "Engine", "Alternator"],
        "Sub-Component": ["Woodward Governor", "Bosch Pump", "Stamford Exciter Diodes", "Deep Sea Controller"],
        "Effect": ["Set runs but load is not connected; operators restart it by hand", "x " * 10, "y " * 10, "z"],
        "Raised By": ["PM SCHEDULER", "", "Control Room", "Daniel Fraser"],
    })  # fmt: skip
    assert roles == {"Severity": "controlled", "AP": "controlled", "Item No.": "controlled",
                     "Component": "controlled", "Sub-Component": "label", "Effect": "free",
                     "Raised By": "person"}  # fmt: skip


def test_names_in_a_people_column_and_the_role_titles_that_are_not_names():
    def names(value: str) -> list[str]:
        return [value[s:e] for s, e in name_spans(value)]

    assert names("Reliability Eng.") == [] and names("Maintenance Planner / 2027-01-31") == []
    assert names("PM SCHEDULER") == [] and names("Control Room") == [] and names("-") == [] and names("N/A") == []
    assert names("HSE") == [] and names("OEM") == [] and names("Mech team") == []
    assert names("J. Okafor") == ["J. Okafor"] and names("Daniel Fraser") == ["Daniel Fraser"]
    assert names("T. Nowak / A. Brennan 2024-03-01") == ["T. Nowak", "A. Brennan"]
    assert names("Sipho Dlamini (Reliability Eng.)") == ["Sipho Dlamini"]
    assert names("Gráinne Ní Bhriain") == ["Gráinne Ní Bhriain"] and names("NOWAK") == ["NOWAK"]


def test_header_value_lines_are_read_as_a_row_and_prose_is_not():
    text = "Sub-Component: Woodward Governor\nSeverity: 6\nRaised By: Ewa Zielińska"
    fields = parse_fields(text)
    assert [(h, text[s:e]) for h, s, e in fields or ()] == [
        ("Sub-Component", "Woodward Governor"), ("Severity", "6"), ("Raised By", "Ewa Zielińska")]  # fmt: skip
    joined = "Item: Seal; Failure: leak; Raised By: T. Nowak"
    assert [joined[s:e] for _, s, e in parse_fields(joined) or ()] == ["Seal", "leak", "T. Nowak"]
    assert parse_fields("Note: check the seal weekly.") is None
    assert parse_fields("Replaced the seal. Called Aoife Brennan: she agreed.\nRestarted at 14:00.") is None
