"""The global route's map-reduce over community reports, without a model: a stored report is
read back as its statements and the entities it covers; the reduce step keeps what was scored
as helpful, best first, in the report's own words."""

from __future__ import annotations

from maintgraph.retrieval.community_reports import parse_report, reduce_reports

# A report as graphrag's full_content and the product's "covers" line store it.
STORED = """# Chemical dosing pumps

Diaphragm failures on the dosing pumps recur.

## Diaphragm leaks

External leakage from diaphragms on P-401 and P-402 [FMEAEntry:P-401-DIAPH-ELP].

## Motor bearings

Bearing noise on M-401.

Community L0-abc123 (level 0) covers: Equipment:P-401, Equipment:P-402, FailureMode:ELP ..."""


def test_a_stored_report_is_read_back_as_statements_and_the_entities_it_covers():
    report = parse_report("graphrag:report/L0-abc123#0", STORED)
    assert report.id == "doc:graphrag:report/L0-abc123#0" and report.title == "Chemical dosing pumps"
    assert report.statements == [
        "Diaphragm failures on the dosing pumps recur.",
        "Diaphragm leaks: External leakage from diaphragms on P-401 and P-402 [FMEAEntry:P-401-DIAPH-ELP].",
        "Motor bearings: Bearing noise on M-401.",
    ]
    assert report.members == ["Equipment:P-401", "Equipment:P-402", "FailureMode:ELP"]


def test_the_reduce_step_keeps_helpful_statements_best_first_and_drops_reports_scored_zero():
    dosing = parse_report("graphrag:report/L0-abc123#0", STORED)
    other = parse_report("graphrag:report/L0-def456#0", STORED.replace("Chemical dosing pumps", "Intake"))
    useless = parse_report("graphrag:report/L0-000000#0", STORED.replace("Chemical dosing pumps", "Lighting"))
    unscored = parse_report("graphrag:report/L0-999999#0", STORED.replace("Chemical dosing pumps", "Cooling"))
    dosing.scores, other.scores, useless.scores = [40, 90, 0], [30, 0, 30], [0, 0, 0]

    reduced = reduce_reports([other, useless, unscored, dosing])
    assert [r.title for r in reduced] == ["Chemical dosing pumps", "Intake", "Cooling"]  # "Lighting" helps nothing
    evidence = reduced[0].evidence()
    assert evidence.id == "doc:graphrag:report/L0-abc123#0" and evidence.kind == "doc"
    assert evidence.text == (
        "Chemical dosing pumps: Diaphragm leaks: External leakage from diaphragms on P-401 and P-402 "
        "[FMEAEntry:P-401-DIAPH-ELP]. Diaphragm failures on the dosing pumps recur. "
        "Covers: Equipment:P-401, Equipment:P-402, FailureMode:ELP."
    )  # the best-scored statement first, the one scored 0 left out
    assert reduced[1].kept() == [other.statements[0], other.statements[2]]  # equal scores keep the report's order
    assert reduced[2].kept() == unscored.statements  # unscored: everything, in the report's order
