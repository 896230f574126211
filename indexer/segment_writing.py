"""Whoosh's segment writer for a fresh build, with postings kept by term and written a block at a time.

Whoosh's writer puts every posting into one pool of ``(field, term, document,
weight, value)`` tuples, sorts the whole pool at commit, and hands the
postings one by one to the codec, which checks each one's types, looks up
its document's field length in the length column on disk and appends it to
a block. Profiled on 11,587 generated documents, that commit took 60 % of
the writer's time.

Here the pool keeps each term's postings in a list as they arrive (a
document's number only grows, so each list is already in order), and the
packed-position text fields (title, excerpt, body: most postings) only as
arrays of term numbers, turned into postings at the commit with numpy
(:class:`PackedTextTokens`); only the distinct terms are sorted; the field
lengths are read once per field; and
each field's terms are written in one pass into buffers, block by block of
up to ``blocklimit`` postings, in whoosh3's format: the same block headers,
term infos and hash-table rows as its field writer's. Two things differ, both
read by every Whoosh reader (:class:`SegmentFormat`): a block's postings are
pickled with protocol 5 and only blocks of at least
:data:`BLOCK_COMPRESSION_MIN_BYTES` are compressed, and stored fields are kept
uncompressed (:data:`STORED_FIELDS_COMPRESSION`). With Whoosh's choices
(:data:`WHOOSHS_FORMAT`) the bytes written are Whoosh's
(``tests/test_segment_writing.py`` compares every file of a segment with the
stock writer's). This uses whoosh3's writer internals and format, which is one
reason whoosh3 is pinned exactly.

Only fresh segments are written this way: an update merges old segments,
whose postings would not arrive in document order, and keeps Whoosh's writer.
"""

from __future__ import annotations

import functools
import pickle
import struct
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from hashlib import md5
from itertools import groupby
from operator import itemgetter, sub
from typing import Any

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import PostingPool, SegmentWriter

from indexer.analysis import POSITION_BYTES, EnglishTokenizer, PackedPositions, TermNumbers, WordNumbers
from indexer.store.columns import length_bytes
from indexer.store.schema import Marking

# Bytes one pooled posting takes in memory (its tuple, term bytes, weight and value),
# used to decide when a run goes to disk; measured about 190 on generated documents.
POSTING_BYTES = 200
# A block of postings is compressed from this many pickled bytes (Whoosh's writer: 80). A zlib
# call costs some 20 microseconds whatever the size and saves little on a small block. Writing the
# terms of 23,174 generated documents (protocol 5) took 4.4 CPU-s from 80 bytes, 3.6 from 512 and
# 3.3 from 1024, for postings of 26.2, 28.6 and 30.6 MB (Whoosh's own writer: 7.5 s and 47 MB).
# Each block says whether it is compressed, so Whoosh reads both.
BLOCK_COMPRESSION_MIN_BYTES = 512
# The pickle protocol of a block's postings. Whoosh's writer uses 2, which has no opcode for bytes:
# each posting's packed positions went through ``_codecs.encode(str, "latin1")``, re-encoded as
# UTF-8. On 23,174 generated documents protocol 5 pickled the blocks in 0.22 s instead of 1.87, and
# they were 32 MB instead of 70 (9.6 MB compressed instead of 24.5, in 0.7 s of zlib instead of
# 1.75); Whoosh unpickles them in 0.30 s instead of 1.54. Any Whoosh reads them: it ``loads`` the
# block, whatever its protocol. Fixed at 5, not the newest, so that the index does not depend on
# the Python that wrote it.
BLOCK_PICKLE_PROTOCOL = 5


# The zlib level of each document's stored fields (Whoosh's writer: 3). Level 0 keeps them as they
# are inside a zlib stream, which every Whoosh reader decompresses as before: compressing a
# document's 1 KB took 24 µs of the writer's 400, level 0 takes 2, for a stored-fields file about
# half as large again (some 40 MB more at 100,000 documents, 6 % of the index); it reads faster too.
STORED_FIELDS_COMPRESSION = 0


@dataclass(frozen=True)
class SegmentFormat:
    """The choices of a segment's bytes that any Whoosh reader reads either way: a posting block's
    pickle protocol and the size from which it is compressed (its header is always pickled as
    Whoosh pickles it), and the zlib level of each document's stored fields."""

    pickle_protocol: int = BLOCK_PICKLE_PROTOCOL
    compress_from: int = BLOCK_COMPRESSION_MIN_BYTES
    stored_compression: int = STORED_FIELDS_COMPRESSION


# What a build writes.
OUR_FORMAT = SegmentFormat()
# Whoosh's own writer's choices: with these the files written are byte for byte Whoosh's.
WHOOSHS_FORMAT = SegmentFormat(pickle_protocol=2, compress_from=80, stored_compression=3)
# Whoosh's length byte -> field length (None for 0, as its own length reader returns).
_LENGTH_OF_BYTE = [byte_to_length(b) if b else None for b in range(256)]
_TERM = itemgetter(0, 1)
# whoosh3's term info (flags, weight, document frequency, min/max length byte, max weight, first/last
# document), and the key and value lengths before each row of its term table.
_TERM_INFO = W3TermInfo._struct
_LENGTHS = struct.Struct("!ii")

# (field name, term bytes, and that term's postings in document order: documents, weights, values)
TermPostings = tuple[str, bytes, list[int], list[float], list[bytes | None]]
# Postings turned from arrays into lists at a time, at most (bounds the memory of Python objects).
POSTINGS_PER_BATCH = 1 << 16


class TermGroupedPool(PostingPool):
    """A posting pool that keeps each term's postings together in arrival (document) order.

    Past its memory limit it writes a run to disk, sorted as Whoosh's pool
    sorts, and merges the runs at the end the way Whoosh's pool does. The
    packed-position text fields are kept apart as tokens (4 bytes each, in
    memory until the commit; a posting tuple took about 200).
    """

    def __init__(self, tempstore: Any, segment: Any, limitmb: int = 128) -> None:
        super().__init__(tempstore, segment, limitmb=limitmb)
        self.by_field: dict[str, dict[bytes, list[tuple]]] = {}  # field -> term -> postings
        self.count = 0
        self.run_postings = max(1, limitmb * 2**20 // POSTING_BYTES)
        self.packed: dict[str, PackedTextTokens] = {}  # packed-position text fields, kept as tokens

    def packed_tokens(self, fieldname: str, field_boost: float, analyzer: EnglishTokenizer) -> PackedTextTokens:
        """Where a packed-position text field's tokens are pooled (made on first use)."""
        tokens = self.packed.get(fieldname)
        if tokens is None:
            tokens = self.packed[fieldname] = PackedTextTokens(field_boost, analyzer)
        return tokens

    def add(self, item: tuple) -> None:
        self.extend(item[0], [item])

    def extend(self, fieldname: str, items: list[tuple]) -> None:
        """Pool postings of ``fieldname``; past the memory limit they go to disk as a run."""
        terms = self.by_field.get(fieldname)
        if terms is None:
            terms = self.by_field[fieldname] = {}
        for item in items:
            postings = terms.get(item[1])
            if postings is None:
                terms[item[1]] = [item]
            else:
                postings.append(item)
        self.count += len(items)
        if self.count >= self.run_postings:
            self.save()

    def _terms_in_memory(self) -> Iterator[TermPostings]:
        for name in sorted(self.by_field):
            terms = self.by_field[name]
            for text in sorted(terms):
                yield name, text, terms[text]

    def _in_order(self) -> Iterator[tuple]:
        for _, _, postings in self._terms_in_memory():
            yield from postings

    def save(self) -> None:
        if self.by_field:
            path, handle = self._new_run()
            self._write_run(handle, self._in_order())
            self._add_run(path)
            self.by_field, self.count = {}, 0

    def items(self, maxfiles: int = 128) -> Iterator[tuple]:
        if not self.runs:
            return self._in_order()
        return super().items(maxfiles)  # saves what is left as one more run, merges them all

    def term_postings(self) -> Iterator[TermPostings]:
        """Every term with its postings, in Whoosh's order (field, term)."""
        pooled = groupby(self._pooled_terms(), key=itemgetter(0))
        next_pooled = next(pooled, None)
        for name in sorted(self.packed):
            while next_pooled is not None and next_pooled[0] < name:
                yield from next_pooled[1]
                next_pooled = next(pooled, None)
            yield from self.packed.pop(name).term_postings(name)
        while next_pooled is not None:
            yield from next_pooled[1]
            next_pooled = next(pooled, None)

    def _pooled_terms(self) -> Iterator[TermPostings]:
        if not self.runs:
            grouped: Iterable[tuple[Any, Iterable[tuple]]] = (
                ((name, text), postings) for name, text, postings in self._terms_in_memory()
            )
        else:
            grouped = groupby(self.items(), key=_TERM)
        for (name, text), postings in grouped:
            columns = tuple(zip(*postings, strict=True))
            yield name, text, list(columns[2]), list(columns[3]), list(columns[4])


class PackedTextTokens:
    """The tokens of one packed-position text field, as numbers, until the commit.

    A tuple per posting and a list of positions per term and document cost
    most of adding a document; here a document's terms are appended as term
    numbers (C loops, 4 bytes a token), and the commit turns all of them
    into postings at once: sorted by term, then document, then position,
    with numpy. The postings are exactly those of ``PackedPositions.word_values``
    (``tests/test_segment_writing.py`` compares the files with Whoosh's writer).
    """

    def __init__(self, field_boost: float, analyzer: EnglishTokenizer) -> None:
        self.field_boost = field_boost
        self.numbers = TermNumbers()  # "" (a dropped word) is 0: never among the tokens
        self.analyzer = analyzer
        self.word_numbers = WordNumbers(analyzer.term_of, self.numbers)
        self.tokens = array("I")
        self.value_ends = array("q")  # where each document's tokens end
        self.docnums = array("q")
        self.boosts = array("d")

    def add(self, terms: list[str], docnum: int, boost: float) -> int:
        """Pool one document's ``terms`` (as the analyzer gave them, in order); returns how many."""
        first = len(self.tokens)
        self.tokens.extend(map(self.numbers.__getitem__, terms))
        self._ended(docnum, boost)
        return len(self.tokens) - first

    def add_text(
        self, text: str, docnum: int, boost: float, piece_starts: list[int] | None = None
    ) -> tuple[int, list[int]]:
        """Pool the terms of one document's ``text``; returns how many, and the word position at each
        of ``piece_starts`` (character offsets cutting it at white space: see ``indexer.store.schema.Marking``).

        The words go straight to term numbers (word as written -> number, in C but for a new
        word): by way of a list of terms, a long report's body took half as long again.
        """
        tokens, numbered, words = self.tokens, self.word_numbers.__getitem__, self.analyzer.words
        first = len(tokens)
        positions = []
        if piece_starts is None:
            tokens.extend(filter(None, map(numbered, words(text))))
        else:
            for start, end in zip(piece_starts, [*piece_starts[1:], len(text)], strict=True):
                positions.append(len(tokens) - first)
                tokens.extend(filter(None, map(numbered, words(text, start, end))))
        self._ended(docnum, boost)
        return len(tokens) - first, positions

    def _ended(self, docnum: int, boost: float) -> None:
        self.value_ends.append(len(self.tokens))
        self.docnums.append(docnum)
        self.boosts.append(boost)

    def term_postings(self, fieldname: str) -> Iterator[TermPostings]:
        """Each term in byte order with its documents, weights and packed positions."""
        texts = [term.encode("utf-8") for term in self.numbers]
        by_text = sorted(range(len(texts)), key=texts.__getitem__)
        rank = np.empty(len(texts), dtype=np.int32)
        rank[by_text] = np.arange(len(texts), dtype=np.int32)
        postings = self._postings(rank)
        if not postings.terms.size:
            return
        term_starts = np.flatnonzero(np.concatenate([[True], postings.terms[1:] != postings.terms[:-1]]))
        term_ends = np.append(term_starts[1:], postings.terms.size)
        batch_start = 0
        while batch_start < term_starts.size:
            # A batch of terms whose postings become Python lists together.
            batch_end = int(np.searchsorted(term_ends, term_starts[batch_start] + POSTINGS_PER_BATCH, "right"))
            batch_end = max(batch_end, batch_start + 1)
            low = int(term_starts[batch_start])
            ids, weights, values = postings.lists(low, int(term_ends[batch_end - 1]))
            for term, a, b in zip(
                postings.terms[term_starts[batch_start:batch_end]].tolist(),
                (term_starts[batch_start:batch_end] - low).tolist(),
                (term_ends[batch_start:batch_end] - low).tolist(),
                strict=True,
            ):
                yield fieldname, texts[by_text[term]], ids[a:b], weights[a:b], values[a:b]
            batch_start = batch_end

    def _postings(self, rank: np.ndarray) -> _PostingArrays:
        """Every posting, ordered by term rank, then document: a stable sort of the tokens."""
        ends = np.frombuffer(self.value_ends, dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]])
        value_of_token = np.repeat(np.arange(ends.size, dtype=np.int32), ends - starts)
        keys = rank[np.frombuffer(self.tokens, dtype=np.uint32)]
        order = np.argsort(keys, kind="stable")  # documents and positions stay in arrival order
        terms, values = keys[order], value_of_token[order]
        positions = (order - starts[values]).astype("<u4").tobytes()
        # A posting begins where the term or the document changes (no token at all: no posting, as when
        # every text given to the field analysed to nothing, such as stop words alone).
        changes = (terms[1:] != terms[:-1]) | (values[1:] != values[:-1])
        first = np.flatnonzero(np.concatenate([[terms.size > 0], changes]))
        last = np.append(first[1:], terms.size)
        posting_values = values[first]
        boosts = np.frombuffer(self.boosts, dtype=np.float64)[posting_values]
        return _PostingArrays(
            terms=terms[first],
            documents=np.frombuffer(self.docnums, dtype=np.int64)[posting_values],
            weights=((last - first) * self.field_boost) * boosts,  # Whoosh: (frequency × field boost) × boost
            first=first,
            last=last,
            positions=positions,
        )


@dataclass
class _PostingArrays:
    """One field's postings as arrays: term rank, document, weight, and the token range of its positions."""

    terms: np.ndarray
    documents: np.ndarray
    weights: np.ndarray
    first: np.ndarray  # first and last (exclusive) token of each posting in ``positions``
    last: np.ndarray
    positions: bytes  # every token's position, packed, in posting order

    def lists(self, low: int, high: int) -> tuple[list[int], list[float], list[bytes]]:
        """Documents, weights and packed positions of postings ``low`` to ``high`` as lists."""
        byte_starts = (self.first[low:high] * POSITION_BYTES).tolist()
        byte_ends = (self.last[low:high] * POSITION_BYTES).tolist()
        packed = [self.positions[a:b] for a, b in zip(byte_starts, byte_ends, strict=True)]
        return self.documents[low:high].tolist(), self.weights[low:high].tolist(), packed


class GroupedSegmentWriter(SegmentWriter):
    """``SegmentWriter`` with a :class:`TermGroupedPool` and a block-at-a-time commit."""

    def __init__(
        self,
        ix: Any,
        limitmb: int = 128,
        segment_format: SegmentFormat = OUR_FORMAT,
        marking: Marking | None = None,
        **kwargs: Any,
    ) -> None:
        """``marking``: a field whose long texts this writer marks as it tokenises them, when the
        document does not bring its marks (``indexer.store.schema.to_fields(..., marks=False)``)."""
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self.segment_format = segment_format
        _store_fields_compressed_at(self.perdocwriter, segment_format.stored_compression)
        self.marking = marking
        if self.segments:
            raise ValueError("GroupedSegmentWriter writes fresh indexes only (no segments to merge)")
        self.pool = TermGroupedPool(self._tempstorage, self.newsegment, limitmb=limitmb)
        fields = self.schema.items()
        # Fields whose terms come straight from the tokenizer into the pool (as term numbers).
        self._packed = {name for name, field in fields if _is_packed_text(field)}
        # What the shortcut leaves out: Whoosh's own add_document handles such a schema.
        self._shortcut = not any(field.vector or field.separate_spelling() for _, field in fields)

    def add_document(self, **fields: Any) -> None:
        """Whoosh's ``add_document`` (same pool, lengths, stored values and columns), with
        packed-position text pooled as the tokenizer's terms, without a generator, a
        positions list and a tuple per posting.

        Those layers were half of adding a document. Each field is still
        indexed before anything of it is kept, so a value Whoosh refuses
        (``ValueError``) cancels the document as Whoosh does.
        """
        if not self._shortcut:
            super().add_document(**fields)
            return
        self._check_state()
        schema = self.schema
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        document_boost = self._doc_boost(fields)
        docnum = self.docnum
        per_document = self.perdocwriter
        per_document.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    boost = self._field_boost(fields, name, document_boost)
                    length = self._index(name, field, value, docnum, boost, fields)
                kept = fields.get(f"_stored_{name}", value)
                per_document.add_field(name, field, kept if field.stored else None, length)
                if field.column_type and kept is not None:
                    per_document.add_column_value(name, field.column_type, field.to_column_value(kept))
        except ValueError:
            per_document.cancel_doc()
            raise
        per_document.finish_doc()
        self._added = True
        self.docnum += 1

    def add_column(self, name: str, values: Sequence[Any]) -> None:
        """Write the column of field ``name`` for every document at once: ``values`` in document order.

        Called after the last document, whose fields (like all the others')
        left ``name`` out: a build's writers add their documents while the
        story clusters are made, and take the stories at the end. Only a
        field that is a column and nothing else can come this way; the column
        is the one adding each value with its document writes.
        """
        field = self.schema[name]
        if field.indexed or field.stored or not field.column_type:
            raise ValueError(f"{name!r} is not a column-only field")
        if len(values) != self.docnum:
            raise ValueError(f"{len(values)} values of {name!r} for {self.docnum} documents")
        per_document = self.perdocwriter
        if per_document._has_column(name):
            raise ValueError(f"documents already gave values of {name!r}")
        per_document._create_column(name, field.column_type)
        column = per_document._get_column(name)
        for docnum, value in enumerate(values):
            if value is not None:
                column.add(docnum, field.to_column_value(value))

    def _index(self, name: str, field: Any, value: Any, docnum: int, boost: float, fields: dict[str, Any]) -> int:
        """Pool the postings of one field of one document; returns its length (0: not scorable).

        A packed-position text comes with its terms when the caller has them
        already (``_terms_<field>``, see ``indexer.store.schema.to_fields``); the
        marked field's long text without its marks is marked here.
        """
        if name in self._packed and isinstance(value, str):
            tokens = self.pool.packed_tokens(name, field.format.field_boost, field.analyzer)
            terms = fields.get(f"_terms_{name}")
            if terms is not None:
                length = tokens.add(terms, docnum, boost)
            else:
                marking = self.marking
                marked = marking is not None and marking.field == name and marking.column not in fields
                starts = marking.starts(value) if marked else None
                length, positions = tokens.add_text(value, docnum, boost, starts)
                if starts is not None:
                    column = self.schema[marking.column].column_type
                    self.perdocwriter.add_column_value(marking.column, column, marking.value(starts, positions))
            return length if field.scorable else 0
        postings = list(field.index(value))
        self.pool.extend(name, [(name, text, docnum, weight * boost, encoded) for text, _, weight, encoded in postings])
        return sum(posting[1] for posting in postings) if field.scorable else 0

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = self.per_document_reader() if self.codec.length_stats else None
        try:
            terms = self.pool.term_postings()
            write_term_postings(self.fieldwriter, self.schema, lengths, terms, self.segment_format)
            self.fieldwriter.close()
        finally:
            if lengths is not None:
                lengths.close()


def _store_fields_compressed_at(per_document: Any, level: int) -> None:
    """Have whoosh3's per-document writer compress each document's stored fields at zlib ``level``.

    Its stored-fields column is Whoosh's (pickled, then compressed) with another level: the same
    file format, which its reader decompresses whatever the level. Called before any document.
    """
    stored = per_document._colwriters["_stored"]
    column = columns.PickleColumn(columns.CompressedBytesColumn(level=level))
    per_document._colwriters["_stored"] = column.writer(stored._child._dbfile)


def _is_packed_text(field: Any) -> bool:
    return isinstance(field.format, PackedPositions) and isinstance(field.analyzer, EnglishTokenizer)


def write_term_postings(
    fieldwriter: Any, schema: Any, lengths: Any, terms: Iterator[TermPostings], blocks: SegmentFormat
) -> None:
    """Write each term's postings into whoosh3's postings and terms files, as its field writer would.

    The bytes are those of ``W3FieldWriter.start_term``/``finish_term`` with
    ``W3PostingsWriter`` filling blocks posting by posting: the same blocks
    (pickled and compressed as ``blocks`` says; :data:`WHOOSHS_FORMAT` gives
    Whoosh's bytes), term infos and hash-table entries. Whoosh's objects cost some forty
    microseconds of Python calls per term, and a segment has a term for every
    few postings (rare words, one id per document), so here a term is one pass
    of plain code into a buffer.
    """
    for name, field_terms in groupby(terms, key=itemgetter(0)):
        fieldwriter.start_field(name, schema[name])
        _TermWriter(fieldwriter, schema[name], _field_lengths(lengths, name), blocks).write(field_terms)
        fieldwriter.finish_field()


class _TermWriter:
    """The postings and term-table bytes of one field's terms (see :func:`write_term_postings`)."""

    # Written files are flushed from the buffers past this many bytes.
    FLUSH_BYTES = 4 * 2**20

    def __init__(
        self, fieldwriter: Any, field: Any, field_lengths: list[int | None] | None, blocks: SegmentFormat
    ) -> None:
        codec_writer = fieldwriter._codec.postings_writer(fieldwriter._postfile)
        self.block_limit = codec_writer._blocklimit
        self.compression, self.compress_from = codec_writer._compression, blocks.compress_from
        self.protocol = blocks.pickle_protocol
        self.fixed_size = field.format.fixed_value_size()
        self.has_spelling_words = field.separate_spelling()  # Whoosh pools those with document -1
        self.field_lengths = field_lengths
        self.key_prefix = pack_ushort(fieldwriter._fieldid)
        self.postfile, self.table = fieldwriter._postfile, fieldwriter._tindex
        self.posts, self.rows = bytearray(), bytearray()
        self.posts_at, self.rows_at = self.postfile.tell(), self.table.dbfile.tell()

    def write(self, terms: Iterable[TermPostings]) -> None:
        table = self.table
        positions, buckets = table.index, table.buckets
        key = None
        for _, text, ids, weights, values in terms:
            if self.has_spelling_words and -1 in ids:
                kept = [k for k, docnum in enumerate(ids) if docnum != -1]
                if not kept:
                    continue
                ids, weights, values = ([column[k] for k in kept] for column in (ids, weights, values))
            key = self.key_prefix + text
            value = self._term(ids, weights, values)
            at = self.rows_at + len(self.rows)
            positions.append(at)
            self.rows += _LENGTHS.pack(len(key), len(value)) + key + value
            hashed = int.from_bytes(md5(key, usedforsecurity=False).digest()[-4:], "big")  # Whoosh's md5_hash
            buckets[hashed & 255].append((hashed, at))
            if len(self.posts) > self.FLUSH_BYTES or len(self.rows) > self.FLUSH_BYTES:
                self._flush()
        self._flush()
        if key is not None:
            table.lastkey = key

    def _flush(self) -> None:
        self.postfile.write(bytes(self.posts))
        self.table.dbfile.write(bytes(self.rows))
        self.posts.clear()
        self.rows.clear()
        self.posts_at, self.rows_at = self.postfile.tell(), self.table.dbfile.tell()

    def _term(self, ids: list[int], weights: list[float], values: list[bytes | None]) -> bytes:
        """Write one term's blocks; returns its term info bytes."""
        start = self.posts_at + len(self.posts)
        self.posts += WHOOSH3_HEADER_MAGIC
        limit = self.block_limit
        if len(ids) <= limit:  # most terms: one block, and nothing to add up over blocks
            block_weights, min_length, max_length, max_weight = self._block(ids, weights, values, True)
            weight, count = sum(block_weights), len(ids)
        else:
            weight, count, min_length, max_length, max_weight = 0, 0, None, 0, 0
            for first in range(0, len(ids), limit):
                end = first + limit
                block_weights, block_min, block_max, block_max_weight = self._block(
                    ids[first:end], weights[first:end], values[first:end], end >= len(ids)
                )
                weight += sum(block_weights)
                count += len(block_weights)
                min_length = block_min if min_length is None else min(min_length, block_min)
                max_length = max(max_length, block_max)
                max_weight = max(max_weight, block_max_weight)
        info = _TERM_INFO.pack(
            False,
            weight,
            count,
            0 if min_length is None else _length_byte(min_length),
            _length_byte(max_length),
            max_weight,
            ids[0],
            ids[-1],
        )
        return info + pack_long(start) + pack_int(self.posts_at + len(self.posts) - start)

    def _block(
        self, ids: list[int], weights: list[float], values: list[bytes | None], last: bool
    ) -> tuple[array, int | None, int, float]:
        """Write one block of postings; returns its weights, min and max field length, max weight."""
        weights = array("f", weights)
        max_weight = max(0, max(weights))
        min_length, max_length = None, 0
        if self.field_lengths is not None:
            present = [length for length in map(self.field_lengths.__getitem__, ids) if length]
            if present:
                min_length, max_length = min(present), max(present)
        data = pickle.dumps((_deltas(ids), _mini_weights(weights), self._mini_values(values)), self.protocol)
        compression = self.compression if len(data) >= self.compress_from else 0
        if compression:
            data = zlib.compress(data, compression)
        min_byte = 0 if min_length is None else _length_byte(min_length)
        info = pickle.dumps((len(ids), ids[-1], max_weight, compression, min_byte, _length_byte(max_length)), 2)
        size = len(info) + len(data)
        self.posts += pack_int(-size if last else size) + info + data
        return weights, min_length, max_length, max_weight

    def _mini_values(self, values: list[bytes | None]) -> Any:
        values = [value for value in values if value]
        if self.fixed_size is None or self.fixed_size < 0:
            return tuple(values)
        return None if self.fixed_size == 0 else b"".join(values)


# Whoosh's ``length_to_byte`` of a field length, remembered per length (a table made at import
# cost every process that imports this module, the server included, 23 ms).
_length_byte = functools.cache(length_to_byte)


def _deltas(ids: list[int]) -> tuple[int, ...]:
    return tuple(map(sub, ids, [0, *ids]))  # map stops at the shorter: one gap per id


def _mini_weights(weights: array) -> Any:
    # array.count compares in C what ``all(w == x for w in weights)`` compared in a generator.
    if weights.count(1.0) == len(weights):
        return None
    if weights.count(weights[0]) == len(weights):
        return weights[0]
    return tuple(weights)


def _field_lengths(lengths: Any, fieldname: str) -> list[int | None] | None:
    """Every document's length of ``fieldname``, read once (None where the field has none)."""
    if lengths is None:
        return None
    raw = length_bytes(lengths, fieldname)
    if raw is None:
        return None
    found = [_LENGTH_OF_BYTE[b] for b in raw]
    return found + [None] * (lengths.doc_count_all() - len(found))
