"""Offline hygiene, in one place.

maintgraph must work with the network unplugged. Several libraries it uses reach out to
the internet by default (telemetry, model hubs, cost maps, public-suffix lists); a closed
network then makes them hang until a timeout. These defaults switch that off before any of
those libraries is imported. They are defaults: a value already in the environment wins,
so an operator can still opt in deliberately.
"""

from __future__ import annotations

import os

OFFLINE_ENV: dict[str, str] = {
    # Hugging Face hub: never look up or download models; load from packaged paths only.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # LiteLLM (pulled in by guardrails-ai and graphrag) fetches a model cost map at import.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    # tldextract (Presidio's e-mail recognizer) downloads the public-suffix list; empty = use the bundled snapshot.
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    # vLLM's usage statistics.
    "VLLM_NO_USAGE_STATS": "1",
    # OpenTelemetry (guardrails-ai and graphrag ship exporters): no SDK, no export.
    "OTEL_SDK_DISABLED": "true",
    # LangSmith tracing stays off unless explicitly configured.
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
}


def apply() -> None:
    """Set the offline defaults in ``os.environ`` (existing values are kept)."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


def quiet_guardrails() -> None:
    """Turn guardrails-ai's hub telemetry and remote inference off for this process.

    guardrails-ai has no environment switch for these: it reads ``~/.guardrailsrc`` and,
    without one, sends metrics. Whoever builds a Guard or validator calls this first;
    it imports guardrails (slow), so it is not done at package import.
    """
    from guardrails.settings import settings

    settings.rc.enable_metrics = False
    settings.rc.use_remote_inferencing = False
