"""The Whoosh engine: :class:`SearchIndex`, the search service over an index folder, following its swaps.

It implements :class:`search_web.engine.Engine`. Every read of the Whoosh
index goes through this package: the live generation and its searchers
(``generations``), matching and scoring (``matching``, ``ranking``,
``term_scoring``), facets and ordering on columns (``facets``, ``ordering``,
``columns``), snippets (``snippets``), the timeline (``timeline``), stored
fields as shown (``records``) and the caches (``caching``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from search_web.engine import Brief, DocumentPage, Hit, SearchRequest, SearchResult, Timeline
from search_web.query import TEXT_FIELDS, QueryError, parse_query, query_terms
from search_web.settings import Limits
from search_web.whoosh_engine.caching import request_key
from search_web.whoosh_engine.corrections import corrected_query, unmatched_words
from search_web.whoosh_engine.facets import facet_values, month_counts
from search_web.whoosh_engine.generations import Generation, LiveGeneration
from search_web.whoosh_engine.matching import Selection, deadline_from_now, select
from search_web.whoosh_engine.ordering import ordered
from search_web.whoosh_engine.records import brief_of, document_of, hit_of, story_more
from search_web.whoosh_engine.snippets import best_body_offset
from search_web.whoosh_engine.snippets import highlight as highlighted
from search_web.whoosh_engine.timeline import timeline_buckets


class SearchIndex:
    """The search service over an index folder, following its swaps."""

    def __init__(self, index_root: Path | str, limits: Limits | None = None) -> None:
        self.index_root = Path(index_root)
        self.limits = limits or Limits()
        self._live = LiveGeneration(self.index_root, self.limits)

    # -- generations ---------------------------------------------------------

    def generation(self) -> Generation:
        """The live generation, reopened when ``CURRENT`` points elsewhere."""
        return self._live.current()

    def close(self) -> None:
        """Close every generation this index holds open."""
        self._live.close()

    # -- searching -----------------------------------------------------------

    def _select(
        self, request: SearchRequest, gen: Generation | None = None, deadline: float | None = None
    ) -> Selection:
        """Match, filter and date-limit: everything a search, timeline or export shares.

        ``deadline`` (a ``time.monotonic()`` value): by default ``time_budget_s`` from now, so that
        parsing and expansion count too.
        """
        deadline = deadline if deadline is not None else deadline_from_now(self.limits)
        return select(gen or self.generation(), request, self.limits, deadline)

    def search(self, request: SearchRequest, *, with_corrections: bool = True) -> SearchResult:
        """Run one search: matches, filters, facet counts, sort, page, snippets.

        With ``with_corrections``, words no document holds are corrected: the
        results are the corrected query's when it finds more (``corrected_from``
        then holds the query as typed), unless the request is ``as_typed``,
        which only offers the correction as ``suggestion``.

        A result is kept per generation (``result_cache_entries``) and served
        again for the same request; a result cut short by the time budget is not.
        """
        started = time.perf_counter()
        gen = self.generation()
        key = (request_key(request), with_corrections)
        cached = gen.results.get(key)
        if cached is not None:
            return dataclasses.replace(cached, took_ms=(time.perf_counter() - started) * 1000)
        result = self._search(gen, request, with_corrections, started)
        if not result.cut_short:
            gen.results.put(key, result)
        return result

    def _search(self, gen: Generation, request: SearchRequest, with_corrections: bool, started: float) -> SearchResult:
        deadline = deadline_from_now(self.limits)  # the correction's matching shares it
        chosen = self._select(request, gen, deadline)
        missing = unmatched_words(chosen.parsed.words, chosen.searcher.reader(), gen.analyzer, TEXT_FIELDS)
        suggestion = corrected_from = None
        corrected = (
            corrected_query(request.q, missing, gen.corrector(), self.limits.max_query_chars)
            if (with_corrections and missing)
            else None
        )
        if corrected is not None:
            probe = dataclasses.replace(request, q=corrected)
            try:
                better = self._select(probe, gen, deadline)
            except QueryError:  # a correction the query language refuses is no correction
                better = None
            if better is not None and np.count_nonzero(better.selected) > np.count_nonzero(chosen.selected):
                if request.as_typed:
                    suggestion = corrected
                else:  # the results shown are the correction's, the query as typed said beside them
                    chosen, request, corrected_from = better, probe, request.q
        return self._result(chosen, request, started, missing, suggestion, corrected_from)

    def _result(
        self,
        chosen: Selection,
        request: SearchRequest,
        started: float,
        missing: list[str],
        suggestion: str | None,
        corrected_from: str | None,
    ) -> SearchResult:
        """The page of results, facets and timeline of a selection."""
        gen, columns, selected_docs = chosen.gen, chosen.gen.columns, chosen.selected
        total = int(np.count_nonzero(selected_docs))
        facets = facet_values(chosen, request, self.limits.facet_values_shown) if request.facets else {}
        months = month_counts(columns, selected_docs) if request.years and request.facets else []
        start = (request.page - 1) * request.per_page
        order = ordered(chosen, request.sort, request.collapse, start + request.per_page)
        stories = columns.stories_among(np.flatnonzero(selected_docs)) if request.collapse else total
        terms = query_terms(chosen.parsed.tree)
        hits = []
        for docnum in order[start : start + request.per_page]:
            hit = hit_of(gen, int(docnum), terms, self.limits.snippet_chars)
            more = story_more(chosen, int(docnum), self.limits.story_members_shown) if request.collapse else None
            hit["story_more"] = more
            hits.append(hit)
        return SearchResult(
            query=request.q,
            total=total,
            page=request.page,
            per_page=request.per_page,
            took_ms=(time.perf_counter() - started) * 1000,
            suggestion=suggestion,
            hits=hits,
            facets=facets,
            months=months,
            cut_short=chosen.cut_short,
            terms=terms,
            stories=stories,
            collapse=request.collapse,
            timeline=self._timeline(chosen) if request.timeline else None,
            corrected_from=corrected_from,
            unmatched_words=missing,
        )

    def matches(self, request: SearchRequest) -> tuple[np.ndarray, np.ndarray]:
        """The documents a request selects (a bool mask by document number) and their relevance
        scores, before ordering: what every page, count and export of it is made from."""
        chosen = self._select(request)
        return chosen.selected, chosen.scores

    def timeline(self, request: SearchRequest) -> Timeline:
        """Matching documents per day, week, month or year, with the spikes marked (``/api/timeline``)."""
        return self._timeline(self._select(request))

    def _timeline(self, chosen: Selection) -> Timeline:
        columns = chosen.gen.columns
        return timeline_buckets(columns.date[chosen.selected & columns.dated], self.limits)

    def export(self, request: SearchRequest, limit: int) -> Iterator[Hit]:
        """Up to ``limit`` results in the request's order, as hits with countries and story id.

        The query runs now (a bad one raises :class:`QueryError` here); the hits
        are made as the iterator is consumed, so a large export streams.
        """
        chosen = self._select(request)
        order = ordered(chosen, request.sort, request.collapse, limit)
        terms = query_terms(chosen.parsed.tree)
        return (hit_of(chosen.gen, int(docnum), terms, self.limits.snippet_chars) for docnum in order)

    # -- documents -----------------------------------------------------------

    def _located(self, doc_id: str) -> tuple[Generation, int] | None:
        """The live generation and the number in it of the document with this id, or None."""
        gen = self.generation()
        docnum = gen.document_number(doc_id)
        return None if docnum is None else (gen, docnum)

    def document(self, doc_id: str) -> DocumentPage | None:
        """The stored document with this id, or None."""
        located = self._located(doc_id)
        return None if located is None else document_of(*located, self.brief)

    def brief(self, doc_id: str) -> Brief | None:
        """Title, link, provider and date of a document (for related lists)."""
        located = self._located(doc_id)
        return None if located is None else brief_of(*located)

    def story_members(self, doc_id: str) -> list[Brief]:
        """The other documents of this document's story, newest first."""
        located = self._located(doc_id)
        if located is None:
            return []
        gen, docnum = located
        others = gen.columns.story_others(docnum, gen.columns.live)
        return [brief_of(gen, int(n)) for n in others]

    def more_like_this(self, doc_id: str) -> list[Brief]:
        """Documents whose key terms resemble this one's."""
        located = self._located(doc_id)
        if located is None:
            return []
        gen, docnum = located
        stored = gen.stored(docnum, with_body=True)
        text = " ".join([stored.get("title", "")] * 3 + [stored.get("excerpt", ""), stored.get("body", "")[:20000]])
        similar = gen.searcher().more_like(docnum, "body", text=text, top=self.limits.more_like_this, numterms=12)
        return [b for b in (self.brief(hit["id"]) for hit in similar) if b]

    def query_terms_for(self, q: str) -> set[str]:
        """Index terms of a query string, for highlighting a document page."""
        gen = self.generation()
        try:
            parsed = parse_query(q, gen.searcher().reader(), self.limits, gen.analyzer)
        except QueryError:
            return set()
        return query_terms(parsed.tree)

    # -- text ----------------------------------------------------------------

    def highlight(self, text: str, terms: set[str]) -> str:
        """HTML-escaped ``text`` with every query term wrapped in ``<mark>``."""
        return highlighted(text, terms)

    def passage_offset(self, body: str, terms: set[str], page_starts: list[int]) -> int | None:
        """Where the best-matching passage of ``body`` starts (a snippet's length of it, within one
        page of a PDF), or None when no term is in it."""
        return best_body_offset(body, terms, self.limits.snippet_chars, page_starts)
