"""Supervision sets, LoRA/QLoRA training, adapter registry and export."""
