"""FMEA sheets as plants write them (issue 26): three layouts written independently of the loader
(tests/data/layouts), loaded through load_paths with no refusal, the mapping reported, wrong RPNs
as warnings, the hierarchy as nodes entity linking finds, free-text modes kept and mapped only when
confident, and a reload of an unchanged file changing nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

from maintgraph.graph.linking import EntityLinker
from maintgraph.graph.loaders import load_paths
from maintgraph.graph.loaders.mode_mapping import LexicalModeMapper, SimilarityModeMapper
from maintgraph.graph.loaders.tabular import Column, Problems, header_tokens, read_sheet

from .test_graph_reload import snapshot

LAYOUTS = Path(__file__).parent / "data" / "layouts"
FALKOR = pytest.mark.parametrize("graph_store", ["falkordb"], indirect=True)


def _copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copy(LAYOUTS / name, tmp_path / name))


@pytest.mark.parametrize(
    ("header", "tokens"),
    [("Potential Cause(s) of Failure", {"cause", "failure"}), ("Failure Mode (FM)", {"failure", "mode"}),
     ("Occ", {"occurrence"}), ("S", {"severity"}), ("Risk Priority Number", {"rpn"}), ("AP", {"ap"}),
     ("Current Prevention Controls (PC)", {"prevention", "control"}), ("Effects", {"effect"})],
)  # fmt: skip
def test_headers_compare_by_tokens(header, tokens):
    assert header_tokens(header) == tokens


def test_header_below_title_and_notes_merged_cells_and_same_as_above(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["FMEA - Haul truck HT-7"])
    sheet.merge_cells("A1:F1")
    sheet.append(["Revision 3, prepared by reliability"])
    sheet.append([])
    sheet.append(["Subsystem", "Component", "Potential Failure Mode", "Potential Cause(s) of Failure", "Sev", "RPN"])
    sheet.append(["Engine", "Turbocharger", "Bearing seized", "Oil starvation", 8, 80])
    sheet.append([None, None, "Compressor wheel cracked", "Foreign object", 9, 90])
    sheet.append([None, "Oil pump", "Low output", "Worn gears", 6, 60])
    sheet.append(["Transmission", None, "Clutch slipping", "Worn plates", 5, 50])
    sheet.append(["Engine"])  # a section heading merged over the row
    sheet.merge_cells("A9:F9")
    sheet.append(["Notes: ratings per site procedure RP-12, reviewed yearly by the reliability team."])
    path = tmp_path / "truck.xlsx"
    book.save(path)
    columns = [Column("Subsystem", required=False), Column("Component", required=False),
               Column("Failure Mode", loose=True), Column("Cause", ("Failure Cause",), loose=True),
               Column("Severity", ("Sev",)), Column("RPN")]  # fmt: skip
    rows = read_sheet(path, columns, Problems("t"), fill_down=["Subsystem", "Component"])
    assert rows.header_row == 4 and rows.title == "FMEA - Haul truck HT-7"
    assert rows.mapping["Cause"] == "Potential Cause(s) of Failure" and rows.mapping["Severity"] == "Sev"
    assert [(r.line, r.get("Subsystem"), r.get("Component")) for r in rows] == [
        (5, "Engine", "Turbocharger"), (6, "Engine", "Turbocharger"), (7, "Engine", "Oil pump"),
        (8, "Transmission", ""),  # a new parent: its blank child is not the row above's
    ]  # fmt: skip
    forced = read_sheet(path, columns, Problems("t"), mapping={"Component": "Subsystem", "Subsystem": "Component"})
    assert forced.mapping["Component"] == "Subsystem" and forced[0].get("Component") == "Engine"


@FALKOR
def test_three_layouts_load_with_no_refusal_and_report_their_mapping(graph_store, tmp_path):
    files = [_copy(tmp_path, n) for n in ("compressor_aiag_vda.csv", "conveyor_fmeca.xlsx",
                                          "generator_classic_fmea.csv")]  # fmt: skip
    reports = {Path(r.source).name: r for r in load_paths(graph_store, files) if r.source.endswith(("csv", "xlsx"))}
    vda, fmeca, classic = (reports[f.name] for f in files)
    assert vda.mapping["Failure Mode"] == "Failure Mode (FM)" and vda.mapping["AP"] == "Action Priority (AP)"
    assert vda.mapping["Prevention Controls"] == "Current Prevention Controls (PC)" and vda.header_row == 1
    assert fmeca.header_row == 4 and fmeca.mapping["Item"] == "Item / Functional Identification"
    assert fmeca.mapping["Severity Class"] == "Severity Class" and fmeca.mapping["Criticality"] == "Criticality (Cm)"
    assert classic.mapping["Cause"] == "Potential Cause(s) of Failure"
    assert classic.mapping["Effect"] == "Potential Effect(s) of Failure"
    assert not vda.skipped and not fmeca.skipped and not classic.skipped
    counts = {r["src"]: r["n"] for r in graph_store.read(
        "MATCH (f:FMEAEntry) UNWIND f.sources AS s RETURN s AS src, count(f) AS n")}  # fmt: skip
    assert [counts[str(f.resolve())] for f in files] == [42, 35, 45]
    # the two wrong RPNs: warnings with file:row:column, kept as written
    assert len(classic.warnings) == 2, classic.warnings
    assert all(w.startswith(f"{files[2].resolve()}:") and ":RPN: " in w for w in classic.warnings)
    assert not vda.warnings and not fmeca.warnings
    # AP as written, and derived where missing; FMECA figures stored
    assert graph_store.read("MATCH (f:FMEAEntry {failure_mode: 'Surge'}) RETURN f.action_priority AS ap") == [
        {"ap": "H"}]  # fmt: skip
    [lagging] = graph_store.read("MATCH (f:FMEAEntry {failure_mode: 'Lagging worn / delaminated'}) RETURN f")
    props = lagging["f"].properties
    assert (props["severity_class"], props["criticality"], props["failure_mode_ratio"]) == ("III", 0.0392, 0.35)
    assert props["item_no"] == "1.1" and props["end_effect"].startswith("Belt slips on drive pulley")


@FALKOR
def test_hierarchy_nodes_queries_and_linking(graph_store, tmp_path):
    load_paths(graph_store, [_copy(tmp_path, "compressor_aiag_vda.csv"), _copy(tmp_path, "generator_classic_fmea.csv")])
    impellers = graph_store.read(
        "MATCH (e:Equipment {tag: 'COMPRESSOR-CORE'})-[:HAS_SUBUNIT]->(s:Subunit)"
        "-[:HAS_COMPONENT]->(c:Component {name: 'Impeller'}) "
        "RETURN e.name AS e, s.name AS s, c.id AS id ORDER BY s"
    )
    assert [(r["e"], r["s"]) for r in impellers] == [("Compressor core", "Stage 1 compressor"),
                                                     ("Compressor core", "Stage 2 compressor")]  # fmt: skip
    assert len({r["id"] for r in impellers}) == 2  # the same name under two parents: two nodes
    # the existing query path reaches the entries
    [row] = graph_store.read(
        "MATCH (:Equipment {tag: 'COMPRESSOR-CORE'})-[:HAS_SUBUNIT]->(:Subunit)-[:HAS_COMPONENT]->(:Component)"
        "-[:HAS_FMEA]->(f:FMEAEntry) RETURN count(f) AS n"
    )
    assert row["n"] > 0
    linker = EntityLinker.from_store(graph_store)
    for text, label, name in [("the compressor's intercooler is leaking", "Subunit", "Intercooler"),
                              ("turbocharger", "Subunit", "Turbocharger"),
                              ("lubrication system oil pump", "Subunit", "Oil Pump")]:  # fmt: skip
        best = [m.best for m in linker.link(text) if m.best and m.best.label == label]
        assert best and best[0].name == name, (text, linker.link(text))


@FALKOR
def test_free_text_modes_kept_and_mapped_only_when_confident(graph_store, tmp_path):
    load_paths(graph_store, [_copy(tmp_path, "compressor_aiag_vda.csv")])
    rows = {r["t"]: r for r in graph_store.read(
        "MATCH (f:FMEAEntry) OPTIONAL MATCH (f)-[r:FOR_MODE]->(m:FailureMode) "
        "RETURN f.failure_mode AS t, m.code AS code, r.confidence AS c, f.mode_method AS method")}  # fmt: skip
    assert rows["Surge"]["code"] is None and rows["IGV stuck"]["code"] is None  # no code forced
    assert rows["Vibration"]["code"] == "VIB" and rows["Vibration"]["c"] == 1.0
    assert rows["Fail to start"]["code"] == "FTS" and rows["Fail to start"]["method"] == "vocabulary"
    kept = graph_store.read("MATCH (f:FMEAEntry) WHERE f.failure_mode IS NOT NULL RETURN count(f) AS n")
    assert kept == [{"n": 42}]  # every entry keeps its text as written, mapped or not


# Hand-labelled: failure-mode text as plants write it -> the ISO 14224 code a reliability engineer
# would give, or None where no one code is right.
LABELLED = {
    "Surge": None, "Low output (capacity below rating)": "LOO", "Blade erosion / pitting": None,
    "Seal leaking oil into air": None, "Diffuser vane cracked": "STD", "Vibration high": "VIB",
    "IGV stuck": None, "Tube leak (water into air)": None, "External leakage (cooling water)": "ELU",
    "Overheating": "OHE", "Gear tooth pitting": None, "Oil pressure low": "LBP",
    "Noise (pump cavitating)": "NOI", "Fail to start": "FTS", "Spurious stop": "SPO", "Bearing wipe": None,
    "Bearing seized": "BRD", "Fail to start on demand": "FTS", "Spurious trip": "SPO",
    "Head gasket blown": None, "Cracked or leaking": None, "Excessive vibration": "VIB",
    "Filter blocked": "PLU", "Fails to close": "FTC", "Erratic reading": "ERO", "VIB": "VIB",
    "ohe - overheating": "OHE", "Air leak at flange": None, "Reading drifted low": None,
}  # fmt: skip


def test_lexical_mode_mapping_precision_on_a_hand_labelled_list():
    found = LexicalModeMapper().map(list(LABELLED))
    mapped = {text: m.code for text, m in found.items() if m is not None}
    right = sum(LABELLED[text] == code for text, code in mapped.items())
    precision, recall = right / len(mapped), right / sum(v is not None for v in LABELLED.values())
    print(f"mode mapping: {len(mapped)} mapped, precision {precision:.2f}, recall {recall:.2f}")
    assert precision >= 0.9, {t: c for t, c in mapped.items() if LABELLED[t] != c}
    assert recall >= 0.6
    assert all(found[text] is None for text in ("Surge", "Cracked or leaking", "Air leak at flange"))


def test_similarity_mapper_takes_only_what_is_clear():
    def similarity(texts, labels):  # a stand-in for an embedding model: "pressure" texts -> LBP
        return [[0.93 if "Low oil supply pressure" in label and "pressure" in text else 0.2 for label in labels]
                for text in texts]  # fmt: skip

    mapper = SimilarityModeMapper(similarity, threshold=0.8)
    found = mapper.map(["Oil pressure low", "Surge", "Vibration"])
    assert found["Oil pressure low"].code == "LBP" and found["Oil pressure low"].method == "similarity"
    assert found["Surge"] is None and found["Vibration"].method == "vocabulary"


@FALKOR
def test_reloading_an_unchanged_layout_changes_nothing(graph_store, tmp_path):
    files = [_copy(tmp_path, n) for n in ("conveyor_fmeca.xlsx", "generator_classic_fmea.csv")]
    load_paths(graph_store, files)
    before = snapshot(graph_store)
    load_paths(graph_store, files)
    assert snapshot(graph_store) == before


def test_the_products_mode_mapper_adds_the_embedding_model_only_where_it_is_sure():
    """What `graph load` maps with: the vocabulary, then the packaged embedding model."""
    from maintgraph.config import Settings
    from maintgraph.ingest.builder import build_mode_mapper

    mapper = build_mode_mapper(Settings())
    found = mapper.map([*LABELLED, "Fail to trip on demand", "Leaks back", "External leakage of fuel"])
    mapped = {text: m.code for text, m in found.items() if m is not None and text in LABELLED}
    precision = sum(LABELLED[text] == code for text, code in mapped.items()) / len(mapped)
    by_model = {text: m.code for text, m in found.items() if m is not None and m.method == "similarity"}
    print(f"mode mapping with the embedding model: {len(mapped)} of {len(LABELLED)} mapped, precision "
          f"{precision:.2f}; by the model: {by_model}")  # fmt: skip
    assert precision >= 0.9
    assert by_model["Fail to trip on demand"] == "FTF" and by_model["Leaks back"] == "INL"
    assert by_model["Oil pressure low"] == "LBP"
    assert all(found[text] is None for text in ("Surge", "IGV stuck", "Cracked or leaking", "Air leak at flange"))
