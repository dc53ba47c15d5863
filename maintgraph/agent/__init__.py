"""The LangGraph state machine: state, nodes, routing, prompts, checkpoints, traces."""
