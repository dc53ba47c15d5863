"""Any spreadsheet as documents (issue 26): a plant's FMEA, work-order export or parts list is
ingested as it is, one document per row, each row cited by its sheet and row number.

The layouts in tests/data/layouts were written apart from this code: an AIAG-VDA FMEA of a
compressor (CSV), an IEC 60812 FMECA of a conveyor (XLSX with a title row, notes and merged
cells), a classic AIAG FMEA of a generator with blank "same as above" cells, and a free-text
work-order export with its own column names. None has an ``id``/``title``/``text`` column.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from maintgraph.errors import ReadError
from maintgraph.ingest.pipeline import Ingestor
from maintgraph.ingest.readers import read_path
from maintgraph.search.store import DocumentStore

from .conftest import REPO

LAYOUTS = Path(__file__).parent / "data" / "layouts"
SHARED = Path("/work/shared/data")
CARD = """collection: plant
title: Plant spreadsheets as they were exported
description: FMEAs and a work-order export, as the plant wrote them.
owner: Maintenance Engineering
provenance: written for maintgraph's tests
licence: Apache-2.0
privacy_class: internal
retention: 7 years
contact: maintenance@plant.example
created: 2026-01-05
"""
FILES = {  # file -> its data rows
    "compressor_aiag_vda.csv": 42, "conveyor_fmeca.xlsx": 35, "generator_classic_fmea.csv": 45,
    "pump_station_wo_export.csv": 60,
}  # fmt: skip


@pytest.fixture
def ingestor(pg_conninfo, embedder):
    store = DocumentStore(pg_conninfo)
    yield Ingestor(store, embedder, 200)
    store.close()


def _folder(tmp_path: Path, names) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "datacard.yaml").write_text(CARD)
    for name in names:
        shutil.copy(LAYOUTS / name, docs / name)
    return docs


def _search(ingestor: Ingestor, text: str, k: int = 5):
    vector = ingestor.embedder.embed([text])[0]
    return ingestor.store.search(text, vector, ingestor.embedder.name, k=k)


def _stored(ingestor: Ingestor, source: str) -> str:
    with ingestor.store.connect() as conn:
        rows = conn.execute("SELECT text FROM chunks WHERE source = %s ORDER BY ordinal", (source,)).fetchall()
    return "\n".join(r["text"] for r in rows)


def test_plant_spreadsheets_ingest_as_they_are_and_answers_cite_sheet_and_row(ingestor, tmp_path):
    docs = _folder(tmp_path, FILES)
    report = ingestor.ingest([docs], progress=False)
    assert report.rejected == []
    assert report.documents == sum(FILES.values()) + 1, "every data row, and the conveyor's note under its table"

    # A question about one failure mode finds its row, cited by sheet and row number.
    hits = _search(ingestor, "exhaust valve burnt misfire high exhaust temperature")
    assert hits[0].source == "plant:generator_classic_fmea.csv:row3", [h.source for h in hits]
    assert hits[0].citation == "[doc:plant:generator_classic_fmea.csv:row3#0]"
    assert hits[0].title == "Valves — Exhaust valve burnt"
    # Rendered as Header: value lines; the blank "same as above" cells carry the rows above them.
    assert "Subsystem: Engine\nComponent: Cylinder Head\nSub-Component: Valves\n" in hits[0].text
    assert "Potential Failure Mode: Exhaust valve burnt" in hits[0].text
    assert "Recommended Action:" not in hits[0].text, "empty cells are left out"

    hits = _search(ingestor, "end disc weld cracked on the tail pulley shell")
    assert hits[0].source == "plant:conveyor_fmeca.xlsx:FMECA_CV-03:row10", [h.source for h in hits]
    assert hits[0].citation == "[doc:plant:conveyor_fmeca.xlsx:FMECA_CV-03:row10#0]"
    # Its item and function are blank in the sheet ("same as above", under item 2.1): they are filled.
    assert "Item / Functional Identification: Tail pulley (Ø800 mm)\nFunction: Return the belt" in hits[0].text
    assert hits[0].title == "Tail pulley (Ø800 mm) — End disc weld cracked"
    assert "Failure Rate λ (per 10^6 h): 8\n" in hits[0].text, "numbers as written, never 8.0"
    # The merged item name is in every row of its range (B5:B8), and the title row is context.
    for row in (5, 6, 7, 8):
        text = _stored(ingestor, f"plant:conveyor_fmeca.xlsx:FMECA_CV-03:row{row}")
        assert "Item / Functional Identification: Drive pulley (Ø1,000 mm, ceramic lagged)" in text, row
        assert "Function: Transmit drive torque" in text, row
    assert not any("Prepared per IEC 60812" in h.text for h in hits), "notes above the header are no row"

    hits = _search(ingestor, "impeller surge: flow reversal with loud banging and thrust reversal")
    assert hits[0].source == "plant:compressor_aiag_vda.csv:row2" and hits[0].title == "Impeller — Surge"
    hits = _search(ingestor, "fan vibrating badly rattle from the gearbox, blade pitch")
    assert hits[0].source == "plant:pump_station_wo_export.csv:row2", [h.source for h in hits]
    assert "Job No: J25-0119" in hits[0].text and "Raised: 06/01/2025" in hits[0].text

    # Reingesting the unchanged files changes nothing.
    again = ingestor.ingest([docs], progress=False)
    assert again.documents == 0 and again.removed == [] and len(again.skipped) == report.documents

    # One edited cell rewrites that row only.
    path = docs / "generator_classic_fmea.csv"
    path.write_text(path.read_text().replace("Exhaust valve burnt", "Exhaust valve burnt and guttered"))
    edited = ingestor.ingest([path], progress=False)
    assert edited.replaced == ["plant:generator_classic_fmea.csv:row3"] and edited.added == []
    assert len(edited.skipped) == FILES["generator_classic_fmea.csv"] - 1


def _workbook(path: Path) -> None:
    """A workbook as a plant keeps one: a title and a notes row over the table, merged item cells,
    a date, whole numbers stored as floats, a blank row, a parts sheet, and a sheet not yet filled."""
    from openpyxl import Workbook

    book = Workbook()
    fmea = book.active
    fmea.title = "FMEA Pumps"
    fmea.append(["Lift pump P-101 FMEA"])
    fmea.append(["Notes: S, O, D rated 1-10 per site standard MS-04"])
    fmea.append([])
    fmea.append(["Item", "Failure mode", "Cause", "Sev", "Occ", "Reviewed", "Tag"])
    fmea.append(["Mechanical seal", "Leaks at the faces", "Dry running", 7.0, 3, datetime(2025, 3, 14), "P-101"])
    fmea.append([None, "Leaks at the sleeve O-ring", "O-ring swollen by hypochlorite", 6.0, 2.5, None, "P-101"])
    fmea.append([None, None, None, None, None, None, None])
    fmea.append(["Drive-end bearing", "Overheats", "Over-greased", 5, 4, date(2025, 4, 1), "P-101"])
    fmea.merge_cells("A5:A6")
    spares = book.create_sheet("Spare parts")
    spares.append(["Part", "Description", "Stock"])
    spares.append(["SEAL-MS-55", "Cartridge seal 55 mm", 0])
    book.create_sheet("Review 2026").append(["Item", "Failure mode", "Action"])
    book.save(path)


def test_every_sheet_of_a_workbook_is_read_as_the_plant_wrote_it(tmp_path):
    path = tmp_path / "p101_fmea.xlsx"
    _workbook(path)
    docs = {d.key: d for d in read_path(path)}
    assert list(docs) == ["FMEA_Pumps:row5", "FMEA_Pumps:row6", "FMEA_Pumps:row8", "Spare_parts:row2"]
    seal, sleeve = docs["FMEA_Pumps:row5"], docs["FMEA_Pumps:row6"]
    row = next(b for b in seal.blocks if b.kind == "table_row")
    assert row.text == ("Item: Mechanical seal\nFailure mode: Leaks at the faces\nCause: Dry running\nSev: 7\n"
                        "Occ: 3\nReviewed: 2025-03-14\nTag: P-101")  # fmt: skip
    assert row.header == ("Item", "Failure mode", "Cause", "Sev", "Occ", "Reviewed", "Tag")
    assert row.cells == ("Mechanical seal", "Leaks at the faces", "Dry running", "7", "3", "2025-03-14", "P-101")
    assert "Item: Mechanical seal\n" in sleeve.blocks[-1].text and "Occ: 2.5" in sleeve.blocks[-1].text
    assert seal.title == "Mechanical seal — Leaks at the faces" and seal.equipment_tags == ["P-101"]
    assert next(b.text for b in seal.blocks if b.kind == "heading") == "Lift pump P-101 FMEA", "the title row"
    assert docs["FMEA_Pumps:row8"].blocks[-1].text.endswith("Reviewed: 2025-04-01\nTag: P-101")
    assert docs["Spare_parts:row2"].blocks[-1].text == "Part: SEAL-MS-55\nDescription: Cartridge seal 55 mm\nStock: 0"
    assert len({d.content_hash for d in docs.values()}) == 4
    assert [d.content_hash for d in read_path(path)] == [d.content_hash for d in docs.values()], "stable"


def test_a_sheet_with_a_header_and_no_rows_is_refused_clearly(tmp_path):
    path = tmp_path / "empty_fmea.csv"
    path.write_text("System,Component,Failure Mode,Severity\n,,,\n")
    with pytest.raises(ReadError, match=re.escape("has a header (System, Component, Failure Mode, Severity) in row 1 "
                                                  "but no rows under it")) as info:  # fmt: skip
        read_path(path)
    assert str(path) in str(info.value)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared public data sets are not on this machine")
def test_public_exports_without_id_title_text_columns_are_documents(tmp_path):
    # AssetOpsBench's meter list has no id column (refused before); MaintKG's work orders keep their id.
    meters = read_path(SHARED / "assetopsbench" / "sample_data" / "meter.csv")
    assert len(meters) == 22 and meters[0].key == "row2"
    assert "measurement: current\nunit: amps" in meters[0].blocks[-1].text
    lines = (SHARED / "maintkg" / "case_study_pdl.csv").read_text().splitlines()[:201]
    (tmp_path / "excavator_wo.csv").write_text("\n".join(lines) + "\n")
    orders = read_path(tmp_path / "excavator_wo.csv")
    assert len(orders) == 200 and orders[1].key == "1"
    assert "OriginalShorttext: L/H BUCKET CYL LEAKING.\n" in orders[1].blocks[-1].text
    assert "Cost: 407.4\nRunningTime: 262.0\n" in orders[1].blocks[-1].text, "CSV numbers as written"


def test_the_sample_plants_bulletin_sheet_reads_as_before():
    rows = read_path(REPO / "data" / "plant" / "docs" / "bulletins.csv")
    assert [r.key for r in rows[:3]] == ["OPL-001", "OPL-002", "OPL-003"]
    assert [b.kind for b in rows[0].blocks] == ["heading", "paragraph"], "the text is the body, as before"
    assert rows[0].title == "Count the strokes: grease quantity on the lift pumps"


def test_the_cell_limit_counts_every_sheet_now_that_every_sheet_is_read(tmp_path):
    from openpyxl import Workbook

    from maintgraph.errors import InputTooLarge
    from maintgraph.ingest.readers.limits import ReadLimits

    book = Workbook()
    for name in ("FMEA", "Spares"):
        sheet = book.active if name == "FMEA" else book.create_sheet(name)
        sheet.title = name
        for n in range(10):
            sheet.append([f"Item {n}", "Leaks", n, "P-101"])  # 40 cells a sheet
    path = tmp_path / "two_sheets.xlsx"
    book.save(path)
    message = "sheet 'Spares' has 10 rows x 4 columns (with 40 cells in the sheets before it), over the limit of 60"
    with pytest.raises(InputTooLarge, match=re.escape(message)):
        read_path(path, ReadLimits(max_sheet_cells=60))
    assert len(read_path(path, ReadLimits(max_sheet_cells=80))) == 18
