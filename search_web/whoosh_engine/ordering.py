"""Ordering a selection for a page: by relevance, newest or oldest first, optionally one result per story.

Only as many documents as a page needs are ordered: the precomputed date
orders are filtered rather than sorted, and relevance keeps only the
candidates that can reach the page before sorting them.
"""

from __future__ import annotations

import numpy as np

from search_web.whoosh_engine.columns import Columns
from search_web.whoosh_engine.matching import Selection


def ordered(chosen: Selection, sort: str, collapse: bool, needed: int) -> np.ndarray:
    """The first ``needed`` selected documents in ``sort`` order; collapsed: only each story's first.

    A story's first document is its first in the whole order, so the first
    leaders are the first occurrences of stories in a prefix of the order:
    only a prefix is ordered, grown until it holds enough stories (or is
    everything), since ordering every match to find the leaders would cost
    a large result set far more than the page needs.
    """
    columns, selected = chosen.gen.columns, chosen.selected
    order = order_of(columns, selected, chosen.scores, sort, chosen.scored, needed)
    if not collapse:
        return order
    total = int(np.count_nonzero(selected))
    prefix = needed
    while True:
        _, first = np.unique(columns.story[order], return_index=True)
        leaders = order[np.sort(first)]
        if leaders.size >= needed or order.size >= total:
            return leaders[:needed]
        prefix = min(total, max(prefix * 4, needed + 64))
        order = order_of(columns, selected, chosen.scores, sort, chosen.scored, prefix)


def order_of(
    columns: Columns, docs: np.ndarray, scores: np.ndarray, sort: str, is_scored: bool, needed: int
) -> np.ndarray:
    """The first ``needed`` document numbers of ``docs`` in the requested order.

    Ties break by date, score, then document number, so pages never overlap.
    """
    if sort == "oldest" or not is_scored:
        # The precomputed date orders are exact: oldest first never looks at scores, and
        # without text every score is 0 (newest first). Undated documents go last either way.
        order = columns.oldest_first if sort == "oldest" else columns.newest_first
        return order[docs[order]][:needed]
    if sort == "newest":
        return _newest_with_text(columns, docs, scores, needed)
    docnums = np.flatnonzero(docs)
    key = scores[docnums] * columns.recency[docnums]
    if docnums.size > 4 * needed:
        # Only candidates at or above the needed-th best can be on the page (ties included).
        threshold = np.partition(key, docnums.size - needed)[docnums.size - needed]
        keep = key >= threshold
        docnums, key = docnums[keep], key[keep]
    return docnums[np.lexsort((docnums, -key))][:needed]


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
