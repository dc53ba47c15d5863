"""Embeddings and the pgvector document store: hybrid (vector + full-text) search."""
