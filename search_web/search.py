"""The search core: every read of the Whoosh index goes through this module.

Design (see ARCHITECTURE.md):

* The live generation is resolved from ``CURRENT``; a newer one is picked up
  by opening it afresh, never with ``Searcher.refresh()`` (which double-counts
  documents after another process merged segments).
* Queries are matched and ranked on posting lists read into arrays
  (``search_web.ranking``: BM25F, coordination, recency). Facet
  values, dates and kinds live in numpy columns loaded once per generation,
  so filters, the disjunctive facet counts and date ranges are array
  operations instead of per-document Python and term-expanding range queries.
* Snippets are built here from stored text, HTML-escaped, with ``<mark>``.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import html
import math
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh import scoring

from indexer.analysis import TOKEN_PATTERN, EnglishTokenizer
from indexer.countries import country_name
from indexer.documents import iso_utc
from indexer.store.columns import column_data
from indexer.store.generations import SPELLING_FILE, current_generation, open_for_reading
from indexer.store.schema import MARKED_BODY_CHARS, body_reader, marks_reader
from search_web.caching import LruCache
from search_web.columns import Columns
from search_web.corrections import WordCorrector, corrected_query, unmatched_words
from search_web.query import TEXT_FIELDS, Node, QueryError, day_after, parse_date_bound, parse_query, query_terms
from search_web.ranking import Ranker, bm25f_parameters, scored
from search_web.settings import Limits
from search_web.term_scoring import DeadlineExceeded, TermScorer

SORTS = ("relevance", "newest", "oldest")
FACETS = ("provider", "topic", "country", "year", "kind")
KIND_ORDER = ("news", "related", "report")
# A date range is checked on the matching documents alone when they are at most this share of
# all: below it, gathering their dates is cheaper than comparing every document's date.
SPARSE_DATE_SHARE = 1 / 32
HIT_FIELDS = ("id", "kind", "title", "url", "provider", "provider_domain", "topics", "published", "source", "story")


@dataclass
class _Selection:
    """The documents a request selects, before ordering and paging."""

    gen: Generation
    searcher: Any
    parsed: Any
    base: np.ndarray  # matches within the date range, before facet selections
    masks: dict[str, np.ndarray | None]
    selected: np.ndarray
    scores: np.ndarray
    cut_short: bool
    scored: bool  # the query has a scored part: ordered by relevance (else as browsing, newest first)


class IndexUnavailable(RuntimeError):
    """No index has been built at the configured folder yet."""


@dataclass
class SearchRequest:
    """Everything a search depends on; built from URL parameters."""

    q: str = ""
    providers: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    years: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # alpha-2 codes
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    sort: str = "relevance"
    sort_explicit: bool = False  # chosen by the user, not the default for the query
    page: int = 1
    per_page: int = 10
    facets: bool = True  # False: skip facet and month counts (faster, for clients that do not show them)
    collapse: bool = True  # one result per story, with "+N more"
    timeline: bool = False  # also count the matches per period (the search page's chart)
    as_typed: bool = False  # no spelling correction of words no document holds

    def selections(self) -> dict[str, list[str]]:
        return {
            "provider": self.providers,
            "topic": self.topics,
            "country": self.countries,
            "year": self.years,
            "kind": self.kinds,
        }


@dataclass
class SearchResult:
    """One page of results with totals, facets and diagnostics."""

    query: str  # the query whose results these are: the corrected one when corrected_from is set
    total: int
    page: int
    per_page: int
    took_ms: float
    suggestion: str | None
    hits: list[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]]
    months: list[dict[str, Any]]
    cut_short: bool = False
    terms: set[str] = field(default_factory=set)
    stories: int = 0  # results after collapsing stories (== total when not collapsed)
    collapse: bool = True
    timeline: dict[str, Any] | None = None
    corrected_from: str | None = None  # the query as typed, when its results are a correction's
    unmatched_words: list[str] = field(default_factory=list)  # words of the query no document holds

    def to_json(self) -> dict[str, Any]:
        """The ``/api/search`` contract."""
        return {
            "query": self.query,
            "total": self.total,
            "stories": self.stories,
            "collapse": self.collapse,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": round(self.took_ms, 2),
            "suggestion": self.suggestion,
            "corrected_from": self.corrected_from,
            "unmatched_words": self.unmatched_words,
            "cut_short": self.cut_short,
            "hits": self.hits,
            "facets": self.facets,
            "months": self.months,
        }


class Generation:
    """One opened index generation: Whoosh index, columns and per-thread searchers."""

    def __init__(self, folder: Path, limits: Limits) -> None:
        self.folder = folder
        # Whole search results of this generation: a swap drops them with it, so none is ever stale.
        self.results: LruCache[SearchResult] = LruCache(limits.result_cache_entries)
        self.index = open_for_reading(folder)
        analyzer = self.index.schema["title"].analyzer
        # The text fields' analyzer turns query words into index terms (a stand-in for an odd schema).
        self.analyzer = analyzer if isinstance(analyzer, EnglishTokenizer) else EnglishTokenizer()
        self._local = threading.local()
        self._searchers: list[Any] = []
        self._lock = threading.Lock()
        with self.index.searcher() as searcher:
            data = column_data(folder, searcher.reader())
            self.columns = Columns(data, limits.recency_weight, limits.recency_half_life_days)
            self.doc_count = searcher.doc_count()
        self._corrector: WordCorrector | None = None
        self.term_scorer = TermScorer(self.searcher, bm25f_parameters(limits))
        self.ranker = Ranker(self.term_scorer, limits)

    def corrector(self) -> WordCorrector:
        """The spelling corrector over this generation's dictionary, loaded on first use."""
        if self._corrector is None:
            self._corrector = WordCorrector.from_file(self.folder / SPELLING_FILE)
        return self._corrector

    def searcher(self):
        """This thread's searcher (Whoosh searchers are not shared across threads)."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self.index.searcher(weighting=scoring.BM25F())  # its scores: "more like this" only
            self._local.searcher = searcher
            self._local.body_of = body_reader(searcher.reader())
            with self._lock:
                self._searchers.append(searcher)
        return searcher

    def body_pieces(self, docnum: int, terms: set[str], body_length: int) -> list[tuple[int, int]] | None:
        """The (start, end) character ranges of a long body that hold its first occurrences of
        ``terms``, from its marks and the terms' positions; None: scan the whole body."""
        marks_of = getattr(self._local, "marks_of", None)
        if marks_of is None:  # opened on first use: a thread that shows no long report never reads its offsets
            marks_of = self._local.marks_of = marks_reader(self.searcher().reader())
        marks = marks_of(docnum)
        if marks is None:
            return None
        found = []
        for term in terms:
            positions = self.term_scorer.positions_in("body", term, docnum)
            if positions is None:
                return None
            found.append(positions[:MAX_SNIPPET_HITS])
        # Only the first MAX_SNIPPET_HITS occurrences of all the terms together are looked at.
        first = np.sort(np.concatenate(found))[:MAX_SNIPPET_HITS] if found else np.zeros(0, dtype=np.uint32)
        # A piece holds the words from its first position up to the next piece's first.
        pieces = np.unique(np.searchsorted(marks[:, 1], first, "right") - 1).tolist()
        ends = [*marks[1:, 0].tolist(), body_length]
        return _joined([(int(marks[p, 0]), ends[p]) for p in pieces])

    def stored(self, docnum: int, *, with_body: bool = False) -> dict[str, Any]:
        """A document's stored fields, read with this thread's searcher, and its ``story`` (a column);
        ``body`` added on request."""
        stored = self.searcher().stored_fields(docnum)
        stored["story"] = self.columns.story_ids[self.columns.story[docnum]]
        if with_body:
            stored["body"] = self._local.body_of(docnum)
        return stored

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers:
                searcher.close()
            self._searchers.clear()
        self.index.close()


class SearchIndex:
    """The search service over an index folder, following its swaps."""

    def __init__(self, index_root: Path | str, limits: Limits | None = None) -> None:
        self.index_root = Path(index_root)
        self.limits = limits or Limits()
        self._generation: Generation | None = None
        self._retired: list[Generation] = []
        self._checked_at = 0.0
        self._lock = threading.Lock()

    # -- generations ---------------------------------------------------------

    def generation(self) -> Generation:
        """The live generation, reopened when ``CURRENT`` points elsewhere."""
        now = time.monotonic()
        current = self._generation
        if current is not None and now - self._checked_at < self.limits.reload_check_s:
            return current
        with self._lock:
            self._checked_at = now
            folder = current_generation(self.index_root)
            if folder is None:
                if self._generation is not None:
                    return self._generation
                raise IndexUnavailable(f"no index at {self.index_root}: run `python -m indexer build` first")
            if self._generation is None or self._generation.folder != folder:
                try:
                    fresh = Generation(folder, self.limits)
                except (OSError, whoosh_index.IndexError) as exc:
                    # Swapped out and removed between reading CURRENT and opening it
                    # (two swaps in a moment): keep serving the open one, retry soon.
                    if self._generation is not None:
                        return self._generation
                    raise IndexUnavailable(f"cannot open the index at {folder}: {exc}") from exc
                if self._generation is not None:
                    self._retire(self._generation)
                self._generation = fresh
            return self._generation

    def _retire(self, old: Generation) -> None:
        # Requests that started on the old generation may still be reading
        # it; close it one swap later, when they have long finished.
        for stale in self._retired:
            stale.close()
        self._retired = [old]

    def close(self) -> None:
        with self._lock:
            for generation in [*self._retired, self._generation]:
                if generation is not None:
                    generation.close()
            self._retired, self._generation = [], None

    # -- searching -----------------------------------------------------------

    def _select(
        self, request: SearchRequest, gen: Generation | None = None, deadline: float | None = None
    ) -> _Selection:
        """Match, filter and date-limit: everything a search, timeline or export shares.

        ``deadline`` (a ``time.monotonic()`` value): by default ``time_budget_s`` from now, so that
        parsing and expansion count too.
        """
        deadline = deadline if deadline is not None else time.monotonic() + self.limits.time_budget_s
        gen = gen or self.generation()
        searcher = gen.searcher()
        columns = gen.columns
        parsed = parse_query(request.q, searcher.reader(), self.limits, gen.analyzer)
        date_from = _to_datetime(request.date_from) if request.date_from else None
        date_to = day_after(request.date_to) if request.date_to else None
        date_from = max(filter(None, [date_from, parsed.date_from]), default=None)
        date_to = min(filter(None, [date_to, parsed.date_to]), default=None)

        matched, scores, cut_short = self._match(gen, parsed.tree, deadline)
        base = matched & columns.live
        if date_from or date_to:
            _keep_dated_within(base, columns, date_from, date_to)
        masks = {facet: columns.value_mask(facet, values) for facet, values in request.selections().items()}
        selected = base.copy()
        for mask in masks.values():
            if mask is not None:
                selected &= mask
        is_scored = scored(parsed.tree, gen.term_scorer)
        cut_short = cut_short or parsed.expansions_cut
        return _Selection(gen, searcher, parsed, base, masks, selected, scores, cut_short, is_scored)

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
        key = (_request_key(request), with_corrections)
        cached = gen.results.get(key)
        if cached is not None:
            return dataclasses.replace(cached, took_ms=(time.perf_counter() - started) * 1000)
        result = self._search(gen, request, with_corrections, started)
        if not result.cut_short:
            gen.results.put(key, result)
        return result

    def _search(self, gen: Generation, request: SearchRequest, with_corrections: bool, started: float) -> SearchResult:
        deadline = time.monotonic() + self.limits.time_budget_s  # the correction's matching shares it
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
        chosen: _Selection,
        request: SearchRequest,
        started: float,
        missing: list[str],
        suggestion: str | None,
        corrected_from: str | None,
    ) -> SearchResult:
        """The page of results, facets and timeline of a selection."""
        gen, columns, selected_docs = chosen.gen, chosen.gen.columns, chosen.selected
        total = int(np.count_nonzero(selected_docs))
        facets = self._facets(chosen, request) if request.facets else {}
        months = self._months(columns, selected_docs) if request.years and request.facets else []
        start = (request.page - 1) * request.per_page
        order = self._ordered(chosen, request.sort, request.collapse, start + request.per_page)
        stories = columns.stories_among(np.flatnonzero(selected_docs)) if request.collapse else total
        terms = query_terms(chosen.parsed.tree)
        hits = []
        for docnum in order[start : start + request.per_page]:
            hit = self._hit(gen, int(docnum), terms)
            hit["story_more"] = self._story_more(chosen, int(docnum)) if request.collapse else None
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

    def _ordered(self, chosen: _Selection, sort: str, collapse: bool, needed: int) -> np.ndarray:
        """The first ``needed`` selected documents in ``sort`` order; collapsed: only each story's first.

        A story's first document is its first in the whole order, so the first
        leaders are the first occurrences of stories in a prefix of the order:
        only a prefix is ordered, grown until it holds enough stories (or is
        everything). Ordering every match to find the leaders cost 80 ms at a
        million documents.
        """
        gen, selected = chosen.gen, chosen.selected
        order = self._order(gen, selected, chosen.scores, sort, chosen.scored, needed)
        if not collapse:
            return order
        total = int(np.count_nonzero(selected))
        prefix = needed
        while True:
            _, first = np.unique(gen.columns.story[order], return_index=True)
            leaders = order[np.sort(first)]
            if leaders.size >= needed or order.size >= total:
                return leaders[:needed]
            prefix = min(total, max(prefix * 4, needed + 64))
            order = self._order(gen, selected, chosen.scores, sort, chosen.scored, prefix)

    def _story_more(self, chosen: _Selection, docnum: int) -> dict[str, Any] | None:
        """The other matches of a result's story: count, providers and the first few, newest first."""
        columns = chosen.gen.columns
        others = columns.story_others(docnum, chosen.selected)
        if not others.size:
            return None
        providers = {columns.values["provider"][code] for code in columns.codes["provider"][others]} - {""}
        items = [self._brief_of(chosen.gen, int(n)) for n in others[: self.limits.story_members_shown]]
        return {"count": int(others.size), "providers": len(providers), "items": items}

    def matches(self, request: SearchRequest) -> tuple[np.ndarray, np.ndarray]:
        """The documents a request selects (a bool mask by document number) and their relevance
        scores, before ordering: what every page, count and export of it is made from."""
        chosen = self._select(request)
        return chosen.selected, chosen.scores

    def timeline(self, request: SearchRequest) -> dict[str, Any]:
        """Matching documents per day, week, month or year, with the spikes marked (``/api/timeline``)."""
        return self._timeline(self._select(request))

    def _timeline(self, chosen: _Selection) -> dict[str, Any]:
        columns = chosen.gen.columns
        return timeline_buckets(columns.date[chosen.selected & columns.dated], self.limits)

    def export(self, request: SearchRequest, limit: int) -> Iterator[dict[str, Any]]:
        """Up to ``limit`` results in the request's order, as hits with countries and story id.

        The query runs now (a bad one raises :class:`QueryError` here); the hits
        are made as the iterator is consumed, so a large export streams.
        """
        chosen = self._select(request)
        order = self._ordered(chosen, request.sort, request.collapse, limit)
        terms = query_terms(chosen.parsed.tree)
        return (self._hit(chosen.gen, int(docnum), terms) for docnum in order)

    def _match(self, gen: Generation, tree: Node | None, deadline: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """Bool mask of matching documents, their scores, and whether the time budget cut it short."""
        size = gen.columns.size
        if tree is None:
            return np.ones(size, dtype=bool), np.zeros(size, dtype=np.float64), False
        try:
            mask, scores = gen.ranker.match(tree, deadline)
        except DeadlineExceeded:
            return np.zeros(size, dtype=bool), np.zeros(size, dtype=np.float64), True
        return mask, scores, False

    def _facets(self, chosen: _Selection, request: SearchRequest) -> dict[str, list[dict[str, Any]]]:
        """Disjunctive counts: each facet sees every selection but its own.

        Facets without a selection of their own all count the selected documents, in one pass.
        """
        columns, masks = chosen.gen.columns, chosen.masks
        unselected = [facet for facet in FACETS if masks.get(facet) is None]
        counts = columns.counts(chosen.selected, unselected)
        for facet in FACETS:
            if facet not in counts:
                docs = chosen.base.copy()
                for other, mask in masks.items():
                    if other != facet and mask is not None:
                        docs &= mask
                counts |= columns.counts(docs, [facet])
        selections = request.selections()
        return {
            facet: self._facet_values(facet, columns.values[facet], counts[facet], selections[facet])
            for facet in FACETS
        }

    def _facet_values(self, facet: str, values: list[str], counts: np.ndarray, selected: list[str]):
        entries = {v: int(c) for v, c in zip(values, counts, strict=True) if v and c > 0}
        for value in selected:
            entries.setdefault(value, 0)
        if facet == "year":
            ordered = sorted(entries, reverse=True)
        elif facet == "kind":
            ordered = sorted(entries, key=lambda v: (KIND_ORDER.index(v) if v in KIND_ORDER else 99, v))
        else:
            ordered = sorted(entries, key=lambda v: (-entries[v], v.casefold()))
        shown = ordered[: self.limits.facet_values_shown]
        shown += [v for v in ordered[self.limits.facet_values_shown :] if v in selected]
        label = country_name if facet == "country" else str
        return [{"value": v, "label": label(v), "count": entries[v], "selected": v in selected} for v in shown]

    def _months(self, columns: Columns, docs: np.ndarray) -> list[dict[str, Any]]:
        """Counts per month of the matching, dated documents (within selected years)."""
        dated = docs & columns.dated
        if not dated.any():
            return []
        stamps = columns.date[dated].astype("datetime64[s]").astype("datetime64[M]")
        months, counts = np.unique(stamps, return_counts=True)
        return [{"value": str(m), "count": int(c)} for m, c in zip(months, counts, strict=True)]

    def _order(
        self, gen: Generation, docs: np.ndarray, scores: np.ndarray, sort: str, is_scored: bool, needed: int
    ) -> np.ndarray:
        """The first ``needed`` document numbers of ``docs`` in the requested order.

        Ties break by date, score, then document number, so pages never overlap.
        """
        columns = gen.columns
        if sort == "oldest" or not is_scored:
            # The precomputed date orders are exact: oldest first never looks at scores, and
            # without text every score is 0 (newest first). Undated documents go last either way.
            order = columns.oldest_first if sort == "oldest" else columns.newest_first
            return order[docs[order]][:needed]
        if sort == "newest":
            return self._newest_with_text(columns, docs, scores, needed)
        docnums = np.flatnonzero(docs)
        key = scores[docnums] * columns.recency[docnums]
        if docnums.size > 4 * needed:
            # Only candidates at or above the needed-th best can be on the page (ties included).
            threshold = np.partition(key, docnums.size - needed)[docnums.size - needed]
            keep = key >= threshold
            docnums, key = docnums[keep], key[keep]
        return docnums[np.lexsort((docnums, -key))][:needed]

    @staticmethod
    def _newest_with_text(columns: Columns, docs: np.ndarray, scores: np.ndarray, needed: int) -> np.ndarray:
        """Newest first, equal dates by score: the precomputed date order, re-sorted only where it matters.

        Only the documents up to the ``needed``-th one's date (all of that date
        included) can be on the page; just those are sorted with their scores.
        """
        by_date = columns.newest_first[docs[columns.newest_first]]
        if by_date.size > needed:
            last = by_date[needed - 1] if needed else by_date[0]
            same = (columns.date[by_date] == columns.date[last]) & (columns.dated[by_date] == columns.dated[last])
            through = int(np.flatnonzero(same)[-1]) + 1  # a date's documents are contiguous in the order
            by_date = by_date[:through]
        dates, dated = columns.date[by_date], columns.dated[by_date]
        return by_date[np.lexsort((by_date, -scores[by_date], -dates, ~dated))][:needed]

    def _hit(self, gen: Generation, docnum: int, terms: set[str]) -> dict[str, Any]:
        stored = gen.stored(docnum, with_body=True)
        hit = {name: stored.get(name) for name in HIT_FIELDS}
        hit["url"] = hit["url"] or None
        hit["provider"] = hit["provider"] or ""
        hit["provider_domain"] = hit["provider_domain"] or ""
        hit["topics"] = list(hit["topics"] or [])
        hit["published"] = iso_utc(stored.get("published"))
        hit["countries"] = _countries(stored)
        hit["story"] = hit["story"] or hit["id"]
        page_starts = stored.get("page_starts") or []
        body = stored.get("body", "")
        # A long body's snippet is looked for in the pieces holding the query's words (PDFs: page by page).
        marked = len(body) > MARKED_BODY_CHARS and len(page_starts) <= 1 and terms
        pieces = gen.body_pieces(docnum, terms, len(body)) if marked else None
        hit["snippet"], offset = snippet_at(
            stored.get("excerpt", ""), body, terms, self.limits.snippet_chars, page_starts, pieces
        )
        # PDFs: the page of the passage shown (the first page when it is the excerpt).
        hit["page"] = page_of(page_starts, offset or 0) if page_starts else None
        return hit

    # -- documents -----------------------------------------------------------

    def document(self, doc_id: str) -> dict[str, Any] | None:
        """The stored document with this id, or None."""
        gen = self.generation()
        searcher = gen.searcher()
        docnum = searcher.document_number(id=doc_id)
        if docnum is None:
            return None
        return self._document_dict(gen, docnum)

    def _document_dict(self, gen: Generation, docnum: int) -> dict[str, Any]:
        stored = gen.stored(docnum, with_body=True)
        doc = {
            "id": stored["id"],
            "kind": stored.get("kind", ""),
            "title": stored.get("title", ""),
            "excerpt": stored.get("excerpt", ""),
            "body": stored.get("body", ""),
            "url": stored.get("url") or None,
            "url_text": stored.get("url_text") or None,
            "provider": stored.get("provider", ""),
            "provider_domain": stored.get("provider_domain", ""),
            "topics": list(stored.get("topics") or []),
            "published": iso_utc(stored.get("published")),
            "authors": list(stored.get("authors") or []),
            "editors": list(stored.get("editors") or []),
            "source": stored.get("source", ""),
            "parent_id": stored.get("parent_id") or None,
            "countries": _countries(stored),
            "story": stored.get("story") or stored["id"],
            "language": stored.get("language") or None,
            "page_starts": list(stored.get("page_starts") or []),
            "related": [],
        }
        for related_id in stored.get("related_ids") or []:
            brief = self.brief(related_id)
            if brief:
                doc["related"].append(brief)
        return doc

    def brief(self, doc_id: str) -> dict[str, Any] | None:
        """Title, link, provider and date of a document (for related lists)."""
        gen = self.generation()
        docnum = gen.searcher().document_number(id=doc_id)
        if docnum is None:
            return None
        return self._brief_of(gen, docnum)

    def story_members(self, doc_id: str) -> list[dict[str, Any]]:
        """The other documents of this document's story, newest first."""
        gen = self.generation()
        searcher = gen.searcher()
        docnum = searcher.document_number(id=doc_id)
        if docnum is None:
            return []
        others = gen.columns.story_others(docnum, gen.columns.live)
        return [self._brief_of(gen, int(n)) for n in others]

    @staticmethod
    def _brief_of(gen: Generation, docnum: int) -> dict[str, Any]:
        stored = gen.stored(docnum)
        return {
            "id": stored["id"],
            "title": stored.get("title", ""),
            "url": stored.get("url") or None,
            "provider": stored.get("provider", ""),
            "published": iso_utc(stored.get("published")),
        }

    def more_like_this(self, doc_id: str) -> list[dict[str, Any]]:
        """Documents whose key terms resemble this one's."""
        gen = self.generation()
        searcher = gen.searcher()
        docnum = searcher.document_number(id=doc_id)
        if docnum is None:
            return []
        stored = gen.stored(docnum, with_body=True)
        text = " ".join([stored.get("title", "")] * 3 + [stored.get("excerpt", ""), stored.get("body", "")[:20000]])
        similar = searcher.more_like(docnum, "body", text=text, top=self.limits.more_like_this, numterms=12)
        return [b for b in (self.brief(hit["id"]) for hit in similar) if b]

    def query_terms_for(self, q: str) -> set[str]:
        """Index terms of a query string, for highlighting a document page."""
        gen = self.generation()
        try:
            parsed = parse_query(q, gen.searcher().reader(), self.limits, gen.analyzer)
        except QueryError:
            return set()
        return query_terms(parsed.tree)


def _countries(stored: dict[str, Any]) -> list[dict[str, str]]:
    return [{"code": code, "name": country_name(code)} for code in stored.get("countries") or []]


def _to_datetime(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def _request_key(request: SearchRequest) -> tuple[Any, ...]:
    """A hashable form of everything a search result depends on."""
    # vars() rather than dataclasses.astuple, which deep-copies every value (20 µs a search).
    return tuple(tuple(value) if isinstance(value, list) else value for value in vars(request).values())


def _keep_dated_within(
    base: np.ndarray, columns: Columns, date_from: dt.datetime | None, date_to: dt.datetime | None
) -> None:
    """Clear in ``base`` (a bool mask) every document undated or dated outside [date_from, date_to).

    When few documents are in ``base`` (a rare word's few dozen), only their
    dates are looked at: comparing every document's date cost more than the
    rest of such a search.
    """
    start, end = _seconds(date_from), _seconds(date_to)
    if np.count_nonzero(base) <= base.size * SPARSE_DATE_SHARE:
        docs = np.flatnonzero(base)
        within = columns.dated[docs]
        dates = columns.date[docs]
        if start is not None:
            within &= dates >= start
        if end is not None:
            within &= dates < end
        base[docs[~within]] = False
    else:
        base &= columns.dated_within(start, end)


def _seconds(bound: dt.datetime | None) -> int | None:
    """A naive UTC date bound as seconds since 1970 (the ``date`` column's unit)."""
    return None if bound is None else int(bound.replace(tzinfo=dt.UTC).timestamp())


# --- timeline ----------------------------------------------------------------

_DAY = 86400
# Widest span (in days) shown at each interval; wider spans use the next one.
_INTERVAL_SPANS = (("day", 92), ("week", 2 * 366), ("month", 25 * 366))


def timeline_buckets(stamps: np.ndarray, limits: Limits) -> dict[str, Any]:
    """Counts of ``stamps`` (seconds since 1970) per interval, every bucket from first to last.

    The interval follows the span: days up to three months, weeks up to two
    years, months up to 25 years, years beyond. A bucket is a spike when it
    holds at least ``timeline_spike_min_count`` documents and at least
    ``timeline_spike_ratio`` times the mean of the ``timeline_spike_window``
    buckets before it (or of all buckets, for the first one).
    """
    if not stamps.size:
        return {"interval": "day", "buckets": [], "spikes": []}
    days = stamps // _DAY
    span = int(days.max() - days.min())
    interval = next((name for name, widest in _INTERVAL_SPANS if span <= widest), "year")
    starts = _bucket_starts(days.astype("datetime64[D]"), interval)
    unit = {"day": "D", "week": "W", "month": "M", "year": "Y"}[interval]
    step = np.timedelta64(7, "D") if interval == "week" else np.timedelta64(1, unit)
    if interval in ("month", "year"):
        first, last = starts.min().astype(f"datetime64[{unit}]"), starts.max().astype(f"datetime64[{unit}]")
        every = np.arange(first, last + step, step).astype("datetime64[D]")
    else:
        every = np.arange(starts.min(), starts.max() + step, step)
    counts = np.bincount(np.searchsorted(every, starts), minlength=every.size)
    spikes = _spikes(counts, limits)
    return {
        "interval": interval,
        "buckets": [{"start": str(day), "count": int(c)} for day, c in zip(every, counts, strict=True)],
        "spikes": [str(every[i]) for i in spikes],
    }


def _bucket_starts(days: np.ndarray, interval: str) -> np.ndarray:
    if interval == "day":
        return days
    if interval == "week":  # weeks start on Monday; 1970-01-01 was a Thursday
        since_monday = (days.astype(np.int64) + 3) % 7
        return days - since_monday.astype("timedelta64[D]")
    unit = "M" if interval == "month" else "Y"
    return days.astype(f"datetime64[{unit}]").astype("datetime64[D]")


def _spikes(counts: np.ndarray, limits: Limits) -> list[int]:
    spikes = []
    overall = counts.mean()
    for index, count in enumerate(counts):
        before = counts[max(0, index - limits.timeline_spike_window) : index]
        baseline = before.mean() if before.size else overall
        if count >= limits.timeline_spike_min_count and count >= limits.timeline_spike_ratio * max(baseline, 1.0):
            spikes.append(index)
    return spikes


# --- snippets and highlighting ---------------------------------------------

# Snippets look at many words per request: the analyzer's own cache maps each word as
# written to its index term ("" for a stop word, which no query term can be).
_term = EnglishTokenizer().term_of


def _matching_words(text: str, terms: set[str]) -> Iterator[tuple[re.Match[str], str]]:
    """Every word of ``text`` whose index term is one of ``terms``, with that term."""
    for match in TOKEN_PATTERN.finditer(text):
        term = _term(match.group(0))
        if term in terms:
            yield match, term


def _term_spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    return [(match.start(), match.end()) for match, _ in _matching_words(text, terms)]


def highlight(text: str, terms: set[str]) -> str:
    """HTML-escaped ``text`` with every query term wrapped in ``<mark>``."""
    if not terms:
        return html.escape(text)
    out, last = [], 0
    for start, end in _term_spans(text, terms):
        out.append(html.escape(text[last:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


# Windows are looked for among the first this many term occurrences of a text (bounds the work on
# a long report that names the query term hundreds of times).
MAX_SNIPPET_HITS = 200
# Up to this many occurrences, the best window is found by sliding over them in Python: numpy's
# calls cost more than that loop on an excerpt's few (about 45 µs against 18), and less on a
# long report's 200 (55 µs against 110-160).
WINDOW_LOOP_MAX_HITS = 32


def _term_hits(text: str, terms: set[str], pieces: list[tuple[int, int]] | None = None) -> list[tuple[int, str]]:
    """Offsets and terms of the first words of ``text`` that are query terms (at most MAX_SNIPPET_HITS).

    With ``pieces`` (ascending, each cut at white space), only those ranges of
    ``text`` are looked at: the ones that hold the first occurrences.

    A stem is (nearly always) a prefix of the words it comes from, so for each
    stem a pattern that begins with its prefix finds, in the lower-cased text,
    the words that begin with it (:func:`_occurrence_patterns`): the regex
    engine looks for a literal prefix in C, and only the words found are
    normalised. Long reports have tens of thousands of words.
    """
    if pieces is not None:
        found: list[tuple[int, str]] = []
        for start, end in pieces:
            found += [(start + at, term) for at, term in _term_hits(text[start:end], terms)]
            if len(found) >= MAX_SNIPPET_HITS:
                break
        return found[:MAX_SNIPPET_HITS]
    lowered = text.lower()
    if len(lowered) != len(text):  # rare letters whose lower case is longer: offsets would shift
        return _term_hits_by_regex(text, terms)[:MAX_SNIPPET_HITS]
    hits: dict[int, str] = {}  # offset -> term
    # Only the first MAX_SNIPPET_HITS occurrences of all terms together are used: once that many
    # are known before some offset, no term needs looking for after it. A natural query's five
    # frequent words in a long report were otherwise looked for up to 200 times each.
    last = len(text)  # the last offset where an occurrence can still be among the first ones
    for pattern in _occurrence_patterns(frozenset(terms)):
        found = 0
        for match in pattern.finditer(lowered):
            if match.start() > last:
                break
            term = _term(match.group())
            if term in terms:
                hits[match.start()] = term
                found += 1
                if found == MAX_SNIPPET_HITS:
                    break
        if len(hits) >= MAX_SNIPPET_HITS:
            last = sorted(hits)[MAX_SNIPPET_HITS - 1]
    return sorted(hits.items())[:MAX_SNIPPET_HITS]


@functools.lru_cache(maxsize=256)
def _occurrence_patterns(terms: frozenset[str]) -> tuple[re.Pattern[str], ...]:
    """For each prefix of ``terms``' stems: the lower-case words (as ``TOKEN_PATTERN`` cuts them) that
    begin with it. A word begins where no word character precedes, nor an apostrophe or dot that
    follows one (``TOKEN_PATTERN`` would have gone on through it). A pattern of one literal prefix
    is searched for in C; an alternation of them would try its branches at every position holding
    one of their first letters."""
    patterns = []
    prefixes = sorted({term[: max(3, len(term) - 1)] for term in terms})
    # A prefix that begins with another ("russia" of "russian" after "russi" of "russia") finds no
    # word the other does not.
    for prefix in [p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)]:
        literal = re.escape(prefix)
        patterns.append(re.compile(rf"{literal}(?<!\w{literal})(?<!\w['’.]{literal})\w*(?:['’.]\w+)*"))
    return tuple(patterns)  # shared by every caller (cached)


def _term_hits_by_regex(text: str, terms: set[str]) -> list[tuple[int, str]]:
    return [(match.start(), term) for match, term in _matching_words(text, terms)]


def _best_window(
    text: str, terms: set[str], limit: int, pieces: list[tuple[int, int]] | None = None
) -> tuple[float, int]:
    """Score and start offset of the ``limit``-character window of ``text`` that best matches.

    Distinct terms in the window count most, repetitions a little (log-damped).
    """
    hits = _term_hits(text, terms, pieces)
    if len(hits) <= WINDOW_LOOP_MAX_HITS:
        return _best_window_of_few(text, hits, limit)
    # Each window starts at a hit and holds the hits before its start + limit - 20. Its score
    # orders windows as (distinct terms, hits) do, since log1p of at most MAX_SNIPPET_HITS
    # hits is below 10: the best is the first with the most of both, found with arrays.
    starts = np.fromiter((start for start, _ in hits), dtype=np.int64, count=len(hits))
    ends = np.searchsorted(starts, starts + (limit - 20), "left")
    numbers: dict[str, int] = {}
    codes = np.fromiter((numbers.setdefault(term, len(numbers)) for _, term in hits), dtype=np.int64)
    seen = np.zeros((len(hits) + 1, len(numbers)), dtype=np.int64)
    np.cumsum(codes[:, None] == np.arange(len(numbers)), axis=0, out=seen[1:])
    first = np.arange(len(hits))
    distinct = np.count_nonzero(seen[ends] > seen[first], axis=1)
    best = int(np.argmax(distinct * (MAX_SNIPPET_HITS + 1) + (ends - first)))
    best_score = int(distinct[best]) * 10 + math.log1p(int(ends[best]) - best)
    return best_score, _sentence_start(text, hits[best][0])


def _best_window_of_few(text: str, hits: list[tuple[int, str]], limit: int) -> tuple[float, int]:
    """:func:`_best_window` over a few ``hits``, sliding over them one by one."""
    best_score, best_start = 0.0, 0
    end = 0
    counts: dict[str, int] = {}
    for first, (start, term) in enumerate(hits):
        while end < len(hits) and hits[end][0] < start + limit - 20:
            counts[hits[end][1]] = counts.get(hits[end][1], 0) + 1
            end += 1
        score = len(counts) * 10 + math.log1p(end - first)
        if score > best_score:
            best_score, best_start = score, start
        counts[term] -= 1
        if not counts[term]:
            del counts[term]
    return best_score, _sentence_start(text, best_start)


def _sentence_start(text: str, position: int) -> int:
    """Move ``position`` back to the start of its sentence when that is close by."""
    window = text[max(0, position - 120) : position]
    cut = max(window.rfind(". "), window.rfind("\n"), window.rfind("? "), window.rfind("! "))
    if cut < 0:
        return position
    return max(0, position - 120) + cut + 1 + (window[cut] != "\n")


def snippet_at(
    excerpt: str,
    body: str,
    terms: set[str],
    limit: int,
    page_starts: list[int] | None = None,
    pieces: list[tuple[int, int]] | None = None,
) -> tuple[str, int | None]:
    """The best-matching passage of excerpt or body (escaped, terms marked) and where it
    starts in ``body`` (None: from the excerpt).

    With ``page_starts`` (a PDF), the passage is looked for within each page, so
    that it never runs across a page break and its page is the page it is on.
    With ``pieces`` (:meth:`Generation.body_pieces`), only those ranges of the
    body are scanned for the query's words: a 117 KB report took 0.1 ms to
    lower-case and search whole.
    """
    if not terms:
        return html.escape(_clip(excerpt or body, 0, limit)), None if excerpt else 0
    excerpt_score, excerpt_start = _best_window(excerpt, terms, limit)
    if pieces is not None and len(page_starts or []) <= 1:
        body_score, body_start = _best_window(body, terms, limit, pieces)
        page_text, page_start = body, 0
    else:
        body_score, page_text, page_start, body_start = _best_body_window(body, terms, limit, page_starts or [0])
    if body_score > excerpt_score:
        return highlight(_clip(page_text, body_start, limit), terms), page_start + body_start
    if excerpt_score or excerpt:
        return highlight(_clip(excerpt, excerpt_start, limit), terms), None
    return highlight(_clip(body, 0, limit), terms), 0


def _best_body_window(body: str, terms: set[str], limit: int, page_starts: list[int]) -> tuple[float, str, int, int]:
    """Score, page text, page offset and start within the page of the best window of ``body``."""
    best = (0.0, body, 0, 0)
    for number, page_start in enumerate(page_starts):
        page_end = page_starts[number + 1] if number + 1 < len(page_starts) else len(body)
        text = body if len(page_starts) == 1 else body[page_start:page_end]
        score, start = _best_window(text, terms, limit)
        if score > best[0]:
            best = (score, text, page_start, start)
    return best


def best_body_offset(body: str, terms: set[str], limit: int, page_starts: list[int] | None = None) -> int | None:
    """Where the best-matching passage of ``body`` starts, or None when no term is in it."""
    score, _, page_start, start = _best_body_window(body, terms, limit, page_starts or [0])
    return page_start + start if score else None


def _joined(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ascending ranges with each run of touching ones made one."""
    joined: list[tuple[int, int]] = []
    for start, end in ranges:
        if joined and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def page_of(page_starts: list[int], offset: int) -> int:
    """The 1-based page holding ``offset`` of a body whose pages start at ``page_starts``."""
    return max(1, bisect.bisect_right(page_starts, offset))


def _clip(text: str, start: int, limit: int) -> str:
    """About ``limit`` characters from ``start``, cut at word boundaries."""
    if start > 0:
        # Begin a little before the passage so that it reads in context.
        if start <= 80:
            start = 0  # the text's own beginning is close enough
        else:
            back = text.rfind(" ", 0, start - 40 + 1)
            start = back + 1 if back >= 0 and start - back < 80 else start
    piece = text[start : start + limit]
    if start + limit < len(text):
        piece = piece.rsplit(" ", 1)[0] + " …"
    return ("… " if start > 0 else "") + piece.strip()


def validate_date_param(value: str) -> dt.date:
    """A ``YYYY-MM-DD`` URL parameter as a date, or :class:`QueryError`."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise QueryError(f"'{value}' is not a date: use YYYY-MM-DD")
    return parse_date_bound(value, end=False).date()
