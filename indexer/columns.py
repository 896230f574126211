"""Per-document facet, date and story values of an index, as arrays, cached beside it.

The search side filters, counts facets, orders and collapses stories on these
arrays. Reading them from Whoosh's columns takes a Python call per document
(2.5 s at 100,000 documents), and a server paid that in the request that
first met a new generation; so each build or update reads them once and
writes them into the generation (``columns.npz`` and ``columns.json``), and
the server loads them in a fraction of that. A missing or unreadable cache is
rebuilt from the index.
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

from indexer.schema import MULTI_SEPARATOR, UNDATED, leaf_columns

ARRAYS_FILE = "columns.npz"
VALUES_FILE = "columns.json"
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
        values[facet], codes[facet] = _encode(column_values(reader, column, translate=True))
    date = np.fromiter(column_values(reader, "date_key", translate=True, missing=UNDATED), dtype=np.int64, count=size)
    pair_docs, pair_codes = {}, {}
    for facet, column in MULTI_VALUED.items():
        docs, names = [], []
        for docnum, raw in enumerate(column_values(reader, column)):
            if raw:
                for name in raw.decode("utf-8").split(MULTI_SEPARATOR):
                    docs.append(docnum)
                    names.append(name)
        values[facet], pair_codes[facet] = _encode(names)
        pair_docs[facet] = np.asarray(docs, dtype=np.int64)
    return ColumnData(size, live, date, codes, values, pair_docs, pair_codes)


def column_values(reader: Any, name: str, translate: bool = False, missing: Any = None) -> Iterator[Any]:
    """The value of column ``name`` for every document of ``reader`` in order; ``missing`` for
    the documents of a segment without that column (see :func:`indexer.schema.leaf_columns`)."""
    leaves = leaf_columns(reader, name, translate)
    ends = [start for start, _ in leaves[1:]] + [reader.doc_count_all()]
    for (start, column), end in zip(leaves, ends, strict=True):
        if column is None:
            yield from itertools.repeat(missing, end - start)
        else:
            yield from column


def _encode(raw: Iterable[Any]) -> tuple[list[str], np.ndarray]:
    strings = ["" if v is None else (v.decode("utf-8") if isinstance(v, bytes) else str(v)) for v in raw]
    values, codes = np.unique(np.asarray(strings, dtype=object), return_inverse=True)
    return [str(v) for v in values], codes.astype(np.int32).reshape(-1)


def write_column_cache(generation: Path) -> None:
    """Read the arrays of the index in ``generation`` and store them there."""
    from indexer.writing import open_for_reading  # writing imports this module's file names

    ix = open_for_reading(generation)
    try:
        with ix.reader() as reader:
            data = read_column_data(reader)
    finally:
        ix.close()
    arrays = {"live": data.live, "date": data.date}
    arrays.update({f"codes.{k}": v for k, v in data.codes.items()})
    arrays.update({f"pair_docs.{k}": v for k, v in data.pair_docs.items()})
    arrays.update({f"pair_codes.{k}": v for k, v in data.pair_codes.items()})
    with open(generation / ARRAYS_FILE, "wb") as handle:
        np.savez(handle, **arrays)
    (generation / VALUES_FILE).write_text(json.dumps({"size": data.size, "values": data.values}), "utf-8")


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
