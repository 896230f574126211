"""The Whoosh engine: the :class:`~search_web.engine.Engine` that ``create_app`` serves.

Every read of the Whoosh index happens in this package, and only here (and in
``indexer.store``) may whoosh3's private names be used.

- ``search_index`` — :class:`SearchIndex`, the engine's operations;
- ``generations`` — the live generation, followed through swaps, and its per-thread searchers;
- ``matching`` — a request's query matched and scored, its filters and date range applied;
- ``ranking`` and ``term_scoring`` — BM25F, coordination and recency on posting lists read as arrays;
- ``columns`` — per-document facet, date and story arrays, and what is counted on them;
- ``facets`` and ``ordering`` — facet values and month counts, the order of a page;
- ``records`` — stored fields as a hit, a document page or a brief;
- ``snippets`` — best passages and highlighting;
- ``timeline`` — matches per period, and spikes;
- ``corrections`` — spelling corrections of words no document holds;
- ``caching`` — the bounded caches each generation owns, and the result cache's key.
"""

from __future__ import annotations

from search_web.whoosh_engine.caching import LruCache, request_key
from search_web.whoosh_engine.columns import VALUES_PER_ROW, Columns
from search_web.whoosh_engine.corrections import WordCorrector, corrected_query, unmatched_words
from search_web.whoosh_engine.facets import FACETS
from search_web.whoosh_engine.generations import Generation, LiveGeneration
from search_web.whoosh_engine.matching import SPARSE_DATE_SHARE
from search_web.whoosh_engine.ranking import Ranker, bm25f_parameters
from search_web.whoosh_engine.search_index import SearchIndex
from search_web.whoosh_engine.snippets import (
    MAX_SNIPPET_HITS,
    WINDOW_LOOP_MAX_HITS,
    best_body_offset,
    best_window,
    best_window_of_few,
    highlight,
    page_of,
    snippet_at,
    term_hits,
    term_hits_by_regex,
    term_spans,
)
from search_web.whoosh_engine.term_scoring import Bm25fParameters, DeadlineExceeded, TermScorer, Unsupported
from search_web.whoosh_engine.timeline import timeline_buckets

__all__ = [
    "FACETS",
    "MAX_SNIPPET_HITS",
    "SPARSE_DATE_SHARE",
    "VALUES_PER_ROW",
    "WINDOW_LOOP_MAX_HITS",
    "Bm25fParameters",
    "Columns",
    "DeadlineExceeded",
    "Generation",
    "LiveGeneration",
    "LruCache",
    "Ranker",
    "SearchIndex",
    "TermScorer",
    "Unsupported",
    "WordCorrector",
    "best_body_offset",
    "best_window",
    "best_window_of_few",
    "bm25f_parameters",
    "corrected_query",
    "highlight",
    "page_of",
    "request_key",
    "snippet_at",
    "term_hits",
    "term_hits_by_regex",
    "term_spans",
    "timeline_buckets",
    "unmatched_words",
]
