"""Fine-tuning: supervision sets from approved sources, LoRA training on CPU with the real
SmolLM2-135M base, resume from a checkpoint, the adapter registry (promote / rollback /
export) and the evaluation of base vs adapter through a real vLLM server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from maintgraph.errors import ConfigError, MaintgraphError
from maintgraph.finetune.dataset import Builders, DatasetRefused, build
from maintgraph.finetune.spec import TrainConfig

from .conftest import REPO, cli_env, free_port, run_cli

HOUSE_STYLE = REPO / "data" / "finetune" / "house_style.yaml"
TEMPLATES = REPO / "data" / "finetune" / "templates.yaml"
BASE = "smollm2-135m-instruct"


def write_config(folder: Path, **overrides) -> Path:
    """A small config: the hand-written examples (copied beside it with their card), few steps."""
    for source in (HOUSE_STYLE, HOUSE_STYLE.with_name("house_style.card.yaml")):
        shutil.copy(source, folder / source.name)
    config = {
        "name": "tiny", "base": BASE,
        "dataset": {"sources": [{"kind": "handwritten", "path": "house_style.yaml"}], "min_examples": 10,
                    "validation_fraction": 0.2},
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "training": {"max_steps": 6, "batch_size": 2, "learning_rate": 0.003, "eval_every": 2, "save_every": 2,
                     "log_every": 1, "max_length": 512},
        "evaluation": {"enabled": False},
    }  # fmt: skip
    for section, values in overrides.items():
        config[section] = {**config[section], **values} if isinstance(values, dict) else values
    path = folder / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def tokens(plant_settings):
    """The real base model's token counter (its chat template), prepared once."""
    from transformers import AutoTokenizer

    from maintgraph.finetune.training import token_counter
    from maintgraph.llm.registry import ModelRegistry

    return token_counter(AutoTokenizer.from_pretrained(ModelRegistry(plant_settings).prepare(BASE)))


# -- configuration and the supervision set ---------------------------------------------------------


def test_a_config_vllm_cannot_serve_or_that_cannot_keep_its_best_checkpoint_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"lora.r: Input should be less than or equal to 16"):
        TrainConfig.load(write_config(tmp_path, lora={"r": 32}))
    with pytest.raises(ConfigError, match=r"save_every \(5\) must be a multiple of eval_every \(2\)"):
        TrainConfig.load(write_config(tmp_path, training={"save_every": 5}))


def test_qlora_is_refused_on_a_machine_without_a_gpu(tmp_path, plant_settings):
    from maintgraph.finetune import pipeline
    from maintgraph.finetune.training import cuda_available

    if cuda_available():
        pytest.skip("this machine has a GPU: QLoRA runs here")
    config = TrainConfig.load(write_config(tmp_path, lora={"quantization": "4bit"}))
    with pytest.raises(MaintgraphError, match=r"QLoRA .* needs a CUDA GPU; this machine has none"):
        pipeline.run(plant_settings, config, evaluate=False, progress=False)


def test_a_set_is_scrubbed_deduplicated_split_by_answer_and_written_with_its_card(tmp_path, tokens):
    config = TrainConfig.load(write_config(tmp_path))
    # Duplicates: the same examples twice (exact), and one with a question one letter away (near).
    entries = yaml.safe_load(HOUSE_STYLE.read_text())
    entries.append(entries[0])
    entries.append({**entries[1], "questions": [entries[1]["questions"][0].replace("?", ".")]})
    entries.append({"questions": ["Pump P-777 leaks; call T. Nowak on 07700 900456 before you start?"],
                    "safety": "Isolate it.", "checks": ["Look."], "record": "What you saw."})  # fmt: skip
    (tmp_path / "house_style.yaml").write_text(yaml.safe_dump(entries))
    scrub_calls = []

    def scrub(text: str, privacy_class: str) -> tuple[str, int]:
        scrub_calls.append(privacy_class)
        cleaned = text.replace("T. Nowak", "<PERSON>").replace("07700 900456", "<PHONE_NUMBER>")
        return cleaned, int(cleaned != text)

    built = build(config, tmp_path / "sets", Builders(scrub=scrub, token_count=tokens))
    counts = built.card["counts"]
    assert counts["exact_duplicates"] >= 2 and counts["near_duplicates"] >= 1
    assert counts["pii_replaced"] == 1 and set(scrub_calls) == {"public"}
    assert counts["train"] + counts["validation"] == len(built.train) + len(built.validation) >= 10
    train_answers = {e.answer for e in built.train}
    assert not any(e.answer in train_answers for e in built.validation)  # a paraphrase never validates
    everything = json.dumps([e.to_json() for e in built.train + built.validation])
    assert "Nowak" not in everything and "07700" not in everything
    card = yaml.safe_load((built.folder / "card.yaml").read_text())
    assert card["version"] == built.version and card["privacy_class"] == "public"
    assert card["excluded_eval_sets"].keys() == {"sample_plant", "safety_and_context"}
    assert card["sources"][0]["card"]["licence"].startswith("Apache-2.0")
    again = build(config, tmp_path / "sets", Builders(scrub=scrub, token_count=tokens))
    assert again.version == built.version  # same content, same version


def test_a_set_that_breaks_a_rule_is_refused_with_the_reason(tmp_path, tokens):
    with pytest.raises(DatasetRefused, match=r"examples remain after de-duplication; the config asks for at least 500"):
        build(TrainConfig.load(write_config(tmp_path, dataset={"min_examples": 500})), tmp_path, Builders())
    with pytest.raises(DatasetRefused, match=r"longer than training.max_length = 64 tokens .*house_style:1.1 \(\d+ "):
        build(TrainConfig.load(write_config(tmp_path, training={"max_length": 64})), tmp_path,
              Builders(token_count=tokens))  # fmt: skip

    # An evaluation item's question among the training examples.
    eval_question = json.loads((REPO / "data" / "eval" / "sample_plant.jsonl").read_text().splitlines()[0])["question"]
    leak = tmp_path / "reviewed.jsonl"
    chat = [{"role": "user", "content": eval_question}, {"role": "assistant", "content": "BRG-6312-C3."}]
    leak.write_text(json.dumps({"id": "r1", "question": eval_question.upper(), "messages": chat}) + "\n")
    sources = [{"kind": "handwritten", "path": "house_style.yaml"}, {"kind": "examples", "path": "reviewed.jsonl"}]
    with pytest.raises(DatasetRefused, match=r"reviewed.jsonl: no data card \(reviewed.card.yaml"):
        build(TrainConfig.load(write_config(tmp_path, dataset={"sources": sources})), tmp_path, Builders())
    card = yaml.safe_load(HOUSE_STYLE.with_name("house_style.card.yaml").read_text())
    (tmp_path / "reviewed.card.yaml").write_text(yaml.safe_dump({**card, "privacy_class": "personal"}))
    with pytest.raises(DatasetRefused, match=r"privacy class 'personal' is not allowed in training"):
        build(TrainConfig.load(write_config(tmp_path, dataset={"sources": sources})), tmp_path, Builders())
    (tmp_path / "reviewed.card.yaml").write_text(yaml.safe_dump({**card, "privacy_class": "internal"}))
    with pytest.raises(
        DatasetRefused, match=r"1 example\(s\) ask an evaluation item's question.*sample_plant:single-01"
    ):
        build(TrainConfig.load(write_config(tmp_path, dataset={"sources": sources})), tmp_path, Builders())


# -- reviewed answers from traces ------------------------------------------------------------------


def test_approved_answers_are_exported_from_traces_with_their_evidence_and_a_card(assistant, plant_settings, tmp_path):
    approved = assistant.ask("Which bearing is fitted at the P-101 drive end?", "ft-review-1")
    rejected = assistant.ask("What drives P-501?", "ft-review-2")
    env = cli_env(plant_settings)
    out = tmp_path / "reviewed.jsonl"
    refused = run_cli("finetune", "examples", "from-traces", "--out", str(out), env=env)
    assert refused.returncode == 2 and "--approved" in refused.stderr and not out.exists()
    corrected = tmp_path / "answer.txt"
    corrected.write_text("The P-101 drive end takes a BRG-6312-C3 deep groove ball bearing [graph:Part:BRG-6312-C3].")
    assert run_cli("trace", "review", approved.trace_id, "--reviewer", "A. Lead", "--answer-file", str(corrected),
                   env=env).returncode == 0  # fmt: skip
    assert run_cli("trace", "review", rejected.trace_id, "--reviewer", "A. Lead", "--reject", env=env).returncode == 0
    nobody = run_cli("trace", "review", rejected.trace_id, "--reviewer", " ", env=env)
    assert nobody.returncode != 0 and "say who reviewed it" in nobody.stderr
    exported = run_cli("finetune", "examples", "from-traces", "--approved", "--out", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    ours = [e for e in lines if e["id"] == f"trace:{approved.trace_id}"]
    assert len(ours) == 1 and not any(e["id"] == f"trace:{rejected.trace_id}" for e in lines)
    chat = ours[0]["messages"]
    assert chat[-1]["content"] == corrected.read_text()
    assert "Evidence:\n[" in chat[-2]["content"] and "P-101" in chat[-2]["content"]  # the turn's evidence, by id
    card = yaml.safe_load(out.with_name("reviewed.card.yaml").read_text())
    assert card["privacy_class"] == "internal" and "A. Lead" in card["authors"]


# -- training, resume ------------------------------------------------------------------------------


class _StopAt:
    """A Trainer callback that interrupts the run after ``step`` (as Ctrl-C would)."""

    def __new__(cls, step: int):
        from transformers import TrainerCallback

        class Stop(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == step:
                    raise KeyboardInterrupt

        return Stop()


def test_an_interrupted_run_resumes_at_its_last_checkpoint_and_refuses_a_changed_config(tmp_path, plant_settings):
    from maintgraph.finetune import pipeline
    from maintgraph.finetune.runs import RunStore
    from maintgraph.finetune.training import read_metrics

    path = write_config(tmp_path, name="resumable")
    config = TrainConfig.load(path)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(plant_settings, config, evaluate=False, progress=False, callbacks=[_StopAt(3)])
    store = RunStore(plant_settings.data_dir)
    run = store.list()[0]
    assert run["name"] == "resumable" and run["status"] == "interrupted"
    folder = store.folder(run["id"])
    assert (folder / "checkpoints" / "checkpoint-2").is_dir()

    (tmp_path / "changed").mkdir()
    changed = TrainConfig.load(write_config(tmp_path / "changed", name="resumable", training={"learning_rate": 0.01}))
    with pytest.raises(MaintgraphError, match=r"cannot resume: the config's training changed"):
        pipeline.run(plant_settings, changed, resume=run["id"], evaluate=False, progress=False)

    result = pipeline.run(plant_settings, TrainConfig.load(path), resume=run["id"], evaluate=False, progress=False)
    assert result.trained.resumed_from == 2 and result.trained.steps == 6
    steps = [r["step"] for r in read_metrics(folder / "metrics.jsonl") if "loss" in r]
    assert steps == [1, 2, 3, 4, 5, 6]  # step 3, trained again after checkpoint 2, is logged once
    assert result.trained.base_eval_loss is not None  # measured before the interruption, kept
    assert store.get(run["id"])["status"] == "complete"
    with pytest.raises(MaintgraphError, match="already complete"):
        pipeline.run(plant_settings, TrainConfig.load(path), resume=run["id"], evaluate=False, progress=False)


# -- the whole path through vLLM, promote and rollback ---------------------------------------------


@pytest.fixture(scope="module")
def own_vllm(plant_settings):
    """A vLLM for the plant's data dir, started before training: promoting must load the new
    adapter into a running server. Answers are kept short: an adapter decodes at 2-3 tokens/s
    on CPU, and what is checked is which model answers, not how well."""
    from maintgraph.llm.server import VLLMServer

    settings = plant_settings.model_copy(
        update={"llm_port": free_port(), "vllm_python": REPO / ".venv-vllm/bin/python", "llm_answer_tokens": 48}
    )
    server = VLLMServer(settings)
    server.start()
    try:
        yield settings
    finally:
        server.stop()


@pytest.mark.timeout(1800)  # CPU vLLM decodes through a LoRA adapter at ~2-3 tokens/s: answers take minutes
def test_the_pipeline_trains_an_adapter_vllm_serves_that_changes_answers_and_promotion_switches_the_agent(
    tmp_path, own_vllm
):
    from maintgraph.agent.session import open_assistant
    from maintgraph.finetune import adapters, pipeline
    from maintgraph.llm.registry import ADAPTER_WEIGHTS, ActiveAdapter, ModelRegistry, sha256_of

    settings = own_vllm
    shutil.copy(TEMPLATES, tmp_path / "templates.yaml")
    shutil.copy(TEMPLATES.with_name("templates.card.yaml"), tmp_path / "templates.card.yaml")
    path = write_config(tmp_path, name="piped", dataset={
        "sources": [{"kind": "handwritten", "path": "house_style.yaml"},
                    {"kind": "templates", "path": "templates.yaml", "limit": 6}], "prompt_chars": 700},
        training={"max_steps": 8, "eval_every": 4, "save_every": 4, "log_every": 2, "max_length": 768},
        evaluation={"enabled": True, "sets": ["sample_plant"], "limit": 1, "generations": 3,
                    "answer_tokens": 48})  # fmt: skip
    result = pipeline.run(settings, TrainConfig.load(path), progress=False)

    counts = result.dataset.card["counts"]
    assert counts["sources"]["templates.yaml"] >= 4 and result.dataset.card["privacy_class"] == "internal"
    cited = [e for e in result.dataset.train + result.dataset.validation if e.source == "templates.yaml"]
    assert all("[" in e.answer and "]" in e.answer for e in cited)  # template answers cite evidence ids
    trained = result.trained
    assert trained.steps == 8 and trained.eval_loss < 0.9 * trained.base_eval_loss  # measurably better held out
    generated = result.evaluation["validation_generations"]
    assert generated["examples"] == 3 and generated["changed"] > 0  # vLLM serves it, and it answers differently
    # Not asserted: that 3 generations after 8 steps sit closer to the references (runs measured
    # 0.34 vs 0.38 base, and above it in others: noise at this size); the held-out loss above is the measure.
    assert 0.0 <= generated["adapter_similarity"] <= 1.0
    assert result.evaluation["base"]["accuracy"] is not None and result.evaluation["adapter"]["accuracy"] is not None

    registry = ModelRegistry(settings)
    entry = registry.adapter(result.adapter)
    assert entry.dataset["version"] == result.dataset.version and entry.evaluation["eval_run"]
    assert entry.hyperparameters["lora"]["r"] == 4 and entry.metrics["adapter_bytes"] > 0
    report = result.report[0].read_text()
    assert "Loss" in report and "base model vs adapter" in report

    # Promote: the agent (no adapter named) answers through it at once; rollback restores the default.
    active = ActiveAdapter(settings)
    before = active.name()
    agent = open_assistant(settings)
    try:
        env = {**cli_env(settings), "MAINTGRAPH_LLM_PORT": str(settings.llm_port)}
        promoted = run_cli("adapters", "promote", result.adapter, env=env)
        assert promoted.returncode == 0, promoted.stderr
        assert active.name() == result.adapter
        made = len(agent.context.llm.calls)
        turn = agent.ask("What drives P-501?", "ft-promoted")
        called = [c.model for c in list(agent.context.llm.calls)[made:] if c.kind != "stream"]
        assert called and set(called) == {result.adapter}  # the model actually called (phrasing has its own)
        assert agent.traces.get(turn.trace_id).model["adapter"] == result.adapter
        undone, now = adapters.rollback(settings)
        assert undone == result.adapter and now == before
        made = len(agent.context.llm.calls)
        turn = agent.ask("What drives P-501?", "ft-rolled-back")
        called = [c.model for c in list(agent.context.llm.calls)[made:] if c.kind != "stream"]
        assert called and set(called) == {before or settings.llm_model}  # None: the base model
        assert agent.traces.get(turn.trace_id).model["adapter"] == before
    finally:
        agent.close()
    with pytest.raises(MaintgraphError, match="nothing to roll back"):
        adapters.rollback(settings)

    exported = adapters.export(settings, result.adapter, tmp_path / "exported")
    assert sha256_of(exported / ADAPTER_WEIGHTS) == entry.sha256
    card = (exported / "README.md").read_text()
    assert f"dataset: piped version {result.dataset.version}" in card
    assert "## Evaluation" in card
