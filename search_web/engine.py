"""The engine interface the web layer depends on: the request, the results, and what is asked of an index.

The views, the JSON API and the exports take the engine of the running app
(:func:`current_engine`) and call only what :class:`Engine` declares: they
never see a Whoosh searcher. ``create_app`` builds the Whoosh engine
(``search_web.whoosh_engine.SearchIndex``); another engine need only
implement the same protocol.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import current_app

from search_web.settings import Limits

SORTS = ("relevance", "newest", "oldest")
# Where a Flask app keeps its engine, in ``app.extensions`` (the tests and the command line read it).
ENGINE_KEY = "search_index"

Hit = dict[str, Any]  # one result: stored fields as shown, snippet, page and collapsed story
Brief = dict[str, Any]  # id, title, link, provider and date of a document (related and story lists)
DocumentPage = dict[str, Any]  # a document's stored fields as its page shows them, with its related briefs
Timeline = dict[str, Any]  # interval, buckets from first to last, and the spikes among them


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
        """The values selected in each facet, by facet name."""
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
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]]
    months: list[dict[str, Any]]
    cut_short: bool = False
    terms: set[str] = field(default_factory=set)
    stories: int = 0  # results after collapsing stories (== total when not collapsed)
    collapse: bool = True
    timeline: Timeline | None = None
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


class Engine(Protocol):
    """What the pages, the JSON API and the exports ask of a search engine.

    Every operation reads the index as it is now: an engine follows the index
    it serves through rebuilds. A bad query raises
    :class:`~search_web.query.QueryError`; no index at all raises
    :class:`IndexUnavailable`.
    """

    limits: Limits

    def search(self, request: SearchRequest, *, with_corrections: bool = True) -> SearchResult:
        """One page of results with its totals, facet values, months and (on request) timeline;
        ``with_corrections``: words no document holds may be corrected."""
        ...

    def timeline(self, request: SearchRequest) -> Timeline:
        """The request's matches per day, week, month or year, with the spikes marked."""
        ...

    def export(self, request: SearchRequest, limit: int) -> Iterator[Hit]:
        """Up to ``limit`` results in the request's order; the query runs at once, the hits as consumed."""
        ...

    def document(self, doc_id: str) -> DocumentPage | None:
        """The document with this id as its page shows it, or None."""
        ...

    def brief(self, doc_id: str) -> Brief | None:
        """Title, link, provider and date of the document with this id, or None."""
        ...

    def story_members(self, doc_id: str) -> list[Brief]:
        """The other documents of this document's story, newest first."""
        ...

    def more_like_this(self, doc_id: str) -> list[Brief]:
        """Documents whose key terms resemble this one's."""
        ...

    def query_terms_for(self, q: str) -> set[str]:
        """The index terms of a query string (empty for a query that does not parse), for highlighting."""
        ...

    def highlight(self, text: str, terms: set[str]) -> str:
        """HTML-escaped ``text`` with every word of ``terms`` (index terms) marked."""
        ...

    def passage_offset(self, body: str, terms: set[str], page_starts: list[int]) -> int | None:
        """Where the passage of ``body`` that best matches ``terms`` starts, or None when none holds one."""
        ...

    def close(self) -> None:
        """Release the index files the engine holds open."""
        ...


def current_engine() -> Engine:
    """The engine of the current Flask app."""
    return current_app.extensions[ENGINE_KEY]
