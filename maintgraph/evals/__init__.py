"""Test sets, metrics, evaluation runs and reports, trace replay."""
