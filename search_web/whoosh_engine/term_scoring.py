"""Posting lists as arrays, and BM25F scores of terms and phrases computed on them with numpy.

Whoosh scores one posting at a time in Python (a field-length lookup and a
BM25 call per matching document and field), so a frequent word's cost grows
with every document holding it. Here each term's document numbers and
frequencies are read block by block into arrays (cached per generation),
and a term's score in every document holding it is computed at once:

    BM25F (Robertson & Zaragoza; Lucene's ``combined_fields``): per document,
    the term's frequency in each field, weighted by the field's weight and
    normalised by the field's length against the collection's average
    length of that field, is summed over the fields; one saturation (k1)
    and one idf (of the documents holding the term in any field) apply to
    the sum.

Phrases ("export controls") are matched on the positions of the documents
that hold all their words, and scored the same way as one term, with how
often the phrase occurs in each field as its frequency.
``search_web.whoosh_engine.ranking`` combines these scores for a whole query;
``tests/test_bm25f_scoring.py`` checks them against the formula computed
document by document from Whoosh's own reader.

This reads the whoosh3 codec's posting blocks (``_read_ids``/``_weights``/
``_read_values``), which is why whoosh3 is pinned exactly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from whoosh.matching import FilterMatcher
from whoosh.util.numeric import byte_to_length

from indexer.analysis import POSITION_BYTES, PackedPositions
from indexer.store.columns import length_bytes
from search_web.whoosh_engine.caching import LruCache

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
# Below this share of all documents, a term's postings over several fields are merged by sorting
# them; above it, by adding them into an array of every document.
SPARSE_MERGE_SHARE = 1 / 16
# A term or phrase held by more than this share of all documents is also kept as arrays over every
# document (``dense``): adding them is one pass in order, where adding its postings by document
# number jumps about memory once per posting.
DENSE_SHARE = 1 / 8
_DOC_SHIFT = 32  # position keys: document number << 32 | position

Postings = tuple[np.ndarray, np.ndarray]  # sorted document numbers, and a value for each


class Unsupported(Exception):
    """The index holds postings in a form this module cannot read: a whoosh3 whose codec changed
    (the pin and tests/test_whoosh_hazards.py are there so that this never reaches a request)."""


class DeadlineExceeded(Exception):
    """The search's time budget ran out between two terms."""


@dataclass(frozen=True)
class Bm25fParameters:
    """Field weights and length normalisation (b) per field, and the one saturation (k1)."""

    weights: dict[str, float]
    b: dict[str, float]
    k1: float


class TermScorer:
    """Postings, phrases and BM25F scores over one opened generation, from any number of threads.

    ``searcher_of_thread`` returns the calling thread's own Whoosh searcher.
    Every read of the index goes through it: a Whoosh reader's files keep
    one file position, so threads reading through a shared reader would
    read each other's posting blocks. The arrays and caches are shared.
    """

    def __init__(self, searcher_of_thread: Callable[[], Any], parameters: Bm25fParameters) -> None:
        self.searcher_of_thread = searcher_of_thread
        reader = searcher_of_thread().reader()
        self.schema = reader.schema
        self.size = reader.doc_count_all()
        self.live_count = reader.doc_count()
        self.parameters = parameters
        # Lengths of the scored fields, and their averages over the whole collection: a news record
        # without a body must count as short beside a report, or reports win by repeating a word.
        self.lengths = {name: self._field_lengths(name) for name in parameters.weights if name in self.schema}
        self.average_lengths = {name: float(lengths.mean()) or 1.0 for name, lengths in self.lengths.items()}
        self._postings: LruCache[Postings] = LruCache(
            POSTINGS_CACHE_BYTES, weigh=lambda arrays: arrays[0].nbytes + arrays[1].nbytes
        )
        self._phrases: LruCache[Postings] = LruCache(
            PHRASE_CACHE_BYTES, weigh=lambda found: found[0].nbytes + found[1].nbytes + 64
        )
        self._positions: LruCache[tuple[np.ndarray, list[bytes]]] = LruCache(
            POSITIONS_CACHE_BYTES, weigh=lambda kept: kept[0].nbytes + sum(map(len, kept[1])) + 40 * len(kept[1])
        )

    def scored(self, fieldname: str) -> bool:
        """Whether a field's matches are scored (the text fields); others only filter."""
        return fieldname in self.lengths

    # -- scores --------------------------------------------------------------

    def term_scores(self, texts: tuple[str, ...], fields: tuple[str, ...], deadline: float = math.inf) -> Postings:
        """The documents holding a term in any of ``fields``, and its BM25F score in each (0 where
        none of the fields is scored). ``texts``: the term and its other forms, whose occurrences
        count as its own. Cached per generation."""
        key = ("term", texts, fields)
        cached = self._postings.get(key)
        if cached is None:
            _check(deadline)
            per_field = [
                (name, *_merge_sum([self.postings(name, text) for text in texts], self.size)) for name in fields
            ]
            cached = self._combined(per_field)
            self._postings.put(key, cached)
        return cached

    def phrase_scores(self, terms: tuple[str, ...], fields: tuple[str, ...], deadline: float = math.inf) -> Postings:
        """The documents where ``terms`` occur one right after another in one of ``fields``, and the
        phrase's BM25F score in each, with its occurrences as its frequency. Cached per generation."""
        key = ("phrase", terms, fields)
        cached = self._postings.get(key)
        if cached is None:
            found = [(name, *self.phrase_postings(name, terms, deadline)) for name in fields]
            cached = self._combined(found)
            self._postings.put(key, cached)
        return cached

    def dense(self, key: tuple[Any, ...], found: Postings) -> tuple[np.ndarray, np.ndarray]:
        """``found`` (documents and scores of the query part ``key``) as a read-only bool mask and
        score array over every document, cached per generation."""
        cached = self._postings.get(("dense", key))
        if cached is None:
            ids, values = found
            mask = np.zeros(self.size, dtype=bool)
            mask[ids] = True
            scores = np.zeros(self.size, dtype=np.float64)
            scores[ids] = values
            mask.flags.writeable = scores.flags.writeable = False
            cached = (mask, scores)
            self._postings.put(("dense", key), cached)
        return cached

    def _combined(self, per_field: list[tuple[str, np.ndarray, np.ndarray]]) -> Postings:
        """BM25F over fields: (field, documents, frequencies) -> (documents, scores)."""
        parts = [(name, ids, tf) for name, ids, tf in per_field if ids.size]
        if not parts:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        weighted = []
        for name, ids, tf in parts:
            if name in self.lengths:
                b = self.parameters.b[name]
                norm = (1 - b) + b * self.lengths[name][ids] / self.average_lengths[name]
                weighted.append((ids, self.parameters.weights[name] * tf / norm))
            else:
                weighted.append((ids, np.zeros(ids.size)))
        ids, pseudo = _merge_sum(weighted, self.size)
        df = ids.size
        idf = math.log(1 + (self.live_count - df + 0.5) / (df + 0.5))
        k1 = self.parameters.k1
        return ids, idf * pseudo * (k1 + 1) / (k1 + pseudo)

    # -- postings ------------------------------------------------------------

    def _field_lengths(self, fieldname: str) -> np.ndarray:
        lengths = np.zeros(self.size, dtype=np.float64)
        for subreader, offset in self.searcher_of_thread().reader().leaf_readers():
            raw = length_bytes(subreader._perdoc, fieldname)
            if raw is not None:
                codes = np.frombuffer(raw, dtype=np.uint8)
                lengths[offset : offset + codes.size] = _LENGTH_OF_BYTE[codes]
        return lengths

    def postings(self, fieldname: str, text: str) -> Postings:
        """Document numbers and frequencies of one term in one field, as arrays."""
        key = (fieldname, text)
        cached = self._postings.get(key)
        if cached is not None:
            return cached
        if fieldname not in self.schema:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        field = self.schema[fieldname]
        # The positions come with the blocks already read; they are kept for a term with few postings.
        values: list[bytes] | None = [] if type(field.format) is PackedPositions else None
        btext = field.to_bytes(text) if not isinstance(text, bytes) else text
        for ids_of_block, matcher in self._blocks(fieldname, btext):
            matcher._read_weights()
            ids.append(ids_of_block)
            weights.append(np.asarray(matcher._weights, dtype=np.float64))
            if values is not None:
                matcher._read_values()
                values.extend(matcher._values)
                if len(values) > POSITIONS_KEPT_POSTINGS:
                    values = None
        # A field's boost (of an index written when fields had one) is in its weights: take it out.
        boost = getattr(field.format, "field_boost", 1.0) or 1.0
        result = (
            (np.concatenate(ids).astype(np.int32), np.concatenate(weights) / boost)  # document numbers fit 32 bits
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

    def phrase_postings(self, fieldname: str, terms: tuple[str, ...], deadline: float = math.inf) -> Postings:
        """Documents where ``terms`` occur one right after another in a field, and how often
        (cached per generation)."""
        key = (fieldname, terms)
        cached = self._phrases.get(key)
        if cached is not None:
            return cached
        found = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        field = self._positions_field(fieldname)
        if field is not None:
            words = [field.to_bytes(term) for term in terms]
            found = self._phrase_occurrences(fieldname, words, deadline)
        self._phrases.put(key, found)  # not reached when the deadline cut the matching short
        return found

    def _positions_field(self, fieldname: str) -> Any | None:
        """The schema's field of that name if it keeps word positions, else None."""
        if fieldname not in self.schema:
            return None
        field = self.schema[fieldname]
        return field if field.format and field.format.supports("positions") else None

    def _phrase_occurrences(self, fieldname: str, words: list[bytes], deadline: float) -> Postings:
        reader = self.searcher_of_thread().reader()
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if not words or not all((fieldname, word) in reader for word in words):
            return empty
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
        if not starts.size:
            return empty
        documents, counts = np.unique(starts >> _DOC_SHIFT, return_counts=True)
        return documents, counts.astype(np.float64)

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


def _merge_sum(parts: list[Postings], size: int) -> Postings:
    """The union of several (sorted documents, values) pairs, with the values of a document added."""
    if len(parts) == 1:
        return parts[0]
    total = sum(ids.size for ids, _ in parts)
    if total > size * SPARSE_MERGE_SHARE:
        sums = np.zeros(size, dtype=np.float64)
        present = np.zeros(size, dtype=bool)
        for ids, values in parts:
            sums[ids] += values  # a part's documents are distinct
            present[ids] = True
        ids = np.flatnonzero(present).astype(np.int32)
        return ids, sums[ids]
    every = np.concatenate([ids for ids, _ in parts])
    documents, at = np.unique(every, return_inverse=True)
    values = np.bincount(at, weights=np.concatenate([values for _, values in parts]), minlength=documents.size)
    return documents.astype(np.int32), values


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise DeadlineExceeded
