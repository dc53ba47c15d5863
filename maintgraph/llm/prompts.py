"""The text the model client itself sends a model: the capability probe and the repair request."""

# What probes a served model's capabilities (one token is asked for: the words hardly matter).
PROBE_QUESTION = "ping"
PROBE_TOOL = "Answer the ping."

# Sent back after a structured answer that does not validate; {problem} names what was wrong.
REPAIR = "That is not valid: {problem}. Answer again with JSON that matches the schema."
