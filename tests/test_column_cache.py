"""The column cache each build and update writes equals what the index holds; a bad one is rebuilt."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from indexer.build import run_build, run_update
from indexer.documents import Document
from indexer.store.columns import ColumnData, column_data, encode_values, read_column_data
from indexer.store.generations import ARRAYS_FILE, VALUES_FILE, current_generation
from indexer.store.write.columns import document_column_data
from indexer.writing import PARALLEL_WRITE_MIN_DOCUMENTS, write_generation
from search_web.engine import SearchRequest
from search_web.whoosh_engine import SearchIndex
from tests.conftest import write_news_records

# Records whose facet values are edge cases for a cache made from documents rather than read back.
ODD_VALUES = [
    'topics: [""]\nprovider: {name: "", domain: odd.example}',
    'topics: ["", Energy, ""]\nprovider: {name: "  Spaced  Out  "}',
    "topics: []\ncountries: []",
    'title: "Ukraine, Russia, Taiwan and China"\ntopics: [Ünïcode Tópic, "AI"]',
    "publishedDateTime: 1969-12-31T23:59:59Z",
    "publishedDateTime: 0900-06-01T00:00:00Z",
]


def both(generation) -> tuple[ColumnData, ColumnData]:
    ix = whoosh_index.open_dir(str(generation))
    try:
        with ix.reader() as reader:
            return column_data(generation, reader), read_column_data(reader)
    finally:
        ix.close()


def assert_same(cached: ColumnData, fresh: ColumnData) -> None:
    assert cached.size == fresh.size
    assert np.array_equal(cached.live, fresh.live) and np.array_equal(cached.date, fresh.date)
    assert cached.values == fresh.values
    for name in fresh.codes:
        assert np.array_equal(cached.codes[name], fresh.codes[name]), name
    for name in fresh.pair_docs:
        assert np.array_equal(cached.pair_docs[name], fresh.pair_docs[name]), name
        assert np.array_equal(cached.pair_codes[name], fresh.pair_codes[name]), name


def test_build_and_update_write_a_cache_equal_to_the_index(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 30, undated=3, related=1)
    run_build([sources], index)
    generation = current_generation(index)
    assert (generation / ARRAYS_FILE).exists() and (generation / VALUES_FILE).exists()
    assert_same(*both(generation))

    (sources / "r0.md").unlink()  # a deletion: the new generation's cache marks it
    write_news_records(sources, 2, start=100)
    run_update([sources], index)
    updated = current_generation(index)
    assert updated != generation
    cached, fresh = both(updated)
    assert not cached.live.all()
    assert_same(cached, fresh)


def test_a_parallel_build_s_cache_made_from_its_documents_equals_the_index(tmp_path):
    """A full build makes the cache from its documents while its writer processes work; it must be
    what the written index reads back, odd values included (a mutant that reads the year from
    the wrong place or keeps an empty topic list's value fails here)."""
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, PARALLEL_WRITE_MIN_DOCUMENTS, undated=40, related=1)
    for number, lines in enumerate(ODD_VALUES):
        title = "" if lines.startswith("title:") else f'title: "Odd record {number}"\n'
        (sources / f"odd{number}.md").write_text(
            f"---\n{title}{lines}\nsourceUrl: https://odd.example/{number}\n---\n", "utf-8"
        )
    (sources / "2023-02-03-report.txt").write_text("A report\n\nAuthor: A. Writer\n\nWords on Iran.\n", "utf-8")
    summary = run_build([sources], index)
    assert summary.documents_indexed > PARALLEL_WRITE_MIN_DOCUMENTS and not summary.skipped
    cached, fresh = both(current_generation(index))
    assert_same(cached, fresh)
    assert "" in fresh.values["year"] and "Energy" in fresh.values["topic"]
    assert fresh.pair_docs["country"].size > 0 and (fresh.date < 0).any()


def test_a_cache_made_from_documents_with_odd_values_equals_what_their_index_reads_back(tmp_path):
    """Values parsing never gives (it cleans them) but a Document can hold: empty topics among
    others, a topic list of one empty name, no provider, no story, a year before 1000."""
    odd = [
        Document("n-1", "news", "One", "a.md", topics=[""], countries=[], provider=""),
        Document("n-2", "news", "Two", "a.md", topics=["", "Energy", ""], countries=["UA"], story="s-1"),
        Document("n-3", "related", "Three", "a.md", published=dt.datetime(900, 6, 1), provider="P"),
        Document("r-4", "report", "Four", "b.txt", published=dt.datetime(1969, 12, 31, 23, 59, 59), story="s-1"),
        Document("n-5", "news", "Five", "c.md", topics=["AI", "Ünïcode"], countries=["CN", "TW"], provider="Ü"),
    ]
    generation = tmp_path / "gen"
    generation.mkdir()
    write_generation(generation, odd)
    ix = whoosh_index.open_dir(str(generation))
    try:
        with ix.reader() as reader:
            assert_same(document_column_data(odd), read_column_data(reader))
    finally:
        ix.close()


def test_the_corpus_build_s_cache_equals_the_index(corpus_index):
    cached, fresh = both(current_generation(corpus_index))
    assert_same(cached, fresh)
    assert fresh.pair_docs["topic"].size > 0 and fresh.pair_docs["country"].size > 0


def test_a_damaged_cache_is_read_afresh_from_the_index(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 30, undated=3)
    run_build([sources], index)
    generation = current_generation(index)
    service = SearchIndex(index)
    expected = service.search(SearchRequest(q="sanctions", per_page=50)).to_json()
    service.close()

    (generation / ARRAYS_FILE).write_bytes(b"not a zip file")
    assert_same(*both(generation))
    (generation / VALUES_FILE).write_text('{"size": 5, "values": {}}', "utf-8")  # another index's
    assert_same(*both(generation))
    service = SearchIndex(index)
    answer = service.search(SearchRequest(q="sanctions", per_page=50)).to_json()
    service.close()
    for name in ("total", "hits", "facets"):
        assert answer[name] == expected[name]


def test_an_update_segment_without_a_column_keeps_every_document_s_values(tmp_path):
    """An update that adds only a report without provider, topics or countries writes a segment
    without those columns; Whoosh's own multi-segment column reader skips it (a search matching
    the report failed with IndexError), so the arrays must still hold one value per document."""
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 12, undated=2)
    run_build([sources], index)
    (sources / "2024-05-01-plain.txt").write_text(
        "A plain report\n\nAuthor: Someone\n\nPlain words about tariffs in a plain report.\n", "utf-8"
    )
    run_update([sources], index)
    cached, fresh = both(current_generation(index))
    assert_same(cached, fresh)
    assert fresh.size == 13 and all(codes.size == 13 for codes in fresh.codes.values())
    ix = whoosh_index.open_dir(str(current_generation(index)))
    try:
        with ix.searcher() as searcher:
            (report,) = [n for n, stored in searcher.reader().iter_docs() if stored["kind"] == "report"]
            expected_providers = [stored.get("provider", "") for _, stored in searcher.reader().iter_docs()]
            assert not searcher.reader().leaf_readers()[-1][0].has_column("provider")
    finally:
        ix.close()
    assert [fresh.values["provider"][code] for code in fresh.codes["provider"]] == expected_providers
    assert fresh.date[report] > 0  # dated from its file name, in the segment after the news records
    search = SearchIndex(index)
    try:
        result = search.search(SearchRequest(q="plain tariffs"))
        browse = search.search(SearchRequest(q=""))
    finally:
        search.close()
    assert [hit["title"] for hit in result.hits] == ["A plain report"]
    assert result.facets["provider"] == []
    assert sum(item["count"] for item in browse.facets["provider"]) == 12


@given(st.lists(st.text(max_size=6)))
def test_values_are_encoded_as_numpy_s_unique_would(strings):
    values, codes = encode_values(strings)
    expected_values, expected_codes = np.unique(np.asarray(strings, dtype=object), return_inverse=True)
    assert values == [str(v) for v in expected_values]
    assert codes.dtype == np.int32 and codes.tolist() == expected_codes.reshape(-1).tolist()
