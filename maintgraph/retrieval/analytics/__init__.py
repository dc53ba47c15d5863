"""Questions about the FMEA itself, answered exactly: lookups, hierarchy listings, threshold
filters, counts, averages, percentages, rankings and groupings over the graph's ``FMEAEntry`` rows.

Three parts, kept apart so each can be checked on its own:

- :class:`FMEAQuery`, the typed query: a scope (hierarchy nodes, by id, in groups: one group per
  node when a name was ambiguous), filters (a whitelisted field, a comparator, a value), an
  operation and the field it works on.
- :func:`parse`, the deterministic semantic parser: question -> query, with the graph's own
  vocabulary (its hierarchy names and failure-mode texts, read by :class:`Vocabulary`) and the
  field words reliability engineers use ("most likely" = highest occurrence, "hardest to detect" =
  highest detection). No model is needed.
- :func:`execute`: the query as parameterised Cypher from fixed templates; labels and property
  names come only from whitelists (:data:`NUMERIC`, :data:`TEXT`, :data:`LEVELS`), never from the
  question, which reaches the database only as parameters. The same text runs on FalkorDB and Neo4j.

The result is rendered as short sentences with the computed figures (:class:`Result`), cited by
one evidence item holding the whole computation (``graph:FMEAQuery:<hash>``) and by the FMEA
entries it was computed from.
"""

from maintgraph.retrieval.analytics.cmms import CMMSAnalytics, is_cmms_analytic, parse_cmms
from maintgraph.retrieval.analytics.parser import is_analytic, parse
from maintgraph.retrieval.analytics.query import FMEAQuery
from maintgraph.retrieval.analytics.render import answer
from maintgraph.retrieval.analytics.retriever import FMEAAnalytics
from maintgraph.retrieval.analytics.vocabulary import Vocabulary

__all__ = [
    "CMMSAnalytics",
    "FMEAAnalytics",
    "FMEAQuery",
    "Vocabulary",
    "answer",
    "is_analytic",
    "is_cmms_analytic",
    "parse",
    "parse_cmms",
]
