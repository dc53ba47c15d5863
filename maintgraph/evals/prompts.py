"""The prompts the evaluation harness sends to a model, named and in one place."""

from __future__ import annotations

# LLM-as-judge faithfulness (``runner.model_judge``): the reply is held to a JSON schema of two counts.
JUDGE_SYSTEM = (
    "You check answers against evidence. Count the answer's statements that the evidence supports and those it "
    "does not. Reply with JSON only."
)

# The judge's question: the evidence lines (``- text``), the question asked and the answer under test.
JUDGE_USER = "Evidence:\n{evidence}\n\nQuestion: {question}\nAnswer: {answer}"
