"""The agent with the model against the agent without it (and, with --baseline, the vector-only
baseline) on the sample plant's question set, in one evaluation run.

    .venv/bin/python bench/agent_bench.py [--per-category 4] [--no-model] [--baseline] [--set NAME ...]

Runs on the configured stack with the sample plant loaded and vLLM serving (what `make demo`
leaves running), as an evaluation run (`maintgraph eval run`, stored with its report). Each
question goes through the agent with the model (graph, CMMS tools, documents, model tool choice,
the composed answer phrased by the model within its time budget, sentence by sentence, each
sentence checked) and through the same agent with no model (the composed answer), in the same
run, so both see the same machine load. Reports per-category accuracy, essential-nugget recall,
median answer length, end-to-end p50/p95 latency of each, the agent's p50/p95 per node, and how
the model's phrasing went: turns it was called on or skipped (and why), sentences sent, and the
share of them that survived the citation check. ``--baseline`` adds the vector-only baseline
(document search + one free-form model answer). ``--no-model`` runs the no-model agent alone.
Results go to bench/results/agent.json (agent_no_model.json with --no-model).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maintgraph.agent.session import open_assistant  # noqa: E402
from maintgraph.config import load_settings  # noqa: E402
from maintgraph.evals import runner  # noqa: E402
from maintgraph.evals.metrics import percentile  # noqa: E402
from maintgraph.evals.sets import resolve_set  # noqa: E402
from maintgraph.evals.store import EvalStore  # noqa: E402
from maintgraph.services import Services  # noqa: E402

FIGURES = ("items", "accuracy", "nugget_recall_essential", "answer_read_chars_p50", "latency_p50_s", "latency_p95_s",
           "model_written", "errors")  # fmt: skip


def phrasing(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How the model's phrasing went over the agent's turns (each turn's route ``phrasing``)."""
    traces = [r["answered"]["route"].get("phrasing") for r in rows]
    traces = [t for t in traces if t]
    called = [t for t in traces if not t.get("skipped")]
    skipped = Counter(t["skipped"].split(":")[0] for t in traces if t.get("skipped"))
    sent = sum(t.get("sent", 0) for t in called)
    survived = sum(t.get("survived", 0) for t in called)
    failed = Counter(why.split(": ", 1)[1].split(" (")[0] for t in called for why in t.get("failed", []))
    took = [t["took_s"] for t in called if "took_s" in t]
    return {"turns": len(rows), "phrasing_planned": len(traces), "model_called": len(called),
            "skipped": dict(skipped), "sentences_sent": sent, "sentences_survived": survived,
            "survival_share": survived / sent if sent else None,
            "sentences_phrasable": sum(t.get("of", 0) for t in called),
            "fell_back_because": dict(failed.most_common()),
            "model_s_p50": statistics.median(took) if took else None,
            "expected_vs_took": [(t["expected_s"], t["took_s"]) for t in called if "took_s" in t][:20]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-category", type=int, default=0, help="Questions per category (0 = all).")
    parser.add_argument("--no-model", action="store_true", help="Only the agent without the model.")
    parser.add_argument("--baseline", action="store_true", help="Also the vector-only baseline (slow: a free answer).")
    parser.add_argument("--set", action="append", default=None, help="Evaluation sets (default sample_plant).")
    args = parser.parse_args()
    sets = [resolve_set(name) for name in args.set or ["sample_plant"]]
    if args.per_category:
        for eval_set in sets:
            eval_set.items = [i for c in eval_set.by_category() for i in [i for i in eval_set.items
                              if i.category == c][: args.per_category]]  # fmt: skip
    settings = load_settings()
    plain = open_assistant(settings, use_model=False, record_traces=False)
    opened = [plain]
    contestants = [runner.agent_contestant(plain, "bench-nomodel", name="agent-no-model")]
    if not args.no_model:
        assistant = open_assistant(settings, use_model=True)
        opened.append(assistant)
        # Interleaved per item would be fairer still; each contestant runs the whole set in turn.
        contestants.insert(0, runner.agent_contestant(assistant, "bench"))
        if args.baseline:
            contestants.append(runner.vector_only_contestant(assistant.context))
    store = EvalStore(Services(settings).pg_conninfo())
    context = opened[-1].context
    try:
        config = {"model": context.current_versions, "note": "bench/agent_bench.py",
                  "model_budget_s": settings.agent_model_budget_s}  # fmt: skip
        run_id = runner.evaluate(store, sets, contestants, config, progress=True)
        summary = store.run(run_id)["summary"]
        main_name = contestants[0].name
        rows = store.results(run_id, main_name)
    finally:
        for opened_one in opened:
            opened_one.close()
        store.close()
    per_node: dict[str, list[float]] = {}
    for row in rows:
        for node, seconds in row["answered"]["timings"].items():
            per_node.setdefault(node, []).append(seconds)
    result = {
        "run": run_id, "model": context.current_versions, "model_budget_s": settings.agent_model_budget_s,
        "contestants": {c.name: {k: summary[c.name]["all"].get(k) for k in FIGURES} for c in contestants},
        "categories": {c.name: {k: v["nugget_recall_essential"] for k, v in
                                summary[c.name]["all"]["categories"].items()} for c in contestants},
        "agent_node_latency_s": {n: {"p50_s": statistics.median(v), "p95_s": percentile(v, 0.95)}
                                 for n, v in per_node.items()},
        "phrasing": phrasing(rows) if not args.no_model else None,
    }  # fmt: skip
    print(json.dumps({k: result[k] for k in ("run", "model_budget_s", "contestants", "phrasing")}, indent=2))
    for node, figures in sorted(result["agent_node_latency_s"].items()):
        print(f"  {node:<18} p50 {figures['p50_s']:.3f} s   p95 {figures['p95_s']:.3f} s")
    name = "agent_no_model.json" if args.no_model else "agent.json"
    (REPO / "bench" / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
