"""False PERSON on people-free technical sheets, and recall on planted names, through ingestion's PII.

    .venv/bin/python bench/pii_tables.py [--prose] [--rows 60]

Each sheet is read as ``docs ingest`` reads it (one document per row, its cells a ``table_row``
block rendered as ``Header: value`` lines; the project's reader when it reads the file, else
the same rendering here) and scrubbed as ingestion scrubs it (``scrub_document`` with the file's
columns profiled over all its rows, through the ingest guard, no allow list: a new plant's
manufacturers are not known yet). ``--prose`` scrubs each block as one run of prose instead,
as ingestion did before (the baseline).

People-free sheets (every mask is false): the three FMEA layouts of ``tests/data/layouts``
(AIAG-VDA compressor, IEC 60812 conveyor FMECA as XLSX, classic AIAG generator) and real
third-party data from ``../shared/data`` (MaintKG excavator work orders, MIT; AssetOpsBench
chiller work orders, failure codes and failure modes, Apache-2.0; MaintIE work-order texts as
prose, MIT), sampled to ``--rows`` rows each.

Names: the work-order export of ``tests/data/layouts`` with its planted names listed, and the
60 names of ``planted_names.txt`` planted into the generator and compressor FMEAs' rows, each
twice: in a ``Raised By`` column and in a sentence of a free-text column ("reported by <name>",
"<name> replaced the seal"). The ingest operator is ``mask`` so the masked text lines up with
the original: a planted name is found when any of its characters is masked; a masked run that
covers no planted name is a false positive.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maintgraph.errors import ReadError  # noqa: E402
from maintgraph.search.records import Block, Document  # noqa: E402

LAYOUTS = REPO / "tests" / "data" / "layouts"
SHARED = REPO.parent / "shared" / "data"
PEOPLE_FREE = ("compressor_aiag_vda.csv", "conveyor_fmeca.xlsx", "generator_classic_fmea.csv")
POLICY = {"pii": "fix", "injection": "block", "unsafe": "fix", "grounded": "fix", "topic": "block"}
# Sentences a technician writes about people, each with a slot for the name.
SENTENCES = (
    "Reported by {name} on the night shift.",
    "{name} replaced the seal and checked alignment.",
    "Confirmed with {name} before restart.",
    "{name} to review after the next outage.",
    "Vibration readings taken by {name}.",
    "Spoke to {name} about spares.",
)


@dataclass
class Sheet:
    """One measured file: its row documents and the planted name spans per document (row) text."""

    name: str
    documents: list[Document]
    planted: list[list[str]] = field(default_factory=list)  # per document: the names written in it
    prose: bool = False  # texts, not rows (MaintIE)


@dataclass
class SheetFigures:
    name: str
    rows: int
    people: int  # planted name occurrences
    found: int
    false_person: int  # people-free: PERSON findings; with names: masked runs that cover no planted name
    false_other: int  # other personal-data findings on text that holds none
    false_examples: list[str]
    missed: list[str]


@dataclass
class Figures:
    sheets: list[SheetFigures]
    seconds: float
    mode: str

    @property
    def people_free(self) -> list[SheetFigures]:
        return [s for s in self.sheets if s.people == 0]

    @property
    def recall(self) -> float:
        planted = sum(s.people for s in self.sheets)
        return sum(s.found for s in self.sheets) / planted if planted else 1.0

    def report(self) -> str:
        lines = [f"PII in tables ({self.mode}): {self.seconds:.1f} s"]
        for s in self.sheets:
            names = f", names found {s.found}/{s.people}" if s.people else ""
            lines.append(f"  {s.name:<40} {s.rows:>4} rows: false PERSON {s.false_person}, other false "
                         f"{s.false_other}{names}" + (f"  e.g. {s.false_examples[:6]}" if s.false_examples else "")
                         + (f"  missed {s.missed[:8]}" if s.missed else ""))  # fmt: skip
        free = self.people_free
        lines.append(f"  people-free sheets: {len(free)}, false PERSON {sum(s.false_person for s in free)}; "
                     f"planted names: recall {self.recall:.3f} "
                     f"({sum(s.found for s in self.sheets)}/{sum(s.people for s in self.sheets)})")  # fmt: skip
        return "\n".join(lines)


def row_document(source: str, header: list[str], cells: list[str], title: str = "") -> Document:
    """A sheet row as ``docs ingest`` makes it: one ``table_row`` block of ``Header: value`` lines."""
    text = "\n".join(f"{h}: {c}" for h, c in zip(header, cells, strict=False) if c.strip())
    block = Block("table_row", text, header=tuple(header), cells=tuple(cells))
    return Document(source=source, uri=f"file:///{source}", title=title or source, doc_type="sheet",
                    content_hash="", blocks=[block])  # fmt: skip


def read_sheet(path: Path) -> list[Document]:
    """The file's row documents as the project's reader makes them (its own rendering if it cannot)."""
    from maintgraph.ingest.readers import read_path

    try:
        read = read_path(path)
    except ReadError:
        read = []
    if read and all(any(b.kind == "table_row" for b in doc.blocks) for doc in read):
        return [Document(source=f"{path.name}:{doc.key}", uri=path.as_uri(), title=doc.title, doc_type=doc.doc_type,
                         content_hash=doc.content_hash, blocks=list(doc.blocks)) for doc in read]  # fmt: skip
    header, rows = _rows(path)
    return [row_document(f"{path.name}:row{i + 2}", header, row) for i, row in enumerate(rows)]


def _rows(path: Path, limit: int | None = None, seed: int = 7) -> tuple[list[str], list[list[str]]]:
    if path.suffix == ".xlsx":
        import openpyxl

        sheet = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
        table = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        start = next(i for i, row in enumerate(table) if sum(bool(c.strip()) for c in row) >= 3)
        header, rows = table[start], [r for r in table[start + 1 :] if any(c.strip() for c in r)]
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle))
        header, rows = table[0], [r for r in table[1:] if any(c.strip() for c in r)]
    if header and not header[0].strip():  # a pandas index column
        header, rows = header[1:], [r[1:] for r in rows]
    if limit is not None and len(rows) > limit:
        rows = random.Random(seed).sample(rows, limit)
    return header, rows


def shared_sheets(rows: int) -> list[Sheet]:
    """Real, people-free technical data from ../shared/data (absent: none)."""
    files = {
        "maintkg excavator work orders": SHARED / "maintkg" / "case_study_pdl.csv",
        "assetopsbench work orders": SHARED / "assetopsbench" / "sample_data" / "all_wo_with_code_component_events.csv",
        "assetopsbench failure codes": SHARED / "assetopsbench" / "sample_data" / "failure_codes.csv",
        "assetopsbench failure modes": SHARED / "assetopsbench" / "sample_data" / "failure_mode.csv",
    }  # fmt: skip
    sheets = []
    for name, path in files.items():
        if path.exists():
            header, sampled = _rows(path, rows)
            sheets.append(Sheet(name, [row_document(f"{path.name}:{i}", header, r) for i, r in enumerate(sampled)]))
    maintie = SHARED / "maintie" / "gold_dev.json"
    if maintie.exists():
        texts = [" ".join(t["tokens"]) for t in json.loads(maintie.read_text())]
        texts = random.Random(7).sample(texts, min(rows, len(texts)))
        docs = [Document(source=f"maintie:{i}", uri="file:///maintie", title="work order", doc_type="note",
                         content_hash="", blocks=[Block("paragraph", t)]) for i, t in enumerate(texts)]  # fmt: skip
        sheets.append(Sheet("maintie work-order texts (prose)", docs, prose=True))
    return sheets


def work_order_export() -> Sheet:
    """The work-order export with every person's name in it listed (Job No -> names)."""
    path = LAYOUTS / "pump_station_wo_export.csv"
    names: dict[str, list[str]] = {}
    for line in (LAYOUTS / "pump_station_wo_export.names.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            job, name = line.split("\t", 1)
            names.setdefault(job.strip(), []).append(name.strip())
    documents = read_sheet(path)
    planted = []
    for doc in documents:
        row = next(b for b in doc.blocks if b.kind == "table_row")
        job = re.search(r"Job No: (\S+)", row.text)
        planted.append(names.get(job.group(1), []) if job else [])
    return Sheet("pump_station_wo_export.csv (names listed)", documents, planted)


def planted_sheet() -> Sheet:
    """The 60 names of planted_names.txt planted into FMEA rows: a Raised By column, and a sentence."""
    names = [n.strip() for n in (LAYOUTS / "planted_names.txt").read_text(encoding="utf-8").splitlines() if n.strip()]
    sources = [_rows(LAYOUTS / "generator_classic_fmea.csv"), _rows(LAYOUTS / "compressor_aiag_vda.csv")]
    documents, planted = [], []
    for i, name in enumerate(names):
        header, rows = sources[i % 2]
        row = list(rows[(i // 2) % len(rows)])
        free = max(range(len(header)), key=lambda c: sum(len(r[c]) for r in rows if c < len(r)))  # longest text
        sentence = SENTENCES[i % len(SENTENCES)].format(name=name)
        row[free] = f"{row[free].rstrip('.')}. {sentence}" if row[free].strip() else sentence
        documents.append(row_document(f"planted:{i}", [*header, "Raised By"], [*row, name]))
        planted.append([name, name])
    return Sheet("FMEA rows with planted_names.txt (x2)", documents, planted)


def _planted_spans(text: str, names: Iterable[str]) -> list[tuple[int, int, str]]:
    """Where the planted names stand in ``text``: every whole-word occurrence, a shorter one inside
    a longer one ("Sipho" in "Sipho Dlamini") not counted twice."""
    spans: list[tuple[int, int, str]] = []
    for name in sorted(set(names), key=len, reverse=True):
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            if not any(m.start() < e and s < m.end() for s, e, _ in spans):
                spans.append((m.start(), m.end(), name))
    return sorted(spans)


def _masked_runs(before: str, after: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\*+", after) if before[m.start() : m.end()] != m.group()]


def measure_sheet(sheet: Sheet, scrub: Callable[..., Any], prose: bool = False) -> SheetFigures:
    """Scrub the sheet's documents as ingestion does (``prose``: each block as one text, as it did)."""
    originals = [[b.text for b in doc.blocks] + [doc.title] for doc in sheet.documents]
    if not prose:  # here, not above: the baseline runs on the code from before column-wise scrubbing too
        from maintgraph.ingest.scrubbing import column_roles, memoised, scrub_document

        scrub = memoised(scrub)  # as ingestion scrubs a file
    roles = {} if prose or sheet.prose else column_roles((d.blocks for d in sheet.documents), scrub, "internal")
    kinds: Counter[str] = Counter()
    for doc in sheet.documents:
        if prose:
            decisions = []
            for i, block in enumerate(doc.blocks):
                verdict = scrub(block.text, "internal")
                doc.blocks[i] = Block(block.kind, verdict.text, header=block.header)
                decisions += verdict.decisions
            title = scrub(doc.title, "internal")
            doc.title, decisions = title.text, decisions + title.decisions
        else:
            decisions = scrub_document(doc, scrub, roles)
        kinds.update(f["kind"] for d in decisions for f in d["findings"])
    people = found = false_person = false_other = 0
    examples, missed = [], []
    for i, (doc, before) in enumerate(zip(sheet.documents, originals, strict=True)):
        names = sheet.planted[i] if sheet.planted else []
        for old, new in zip(before, [b.text for b in doc.blocks] + [doc.title], strict=True):
            if len(old) != len(new):  # not masked in place: count it as a false finding
                false_other += 1
                continue
            spans = _planted_spans(old, names)
            runs = _masked_runs(old, new)
            people += len(spans)
            for s, e, name in spans:
                if any(s < re_ and rs < e for rs, re_ in runs):
                    found += 1
                else:
                    missed.append(name)
            for rs, re_ in runs:
                if not any(rs < e and s < re_ for s, e, _ in spans):
                    false_person += 1
                    examples.append(old[rs:re_])
    if not sheet.planted:  # people-free: every finding is false, counted by its kind
        false_person, false_other = kinds["PERSON"], false_other + sum(n for k, n in kinds.items() if k != "PERSON")
    return SheetFigures(sheet.name, len(sheet.documents), people, found, false_person, false_other, examples, missed)


def measure(rows: int = 60, prose: bool = False, scrub: Callable[..., Any] | None = None) -> Figures:
    """The figures: false PERSON per people-free sheet, and recall on planted names."""
    from maintgraph.guardrails.guard import GuardConfig, PlantGuards

    scrub = scrub or PlantGuards(GuardConfig(policy=POLICY, ingest_operators={"internal": "mask"})).scrub
    scrub("warm-up: call T. Nowak", "internal")
    started = time.perf_counter()
    sheets = [Sheet(name, read_sheet(LAYOUTS / name)) for name in PEOPLE_FREE if (LAYOUTS / name).exists()]
    sheets += shared_sheets(rows)
    if (LAYOUTS / "pump_station_wo_export.names.txt").exists():
        sheets.append(work_order_export())
    if (LAYOUTS / "planted_names.txt").exists():
        sheets.append(planted_sheet())
    figures = [measure_sheet(sheet, scrub, prose) for sheet in sheets]
    return Figures(figures, time.perf_counter() - started, "each block as prose" if prose else "column by column")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prose", action="store_true", help="scrub each block as one text (ingestion before)")
    parser.add_argument("--rows", type=int, default=60, help="rows sampled from each shared data file")
    args = parser.parse_args()
    print(measure(args.rows, args.prose).report())


if __name__ == "__main__":
    main()
