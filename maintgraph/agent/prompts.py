"""The agent's prompts: routing a question to one tool, and phrasing the answer from the evidence.

The answer is composed from the evidence (:mod:`maintgraph.agent.compose`); the model rewrites it
sentence by sentence (``REWRITE_SYSTEM``): one numbered line per numbered sentence, ending with
the same ``[n]`` citation. Short numbers instead of evidence ids: a small model copies ``[2]``
where it garbles ``[graph:FMEAEntry:P-101/BRG-DE/VIB/outer-race...]``, and each id costs it
tens of tokens to write."""

ROUTER_SYSTEM = (
    "You route a maintenance technician's question to one tool. Call the single tool that best answers it, "
    "with arguments taken from the entities listed."
)

ANSWER_SYSTEM = (
    "You are a maintenance assistant. Answer the technician's question using ONLY the evidence listed. "
    "After every fact put the id of its evidence in square brackets, exactly as listed, e.g. [wo:WO-25-00077]. "
    "If the evidence includes a LOTO or isolation procedure, state isolation first. Never advise bypassing an "
    "interlock or guard. If the evidence does not answer the question, say what is unknown."
)


def router_question(question: str, entities: str) -> str:
    return f"Question: {question}\nEntities: {entities}"


def answer_question(listing: str, question: str) -> str:
    return f"Evidence:\n{listing}\n\nQuestion: {question}"


REWRITE_SYSTEM = (
    "Rewrite each numbered sentence of a maintenance answer in plain, shorter words for a technician. "
    "Keep its facts, numbers and equipment tags exactly as written and add nothing. Write one line per sentence, "
    "with the same number, ending with the same citation in square brackets, e.g. 2. Grease the bearing. [3]"
)


def rewrite_question(question: str, lines: list[str]) -> str:
    """The sentences to rewrite, numbered, each with its citations as ``[n]``."""
    listing = "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    return f"Question: {question}\n\nSentences:\n{listing}"
