"""The agent against the vector-only baseline on the sample plant's question set, with the model.

    .venv/bin/python bench/agent_bench.py [--per-category 4] [--no-model]

Runs on the configured stack with the sample plant loaded and vLLM serving (what `make demo`
leaves running). Each question goes through the agent (graph, CMMS tools, documents, model
tool choice, model synthesis, citation check) and through the baseline (document search and
the same model and answer composition, nothing else), in the same run. Reports per-category
accuracy of both, the ratio agent/baseline, end-to-end p50/p95 latency of each, and the
agent's p50/p95 per node (retrieval branches vs the model). Results go to
bench/results/agent.json (agent_no_model.json with --no-model).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from maintgraph.agent.session import open_assistant  # noqa: E402
from maintgraph.config import load_settings  # noqa: E402
from maintgraph.evals.agent_set import (  # noqa: E402
    CATEGORIES,
    agent_answerer,
    comparison_table,
    load_questions,
    run_set,
    vector_only_answerer,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-category", type=int, default=0, help="Questions per category (0 = all).")
    parser.add_argument("--no-model", action="store_true", help="Answer with the cited evidence only.")
    args = parser.parse_args()
    questions = load_questions()
    if args.per_category:
        questions = [q for c in CATEGORIES for q in [q for q in questions if q.category == c][: args.per_category]]
    settings = load_settings()
    assistant = open_assistant(settings, use_model=not args.no_model)
    parts = assistant.parts
    search = parts.toolbox[("docs", "search")]  # the agent's own document search: same store, k and filters
    vector_only = vector_only_answerer(
        lambda text: search(query=text, tags=()), parts.llm, parts.model, parts.prompt_chars
    )
    try:
        agent = run_set("agent", questions, agent_answerer(assistant, f"bench-{uuid.uuid4().hex[:6]}"), progress=True)
        baseline = run_set("vector-only", questions, vector_only, progress=True)
    finally:
        assistant.close()
    print(comparison_table([agent, baseline]))
    result = {
        "questions": len(questions),
        "model": parts.versions,
        "categories": {
            c: {"agent": agent.accuracy(c), "vector_only": baseline.accuracy(c),
                "asked": agent.by_category().get(c, (0, 0))[1]}
            for c in CATEGORIES
        },
        "accuracy": {"agent": agent.accuracy(), "vector_only": baseline.accuracy(),
                     "ratio_agent_to_baseline": agent.accuracy() / max(baseline.accuracy(), 1e-9)},
        "latency_s": {"agent": agent.latency(), "vector_only": baseline.latency(),
                      "ratio_p50_agent_to_baseline": agent.latency()["p50_s"] / baseline.latency()["p50_s"]},
        "agent_node_latency_s": agent.node_latency(),
        "model_tool_choice": _verdicts(agent),
    }  # fmt: skip
    print(json.dumps({k: result[k] for k in ("accuracy", "latency_s")}, indent=2))
    for node, figures in sorted(result["agent_node_latency_s"].items()):
        print(f"  {node:<18} p50 {figures['p50_s']:.3f} s   p95 {figures['p95_s']:.3f} s")
    print("model tool choice:", result["model_tool_choice"])
    name = "agent_no_model.json" if args.no_model else "agent.json"
    (REPO / "bench" / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


def _verdicts(report) -> dict[str, int]:
    """How the router judged the model's tool choices."""
    counts: dict[str, int] = {}
    for item in report.scored:
        verdict = (item.answered.route.get("model_choice") or {}).get("verdict", "none")
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


if __name__ == "__main__":
    main()
