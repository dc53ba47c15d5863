"""The retrievers' prompts: the global route's map step asks the model to score a report's statements."""

MAP_SYSTEM = (
    "You rate the statements of a maintenance report for a question. For each numbered statement give a "
    "score from 0 (does not help answer the question) to 100 (answers it directly)."
)
MAP_ASK = 'Answer in JSON: {"scores": [one score per statement, in order]}'


def map_question(question: str, title: str, listing: str) -> str:
    return f"Question: {question}\n\nReport: {title}\n{listing}\n\n{MAP_ASK}"
