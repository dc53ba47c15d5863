"""The model phrases, the composer guarantees (issue 28): where a reading stands is said first,
a model sentence that fails the citation check falls back to the composer's sentence, and the
model is skipped when it would not finish within the time budget. Model-free: a canned draft is
fed through the real synthesis functions."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from maintgraph.agent.phrasing import PLAN_SHARE, Rates, Survival, measured_rates, phrase, plan_phrasing
from maintgraph.agent.synthesis import check_citations, finish
from maintgraph.errors import MaintgraphError
from maintgraph.finetune.phrasing import LeakedEvaluationItem, check_no_evaluation_items, read_prompt, score
from maintgraph.llm.client import CallRecord
from maintgraph.retrieval.base import Evidence
from maintgraph.retrieval.readings import TITLE as READING_CHECK
from tests.test_compose import SAMPLE_PLANT, pump_question

REPO = Path(__file__).resolve().parents[1]
READING = Evidence(
    "graph:Sensor:VT-101-DE",
    "graph",
    "8 mm/s on VT-101-DE (P-101 drive-end bearing vibration) is above its alarm (7.1 mm/s) and below its "
    "trip (11 mm/s): plan a check soon, not a stop.",
    READING_CHECK,
)


def test_where_the_reading_stands_comes_right_after_isolation_or_first():
    question = "P-101 drive-end vibration reads 8 mm/s. Is that a problem?"
    text = finish("", [*SAMPLE_PLANT, READING], pump_question(question), []).text
    blocks = text.split("\n\n")
    assert blocks[0].startswith("Isolate first") and blocks[1].startswith("8 mm/s on VT-101-DE"), text
    lookup = finish("", [*SAMPLE_PLANT[:3], READING], pump_question(question, "general"), []).text
    assert lookup.startswith("8 mm/s on VT-101-DE") and lookup.split("\n\n")[0].endswith("[graph:Sensor:VT-101-DE]")


HOT = "P-101 drive-end bearing is running hot after greasing, what should I check?"


def test_a_rewritten_sentence_that_fails_the_check_falls_back_to_the_composers_sentence():
    seen = pump_question(HOT)
    plan = plan_phrasing(HOT, SAMPLE_PLANT, seen, budget_s=60, rates=Rates(1000, 10000))
    sent = [plan.sentences[i] for i in plan.sent]
    assert not plan.skipped and len(sent) == 5 and sent[2].text.startswith("Do not add more grease")
    draft = "\n".join([
        "1. Bearing overheating: too much grease or a blocked relief plug; check TT-101-DE (alarm 85 °C). [1]",
        "2. Drive-end bearing vibration: check VT-101-DE (alarm 9.5 mm/s). [2]",  # a number its evidence lacks
        "3. Add more grease to a hot bearing and check the relief port. [3]",  # the negation dropped
        "4. Purge the old grease and refill with 20 g of EP2 grease.",  # no citation
        "5. BRG-6312-C3 deep groove ball bearing, 1 off, for PR-PU-BRG-01. [4]",  # another sentence's evidence
    ])  # fmt: skip
    phrased = phrase(draft, plan, SAMPLE_PLANT)
    assert (phrased.survived, phrased.sent) == (1, 5)
    assert [n for n, _ in phrased.failed] == [2, 3, 4, 5]
    assert "9.5" in phrased.failed[0][1] and "negation" in phrased.failed[1][1] and "citation" in phrased.failed[2][1]
    done = finish(phrased.text, SAMPLE_PLANT, seen, [])
    assert not done.extractive and check_citations(done.text, SAMPLE_PLANT).grounded
    assert "Bearing overheating: too much grease or a blocked relief plug; check TT-101-DE (alarm 85 °C)." in done.text
    for fallen in (sent[1], sent[2], sent[3], sent[4]):  # the composer's own sentences, whole, with their citations
        assert fallen.cited_text() in done.text
    assert "9.5" not in done.text and "Add more grease" not in done.text
    assert done.text.startswith("Isolate first, following LOTO-P101")  # the isolation steps as composed


def test_the_model_is_skipped_when_it_would_not_finish_within_the_budget():
    seen = pump_question(HOT)
    slow = plan_phrasing(HOT, SAMPLE_PLANT, seen, budget_s=5, rates=Rates(decode_tps=2, prefill_tps=400, measured=3))
    assert slow.skipped.startswith("over budget") and not slow.sent and not slow.messages
    assert slow.trace()["skipped"] and slow.expected_s > 5
    # Measured faster: the sentences that fit are sent, and max_tokens stops the model at the budget.
    fast = plan_phrasing(HOT, SAMPLE_PLANT, seen, budget_s=5, rates=Rates(decode_tps=20, prefill_tps=400))
    assert 0 < len(fast.sent) < 5 and fast.expected_s <= 5 * PLAN_SHARE and fast.max_tokens <= 5 * 20  # room left
    assert plan_phrasing(HOT, SAMPLE_PLANT, seen, budget_s=0, rates=Rates(1000, 10000)).skipped  # 0: never called
    # The rates come from the client's records of streamed calls (a tool choice's are not free text).
    records = [CallRecord("m", "stream", 6.0, 400, 51, first_token_s=1.0), CallRecord("m", "tool", 1.0, 400, 90)]
    assert measured_rates(records, "m") == Rates(10.0, 400.0, 1)
    assert measured_rates(records, "other").measured == 0
    assert measured_rates(records, "adapter", prior_decode_tps=5.8) == Rates(5.8, 400.0, 0)  # its evaluation's rate
    # A model whose rewrites mostly fail is not called, but for one turn in five, which measures it again.
    survival = Survival()
    for _ in range(3):
        survival.record("m", 4, 0)
    whys = [survival.why_not("m") for _ in range(5)]
    assert all(w.startswith("its rewrites fail the check: 0 of 12") for w in whys[:4]) and whys[4] == ""
    survival.record("m", 4, 4)  # the probe did well: 4 of 16 survived, at the threshold
    assert survival.why_not("m") == "" and Survival().why_not("new") == ""
    # Nothing the model could phrase in a computed answer: no call.
    computed = Evidence("wo:QUERY:1", "wo", "P-101 has 3 corrective work orders [wo:WO-1].", "cmms_query")
    assert plan_phrasing("How many?", [computed], seen, 60, Rates(1000, 10000)).skipped.startswith("a computed")


def test_phrasing_examples_ask_no_evaluation_item_and_teach_only_lines_the_check_passes():
    rows = [json.loads(line) for line in (REPO / "data" / "finetune" / "phrasing.jsonl").read_text().splitlines()]
    check_no_evaluation_items(r["question"] for r in rows)  # against every set in data/eval
    item = json.loads((REPO / "data" / "eval" / "sample_plant.jsonl").read_text().splitlines()[0])["question"]
    with pytest.raises(LeakedEvaluationItem):
        check_no_evaluation_items(["What is the warranty end date of P-101?", f"  {item.upper()} "])
    scored = [score(r["messages"][-1]["content"], p) for r in rows if (p := read_prompt(r["messages"][-2]["content"]))]
    assert len(scored) > 100 and all(s["survived"] == s["sent"] and s["nuggets_kept"] == s["nuggets"] for s in scored)
    assert any(r["id"].startswith("refusal:") for r in rows)


def test_with_the_served_model_the_composed_answer_streams_first_and_only_checked_lines_replace_it(
    plant_settings, vllm, llm_settings
):
    from maintgraph.agent.session import open_assistant

    settings = plant_settings.model_copy(update={"llm_port": llm_settings.llm_port, "agent_model_budget_s": 8.0})
    served = open_assistant(settings)  # no adapter named: answers on the base, phrasing through its adapter
    try:
        question = "P-101 drive-end vibration reads 8 mm/s. Is that a problem?"
        events = list(served.turn(question, f"phrasing-{uuid.uuid4().hex[:8]}"))
        calls = list(served.context.llm.calls)
    finally:
        served.close()
    result = events[-1].result
    assert {c.model for c in calls if c.kind == "stream"} <= {"phrasing"}  # the adapter promoted for phrasing
    assert {c.model for c in calls if c.kind != "stream"} <= {settings.llm_model}  # the router: the base model
    assert result.route["phrasing"]["skipped"] or any(c.kind == "stream" for c in calls)
    streamed = "".join(e.text for e in events if e.kind == "token")
    assert streamed.startswith("Isolate first") and "8 mm/s on VT-101-DE" in streamed  # the composed answer, at once
    phrasing = result.route["phrasing"]
    assert phrasing["skipped"] or 0 <= phrasing["survived"] <= phrasing["sent"] <= phrasing["of"], phrasing
    assert check_citations(result.answer, [Evidence(e["id"], e["id"].split(":")[0], e["text"], e["title"])
                                           for e in result.evidence]).grounded  # fmt: skip
    assert result.answer.startswith("Isolate first") and "[graph:Sensor:VT-101-DE]" in result.answer


def test_the_phrasing_adapter_is_the_one_promoted_for_phrasing_and_answers_stay_on_their_own(tmp_path):
    from maintgraph.config import Settings
    from maintgraph.llm.registry import ActiveAdapter, ModelRegistry

    settings = Settings(data_dir=tmp_path)
    registry = ModelRegistry(settings)
    shipped = registry.adapter("phrasing").evaluation
    assert shipped["beats_base"] and shipped["promoted_for"] == "phrasing"  # the pipeline's decision, on figures
    assert registry.promoted_for("phrasing") == "phrasing" and registry.promoted_for("answer") is None
    answer, phrasing = ActiveAdapter(settings), ActiveAdapter(settings, "phrasing")
    assert answer.name() is None and phrasing.name() == "phrasing"  # answers on the base, phrasing through it
    phrasing.push("house-style", by="test")  # a site's own promotion for phrasing wins, and leaves answers alone
    assert phrasing.name() == "house-style" and answer.name() is None and not answer.history()
    assert phrasing.pop()["adapter"] == "house-style" and phrasing.name() == "phrasing"
    assert ActiveAdapter(Settings(data_dir=tmp_path, llm_phrasing_adapter="house-style"), "phrasing").name() == (
        "house-style"
    )
    with pytest.raises(MaintgraphError, match="unknown task"):
        ActiveAdapter(settings, "chat")
    from .conftest import run_cli

    listed = run_cli("adapters", "list", env={"MAINTGRAPH_DATA_DIR": str(tmp_path), "COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    assert "answers: the base model; phrasing: phrasing" in listed.stdout
    survival = f"survival {shipped['base']['survival']:.3f} -> {shipped['adapter']['survival']:.3f}"
    assert survival in listed.stdout  # the figures it was promoted on


def test_the_terminal_shows_citations_as_the_numbers_of_the_sources_listed_below():
    from rich.console import Console

    from maintgraph.agent.session import TurnResult
    from maintgraph.apps.chat import print_result

    fmea = "graph:FMEAEntry:P-101/BRG-DE/VIB/outer-race-defect-bearing-fatigue"
    answer = f"Bearing fatigue: check VT-101-DE (alarm 7.1 mm/s) [{fmea}]. Last done on WO-26-00022 [wo:WO-26-00022]."
    cited = [{"id": fmea, "title": "fmea", "text": ""}, {"id": "wo:WO-26-00022", "title": "work order", "text": ""}]
    console = Console(width=200, record=True)
    print_result(console, TurnResult("t", "q", answer, cited, {}, {}))
    shown = console.export_text()
    assert "(alarm 7.1 mm/s) [1]. Last done on WO-26-00022 [2]." in shown
    assert f"1. {fmea}" in shown and "2. wo:WO-26-00022" in shown  # the ids, once, in the list of sources
    assert shown.count(fmea) == 1
