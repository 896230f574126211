"""The Whoosh schema and the mapping from :class:`Document` to index fields.

Text fields are analysed with :mod:`indexer.analysis`; how much each counts
is the search side's business (``search_web.ranking``), so none carries a
boost of its own. Facet values (provider, topics, countries, kind, date) and
the story id are also kept
as columns so that the search side can count them without loading documents.
"""

from __future__ import annotations

import bisect
import calendar
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh import columns, fields

from indexer.analysis import (
    EnglishTokenizer,
    PackedPositions,
    TermNumbers,
    WordNumbers,
    english_analyzer,
    piece_starts,
)
from indexer.documents import Document

# Separates the values of a multi-valued column (topics).
MULTI_SEPARATOR = "\x1f"
# 2: the did-you-mean dictionary moved from a field to spelling.json; 3: countries and stories;
# 4: HTML, PDF and JSON sources (language, page_starts); 5: positions packed as integers;
# 6: fields nobody searches as words (dates, provider, story, source, ...) no longer indexed;
# 7: bodies kept uncompressed in a column instead of among the compressed stored fields;
# 8: long bodies' marks (where their pieces start) in a column; 9: the story id only in a column (not
# among the stored fields), which a build's writers write after their last document; 10: a news
# record's related coverage as a field of its own ("related"), and no field boosts in the postings
SCHEMA_VERSION = 10
# The story id of each document (``story_of``): a column only, so that a build's writers can add
# their documents before the stories are made (``indexer.writing.write_generation``).
STORY_FIELD = "story"
# The column holding each document's body as UTF-8 (see :func:`body_reader`).
BODY_COLUMN = "body_column"
# The column holding a long body's marks (``indexer.analysis.EnglishTokenizer.marked_terms``).
BODY_MARKS = "body_marks"
# Bodies longer than this are marked; a shorter one is scanned whole for its snippet in microseconds.
MARKED_BODY_CHARS = 16_384
# Tokenises long bodies for their marks: the text fields' analyzer (english_analyzer), so that the
# terms it gives are the body field's.
_MARKING = english_analyzer()
# date_key of an undated document: below every real date, so that one
# integer column sorts and filters every document.
UNDATED = -(2**62)


def text_field(analyzer: EnglishTokenizer, stored: bool = False) -> fields.TEXT:
    """A full-text field: English analysis, positions for phrases in the packed format.

    Postings hold plain frequencies: the ranking weighs the fields at search
    time (named settings), so changing a weight needs no rebuild.
    """
    field = fields.TEXT(analyzer=analyzer, stored=stored)
    field.format = PackedPositions()
    return field


def unindexed(field: fields.FieldType) -> fields.FieldType:
    """``field`` kept as a stored value and/or a column, without terms in the inverted index.

    Dates, providers, years and stories are filtered, counted and sorted
    through columns (``indexer.store.columns``); nothing searches them as words.
    Their terms were more than half of a segment's distinct terms (a 64-bit
    date alone is 16 terms per document), and writing one term is most of
    Whoosh's cost of committing a segment.
    """
    field.indexed = False
    return field


def build_schema() -> fields.Schema:
    """A fresh schema object (Whoosh pickles it into every index)."""
    text = english_analyzer()  # one analyzer, so one cache of word -> term, for every text field
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),  # pasted links and updates find a document by id
        kind=fields.ID(stored=True, sortable=True),  # kind: in queries
        title=text_field(text, stored=True),
        excerpt=text_field(text, stored=True),
        related=text_field(text),  # Document.related_text: searched, never shown
        body=text_field(text),  # kept in BODY_COLUMN, not among the stored fields
        body_column=fields.COLUMN(columns.VarBytesColumn()),
        body_marks=fields.COLUMN(columns.VarBytesColumn()),
        url=fields.STORED(),
        url_text=fields.STORED(),
        amp_url=fields.STORED(),
        provider=unindexed(fields.ID(stored=True, sortable=True)),
        provider_domain=fields.STORED(),
        provider_text=text_field(text),
        topics=fields.STORED(),
        topic_text=text_field(text),
        topic_column=fields.COLUMN(columns.VarBytesColumn()),
        published=fields.STORED(),
        date_key=unindexed(fields.NUMERIC(int, bits=64, sortable=True, signed=True)),
        year=unindexed(fields.ID(sortable=True)),
        authors=fields.STORED(),
        editors=fields.STORED(),
        author_text=text_field(text),
        source=fields.STORED(),
        parent_id=fields.STORED(),
        related_ids=fields.STORED(),
        quality=fields.STORED(),
        language=fields.STORED(),
        page_starts=fields.STORED(),
        countries=fields.STORED(),
        country=fields.KEYWORD(commas=True, lowercase=True),  # country: in queries
        country_column=fields.COLUMN(columns.VarBytesColumn()),
        story=unindexed(fields.ID(sortable=True)),  # STORY_FIELD: read with story_reader
    )


def leaf_columns(reader: Any, name: str, translate: bool = False) -> list[tuple[int, Any]]:
    """(first document number, column reader or None) of each segment of ``reader``.

    Whoosh's multi-segment column reader leaves out the segments that have no
    file for the column (none of their documents had a value), so it reads
    their documents from the segment before it and iterates fewer values
    than there are documents: after an update that added one report without
    a provider, every search matching it failed (tests/test_whoosh_hazards.py).
    Here a segment without the column is None: no value for its documents.
    """
    return [
        (start, leaf.column_reader(name, translate=translate) if leaf.has_column(name) else None)
        for leaf, start in reader.leaf_readers()
    ]


def body_reader(reader: Any) -> Callable[[int], str]:
    """The body of a document of ``reader`` by its number.

    Bodies are kept uncompressed in a column of their own rather than among
    the stored fields, which Whoosh pickles and compresses per document:
    every result whose stored fields were read paid for decompressing its
    whole body, 0.37 ms for a 117 KB report, most of the cost of a results
    page of reports. Uncompressed, a body is one read (the index is about
    the bodies' size larger: 95 MB at 100,000 generated documents). Make one
    reader per Whoosh reader and thread: opening it reads the column's
    offsets.
    """
    value_of = _column_bytes(reader, BODY_COLUMN)
    return lambda docnum: value_of(docnum).decode("utf-8")


def marks_reader(reader: Any) -> Callable[[int], np.ndarray | None]:
    """The marks of a document's body by its number: rows of (first character, first word
    position) of its pieces, or None for a body too short to be marked."""
    value_of = _column_bytes(reader, BODY_MARKS)

    def marks_of(docnum: int) -> np.ndarray | None:
        value = value_of(docnum)
        return np.frombuffer(value, dtype="<u4").reshape(-1, 2) if value else None

    return marks_of


def story_reader(reader: Any) -> Callable[[int], str]:
    """The story id of a document of ``reader`` by its number ("" when it has none).

    Kept as a column only (schema 9): a build's writers add their documents
    before the stories are made and write the column after the last one.
    """
    value_of = _column_bytes(reader, STORY_FIELD)
    return lambda docnum: value_of(docnum).decode("utf-8")


def _column_bytes(reader: Any, name: str) -> Callable[[int], bytes]:
    """A bytes column's value of a document of ``reader`` by its number (b"" when it has none)."""
    leaves = leaf_columns(reader, name)
    starts = [start for start, _ in leaves]

    def value_of(docnum: int) -> bytes:
        start, column = leaves[bisect.bisect_right(starts, docnum) - 1]
        return b"" if column is None else column[docnum - start]

    return value_of


def stored_documents(reader: Any) -> Iterator[dict[str, Any]]:
    """Every live document's stored fields with its ``body`` and ``story``, in document order."""
    body_of, story_of_number = body_reader(reader), story_reader(reader)
    for docnum, stored in reader.iter_docs():
        yield {**stored, "body": body_of(docnum), STORY_FIELD: story_of_number(docnum)}


def spelling_words(documents: Iterable[Document]) -> dict[str, int]:
    """Unstemmed words of titles and excerpts with their document counts: the "did you mean" dictionary.

    Kept as a file beside the index rather than as a Whoosh field: a field
    cost a quarter of the indexing time for a feature used on failed queries.
    Words are numbered and counted with one ``bincount``: a ``Counter`` of each
    document's set of words took 3.3 s at 100,000 documents, this 2.2.
    """
    tokenizer = EnglishTokenizer(stem=False)
    numbers = TermNumbers()
    numbered = WordNumbers(tokenizer.term_of, numbers).__getitem__
    seen = array("I")  # each document's distinct word numbers, one after the other
    for doc in documents:
        words = set(map(numbered, tokenizer.words(doc.title)))
        words.update(map(numbered, tokenizer.words(doc.excerpt)))
        seen.extend(words)
    counts = np.bincount(np.frombuffer(seen, dtype=np.uint32), minlength=len(numbers)).tolist()
    return {word: counts[number] for word, number in numbers.items() if number}


def date_key_of(doc: Document) -> int:
    """The ``date_key`` column value: publication time as seconds since 1970 (UTC), UNDATED when undated."""
    if doc.published is None:
        return UNDATED
    return calendar.timegm(doc.published.timetuple())


def year_of(doc: Document) -> str:
    """The ``year`` facet value ("2024"); "" for an undated document."""
    return "" if doc.published is None else f"{doc.published.year:04d}"


def story_of(doc: Document) -> str:
    """The ``story`` column value: its story's id, or its own id when it is in no story."""
    return doc.story or doc.id


@dataclass(frozen=True)
class Marking:
    """A long text field tokenised in pieces, with where each piece starts (character offset and word
    position: its marks) kept in a column of their own (see ``EnglishTokenizer.marked_terms``)."""

    field: str
    column: str
    min_chars: int  # texts of more characters are marked

    def starts(self, text: str) -> list[int] | None:
        """Where the pieces of ``text`` start, or None when it is too short to be marked."""
        return piece_starts(text) if len(text) > self.min_chars else None

    @staticmethod
    def value(starts: list[int], positions: list[int]) -> bytes:
        """The column value of the marks: (character offset, word position) of each piece, 32-bit."""
        return np.column_stack((starts, positions)).astype("<u4").tobytes()


BODY_MARKING = Marking("body", BODY_MARKS, MARKED_BODY_CHARS)


def to_fields(doc: Document, *, derived: bool = True, marks: bool = True) -> dict[str, Any]:
    """The field values Whoosh stores and indexes for one document.

    A long body's marks are made while it is tokenised, and its terms are
    handed on as ``_terms_body`` (Whoosh ignores names that start with an
    underscore; a build's writer uses them instead of tokenising it again).
    ``marks=False`` leaves both to a writer that makes the marks as it
    tokenises (``GroupedSegmentWriter`` with :data:`BODY_MARKING`).
    ``derived=False`` leaves out what follows from the body (its column copy,
    marks and terms): what a fingerprint needs.
    """
    values: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "excerpt": doc.excerpt,
        "related": doc.related_text,
        "body": doc.body,
        "url": doc.url,
        "url_text": doc.url_text,
        "amp_url": doc.amp_url,
        "provider": doc.provider,
        "provider_domain": doc.provider_domain,
        "provider_text": " ".join(filter(None, [doc.provider, doc.provider_domain.replace(".", " ")])),
        "topics": list(doc.topics),
        "topic_text": "\n".join(doc.topics),
        "topic_column": MULTI_SEPARATOR.join(doc.topics).encode("utf-8"),
        "authors": list(doc.authors),
        "editors": list(doc.editors),
        "author_text": "\n".join(doc.authors + doc.editors),
        "source": doc.source,
        "parent_id": doc.parent_id,
        "related_ids": list(doc.related_ids),
        "quality": doc.quality,
        "language": doc.language,
        "page_starts": list(doc.page_starts),
        "countries": list(doc.countries),
        "country": ",".join(doc.countries),
        "country_column": MULTI_SEPARATOR.join(doc.countries).encode("utf-8"),
        STORY_FIELD: story_of(doc),
        "date_key": date_key_of(doc),
        "year": year_of(doc),
    }
    if derived:
        values[BODY_COLUMN] = doc.body.encode("utf-8") or None
        if marks and len(doc.body) > BODY_MARKING.min_chars:
            terms, flat_marks = _MARKING.marked_terms(doc.body)
            values[BODY_MARKS] = Marking.value(flat_marks[0::2], flat_marks[1::2])
            values["_terms_body"] = terms
    if doc.published is not None:
        values["published"] = doc.published
    return {k: v for k, v in values.items() if v not in ("", None) or k in ("title",)}
