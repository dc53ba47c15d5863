"""Chat/embedding clients for OpenAI-compatible servers (vLLM), local serving, model registry."""
