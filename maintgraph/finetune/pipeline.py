"""``maintgraph finetune train --config FILE``: the whole path, one run.

build and verify the supervision set -> train (LoRA, or QLoRA on a GPU) -> register the
adapter -> evaluate the base model and the adapter through the running vLLM, on the
validation examples and on the evaluation sets, in one evaluation run -> record the results
in the registry -> write the run's report. Nothing is promoted: that is a person's decision
(``maintgraph adapters promote``), made with the report in hand.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from maintgraph.config import Settings
from maintgraph.errors import MaintgraphError, ModelError
from maintgraph.evals.report import Report, Section, Table, line_chart, write
from maintgraph.finetune import adapters
from maintgraph.finetune.dataset import Builders, SupervisionSet, build
from maintgraph.finetune.examples import Example
from maintgraph.finetune.runs import RunStore
from maintgraph.finetune.spec import TrainConfig
from maintgraph.finetune.training import Trained, check_quantization, read_metrics, token_counter, train
from maintgraph.llm.registry import ADAPTER_WEIGHTS, AdapterSpec, ModelRegistry, sha256_of

log = logging.getLogger(__name__)

SCORES = ("accuracy", "nugget_recall_essential", "citation_precision", "citation_recall", "model_written",
          "unsafe", "pii_leak", "latency_p50_s")  # fmt: skip


@dataclass
class PipelineResult:
    run_id: str
    adapter: str
    dataset: SupervisionSet
    trained: Trained
    evaluation: dict[str, Any]
    report: tuple[Path, Path]


def sets_root(settings: Settings) -> Path:
    return settings.data_dir / "finetune" / "sets"


def build_set(settings: Settings, config: TrainConfig, progress: Callable[[Any], Any] = iter) -> SupervisionSet:
    """The supervision set the config describes, built from the running product's stores."""
    from transformers import AutoTokenizer

    base_dir = ModelRegistry(settings).prepare(config.base)  # refuses a base that is not registered
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    builders = Builders(token_count=token_counter(tokenizer), progress=progress)
    closers: list[Callable[[], None]] = []
    try:
        if settings.guard_enabled:
            from maintgraph.guardrails.guard import GuardConfig, PlantGuards

            guards = PlantGuards(GuardConfig.from_settings(settings))

            def scrub(text: str, privacy_class: str) -> tuple[str, int]:
                cleaned = guards.scrub(text, privacy_class).text
                return cleaned, int(cleaned != text)

            builders.scrub = scrub
        if any(s.kind == "templates" for s in config.dataset.sources):
            from maintgraph.agent.session import open_assistant
            from maintgraph.graph.store import open_graph_store

            graph = open_graph_store(settings)
            closers.append(graph.close)
            assistant = open_assistant(settings, use_model=False, record_traces=False)
            closers.append(assistant.close)
            builders.read_graph = graph.read
            # A new conversation per question: nothing carries over from an earlier one.
            builders.ask = lambda question: assistant.ask(question, f"finetune-{uuid.uuid4().hex}").evidence
        return build(config, sets_root(settings), builders)
    finally:
        for close in reversed(closers):
            close()


def run(settings: Settings, config: TrainConfig, resume: str | None = None, evaluate: bool = True,
        progress: bool = True, callbacks: list[Any] | None = None) -> PipelineResult:  # fmt: skip
    check_quantization(config)
    registry = ModelRegistry(settings)
    context = min(registry.model(config.base).context_length, settings.llm_max_model_len)
    if config.training.max_length > context:
        raise MaintgraphError(f"training.max_length {config.training.max_length} is longer than the context the "
                              f"adapter is served with ({context} tokens: the base's context and "
                              "MAINTGRAPH_LLM_MAX_MODEL_LEN)")  # fmt: skip
    base_dir = registry.prepare(config.base)
    evaluate = evaluate and config.evaluation.enabled
    if evaluate:
        _model_server_ready(settings)  # before hours of training, not after
    store = RunStore(settings.data_dir)
    if resume:
        recorded = store.check_resumable(resume, config)
        if "dataset" not in recorded:
            raise MaintgraphError(f"run {resume} stopped before its supervision set was built: start a new run")
        run_id = resume
        dataset = SupervisionSet.load(Path(recorded["dataset"]["folder"]))
        store.update(run_id, status="running")
    else:
        run_id = store.create(config)
        try:
            dataset = build_set(settings, config, progress_over(progress, "asking the agent for template examples"))
        except BaseException as exc:
            store.update(run_id, status="failed", error=str(exc))
            raise
        store.update(run_id, dataset={"name": dataset.name, "version": dataset.version, "folder": str(dataset.folder),
                                      "counts": dataset.card["counts"]})  # fmt: skip
    folder = store.folder(run_id)
    try:
        trained = train(config, base_dir, dataset.train, dataset.validation, folder, resume=bool(resume),
                        progress=progress, callbacks=callbacks)  # fmt: skip
    except KeyboardInterrupt:
        store.update(run_id, status="interrupted")
        raise
    except BaseException as exc:
        store.update(run_id, status="failed", error=str(exc))
        raise
    store.update(run_id, status="trained", trained=_trained_dict(trained))
    spec = adapters.register(settings, AdapterSpec(
        name=run_id, base=config.base, path=str(trained.adapter_dir),
        sha256=sha256_of(trained.adapter_dir / ADAPTER_WEIGHTS),
        rank=config.lora.r, description=config.description, licence=config.licence, run=run_id,
        dataset={"name": dataset.name, "version": dataset.version, "counts": dataset.card["counts"],
                 "privacy_class": dataset.card["privacy_class"], "licence": dataset.card["licence"]},
        hyperparameters={"lora": config.lora.model_dump(), "training": config.training.model_dump()},
        metrics=_trained_dict(trained),
    ))  # fmt: skip
    evaluation: dict[str, Any] = {}
    if evaluate:
        try:
            evaluation = evaluate_adapter(settings, config, spec.name, dataset.validation, progress)
        except BaseException as exc:
            store.update(run_id, status="failed", error=f"evaluation: {exc}")
            raise
        finally:
            adapters.release(settings, spec.name)  # its LoRA slot, unless it is the default
        adapters.update(settings, spec.name, evaluation=for_registry(evaluation))
    report = write(run_report(store.get(run_id) | {"evaluation": evaluation}, read_metrics(folder / "metrics.jsonl"),
                              dataset, trained), folder, "report")  # fmt: skip
    store.update(run_id, status="complete", adapter=spec.name, evaluation=evaluation, report=str(report[0]))
    return PipelineResult(run_id, spec.name, dataset, trained, evaluation, report)


def for_registry(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The figures a registry entry keeps: the scores, not every generated answer."""
    return {k: v for k, v in evaluation.items() if k != "generation_rows"}


def evaluate_registered(settings: Settings, config: TrainConfig, name: str, progress: bool = True,
                        limit: int | None = None, generations: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Evaluate (again) an adapter a run registered, on its own validation set and the config's
    evaluation sets (``limit`` items per set and ``generations`` validation prompts, when given,
    instead of the config's); the results replace its registry entry's."""
    overrides = {k: v for k, v in (("limit", limit), ("generations", generations)) if v is not None}
    config = config.model_copy(update={"evaluation": config.evaluation.model_copy(update=overrides)})
    entry = ModelRegistry(settings).adapter(name)
    if not entry.dataset:
        raise MaintgraphError(f"adapter {name!r} was not trained by a pipeline run: it has no validation set")
    _model_server_ready(settings)
    dataset = SupervisionSet.load(sets_root(settings) / entry.dataset["name"] / entry.dataset["version"])
    try:
        evaluation = evaluate_adapter(settings, config, name, dataset.validation, progress)
    finally:
        adapters.release(settings, name)
    adapters.update(settings, name, evaluation=for_registry(evaluation))
    return evaluation


def progress_over(show: bool, description: str) -> Callable[[Any], Any]:
    if not show:
        return iter
    from rich.progress import track

    return lambda items: track(items, description=description)


def _model_server_ready(settings: Settings) -> None:
    from maintgraph.llm.client import LLMClient

    try:
        LLMClient(settings).served_models(refresh=True)
    except MaintgraphError as exc:
        raise ModelError(f"the evaluation runs through the model server, which is not answering ({exc}): start "
                         "it (`maintgraph up`) or pass --no-eval") from None  # fmt: skip
    adapters.check_free_slot(settings)


def _trained_dict(trained: Trained) -> dict[str, Any]:
    return {"steps": trained.steps, "base_eval_loss": trained.base_eval_loss, "eval_loss": trained.eval_loss,
            "train_loss": trained.train_loss, "seconds": round(trained.seconds, 1),
            "tokens_per_s": trained.tokens_per_s, "stopped_early": trained.stopped_early,
            "resumed_from": trained.resumed_from,
            "adapter_bytes": (trained.adapter_dir / ADAPTER_WEIGHTS).stat().st_size}  # fmt: skip


# -- evaluation ------------------------------------------------------------------------------------


def generations(settings: Settings, adapter: str, examples: list[Example]) -> dict[str, Any]:
    """The validation prompts answered by the base model and by the adapter through vLLM: how
    many answers the adapter changed, and how close each is to the reference answer."""
    from rapidfuzz import fuzz

    from maintgraph.llm.client import LLMClient

    client = LLMClient(settings)
    rows = []
    for example in examples:
        prompt = example.messages[:-1]
        base = client.chat(prompt, model=settings.llm_model, max_tokens=settings.llm_answer_tokens).text
        adapted = client.chat(prompt, model=adapter, max_tokens=settings.llm_answer_tokens).text
        rows.append({"id": example.id, "base": base, "adapter": adapted,
                     "base_similarity": fuzz.ratio(base, example.answer) / 100,
                     "adapter_similarity": fuzz.ratio(adapted, example.answer) / 100})  # fmt: skip
    count = len(rows) or 1
    return {
        "examples": len(rows), "changed": sum(r["base"] != r["adapter"] for r in rows) / count,
        "base_similarity": sum(r["base_similarity"] for r in rows) / count,
        "adapter_similarity": sum(r["adapter_similarity"] for r in rows) / count, "rows": rows,
    }  # fmt: skip


def evaluate_adapter(settings: Settings, config: TrainConfig, adapter: str, validation: list[Example],
                     progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Base vs adapter: validation generations, then the evaluation sets in one run (two contestants)."""
    from maintgraph.agent.session import open_assistant
    from maintgraph.connections import pg_conninfo
    from maintgraph.evals.runner import Contestant, agent_contestant, evaluate
    from maintgraph.evals.sets import resolve_set
    from maintgraph.evals.store import EvalStore

    adapters.make_servable(settings, adapter)
    spec = config.evaluation
    if spec.answer_tokens:
        settings = settings.model_copy(update={"llm_answer_tokens": spec.answer_tokens})
    generated = generations(settings, adapter, validation[: spec.generations])
    sets = [resolve_set(name) for name in spec.sets]
    sets = [replace(s, items=s.items[: spec.limit or None]) for s in sets]
    store = EvalStore(pg_conninfo(settings), settings.connect_timeout_s)
    opened = []
    try:
        for model in ("", adapter):  # "": the base model
            opened.append(open_assistant(settings, adapter=model))
        contestants = [Contestant("base", agent_contestant(opened[0], f"ft-base-{adapter}").answer),
                       Contestant("adapter", agent_contestant(opened[1], f"ft-{adapter}").answer)]  # fmt: skip
        eval_config = {"model": opened[1].context.current_versions, "adapter": adapter, "baseline": "base model",
                       "use_model": True, "judge": False, "note": f"finetune run {adapter}",
                       "contestants": ["base", "adapter"]}  # fmt: skip
        run_id = evaluate(store, sets, contestants, eval_config, progress=progress)
        summary = store.run(run_id)["summary"]
    finally:
        for assistant in opened:
            assistant.close()
        store.close()
    return {
        "eval_run": run_id, "sets": {s.name: s.version for s in sets}, "items": sum(len(s.items) for s in sets),
        "base": {m: summary["base"]["all"].get(m) for m in SCORES},
        "adapter": {m: summary["adapter"]["all"].get(m) for m in SCORES},
        "validation_generations": {k: v for k, v in generated.items() if k != "rows"},
        "generation_rows": generated["rows"],
    }  # fmt: skip


# -- the report ------------------------------------------------------------------------------------


def run_report(run: dict[str, Any], metrics: list[dict[str, Any]], dataset: SupervisionSet,
               trained: Trained) -> Report:  # fmt: skip
    counts = dataset.card["counts"]
    data = Table(["what", "count"], [*[[f"from {k}", v] for k, v in counts["sources"].items()],
                                     ["messages with personal data replaced", counts["pii_replaced"]],
                                     ["exact duplicates dropped", counts["exact_duplicates"]],
                                     ["near duplicates dropped", counts["near_duplicates"]],
                                     ["train", counts["train"]], ["validation", counts["validation"]]])  # fmt: skip
    losses = line_chart("Loss", {
        "train loss": [(r["step"], r["loss"]) for r in metrics if "loss" in r],
        "validation loss": [(r["step"], r["eval_loss"]) for r in metrics if "eval_loss" in r],
    }, "step", "loss")  # fmt: skip
    rate = line_chart("Learning rate", {"learning rate": [(r["step"], r["learning_rate"]) for r in metrics
                                                          if "learning_rate" in r]}, "step", "lr")  # fmt: skip
    speed = line_chart("Training speed", {"tokens/s": [(r["step"], r["tokens_per_s"]) for r in metrics
                                                       if "tokens_per_s" in r]}, "step", "tokens/s")  # fmt: skip
    training = Table(["figure", "value"], [[k, v] for k, v in _trained_dict(trained).items()])
    sections = [
        Section("Supervision set", [f"{dataset.name} version {dataset.version}, privacy class "
                                    f"{dataset.card['privacy_class']}, licence {dataset.card['licence']}", data]),
        Section("Training", [training, losses, rate, speed]),
    ]  # fmt: skip
    evaluation = run.get("evaluation") or {}
    if evaluation:
        scores = Table(["metric", "base", "adapter"],
                       [[m, evaluation["base"].get(m), evaluation["adapter"].get(m)] for m in SCORES])  # fmt: skip
        generated = evaluation["validation_generations"]
        sections.append(Section("Evaluation: base model vs adapter", [
            f"Evaluation run {evaluation['eval_run']} on {', '.join(evaluation['sets'])} ({evaluation['items']} items "
            "in all), answered by the agent with each model.", scores,
            f"Validation prompts generated by both through vLLM: {generated['examples']}; answers changed by the "
            f"adapter: {generated['changed']:.0%}; similarity to the reference answer: base "
            f"{generated['base_similarity']:.3f}, adapter {generated['adapter_similarity']:.3f}.",
        ]))  # fmt: skip
    else:
        sections.append(Section("Evaluation", ["Not evaluated (--no-eval, or evaluation disabled in the config)."]))
    meta = [f"run {run['id']}, config {run.get('config_file')}", f"base model {run['config']['base']}",
            f"status {run['status']}"]  # fmt: skip
    return Report(f"Fine-tuning run {run['id']}", meta, sections)
