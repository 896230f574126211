"""Per-document facet, date and story values of an index, as arrays, cached beside it.

The search side filters, counts facets, orders and collapses stories on these
arrays. Reading them from Whoosh's columns takes a Python call per document
(2.5 s at 100,000 documents), and a server paid that in the request that
first met a new generation; so each build or update writes them into the
generation (``columns.npz`` and ``columns.json``), and the server loads them
in a fraction of that. A full build makes them from its documents while its
writers work; an update reads them back from the index it wrote. A missing or
unreadable cache is rebuilt from the index.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

from indexer.store.generations import ARRAYS_FILE, VALUES_FILE
from indexer.store.schema import MULTI_SEPARATOR, UNDATED, leaf_columns

SINGLE_VALUED = {"provider": "provider", "kind": "kind", "year": "year", "story": "story"}
MULTI_VALUED = {"topic": "topic_column", "country": "country_column"}


@dataclass
class ColumnData:
    """Arrays indexed by document number, and the distinct values their codes stand for."""

    size: int
    live: np.ndarray  # bool: not deleted
    date: np.ndarray  # int64 seconds since 1970, UNDATED for undated documents
    codes: dict[str, np.ndarray]  # single-valued facet (and story) -> int32 code per document
    values: dict[str, list[str]]  # facet -> the value of each code
    pair_docs: dict[str, np.ndarray]  # multi-valued facet -> document of each (document, value) pair
    pair_codes: dict[str, np.ndarray]  # multi-valued facet -> value code of each pair


def read_column_data(reader: Any) -> ColumnData:
    """The arrays of an open Whoosh reader (slow: a call per document and column)."""
    size = reader.doc_count_all()
    live = np.ones(size, dtype=bool)
    if reader.has_deletions():
        for docnum in range(size):
            if reader.is_deleted(docnum):
                live[docnum] = False
    codes, values = {}, {}
    for facet, column in SINGLE_VALUED.items():
        values[facet], codes[facet] = encode_values(map(_text, column_values(reader, column, translate=True)))
    date = np.fromiter(column_values(reader, "date_key", translate=True, missing=UNDATED), dtype=np.int64, count=size)
    pair_docs, pair_codes = {}, {}
    for facet, column in MULTI_VALUED.items():
        joined = (raw.decode("utf-8") if raw else "" for raw in column_values(reader, column))
        values[facet], pair_codes[facet], pair_docs[facet] = value_pairs(joined)
    return ColumnData(size, live, date, codes, values, pair_docs, pair_codes)


def value_pairs(joined: Iterable[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The values, value codes and documents of a multi-valued column's (document, value) pairs,
    from each document's values joined by MULTI_SEPARATOR ("": none, as an empty column value)."""
    docs: list[int] = []
    names: list[str] = []
    for docnum, text in enumerate(joined):
        if text:
            split = text.split(MULTI_SEPARATOR)
            docs += [docnum] * len(split)
            names += split
    values, codes = encode_values(names)
    return values, codes, np.asarray(docs, dtype=np.int64)


def column_values(reader: Any, name: str, translate: bool = False, missing: Any = None) -> Iterator[Any]:
    """The value of column ``name`` for every document of ``reader`` in order; ``missing`` for
    the documents of a segment without that column (see :func:`indexer.store.schema.leaf_columns`)."""
    leaves = leaf_columns(reader, name, translate)
    ends = [start for start, _ in leaves[1:]] + [reader.doc_count_all()]
    for (start, column), end in zip(leaves, ends, strict=True):
        if column is None:
            yield from itertools.repeat(missing, end - start)
        else:
            yield from column


def encode_values(strings: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """The distinct ``strings``, sorted, and each item's code: its value's position among them.

    What ``np.unique(..., return_inverse=True)`` gives, without sorting every
    item as a Python object (0.9 of 1.5 s for the columns of 115,572
    documents): the items are numbered as first seen and only the distinct
    values are sorted.
    """
    numbers: dict[str, int] = {}
    first_seen = np.fromiter((numbers.setdefault(v, len(numbers)) for v in strings), dtype=np.int32)
    values = sorted(numbers)
    rank = np.empty(len(values), dtype=np.int32)
    rank[[numbers[v] for v in values]] = np.arange(len(values), dtype=np.int32)
    return values, rank[first_seen]


def _text(value: Any) -> str:
    return "" if value is None else (value.decode("utf-8") if isinstance(value, bytes) else str(value))


def column_data(generation: Path, reader: Any) -> ColumnData:
    """The arrays of ``generation``: from its cache when that matches ``reader``, else read afresh."""
    try:
        meta = json.loads((generation / VALUES_FILE).read_text("utf-8"))
        with np.load(generation / ARRAYS_FILE, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        data = ColumnData(
            size=meta["size"],
            live=arrays["live"],
            date=arrays["date"],
            codes={k: arrays[f"codes.{k}"] for k in SINGLE_VALUED},
            values=meta["values"],
            pair_docs={k: arrays[f"pair_docs.{k}"] for k in MULTI_VALUED},
            pair_codes={k: arrays[f"pair_codes.{k}"] for k in MULTI_VALUED},
        )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return read_column_data(reader)
    if data.size != reader.doc_count_all() or int(data.live.sum()) != reader.doc_count():
        return read_column_data(reader)  # not this index's cache
    return data


def length_bytes(per_document: Any, fieldname: str) -> bytes | None:
    """The length column of ``fieldname`` as raw bytes, one per document (None: the field has none).

    One read of the column instead of a call per document. The column may end
    before the last document (at the last one with the field).
    """
    column = per_document._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:
        return None
    if getattr(column, "_fixedlen", None) == 1 and hasattr(column, "_dbfile"):
        return column._dbfile.get(column._basepos, column._count)
    return bytes(column[n] or 0 for n in range(per_document.doc_count_all()))
