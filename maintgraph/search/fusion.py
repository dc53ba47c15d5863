"""Reciprocal rank fusion and metadata boosts: how hybrid search orders its hits.

RRF (Cormack et al., 2009) scores an item ``sum(1 / (k + rank))`` over the rankings it appears
in, so an item ranked well by both the vector and the full-text search beats one that only one
of them likes, without calibrating two incomparable scores. ``k = 60`` is the paper's value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

RRF_K = 60


def reciprocal_rank_fusion(rankings: Iterable[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """id -> fused score, from rankings given best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


def apply_boosts(
    scores: Mapping[str, float],
    metadata: Mapping[str, Mapping[str, object]],
    equipment: Sequence[str] = (),
    doc_types: Mapping[str, float] | None = None,
    equipment_boost: float = 0.25,
) -> dict[str, float]:
    """Re-rank without a cross-encoder: a hit about the equipment asked about, or of a preferred
    document type, gets its score multiplied by ``1 + boost``."""
    wanted = {tag.upper() for tag in equipment}
    boosted = {}
    for item, score in scores.items():
        meta = metadata.get(item, {})
        factor = 1.0
        if wanted and wanted & {str(t).upper() for t in meta.get("equipment_tags") or ()}:  # type: ignore[union-attr]
            factor += equipment_boost
        if doc_types:
            factor += doc_types.get(str(meta.get("doc_type")), 0.0)
        boosted[item] = score * factor
    return boosted
