"""Readers and structure-aware chunking: what a technician would notice in the chunks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maintgraph.errors import ReadError
from maintgraph.ingest.chunking import chunk_blocks, split_sentences
from maintgraph.ingest.readers import read_path

from .conftest import REPO

DOCS = REPO / "data" / "plant" / "docs"


def words(text: str) -> int:
    return len(text.split())


MANUAL = """# Pump manual

Revision: C

## Maintenance

### Bearing replacement

1. Agree the isolation with the control room.

> **WARNING:** The coupling guard hides a rotating shaft. Apply LOTO-P101 first.

2. Remove the coupling guard.
3. Pull the bearing with the puller.

| Item | Torque | Part |
| --- | --- | --- |
| Cap bolts | 45 N·m | BOLT-M12 |
| Foot bolts | 180 N·m | BOLT-M20 |

## Lubrication

Give the bearing 20 g of grease. Run the pump for 30 min. Refit the plug.
"""


def test_markdown_structure_becomes_chunks(tmp_path):
    path = tmp_path / "pump-manual.md"
    path.write_text(MANUAL)
    (doc,) = read_path(path)
    assert doc.title == "Pump manual" and doc.version == "C" and doc.doc_type == "manual"
    chunks = chunk_blocks(doc.blocks, 40, words)
    by_text = {c.text: c for c in chunks}
    guarded = next(c for c in chunks if "WARNING" in c.text)
    # The warning travels with the step it guards, in that order, never alone.
    assert re.search(r"WARNING:.*LOTO-P101.*\n2\. Remove the coupling guard", guarded.text, re.S)
    assert guarded.heading_path == ("Pump manual", "Maintenance", "Bearing replacement")
    rows = [c for c in chunks if "Cap bolts" in c.text or "Foot bolts" in c.text]
    for chunk in rows:  # every table row keeps its header
        for line in chunk.text.splitlines():
            if "bolts" in line:
                assert line.startswith("Item: ") and "Torque: " in line and "Part: " in line
    lube = next(c for c in chunks if "20 g" in c.text)
    assert lube.heading_path == ("Pump manual", "Lubrication")
    assert not any("Lubrication" in c.heading_path and "bolts" in c.text for c in chunks), "sections never mix"
    assert by_text


def test_a_long_paragraph_is_split_between_sentences_within_budget():
    from maintgraph.search.records import Block

    sentences = [f"Sentence {i} checks the bearing number {i} for wear and heat." for i in range(30)]
    blocks = [Block("heading", "Checks", level=1), Block("paragraph", " ".join(sentences))]
    chunks = chunk_blocks(blocks, 30, words)
    assert len(chunks) > 5
    assert all(c.token_count <= 30 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert joined == " ".join(sentences), "nothing lost, nothing cut"
    assert all(c.text.endswith(".") for c in chunks), "no chunk ends mid-sentence"


def test_sentence_splitter_keeps_abbreviations():
    assert split_sentences("Use grease, e.g. EP2. Then run it. No. 3 pump is spare.") == [
        "Use grease, e.g. EP2.", "Then run it.", "No. 3 pump is spare.",
    ]  # fmt: skip


def test_sample_plant_html_text_and_sheet_rows():
    (bulletin,) = read_path(DOCS / "bulletins" / "sb-2025-03-grease-quantity-p101-p102.html")
    kinds = {b.kind for b in bulletin.blocks}
    assert {"heading", "step", "table_row", "warning"} <= kinds and bulletin.doc_type == "bulletin"
    (rca,) = read_path(DOCS / "notes" / "rca-26-003-p101-de-bearing-failures.txt")
    assert rca.version == "A" and any(b.kind == "step" and b.number == "4" for b in rca.blocks)
    rows = read_path(DOCS / "bulletins.csv")
    assert len(rows) == 13 and rows[0].key == "OPL-001" and rows[0].equipment_tags == ["P-101"]


def test_pdf_text_layer_and_docx_structure(tmp_path):
    from docx import Document as Docx
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in ["SEAL REPLACEMENT", "", "1. Isolate the pump with LOTO-P101.", "2. Drain the casing.", "",
                 "WARNING: the casing may hold hot water."]:  # fmt: skip
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "seal.pdf"))
    (doc,) = read_path(tmp_path / "seal.pdf")
    assert [b.kind for b in doc.blocks] == ["heading", "step", "step", "warning"]
    assert doc.blocks[1].page == 1 and "LOTO-P101" in doc.blocks[1].text

    docx = Docx()
    docx.add_heading("Valve overhaul", level=1)
    docx.add_paragraph("Stroke the valve before work.", style="List Number")
    docx.add_paragraph("WARNING: the actuator holds stored air.")
    docx.add_paragraph("Remove the actuator.", style="List Number")
    table = docx.add_table(rows=2, cols=2)
    for cell, text in zip([*table.rows[0].cells, *table.rows[1].cells], ["Part", "Qty", "SEAT-DN400", "1"],
                          strict=True):  # fmt: skip
        cell.text = text
    docx.save(str(tmp_path / "valve.docx"))
    (doc,) = read_path(tmp_path / "valve.docx")
    assert [(b.kind, b.number) for b in doc.blocks] == [("heading", ""), ("step", "1"), ("warning", ""),
                                                         ("step", "2"), ("table_row", "")]  # fmt: skip
    assert doc.blocks[-1].text == "Part: SEAT-DN400; Qty: 1"


def _encrypted_pdf(path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="secret", owner_password="owner")
    writer.write(path)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"  \n\n ", "empty file"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" * 20, "binary content"),
        ("latin1.txt", "Température du palier: 85 °C, vérifier la graisse.".encode("latin-1"), "not UTF-8"),
        ("broken.pdf", b"%PDF-1.7\nthis is not a pdf body", "unreadable PDF"),
        ("scan.pdf", None, "no text layer"),
        ("locked.pdf", None, "encrypted PDF"),
        ("notes.docx", b"PK\x03\x04 not really a zip", "not a readable DOCX"),
        ("image.png", b"\x89PNG", "unsupported file type .png"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    if name == "scan.pdf":
        from pypdf import PdfWriter

        writer = PdfWriter()
        writer.add_blank_page(200, 200)
        writer.write(path)
    elif name == "locked.pdf":
        _encrypted_pdf(path)
    else:
        path.write_bytes(content)
    with pytest.raises(ReadError, match=re.escape(reason)) as info:
        read_path(path)
    assert str(path) in str(info.value)


def test_xlsx_rows_are_documents_and_a_bad_workbook_is_refused(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Reference", "Subject", "Tag", "Rev", "Lesson"])
    sheet.append(["OPL-101", "Purge the seal before start-up", "P-201; P-202", "B",
                  "Open the flush line for 2 minutes. Check the seal pot level is above the mark."])  # fmt: skip
    sheet.append(["OPL-102", "Belt tension by deflection", "F-301", None,
                  "1. Stop and lock out the fan.\n2. Press the belt midway: 12 mm deflection is right."])  # fmt: skip
    good = tmp_path / "one-point-lessons.xlsx"
    book.save(good)
    first, second = read_path(good)
    assert (first.key, first.title, first.version, first.equipment_tags) == (
        "OPL-101", "Purge the seal before start-up", "B", ["P-201", "P-202"],
    )  # fmt: skip
    assert first.doc_type == "one-point-lesson" and second.version is None
    assert [b.number for b in second.blocks if b.kind == "step"] == ["1", "2"]
    assert first.content_hash != second.content_hash

    no_text = Workbook()
    no_text.active.append(["Reference", "Subject"])
    no_text.active.append(["OPL-103", "A lesson without a body"])
    missing = tmp_path / "lessons-missing-text.xlsx"
    no_text.save(missing)
    (row,) = read_path(missing)  # a text column is used when present, never required
    assert (row.key, row.title) == ("OPL-103", "A lesson without a body")
    assert row.blocks[-1].text == "Reference: OPL-103\nSubject: A lesson without a body"

    fake = tmp_path / "lessons.xlsx"
    fake.write_bytes(b"id,title,text\nOPL-1,a,b\n")  # a CSV renamed to .xlsx
    with pytest.raises(ReadError, match="not a readable XLSX"):
        read_path(fake)
