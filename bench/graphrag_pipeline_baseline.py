"""graphrag's own standard indexing pipeline, run on the sample plant's documents through the
project's model server: what it really asks of the model, up to community reports.

    .venv/bin/python bench/graphrag_pipeline_baseline.py --base-url http://127.0.0.1:8390/v1 \\
        --model smollm2-135m-instruct [--docs N] [--output DIR] [--max-tokens N] [--per-call]

The counterpart of ``graphrag_pipeline_estimate`` (a lower bound counted without running):
``graphrag.api.build_index`` runs the standard method's workflows with a GraphRagConfig built
in code (no settings.yaml), graphrag's default prompts, chunking (1,200 tokens, 100 overlap),
gleanings (1), clustering and report length, over the documents of ``data/plant/docs``
(.md/.txt/.html, read as the estimate reads them, HTML as its visible text), written as .txt
files into a temporary input folder for graphrag's text reader. ``--docs N`` keeps the first N.

It prints JSON: documents and text units; model calls (every HTTP completion call, retries
included, counted by a LiteLLM success/failure callback, the server's own usage for tokens),
prompt and completion tokens, by workflow and by prompt (extraction, gleaning, description
summary, community report) with the per-call prompt sizes; wall seconds per workflow and in
all; the entities, relationships, communities and community reports produced; any workflow
that failed, with its error, and the errors graphrag logged and went on past (a report that
did not parse, say).

What differs from a stock graphrag run, and why:
- ``generate_text_embeddings`` (the standard method's last workflow) is skipped: the project's
  model server has no embeddings endpoint, and nothing up to the reports needs vectors. So no
  vector store is written (its LanceDB path is pointed into the temporary folder anyway).
- Every tokenizer graphrag builds (the chunker's tiktoken o200k_base, LiteLLM's for the model)
  is the served model's own Hugging Face tokenizer: tiktoken would download its encodings, and
  there is no network. The tokenizer is the served model's folder (``root`` in /v1/models) when
  it is on this machine, else the project's model registry prepares it (``--tokenizer`` sets it).
- Four requests at once (graphrag's default is 25), two retries (its default seven), and no
  retries inside the OpenAI client, so every attempt is a counted call. ``--max-tokens`` caps
  each completion (default: unset, as graphrag leaves it; the server then allows the rest of
  the context, which a small model that repeats itself fills); calls cut there are counted.
- graphrag's input, cache and output tables and logs live in a temporary folder, deleted
  afterwards; ``--output`` (a new or empty folder) keeps the tables, logs and cache (the model's
  answers) there instead. The cache always starts empty, so no call is answered from an old one.

The server needs a context that holds graphrag's extract_graph prompt (~2,000 tokens) plus a
1,200-token chunk and the answers: start one with e.g. ``MAINTGRAPH_DATA_DIR=/tmp/mgbase
MAINTGRAPH_LLM_PORT=8390 MAINTGRAPH_LLM_MAX_MODEL_LEN=8192 .venv/bin/maintgraph llm serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Before litellm is imported (by graphrag): it would fetch its price list, and HF models stay local.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.graphrag_pipeline_estimate import documents  # noqa: E402
from maintgraph.ingest.community_reports import ServedTokenizer  # noqa: E402

CONCURRENCY = 4
MAX_RETRIES = 2  # graphrag's exponential backoff refuses fewer than 2
SKIPPED = {"generate_text_embeddings": "no embeddings endpoint on the model server; not needed up to the reports"}
TABLES = ("documents", "text_units", "entities", "relationships", "communities", "community_reports")


# -- the served model's tokenizer, for every tokenizer graphrag asks for --------------------------------


class HFTokenizer(ServedTokenizer):
    """The project's ServedTokenizer (encode without special tokens) over a given model folder."""

    def __init__(self, path: Path) -> None:
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # "sequence longer than the model's maximum": graphrag chunks it
        self._hf = AutoTokenizer.from_pretrained(str(path))


def served_models(base_url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base_url}/models", timeout=10)
    response.raise_for_status()
    return response.json()["data"]


def tokenizer_dir(models: list[dict[str, Any]], model: str, explicit: Path | None) -> Path:
    """The served model's Hugging Face folder: given, else the server's (if local), else the registry's."""
    if explicit:
        return explicit
    entry = next(m for m in models if m["id"] == model)
    root = Path(entry.get("root") or "")
    if root.is_absolute() and (root / "tokenizer_config.json").is_file():
        return root
    from maintgraph.config import load_settings
    from maintgraph.llm.registry import ModelRegistry

    return ModelRegistry(load_settings()).prepare(model)


def use_tokenizer(tokenizer: ServedTokenizer) -> Any:
    """Register ``tokenizer`` as graphrag_llm's tiktoken and litellm tokenizers (graphrag builds the
    chunker's with ``get_tokenizer(encoding_model=...)``, a completion's with LiteLLM's); a factory
    only registers its own when the name is free, so these stay."""
    from graphrag_llm.config.types import TokenizerType
    from graphrag_llm.tokenizer import Tokenizer, register_tokenizer

    class Served(Tokenizer):
        def __init__(self, **_: Any) -> None:
            pass

        def encode(self, text: str) -> list[int]:
            return tokenizer.encode(text)

        def decode(self, tokens: list[int]) -> str:
            return tokenizer.decode(tokens)

        def num_tokens(self, text: str) -> int:
            return tokenizer.num_tokens(text)

    for kind in (TokenizerType.Tiktoken, TokenizerType.LiteLLM):
        register_tokenizer(kind, Served)

    from graphrag.config.defaults import ENCODING_MODEL
    from graphrag.tokenizer.get_tokenizer import get_tokenizer

    chunker = get_tokenizer(encoding_model=ENCODING_MODEL)
    if not isinstance(chunker, Served):
        raise RuntimeError(f"graphrag's chunker would use {type(chunker).__name__}, not the served model's tokenizer")
    return chunker


# -- counting the model calls ---------------------------------------------------------------------------


def prompt_kinds() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Which graphrag prompt a call sends, recognised by the template's text before its first field."""
    from graphrag.prompts.index import extract_graph
    from graphrag.prompts.index.community_report import COMMUNITY_REPORT_PROMPT
    from graphrag.prompts.index.extract_claims import EXTRACT_CLAIMS_PROMPT
    from graphrag.prompts.index.summarize_descriptions import SUMMARIZE_PROMPT

    starts = [("extract_graph", extract_graph.GRAPH_EXTRACTION_PROMPT), ("summarize_descriptions", SUMMARIZE_PROMPT),
              ("community_report", COMMUNITY_REPORT_PROMPT), ("extract_claims", EXTRACT_CLAIMS_PROMPT)]  # fmt: skip
    follow_ups = {extract_graph.CONTINUE_PROMPT: "extract_graph_gleaning",
                  extract_graph.LOOP_PROMPT: "extract_graph_loop_check"}  # fmt: skip
    return [(kind, text.split("{", 1)[0].strip()) for kind, text in starts], follow_ups


def _seconds(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value or 0.0)


def call_logger(tokenizer: ServedTokenizer) -> Any:
    """A LiteLLM callback recording every completion call (by LiteLLM's call id, so a call logged
    both ways is one call)."""
    from litellm.integrations.custom_logger import CustomLogger

    starts, follow_ups = prompt_kinds()

    def texts_of(messages: Any, role: str | None = "user") -> list[str]:
        if isinstance(messages, str):
            return [messages]
        return [m.get("content") if isinstance(m.get("content"), str) else json.dumps(m.get("content"))
                for m in messages or [] if role is None or m.get("role") == role]  # fmt: skip

    def kind_of(texts: list[str]) -> str:
        if not texts:
            return "other"
        if texts[-1] in follow_ups:
            return follow_ups[texts[-1]]
        first = texts[0].strip()
        return next((kind for kind, start in starts if first.startswith(start)), "other")

    class Calls(CustomLogger):
        def __init__(self) -> None:
            super().__init__()
            self.calls: dict[str, dict[str, Any]] = {}
            self._lock = threading.Lock()

        def record(self, kwargs: dict, response: Any, start: Any, end: Any, failed: bool) -> None:
            texts = texts_of(kwargs.get("messages"))
            usage = None if failed else getattr(response, "usage", None)
            choices = [] if failed else getattr(response, "choices", None) or []
            call = {"kind": kind_of(texts), "started": _seconds(start),
                    "seconds": round(_seconds(end) - _seconds(start), 3),
                    "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
                    "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
                    "finish_reason": getattr(choices[0], "finish_reason", None) if choices else None}  # fmt: skip
            if failed:
                error = kwargs.get("exception") or response
                call["error"] = f"{type(error).__name__}: {error}"[:400] if error is not None else "unknown"
                # no usage comes back: the messages' tokens, without the chat template's
                call["prompt_tokens_counted"] = sum(map(tokenizer.num_tokens, texts_of(kwargs.get("messages"), None)))
            with self._lock:
                self.calls[str(kwargs.get("litellm_call_id") or id(kwargs))] = call

        def log_success_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
            self.record(kwargs, response_obj, start_time, end_time, False)

        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
            self.record(kwargs, response_obj, start_time, end_time, False)

        def log_failure_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
            self.record(kwargs, response_obj, start_time, end_time, True)

        async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
            self.record(kwargs, response_obj, start_time, end_time, True)

    return Calls()


def workflow_clock() -> Any:
    """graphrag workflow callbacks: when each workflow ran (a failed one ends at the pipeline error)."""
    from graphrag.callbacks.noop_workflow_callbacks import NoopWorkflowCallbacks

    class Clock(NoopWorkflowCallbacks):
        def __init__(self) -> None:
            self.spans: dict[str, list[float]] = {}
            self.current: str | None = None

        def workflow_start(self, name: str, instance: object) -> None:
            self.current = name
            self.spans[name] = [time.time(), 0.0]
            print(f"[graphrag] {name} ...", file=sys.stderr, flush=True)

        def workflow_end(self, name: str, instance: object) -> None:
            self.spans[name][1] = time.time()
            self.current = None
            print(f"[graphrag] {name} done in {self.spans[name][1] - self.spans[name][0]:.1f} s",
                  file=sys.stderr, flush=True)  # fmt: skip

        def pipeline_error(self, error: BaseException) -> None:
            if self.current:
                self.spans[self.current][1] = time.time()
                print(f"[graphrag] {self.current} failed: {error}", file=sys.stderr, flush=True)

    return Clock()


class ErrorLog(logging.Handler):
    """Errors graphrag logs and goes on past (an extraction or a report that failed)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.messages.append(f"{record.name}: {text}"[:400])


# -- the run ---------------------------------------------------------------------------------------------


def build_config(args: argparse.Namespace, work: Path, output: Path) -> Any:
    from graphrag.config.defaults import DEFAULT_COMPLETION_MODEL_ID
    from graphrag.config.enums import IndexingMethod
    from graphrag.config.models.graph_rag_config import GraphRagConfig
    from graphrag.config.models.reporting_config import ReportingConfig
    from graphrag.index.workflows.factory import PipelineFactory
    from graphrag_cache import CacheConfig
    from graphrag_llm.config import ModelConfig, RetryConfig
    from graphrag_storage import StorageConfig
    from graphrag_vectors import VectorStoreConfig

    call_args: dict[str, Any] = {"timeout": args.timeout, "max_retries": 0}  # max_retries: the OpenAI client's
    if args.max_tokens:
        call_args["max_tokens"] = args.max_tokens
    model = ModelConfig(model_provider="openai", model=args.model, api_base=args.base_url, api_key=args.api_key,
                        call_args=call_args, retry=RetryConfig(max_retries=MAX_RETRIES, base_delay=2.0, max_delay=10.0),
                        metrics=None)  # fmt: skip
    workflows = [w for w in PipelineFactory.pipelines[IndexingMethod.Standard] if w not in SKIPPED]
    return GraphRagConfig(
        completion_models={DEFAULT_COMPLETION_MODEL_ID: model},
        concurrent_requests=CONCURRENCY,
        input_storage=StorageConfig(base_dir=str(work / "input")),
        output_storage=StorageConfig(base_dir=str(output)),
        update_output_storage=StorageConfig(base_dir=str(work / "update_output")),
        # the model's answers: kept with --output (a new folder, so the run never reads an old cache)
        cache=CacheConfig(storage=StorageConfig(base_dir=str((output if args.output else work) / "cache"))),
        reporting=ReportingConfig(base_dir=str(output / "logs")),
        vector_store=VectorStoreConfig(db_uri=str(work / "lancedb")),
        workflows=workflows,
    )


async def table_sizes(config: Any) -> dict[str, int | None]:
    from graphrag_storage import create_storage
    from graphrag_storage.tables.table_provider_factory import create_table_provider

    tables = create_table_provider(config.table_provider, create_storage(config.output_storage))
    return {name: len(await tables.read_dataframe(name)) if await tables.has(name) else None for name in TABLES}


async def run(config: Any, clock: Any) -> tuple[list[Any], dict[str, int | None], float]:
    from graphrag.api import build_index
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    started = time.monotonic()
    results = await build_index(config, callbacks=[clock])
    seconds = time.monotonic() - started
    try:  # LiteLLM logs async successes from a queue
        await asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), 60)
    except TimeoutError:
        print("LiteLLM's logging queue did not drain: some calls may be missing", file=sys.stderr)
    return results, await table_sizes(config), seconds


def tokens_summary(calls: list[dict[str, Any]]) -> dict[str, Any]:
    sizes = [c["prompt_tokens"] for c in calls if "error" not in c]
    return {"calls": len(calls), "failed_calls": sum("error" in c for c in calls),
            "prompt_tokens": sum(sizes), "completion_tokens": sum(c["completion_tokens"] for c in calls),
            "prompt_tokens_per_call": {"min": min(sizes), "median": statistics.median(sizes), "max": max(sizes)}
            if sizes else None,
            "failed_prompt_tokens_counted": sum(c.get("prompt_tokens_counted", 0) for c in calls),
            "completion_tokens_max": max((c["completion_tokens"] for c in calls), default=0),
            "cut_at_max_tokens": sum(c["finish_reason"] == "length" for c in calls)}  # fmt: skip


def main(args: argparse.Namespace) -> dict[str, Any]:
    args.base_url = args.base_url.rstrip("/")
    models = served_models(args.base_url)
    served = [m["id"] for m in models]
    if args.model is None:
        args.model = next((m["id"] for m in models if not m.get("parent")), served[0])
    if args.model not in served:
        raise SystemExit(f"{args.model!r} is not served at {args.base_url} (it serves {', '.join(served)})")
    if args.output and args.output.exists() and any(args.output.iterdir()):
        raise SystemExit(f"{args.output} is not empty: graphrag would read its state and overwrite its tables")

    path = tokenizer_dir(models, args.model, args.tokenizer)
    tokenizer = HFTokenizer(path)
    use_tokenizer(tokenizer)
    calls = call_logger(tokenizer)

    import litellm

    litellm.callbacks.append(calls)
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    errors = ErrorLog()
    logging.getLogger("graphrag.index").addHandler(errors)  # graphrag's init_loggers resets only its root's

    texts = list(documents(args.docs_dir).items())[: args.docs or None]
    work = Path(tempfile.mkdtemp(prefix="graphrag-baseline-"))
    try:
        (work / "input").mkdir()
        for name, text in texts:
            (work / "input" / (name.replace("/", "__") + ".txt")).write_text(text, encoding="utf-8")
        output = args.output.resolve() if args.output else work / "output"
        config = build_config(args, work, output)
        clock = workflow_clock()
        results, sizes, total = asyncio.run(run(config, clock))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    recorded = sorted(calls.calls.values(), key=lambda c: c["started"])
    seconds, by_workflow = {}, {}  # a call belongs to the workflow running when it started
    for name in (w for w in config.workflows if w in clock.spans):
        start, end = clock.spans[name]
        seconds[name] = round((end or start) - start, 2)
        inside = [c for c in recorded if start <= c["started"] < (end or float("inf"))]
        if inside:
            by_workflow[name] = tokens_summary(inside)
    kinds = sorted({c["kind"] for c in recorded})
    return {
        "base_url": args.base_url, "model": args.model, "tokenizer": str(path),
        "max_tokens": args.max_tokens or None, "concurrency": CONCURRENCY, "max_retries": MAX_RETRIES,
        "workflows_run": list(seconds), "workflows_not_reached": [w for w in config.workflows if w not in seconds],
        "workflows_skipped": SKIPPED,
        "documents": len(texts), "documents_indexed": sizes["documents"], "text_units": sizes["text_units"],
        "model_calls": len(recorded), "failed_calls": sum("error" in c for c in recorded),
        "prompt_tokens": sum(c["prompt_tokens"] for c in recorded),
        "completion_tokens": sum(c["completion_tokens"] for c in recorded),
        "by_prompt": {kind: tokens_summary([c for c in recorded if c["kind"] == kind]) for kind in kinds},
        "seconds": {"total": round(total, 2), **seconds},
        "by_workflow": by_workflow,
        "entities": sizes["entities"], "relationships": sizes["relationships"],
        "communities": sizes["communities"], "community_reports": sizes["community_reports"],
        "failed_workflows": [{"workflow": r.workflow, "error": f"{type(r.error).__name__}: {r.error}"}
                             for r in results if r.error is not None],
        "logged_errors": {"count": len(errors.messages), "first": errors.messages[:5]},
        "call_errors": sorted({c["error"] for c in recorded if "error" in c})[:5],
        "output": str(args.output.resolve()) if args.output else None,
        **({"calls": recorded} if args.per_call else {}),
    }  # fmt: skip


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--base-url", required=True, help="the OpenAI-compatible server, e.g. http://127.0.0.1:8390/v1")
    parser.add_argument("--model", help="the served model's name (default: the server's first base model)")
    parser.add_argument("--api-key", default="not-needed")
    parser.add_argument("--docs", type=int, default=0, help="only the first N documents (default: all)")
    parser.add_argument("--docs-dir", type=Path, default=REPO / "data/plant/docs")
    parser.add_argument("--output", type=Path, help="keep graphrag's output tables and logs here (new or empty)")
    parser.add_argument("--tokenizer", type=Path, help="the served model's Hugging Face folder (default: found)")
    parser.add_argument("--max-tokens", type=int, default=0, help="cap each completion (default: unset, as graphrag)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per model call")
    parser.add_argument("--per-call", action="store_true", help="also list every call")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(main(parse()), indent=2))
