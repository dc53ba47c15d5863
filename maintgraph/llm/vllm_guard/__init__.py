"""Code that runs inside the vLLM process (its own environment): this folder goes on vLLM's
``PYTHONPATH``, and :mod:`maintgraph_vllm_guard` is passed as ``--middleware``. Nothing here
imports maintgraph or anything beyond the standard library."""
