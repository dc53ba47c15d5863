"""Retrievers: the agent's one extension point.

Each source of evidence (documents, the knowledge graph, the CMMS, the community reports) is a
:class:`~maintgraph.retrieval.base.Retriever` in a module of its own; the registry
(:mod:`maintgraph.retrieval.registry`) lists them, and the model's tool schema, the router's
check on the model's choice and the deterministic plan are all read from it.
"""
