"""Matching and BM25F scoring of term queries with numpy, equal to Whoosh's own.

Whoosh scores one posting at a time in Python (a field-length lookup and a
BM25 call per matching document and field): a frequent word over 100,000
documents costs a second. Queries made only of terms combined with AND, OR
and NOT — what the search box produces for words and wildcards — are
evaluated here on whole posting lists instead: each term's document numbers
and weights are read block by block into arrays (cached per generation), the
match set is array set logic, and the score of a document is the sum, over
the positive terms it contains, of exactly Whoosh's ``bm25(idf, weight,
field length, average field length, B, K1)``, as Whoosh's And/Or matchers
sum their children. Phrases ("export controls") are matched on the
positions of the documents that hold all their words, and scored as
Whoosh's phrase matcher scores them: the sum of their words' scores, in the
documents where the phrase occurs. Anything else (fuzzy terms, slop other
than 1) returns None and goes through Whoosh.
``tests/test_speed_never_changes_answers.py`` checks the two agree.

This reads the whoosh3 codec's posting blocks (``_read_ids``/``_weights``/
``_read_values``), which is why whoosh3 is pinned exactly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.matching import FilterMatcher
from whoosh.util.numeric import byte_to_length

from indexer.analysis import POSITION_BYTES, PackedPositions
from indexer.segment_writing import length_bytes
from search_web.caching import LruCache

# byte -> field length, as Whoosh quantises lengths into one byte per document.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) or 0 for b in range(256)], dtype=np.float64)
# Decoded posting lists kept per generation, in bytes: at a million documents one frequent
# word's list is ~12 MB per field, so a count of terms would not bound memory.
POSTINGS_CACHE_BYTES = 384 * 2**20
# Documents holding each recently matched phrase, in bytes: decoding positions is most of a phrase's cost.
PHRASE_CACHE_BYTES = 64 * 2**20
# A term read with at most this many postings keeps its packed positions (for snippets of long
# bodies, see positions_in); a frequent word's would cost memory and is found by scanning anyway.
POSITIONS_KEPT_POSTINGS = 4096
POSITIONS_CACHE_BYTES = 32 * 2**20
_DOC_SHIFT = 32  # position keys: document number << 32 | position


# A term to score, and the documents it is scored in (None: wherever it occurs).
Positive = tuple[wq.Term, np.ndarray | None]


class Unsupported(Exception):
    """The query has a node this module does not evaluate; use Whoosh."""


class DeadlineExceeded(Exception):
    """The search's time budget ran out between two terms."""


class TermScorer:
    """Evaluates term queries over one opened generation, from any number of threads.

    ``searcher_of_thread`` returns the calling thread's own Whoosh searcher.
    Every read of the index goes through it: a Whoosh reader's files keep
    one file position, so threads reading through a shared reader would
    read each other's posting blocks. The arrays and caches are shared.
    """

    def __init__(self, searcher_of_thread: Callable[[], Any], weighting: Any, fields: tuple[str, ...]) -> None:
        self.searcher_of_thread = searcher_of_thread
        reader = searcher_of_thread().reader()
        self.schema = reader.schema
        self.size = reader.doc_count_all()
        self.weighting = weighting
        # The main text fields are loaded up front; others (provider:, topic:) on first use.
        self.lengths = {name: self._field_lengths(name) for name in fields}
        self._postings: LruCache[tuple[np.ndarray, np.ndarray]] = LruCache(
            POSTINGS_CACHE_BYTES, weigh=lambda arrays: arrays[0].nbytes + arrays[1].nbytes
        )
        self._phrases: LruCache[np.ndarray] = LruCache(PHRASE_CACHE_BYTES, weigh=lambda found: found.nbytes + 64)
        self._positions: LruCache[tuple[np.ndarray, list[bytes]]] = LruCache(
            POSITIONS_CACHE_BYTES, weigh=lambda kept: kept[0].nbytes + sum(map(len, kept[1])) + 40 * len(kept[1])
        )

    def _field_lengths(self, fieldname: str) -> np.ndarray:
        lengths = np.zeros(self.size, dtype=np.float64)
        for subreader, offset in self.searcher_of_thread().reader().leaf_readers():
            raw = length_bytes(subreader._perdoc, fieldname)
            if raw is not None:
                codes = np.frombuffer(raw, dtype=np.uint8)
                lengths[offset : offset + codes.size] = _LENGTH_OF_BYTE[codes]
        return lengths

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and weights of one term, as arrays."""
        key = (fieldname, text)
        cached = self._postings.get(key)
        if cached is not None:
            return cached
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        # The positions come with the blocks already read; they are kept for a term with few postings.
        values: list[bytes] | None = [] if type(self.schema[fieldname].format) is PackedPositions else None
        btext = text.encode("utf-8") if isinstance(text, str) else text
        for ids_of_block, matcher in self._blocks(fieldname, btext):
            matcher._read_weights()
            ids.append(ids_of_block)
            weights.append(np.asarray(matcher._weights, dtype=np.float64))
            if values is not None:
                matcher._read_values()
                values.extend(matcher._values)
                if len(values) > POSITIONS_KEPT_POSTINGS:
                    values = None
        result = (
            (np.concatenate(ids).astype(np.int32), np.concatenate(weights))  # document numbers fit 32 bits
            if ids
            else (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64))
        )
        self._postings.put(key, result)
        if values is not None:
            self._positions.put((fieldname, btext), (result[0], values))
        return result

    def positions_in(self, fieldname: str, text: str, docnum: int) -> np.ndarray | None:
        """Word positions of a term in one document's field, if its postings were read lately.

        None when they are not at hand (a frequent word, or postings not read in
        this generation or dropped from the cache); empty when the document's
        field does not hold the term.
        """
        kept = self._positions.get((fieldname, text.encode("utf-8")))
        if kept is None:
            return None
        ids, values = kept
        at = int(np.searchsorted(ids, docnum))
        if at == ids.size or ids[at] != docnum:
            return np.zeros(0, dtype=np.uint32)
        return np.frombuffer(values[at], dtype="<u4")

    def match(self, query: wq.Query, deadline: float = math.inf) -> tuple[np.ndarray, np.ndarray] | None:
        """(matched mask, scores) for ``query``, or None when it is not a pure term query.

        Raises :class:`DeadlineExceeded` when ``time.monotonic()`` passes ``deadline``
        (checked before each term).
        """
        try:
            mask, positives = self._evaluate(query, deadline)
        except Unsupported:
            return None
        scores = np.zeros(self.size, dtype=np.float64)
        for term, within in positives:
            _check(deadline)
            self._add_scores(scores, term, within)
        return mask, scores

    def _evaluate(self, node: wq.Query, deadline: float) -> tuple[np.ndarray, list[Positive]]:
        if type(node) is wq.Term:
            _check(deadline)
            if node.fieldname not in self.schema:
                raise Unsupported(f"unknown field {node.fieldname}")
            ids, _ = self.postings(node.fieldname, node.text)
            mask = np.zeros(self.size, dtype=bool)
            mask[ids] = True
            return mask, [(node, None)]
        if type(node) is wq.Phrase:
            return self._phrase(node, deadline)
        if type(node) is wq.AndNot:
            mask, positives = self._evaluate(node.a, deadline)
            excluded, _ = self._evaluate(node.b, deadline)
            return mask & ~excluded, positives
        if type(node) is wq.And:
            mask, positives = np.ones(self.size, dtype=bool), []
            for child in node.subqueries:
                if type(child) is wq.Not:
                    excluded, _ = self._evaluate(child.query, deadline)
                    mask &= ~excluded
                    continue
                child_mask, child_positives = self._evaluate(child, deadline)
                mask &= child_mask
                positives += child_positives
            return mask, positives
        if type(node) is wq.Or and not node.minmatch and node.scale is None:
            mask, positives = np.zeros(self.size, dtype=bool), []
            for child in node.subqueries:
                child_mask, child_positives = self._evaluate(child, deadline)
                mask |= child_mask
                positives += child_positives
            return mask, positives
        raise Unsupported(type(node).__name__)

    def _phrase(self, node: wq.Phrase, deadline: float) -> tuple[np.ndarray, list[Positive]]:
        """Documents where the words occur one right after another, and the words to score there."""
        if node.fieldname not in self.schema:
            raise Unsupported(f"unknown field {node.fieldname}")
        field = self.schema[node.fieldname]
        if node.slop != 1 or not field.format or not field.format.supports("positions"):
            raise Unsupported("a phrase Whoosh would treat otherwise")
        words = [field.to_bytes(word) for word in node.words]
        mask = np.zeros(self.size, dtype=bool)
        mask[self._phrase_documents(node.fieldname, words, deadline)] = True
        terms = [wq.Term(node.fieldname, word.decode("utf-8"), boost=node.boost) for word in words]
        return mask, [(term, mask) for term in terms]

    def _phrase_documents(self, fieldname: str, words: list[bytes], deadline: float) -> np.ndarray:
        """Document numbers where ``words`` occur one right after another (cached per generation)."""
        key = (fieldname, tuple(words))
        cached = self._phrases.get(key)
        if cached is not None:
            return cached
        found = np.zeros(0, dtype=np.int64)
        reader = self.searcher_of_thread().reader()
        if words and all((fieldname, word) in reader for word in words):  # else, as Whoosh: no match
            candidates = self.postings(fieldname, words[0])[0]
            for word in words[1:]:
                _check(deadline)
                candidates = np.intersect1d(candidates, self.postings(fieldname, word)[0], assume_unique=True)
            # (document, position) keys where the phrase could start, narrowed word by word.
            starts = self._position_keys(fieldname, words[0], candidates)
            for offset, word in enumerate(words[1:], start=1):
                if not starts.size:
                    break
                _check(deadline)
                candidates = np.unique(starts >> _DOC_SHIFT)
                starts = np.intersect1d(
                    starts, self._position_keys(fieldname, word, candidates) - offset, assume_unique=True
                )
            found = np.unique(starts >> _DOC_SHIFT)
        self._phrases.put(key, found)  # not reached when the deadline cut the matching short
        return found

    def _position_keys(self, fieldname: str, text: bytes, wanted: np.ndarray) -> np.ndarray:
        """``document << 32 | position`` of every occurrence of one term in ``wanted`` documents, sorted."""
        if not wanted.size:
            return np.zeros(0, dtype=np.int64)
        unpack = _positions_unpacker(self.schema[fieldname].format)
        keys: list[np.ndarray] = []
        for ids, matcher in self._blocks(fieldname, text, wanted):
            hits = np.flatnonzero(np.isin(ids, wanted, assume_unique=True))
            if hits.size:
                matcher._read_values()
                counts, positions = unpack([matcher._values[index] for index in hits])
                keys.append((np.repeat(ids[hits], counts) << _DOC_SHIFT) | positions)
        # Blocks come in document order and positions ascend within a posting: already sorted.
        return np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)

    def _blocks(
        self, fieldname: str, text: bytes, wanted: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, Any]]:
        """Each posting block of a term: its (global) document numbers, and the matcher positioned on it.

        Given ``wanted`` (sorted document numbers), blocks whose range of
        document numbers holds none of them are passed over unread: a block's
        header tells its last document number.
        """
        for subreader, offset in self.searcher_of_thread().reader().leaf_readers():
            if (fieldname, text) not in subreader:
                continue
            matcher = subreader.postings(fieldname, text)
            # Deleted documents come wrapped in a filter; the search masks them out itself.
            while isinstance(matcher, FilterMatcher):
                matcher = matcher.child
            if not hasattr(matcher, "_read_ids"):
                raise Unsupported(f"posting reader {type(matcher).__name__}")
            below = offset - 1  # the block holds document numbers after this one
            while not matcher._atend:
                last = matcher._maxid + offset
                if wanted is None or np.searchsorted(wanted, last, "right") > np.searchsorted(wanted, below, "right"):
                    matcher._read_ids()
                    yield np.asarray(matcher._ids, dtype=np.int64) + offset, matcher
                below = last
                matcher._next_block()

    def _add_scores(self, scores: np.ndarray, term: wq.Term, within: np.ndarray | None = None) -> None:
        if self.schema[term.fieldname].scorable:
            ids, values = self.term_scores(term.fieldname, term.text)
        else:
            ids, values = self.postings(term.fieldname, term.text)  # Whoosh's WeightScorer: the posting's weight
        if within is not None:  # a phrase's word counts only where the phrase occurs
            keep = within[ids]
            ids, values = ids[keep], values[keep]
        scores[ids] += values * term.boost  # a term's document numbers are distinct

    def term_scores(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers of one term and its BM25 score in each (before the query's boost).

        Everything in the formula is fixed for a generation, so the scores are
        cached with the postings: a frequent word over a million documents
        cost 15 ms of array arithmetic per query.
        """
        key = ("scores", fieldname, text)
        cached = self._postings.get(key)
        if cached is not None:
            return cached
        ids, weights = self.postings(fieldname, text)
        B = self.weighting._field_B.get(fieldname, self.weighting.B)
        K1 = self.weighting.K1
        searcher = self.searcher_of_thread()
        idf = searcher.idf(fieldname, text)
        avgfl = searcher.avg_field_length(fieldname) or 1
        if fieldname not in self.lengths:  # a race only computes the same array twice
            self.lengths[fieldname] = self._field_lengths(fieldname)
        lengths = self.lengths[fieldname][ids]
        result = (ids, idf * ((weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths / avgfl))))
        self._postings.put(key, result)
        return result


def _positions_unpacker(format_: Any):
    """A function from posting values to (positions per posting, all positions), as arrays.

    The project's ``PackedPositions`` values are packed integers: one join
    and one ``frombuffer`` per block. Any other format (an index written
    before it) is decoded posting by posting.
    """
    if type(format_) is PackedPositions:

        def unpack_packed(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
            counts = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) // POSITION_BYTES
            return counts, np.frombuffer(b"".join(values), dtype="<u4").astype(np.int64)

        return unpack_packed
    decode = format_.decoder("positions")

    def unpack_any(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        lists = [decode(value) for value in values]
        counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        return counts, np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))

    return unpack_any


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise DeadlineExceeded
