"""What a request selects: its query matched and scored, its date range and facet selections applied.

Queries are matched and ranked on posting lists read into arrays
(``ranking``: BM25F, coordination, recency); dates and facet values live in
numpy columns, so the filters and date ranges are array operations instead
of per-document Python and term-expanding range queries.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_web.engine import SearchRequest
from search_web.query import Node, day_after, parse_query
from search_web.settings import Limits
from search_web.whoosh_engine.columns import Columns
from search_web.whoosh_engine.generations import Generation
from search_web.whoosh_engine.ranking import scored
from search_web.whoosh_engine.term_scoring import DeadlineExceeded

# A date range is checked on the matching documents alone when they are at most this share of
# all: below it, gathering their dates is cheaper than comparing every document's date.
SPARSE_DATE_SHARE = 1 / 32


@dataclass
class Selection:
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


def select(gen: Generation, request: SearchRequest, limits: Limits, deadline: float) -> Selection:
    """Match, filter and date-limit: everything a search, timeline or export shares.

    ``deadline`` (a ``time.monotonic()`` value) bounds the matching.
    """
    searcher = gen.searcher()
    columns = gen.columns
    parsed = parse_query(request.q, searcher.reader(), limits, gen.analyzer)
    date_from = _to_datetime(request.date_from) if request.date_from else None
    date_to = day_after(request.date_to) if request.date_to else None
    date_from = max(filter(None, [date_from, parsed.date_from]), default=None)
    date_to = min(filter(None, [date_to, parsed.date_to]), default=None)

    matched, scores, cut_short = match(gen, parsed.tree, deadline)
    base = matched & columns.live
    if date_from or date_to:
        keep_dated_within(base, columns, date_from, date_to)
    masks = {facet: columns.value_mask(facet, values) for facet, values in request.selections().items()}
    selected = base.copy()
    for mask in masks.values():
        if mask is not None:
            selected &= mask
    is_scored = scored(parsed.tree, gen.term_scorer)
    cut_short = cut_short or parsed.expansions_cut
    return Selection(gen, searcher, parsed, base, masks, selected, scores, cut_short, is_scored)


def deadline_from_now(limits: Limits) -> float:
    """The ``time.monotonic()`` value at which a search starting now runs out of its time budget."""
    return time.monotonic() + limits.time_budget_s


def match(gen: Generation, tree: Node | None, deadline: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """Bool mask of matching documents, their scores, and whether the time budget cut it short."""
    size = gen.columns.size
    if tree is None:
        return np.ones(size, dtype=bool), np.zeros(size, dtype=np.float64), False
    try:
        mask, scores = gen.ranker.match(tree, deadline)
    except DeadlineExceeded:
        return np.zeros(size, dtype=bool), np.zeros(size, dtype=np.float64), True
    return mask, scores, False


def keep_dated_within(
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


def _to_datetime(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)
