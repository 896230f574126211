"""Opened index generations: the live one, followed through swaps, and each one's per-thread searchers.

The live generation is resolved from ``CURRENT``; a newer one is picked up by
opening it afresh, never with ``Searcher.refresh()`` (which double-counts
documents after another process merged segments). A generation holds its
Whoosh index, its columns, its scorer and its caches, so a swap drops them
all at once. Whoosh searchers are not shared across threads: each thread
opens its own on first use.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh import scoring

from indexer.analysis import EnglishTokenizer
from indexer.store.columns import column_data
from indexer.store.generations import SPELLING_FILE, current_generation, open_for_reading
from indexer.store.schema import body_reader, marks_reader
from search_web.engine import IndexUnavailable, SearchResult
from search_web.settings import Limits
from search_web.whoosh_engine.caching import LruCache
from search_web.whoosh_engine.columns import Columns
from search_web.whoosh_engine.corrections import WordCorrector
from search_web.whoosh_engine.ranking import Ranker, bm25f_parameters
from search_web.whoosh_engine.snippets import MAX_SNIPPET_HITS, joined_ranges
from search_web.whoosh_engine.term_scoring import TermScorer


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

    def document_number(self, doc_id: str) -> int | None:
        """The number of the document with this id in this generation, or None."""
        return self.searcher().document_number(id=doc_id)

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
        return joined_ranges([(int(marks[p, 0]), ends[p]) for p in pieces])

    def stored(self, docnum: int, *, with_body: bool = False) -> dict[str, Any]:
        """A document's stored fields, read with this thread's searcher, and its ``story`` (a column);
        ``body`` added on request."""
        stored = self.searcher().stored_fields(docnum)
        stored["story"] = self.columns.story_ids[self.columns.story[docnum]]
        if with_body:
            stored["body"] = self._local.body_of(docnum)
        return stored

    def close(self) -> None:
        """Close every thread's searcher and the index."""
        with self._lock:
            for searcher in self._searchers:
                searcher.close()
            self._searchers.clear()
        self.index.close()


class LiveGeneration:
    """The live generation of an index folder, reopened when ``CURRENT`` points elsewhere."""

    def __init__(self, index_root: Path, limits: Limits) -> None:
        self.index_root = index_root
        self.limits = limits
        self._generation: Generation | None = None
        self._retired: list[Generation] = []
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> Generation:
        """The live generation; ``CURRENT`` is looked at again at most every ``reload_check_s``."""
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
        """Close the live generation and the retired one."""
        with self._lock:
            for generation in [*self._retired, self._generation]:
                if generation is not None:
                    generation.close()
            self._retired, self._generation = [], None
