"""The prompts ingestion sends a model."""

# graphrag fills {input_text} (its context: entity and relationship tables) and {max_report_length}.
REPORT_PROMPT = """You are a reliability engineer. Write a short report about this group of facts from a plant's \
maintenance knowledge graph: what equipment it covers, its recurring failure modes, causes and the actions taken.

Facts (ids in the first column):
{input_text}

Answer in JSON with: title (names the main equipment or theme), summary (two or three sentences), findings \
(one to three, each with a summary and an explanation naming the ids it rests on), rating (0 to 10: how much \
this group matters for the plant's reliability), rating_explanation. At most {max_report_length} words. Use only \
the facts above."""
