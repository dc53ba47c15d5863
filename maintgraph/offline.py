"""Offline hygiene, in one place.

maintgraph must work with the network unplugged. Several libraries it uses reach out to
the internet by default (telemetry, model hubs, cost maps, public-suffix lists); a closed
network then makes them hang until a timeout. These defaults switch that off before any of
those libraries is imported. They are defaults: a value already in the environment wins,
so an operator can still opt in deliberately.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

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


def refuse_nltk_downloads() -> None:
    """Make ``nltk.download`` log and return False instead of fetching from GitHub.

    guardrails-ai (at import) and graphrag's chunker call ``nltk.download("punkt")`` when the
    data is missing, and NLTK has no setting to stop that. Importing nltk costs ~2 s, so
    this runs only before those libraries are imported, not at package import.
    """
    import nltk
    import nltk.downloader

    def refuse(info_or_id: object = None, *args: object, **kwargs: object) -> bool:
        log.warning("NLTK resource %r is not installed; maintgraph never downloads data at run time", info_or_id)
        return False

    nltk.download = refuse
    nltk.downloader.download = refuse


def quiet_guardrails() -> None:
    """Turn guardrails-ai's hub telemetry, remote inference and NLTK downloads off.

    guardrails-ai has no environment switch for these: it reads ``~/.guardrailsrc`` and,
    without one, sends metrics; its import downloads NLTK's punkt. Whoever builds a Guard
    or validator calls this first; it imports guardrails (slow), so it is not done at
    package import.
    """
    refuse_nltk_downloads()
    from guardrails.settings import settings

    settings.rc.enable_metrics = False
    settings.rc.use_remote_inferencing = False
