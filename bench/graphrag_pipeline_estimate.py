"""What graphrag's own indexing pipeline would ask of the model on the sample plant's documents,
counted with graphrag's own chunker and prompts: a lower bound, not a run.

graphrag's standard pipeline extracts a graph from raw text before it can write community
reports: every text unit (its default token chunker: 1,200 tokens, 100 overlap) goes through
the extract_graph prompt, then once more for its default single gleaning. That part alone is
counted here; the description summaries and the reports of every community of the graph it
extracts would come on top. The product builds its communities from the knowledge graph it
already has, so it asks only for the reports (measured by ``maintgraph graph communities``).

Run: ``.venv/bin/python -m bench.graphrag_pipeline_estimate [DOCS_DIR]``. Tokens are the
served model's tokenizer (graphrag's default o200k_base would need a download).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bs4 import BeautifulSoup

from maintgraph.config import load_settings
from maintgraph.ingest.community_reports import ServedTokenizer

SUFFIXES = {".md", ".txt", ".html"}


def documents(root: Path) -> dict[str, str]:
    """The documents' text as graphrag's text input would read them (HTML as its visible text)."""
    texts = {}
    for path in sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES):
        raw = path.read_text(encoding="utf-8")
        texts[str(path.relative_to(root))] = (
            BeautifulSoup(raw, "html.parser").get_text() if path.suffix == ".html" else raw
        )
    return texts


def main(root: Path) -> dict[str, int]:
    from graphrag.config.defaults import graphrag_config_defaults as defaults
    from graphrag.prompts.index.extract_graph import CONTINUE_PROMPT, GRAPH_EXTRACTION_PROMPT
    from graphrag_chunking.token_chunker import TokenChunker

    tokenizer = ServedTokenizer(load_settings())
    chunker = TokenChunker(defaults.chunking.size, defaults.chunking.overlap, tokenizer.encode, tokenizer.decode)
    texts = documents(root)
    units = [chunk.text for text in texts.values() for chunk in chunker.chunk(text)]
    types = ",".join(defaults.extract_graph.entity_types)
    template = tokenizer.num_tokens(GRAPH_EXTRACTION_PROMPT.format(entity_types=types, input_text=""))
    unit_tokens = sum(tokenizer.num_tokens(u) for u in units)
    gleanings = defaults.extract_graph.max_gleanings
    # The first call sends the prompt and the unit; each gleaning sends it again, plus the continue
    # prompt (and the model's first answer, not counted here: it depends on the model).
    prompt_tokens = (template * len(units) + unit_tokens) * (1 + gleanings) + tokenizer.num_tokens(
        CONTINUE_PROMPT
    ) * gleanings * len(units)
    return {"documents": len(texts), "document_tokens": sum(tokenizer.num_tokens(t) for t in texts.values()),
            "text_units": len(units), "extract_graph_calls": len(units) * (1 + gleanings),
            "extract_graph_prompt_tokens_at_least": prompt_tokens,
            # against MAINTGRAPH_LLM_MAX_MODEL_LEN: whether the served model could take the first call at all
            "largest_first_call_prompt_tokens": template + max(tokenizer.num_tokens(u) for u in units)}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/plant/docs")), indent=2))
