"""PII (Presidio), prompt-injection, unsafe-procedure and groundedness validators (guardrails-ai)."""
