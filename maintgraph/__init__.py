"""maintgraph: an agentic GraphRAG assistant for industrial maintenance."""

from importlib.metadata import PackageNotFoundError, version

from maintgraph import offline

# Before anything imports Hugging Face, LiteLLM, tldextract or vLLM clients.
offline.apply()

try:
    __version__ = version("maintgraph")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
