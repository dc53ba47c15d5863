"""Readers for each source kind -> normalized records with lineage; structure-aware chunking; the ingest pipeline."""
