"""The agent against the vector-only baseline on the sample plant's question set, with the model.

    .venv/bin/python bench/agent_bench.py [--per-category 4] [--no-model] [--set NAME ...]

Runs on the configured stack with the sample plant loaded and vLLM serving (what `make demo`
leaves running), as an evaluation run (`maintgraph eval run`, stored with its report). Each
question goes through the agent (graph, CMMS tools, documents, model tool choice, model
synthesis, citation check) and through the baseline (document search and the same model and
answer composition, nothing else), in the same run. Reports per-category accuracy of both, the
ratio agent/baseline, end-to-end p50/p95 latency of each, and the agent's p50/p95 per node.
Results go to bench/results/agent.json (agent_no_model.json with --no-model).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maintgraph.agent.session import open_assistant  # noqa: E402
from maintgraph.config import load_settings  # noqa: E402
from maintgraph.evals import runner  # noqa: E402
from maintgraph.evals.metrics import percentile  # noqa: E402
from maintgraph.evals.sets import resolve_set  # noqa: E402
from maintgraph.evals.store import EvalStore  # noqa: E402
from maintgraph.services import Services  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-category", type=int, default=0, help="Questions per category (0 = all).")
    parser.add_argument("--no-model", action="store_true", help="Answer with the cited evidence only.")
    parser.add_argument("--set", action="append", default=None, help="Evaluation sets (default sample_plant).")
    args = parser.parse_args()
    sets = [resolve_set(name) for name in args.set or ["sample_plant"]]
    if args.per_category:
        for eval_set in sets:
            eval_set.items = [i for c in eval_set.by_category() for i in [i for i in eval_set.items
                              if i.category == c][: args.per_category]]  # fmt: skip
    settings = load_settings()
    assistant = open_assistant(settings, use_model=not args.no_model)
    store = EvalStore(Services(settings).pg_conninfo())
    context = assistant.context
    vector_only = runner.vector_only_contestant(context)
    contestants = [runner.agent_contestant(assistant, "bench"), vector_only]
    try:
        config = {"model": context.current_versions, "note": "bench/agent_bench.py"}
        run_id = runner.evaluate(store, sets, contestants, config, progress=True)
        summary = store.run(run_id)["summary"]
        rows = store.results(run_id, "agent")
    finally:
        assistant.close()
        store.close()
    agent, baseline = summary["agent"]["all"], summary["vector-only"]["all"]
    per_node: dict[str, list[float]] = {}
    for row in rows:
        for node, seconds in row["answered"]["timings"].items():
            per_node.setdefault(node, []).append(seconds)
    verdicts: dict[str, int] = {}
    for row in rows:
        verdict = (row["answered"]["route"].get("model_choice") or {}).get("verdict", "none")
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    result = {
        "run": run_id, "questions": agent["items"], "model": context.current_versions,
        "categories": {c: {"agent": agent["categories"][c]["accuracy"],
                           "vector_only": baseline["categories"].get(c, {}).get("accuracy"),
                           "asked": agent["categories"][c]["items"]} for c in agent["categories"]},
        "accuracy": {"agent": agent["accuracy"], "vector_only": baseline["accuracy"],
                     "ratio_agent_to_baseline": agent["accuracy"] / max(baseline["accuracy"], 1e-9)},
        "latency_s": {"agent": {"p50_s": agent["latency_p50_s"], "p95_s": agent["latency_p95_s"]},
                      "vector_only": {"p50_s": baseline["latency_p50_s"], "p95_s": baseline["latency_p95_s"]},
                      "ratio_p50_agent_to_baseline": agent["latency_p50_s"] / baseline["latency_p50_s"]},
        "agent_node_latency_s": {n: {"p50_s": statistics.median(v), "p95_s": percentile(v, 0.95)}
                                 for n, v in per_node.items()},
        "model_tool_choice": verdicts,
    }  # fmt: skip
    print(json.dumps({k: result[k] for k in ("run", "accuracy", "latency_s")}, indent=2))
    for node, figures in sorted(result["agent_node_latency_s"].items()):
        print(f"  {node:<18} p50 {figures['p50_s']:.3f} s   p95 {figures['p95_s']:.3f} s")
    print("model tool choice:", verdicts)
    name = "agent_no_model.json" if args.no_model else "agent.json"
    (REPO / "bench" / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
