"""The maintenance knowledge graph: schema, GraphStore adapters, loaders, multi-hop queries, communities."""
