"""The PII guard's figures on text it was not written against (issue 29), per entity type, with every miss.

    .venv/bin/python bench/pii_eval.py [--heldout-seed 4242] [--heldout-items 400]

Scores the hand-written set (tests/guard_sets/pii.yaml), the generated set the guard was developed
against (tests/guard_sets/pii_generated.yaml, seed 2911) and a draw of the same generator with
another seed that was not looked at while writing the guard (made in memory, not stored), then
counts the texts of real third-party maintenance data (MaintKG work orders, MaintIE texts,
AssetOpsBench records, none with personal data planted) that the guard alters. Prints recall
overall and per type, plant strings (tags, part and work-order numbers, manufacturers) altered,
benign texts altered, and the misses. Results go to bench/results/pii_eval.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import make_pii_set  # noqa: E402
from maintgraph.evals import guard_sets  # noqa: E402
from maintgraph.guardrails.pii import PiiConfig, PiiScanner  # noqa: E402

SETS = REPO / "tests" / "guard_sets"
SHARED = REPO.parent / "shared" / "data"
PLANT_NAMES = ("Kestrel Pumps", "Halden Motors", "Norrland Bearings", "Brightwater Controls", "Northfield Water Works",
               "Pump Hall B")  # fmt: skip


def real_texts() -> dict[str, list[str]]:
    """Real maintenance text without planted personal data, per source (empty where ../shared/data is absent)."""
    sources: dict[str, list[str]] = {}
    maintkg = SHARED / "maintkg" / "case_study_pdl.csv"
    if maintkg.exists():
        with maintkg.open(encoding="utf-8") as f:
            sources["MaintKG work orders"] = sorted({r["OriginalShorttext"] for r in csv.DictReader(f)
                                                     if r["OriginalShorttext"]})  # fmt: skip
    maintie = SHARED / "maintie" / "gold_dev.json"
    if maintie.exists():
        sources["MaintIE texts"] = [" ".join(g["tokens"]) for g in json.loads(maintie.read_text(encoding="utf-8"))]
    orders = SHARED / "assetopsbench" / "sample_data" / "all_wo_with_code_component_events.csv"
    if orders.exists():
        with orders.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        sources["AssetOpsBench work orders"] = sorted({v for r in rows for v in r.values() if v and " " in v
                                                       and len(v) > 15})[:2000]  # fmt: skip
    return sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--heldout-seed", type=int, default=4242)
    parser.add_argument("--heldout-items", type=int, default=400)
    args = parser.parse_args()
    scanner = PiiScanner(PiiConfig(allow_list=PLANT_NAMES))
    scanner.find("warm up")
    sets = {
        "hand-written (pii.yaml)": guard_sets.load(SETS / "pii.yaml")["items"],
        "generated, developed against (pii_generated.yaml)": guard_sets.load(SETS / "pii_generated.yaml")["items"],
        f"generated, held out (seed {args.heldout_seed})": make_pii_set.generate(args.heldout_seed, args.heldout_items),
    }
    results: dict[str, dict[str, object]] = {}
    for name, items in sets.items():
        started = time.perf_counter()
        score = guard_sets.score_pii(scanner, items)
        print(score.report(name) + f"\n  ({time.perf_counter() - started:.1f} s)\n")
        results[name] = {"recall": round(score.recall, 4), "precision": round(score.precision, 4),
                         "by_type": {t: {"found": f, "planted": n} for t, (f, n) in sorted(score.by_type.items())},
                         "kept_altered": len(score.kept_altered), "kept": score.kept,
                         "benign_altered": len(score.benign_altered), "benign": score.benign,
                         "missed": [list(m) for m in score.missed_values]}  # fmt: skip
    for name, texts in real_texts().items():
        altered = [t for t in texts if scanner.find(t)]
        print(f"{name}: {len(altered)}/{len(texts)} texts altered ({len(altered) / len(texts):.2%}); "
              f"e.g. {altered[:5]}")  # fmt: skip
        results[name] = {"texts": len(texts), "altered": len(altered)}
    out = REPO / "bench" / "results" / "pii_eval.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
