"""Per-document facet, date and story values of one generation, as numpy arrays, and what is counted on them.

Loaded once per generation (see ``indexer.store.columns``), so that filters, the
disjunctive facet counts, date orders, recency and story collapsing are array
operations. Everything here that does not depend on a request (orders,
recency factors, story groups, per-document value tables) is computed at
load, so a request only gathers and counts.
"""

from __future__ import annotations

import numpy as np

from indexer.store.columns import MULTI_VALUED, ColumnData
from indexer.store.schema import UNDATED
from search_web.whoosh_engine.caching import LruCache

# A multi-valued facet (topics, countries) keeps each document's first this many values in
# one row of a table, so counting is one gather of rows; values beyond it are kept as pairs.
VALUES_PER_ROW = 4
# Masks of the documents dated within recently asked date ranges, in bytes (one byte per document).
DATE_MASKS_CACHE_BYTES = 16 * 2**20


class Columns:
    """The columns of one generation, indexed by document number."""

    def __init__(self, data: ColumnData, recency_weight: float = 0.0, recency_half_life_days: float = 365.0) -> None:
        """``recency_weight`` and ``recency_half_life_days``: the news recency blend (see ``recency``)."""
        self.size = data.size
        self.live = data.live
        self.live_count = int(np.count_nonzero(self.live))
        self.date = data.date
        self.dated = self.date != UNDATED
        self.values = data.values
        self.codes = data.codes
        self.story = data.codes["story"]
        self.story_ids = data.values["story"]
        # Topics and countries are multi-valued: one (document, value) pair per entry.
        self.pair_docs = data.pair_docs
        self.pair_codes = data.pair_codes
        self.value_rows = {facet: _value_rows(self, facet) for facet in MULTI_VALUED}
        self.newest = int(self.date[self.dated & self.live].max()) if (self.dated & self.live).any() else 0
        # Browse orders, computed once: filtering a precomputed order is O(n), sorting is O(n log n).
        docnums = np.arange(self.size)
        self.newest_first = np.lexsort((docnums, -self.date, ~self.dated))
        self.oldest_first = np.lexsort((docnums, self.date, ~self.dated))
        # The dates in that order (dated documents come first): a date range is a slice of it.
        self._dates_ascending = self.date[self.oldest_first[: int(np.count_nonzero(self.dated))]]
        self._date_masks: LruCache[np.ndarray] = LruCache(DATE_MASKS_CACHE_BYTES, weigh=lambda mask: mask.nbytes)
        self.recency = self._recency_factors(recency_weight, recency_half_life_days)
        # Documents grouped by story (in document order within one): story s is
        # by_story[story_starts[s]:story_starts[s + 1]].
        self.by_story = np.argsort(self.story, kind="stable")
        self.story_starts = np.searchsorted(self.story[self.by_story], np.arange(len(self.story_ids) + 1))
        self._live_counts: dict[str, np.ndarray] = {}

    def _recency_factors(self, weight: float, half_life_days: float) -> np.ndarray:
        """Each document's relevance multiplier for being recent news (1.0 for reports and undated items):
        at most 1 + ``weight``, halving every ``half_life_days`` before the newest item in the index.

        It depends only on the document and the generation's newest date, so it
        is computed once rather than over every query's matches.
        """
        news_codes = [i for i, v in enumerate(self.values["kind"]) if v in ("news", "related")]
        is_news = np.isin(self.codes["kind"], news_codes) & self.dated
        age_days = np.maximum(self.newest - self.date, 0) / 86400.0
        boost = weight * np.exp2(-age_days / half_life_days)
        return 1.0 + np.where(is_news, boost, 0.0)

    def dated_within(self, start: int | None, end: int | None) -> np.ndarray:
        """Which documents are dated within [start, end) (seconds since 1970, None: unbounded); read only.

        The documents of a range are a slice of the date order, and the mask is
        kept for the next search with the same range, so that a search need not
        compare every document's date.
        """
        key = (start, end)
        mask = self._date_masks.get(key)
        if mask is None:
            dates = self._dates_ascending
            low = 0 if start is None else int(np.searchsorted(dates, start, "left"))
            high = dates.size if end is None else int(np.searchsorted(dates, end, "left"))
            mask = np.zeros(self.size, dtype=bool)
            mask[self.oldest_first[low : max(low, high)]] = True
            mask.flags.writeable = False  # shared by every search that asks for this range
            self._date_masks.put(key, mask)
        return mask

    def value_mask(self, facet: str, selected: list[str]) -> np.ndarray | None:
        """Documents having any of ``selected`` values of ``facet`` (None = no filter)."""
        if not selected:
            return None
        values = self.values[facet]
        wanted = [values.index(v) for v in selected if v in values]
        if facet in MULTI_VALUED:
            mask = np.zeros(self.size, dtype=bool)
            if wanted:
                mask[self.pair_docs[facet][np.isin(self.pair_codes[facet], wanted)]] = True
            return mask
        return np.isin(self.codes[facet], wanted)

    def stories_among(self, docnums: np.ndarray) -> int:
        """Number of distinct stories among the documents ``docnums``."""
        seen = np.zeros(len(self.story_ids), dtype=bool)
        seen[self.story[docnums]] = True
        return int(np.count_nonzero(seen))

    def story_others(self, docnum: int, within: np.ndarray) -> np.ndarray:
        """The other documents of ``docnum``'s story among ``within`` (a bool mask), newest first."""
        story = self.story[docnum]
        members = self.by_story[self.story_starts[story] : self.story_starts[story + 1]]
        others = members[within[members] & (members != docnum)]
        return others[np.lexsort((others, -self.date[others]))]

    def counts(self, docs: np.ndarray, facets: list[str]) -> dict[str, np.ndarray]:
        """Count of documents per value of each of ``facets`` among ``docs`` (a bool mask of live documents).

        When ``docs`` holds most live documents (a frequent word matches nearly
        all), the few left out are counted and taken from the counts of all
        live documents, computed once: the work follows the smaller side.
        """
        if np.count_nonzero(docs) <= self.live_count // 2:
            return self._counts(docs, facets)
        missing = [facet for facet in facets if facet not in self._live_counts]
        if missing:  # a race only computes the same counts twice
            self._live_counts.update(self._counts(self.live, missing))
        left_out = self._counts(self.live & ~docs, facets)
        return {facet: self._live_counts[facet] - left_out[facet] for facet in facets}

    def _counts(self, docs: np.ndarray, facets: list[str]) -> dict[str, np.ndarray]:
        # Gathered by document numbers, which numpy does more cheaply than by a bool mask.
        docnums = np.flatnonzero(docs)
        counts = {}
        for facet in facets:
            size = len(self.values[facet])
            if facet in MULTI_VALUED:
                rows, extra_docs, extra_codes = self.value_rows[facet]
                found = np.bincount(rows[docnums].ravel(), minlength=size + 1)[:size]  # size: an empty cell
                if extra_docs.size:
                    found += np.bincount(extra_codes[docs[extra_docs]], minlength=size)
                counts[facet] = found
            else:
                counts[facet] = np.bincount(self.codes[facet][docnums], minlength=size)
        return counts


def _value_rows(columns: Columns, facet: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A multi-valued facet as a table of each document's first values (empty cells hold the
    number of values) and the (document, value) pairs that did not fit."""
    docs, codes = columns.pair_docs[facet], columns.pair_codes[facet]
    if docs.size and np.any(docs[1:] < docs[:-1]):
        order = np.argsort(docs, kind="stable")
        docs, codes = docs[order], codes[order]
    rank = np.arange(docs.size) - np.searchsorted(docs, docs)  # a pair's place among its document's
    fits = rank < VALUES_PER_ROW
    empty = len(columns.values[facet])
    rows = np.full((columns.size, VALUES_PER_ROW), empty, dtype=np.int16 if empty < 2**15 else np.int32)
    rows[docs[fits], rank[fits]] = codes[fits]
    return rows, docs[~fits], codes[~fits]
