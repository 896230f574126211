"""One regression test per Whoosh hazard listed in DEVELOPERS.md (whoosh3 3.54.0)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest
from whoosh import columns
from whoosh import index as whoosh_index
from whoosh import query as wq

from indexer.build import run_build
from indexer.documents import Document, InvalidDocument, validate
from indexer.store.generations import current_generation, new_generation, read_pointer, writer_lock
from indexer.writing import write_generation
from search_web.engine import SearchRequest
from search_web.query import QueryError, parse_query
from search_web.settings import Limits
from search_web.whoosh_engine import SearchIndex
from tests.conftest import write_news_records
from tests.reference import whoosh_query


@pytest.fixture()
def small_index(tmp_path):
    write_news_records(tmp_path / "src", 30, undated=3)
    run_build([tmp_path / "src"], tmp_path / "ix")
    index = SearchIndex(tmp_path / "ix", Limits(reload_check_s=0))
    yield tmp_path, index
    index.close()


def test_swap_is_picked_up_without_refresh_double_counting(small_index):
    tmp_path, index = small_index
    assert index.search(SearchRequest()).total == 30
    write_news_records(tmp_path / "src", 5, start=30)
    # Another process rebuilds and swaps while this reader holds the old generation open.
    result = subprocess.run(
        [sys.executable, "-m", "indexer", "build", str(tmp_path / "src"), "--index", str(tmp_path / "ix")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert index.search(SearchRequest()).total == 35  # not 65, not 30
    assert index.generation().doc_count == 35


def test_reader_on_old_generation_keeps_working_after_swap(small_index):
    tmp_path, index = small_index
    old = index.generation()
    searcher = old.searcher()
    run_build([tmp_path / "src"], tmp_path / "ix")
    assert read_pointer(tmp_path / "ix")["previous"] == old.folder.name
    assert old.folder.exists()
    assert searcher.search(wq.Term("title", "sanction"), limit=None).scored_length() == 30


@pytest.mark.parametrize("q", ["*a*", "*", "a*", "ab*", "?bc", "title:*", "*tion"])
def test_leading_and_short_wildcards_are_refused_fast(small_index, q):
    _, index = small_index
    started = time.monotonic()
    with pytest.raises(QueryError, match="wildcard"):
        index.search(SearchRequest(q=q))
    assert time.monotonic() - started < 1.0


def test_wildcard_expansion_is_capped(small_index):
    _, index = small_index
    limited = SearchIndex(index.index_root, Limits(max_expansions=2))
    result = limited.search(SearchRequest(q="sanc* OR item* OR exa*"))
    limited.close()
    assert result.total == 30


def test_deep_nesting_is_refused_without_recursion_error(small_index):
    _, index = small_index
    with pytest.raises(QueryError, match="nest"):
        index.search(SearchRequest(q="(" * 1000 + "chips" + ")" * 1000))


def test_failed_write_cancels_the_writer_and_never_swaps(tmp_path):
    write_news_records(tmp_path / "src", 3)
    run_build([tmp_path / "src"], tmp_path / "ix")
    live = current_generation(tmp_path / "ix")

    def exploding():
        yield Document(id="f-1", kind="report", title="ok", source="a.txt")
        raise OSError("disk full")

    with writer_lock(tmp_path / "ix"):
        generation = new_generation(tmp_path / "ix")
        with pytest.raises(OSError, match="disk full"):
            write_generation(generation, exploding())
        assert not (generation / "build.json").exists()
        # The cancelled writer released Whoosh's own lock: the folder can be written again.
        ix = whoosh_index.open_dir(str(generation)) if whoosh_index.exists_in(str(generation)) else None
        if ix is not None:
            writer = ix.writer()
            writer.cancel()
            ix.close()
    assert current_generation(tmp_path / "ix") == live
    run_build([tmp_path / "src"], tmp_path / "ix")  # the next run succeeds and cleans up
    assert not generation.exists()


def test_invalid_documents_are_rejected_before_the_writer():
    aware = Document(id="x", kind="news", title="t", source="s", published=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(InvalidDocument, match="naive UTC"):
        validate([aware])
    with pytest.raises(InvalidDocument, match="not text"):
        validate([Document(id="x", kind="news", title="t", source="s", excerpt=3)])  # type: ignore[arg-type]
    with pytest.raises(InvalidDocument, match="Unicode"):
        validate([Document(id="x", kind="news", title="t\ud800", source="s")])


def test_aware_datetimes_are_stored_as_naive_utc(small_index):
    _, index = small_index
    hit = index.search(SearchRequest(q="item 10", sort="relevance")).hits[0]
    assert hit["published"] == "2020-01-11T05:00:00Z"  # 10:00+05:00


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_undated_documents_sort_last(small_index, sort):
    _, index = small_index
    hits = index.search(SearchRequest(sort=sort, per_page=50)).hits
    dates = [h["published"] for h in hits]
    assert dates[-3:] == [None, None, None]
    assert None not in dates[:-3]
    assert dates[:-3] == sorted(dates[:-3], reverse=sort == "newest")


def test_schema_analyzers_load_in_a_fresh_process(small_index):
    tmp_path, _ = small_index
    folder = current_generation(tmp_path / "ix")
    code = (
        "import sys; from whoosh import index, qparser;"
        f"ix = index.open_dir({str(folder)!r});"
        "a = ix.schema['title'].analyzer; print(type(a).__module__ + '.' + type(a).__name__);"
        "q = qparser.QueryParser('title', ix.schema).parse('sanctions');"
        "print(len(ix.searcher().search(q, limit=None)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["indexer.analysis.EnglishTokenizer", "30"]


def test_snippets_and_titles_are_html_escaped(small_index):
    _, index = small_index
    hit = index.search(SearchRequest(q="alert")).hits[0]
    assert "<script>" not in hit["snippet"] and "steal" not in hit["snippet"]  # script blocks are dropped
    assert "a &lt; b &amp; c &gt; d" in hit["snippet"]  # text that merely looks like markup is escaped
    assert "<mark>alert</mark>" in hit["snippet"]
    assert index.search(SearchRequest(q="steal")).total == 0


def test_every_match_is_scored_for_and_or_queries(corpus_index):
    """Top-k optimisation can under-score A AND (B OR C); we score all matches."""
    index = SearchIndex(corpus_index)
    q = "china AND (chips OR semiconductors)"
    result = index.search(SearchRequest(q=q, per_page=50))
    gen = index.generation()
    parsed = whoosh_query(parse_query(q, gen.searcher().reader(), index.limits).tree)
    with gen.index.searcher() as plain:
        exact = plain.search(parsed, limit=None, optimize=False)
        expected_total = len(exact)
    index.close()
    assert result.total == expected_total > 10


def test_facet_counts_cover_all_matches_not_one_page(corpus_index):
    """groupedby= ignores limit; our counts come from every match, checked by brute force."""
    index = SearchIndex(corpus_index)
    result = index.search(SearchRequest(q="facial recognition", per_page=10))
    gen = index.generation()
    with gen.index.searcher() as searcher:
        tree = parse_query("facial recognition", searcher.reader(), index.limits).tree
        docnums = [d for _, d in searcher.search(whoosh_query(tree), limit=None).top_n]
        providers: dict[str, int] = {}
        for docnum in docnums:
            name = searcher.stored_fields(docnum).get("provider")
            if name:
                providers[name] = providers.get(name, 0) + 1
    index.close()
    assert result.total == len(docnums) > 10
    shown = {f["value"]: f["count"] for f in result.facets["provider"]}
    for name, count in shown.items():
        assert providers[name] == count


def test_date_range_matches_brute_force(corpus_index):
    index = SearchIndex(corpus_index)
    result = index.search(SearchRequest(q="published:2021-06..2021-07", per_page=10))
    with index.generation().index.searcher() as searcher:
        expected = sum(
            1
            for s in searcher.reader().all_stored_fields()
            if s.get("published") and dt.datetime(2021, 6, 1) <= s["published"] < dt.datetime(2021, 8, 1)
        )
    index.close()
    assert result.total == expected > 0


def test_bodies_of_a_segment_without_the_body_column_are_not_read_from_another(tmp_path):
    """whoosh3 3.54.0 hazard: ``MultiReader.column_reader`` leaves out the segments that lack the
    column, so a document of such a segment is read from the segment before it (or past its end)."""
    from whoosh import fields

    from indexer.store.schema import BODY_COLUMN, body_reader

    schema = fields.Schema(id=fields.ID(stored=True), **{BODY_COLUMN: fields.COLUMN(columns.VarBytesColumn())})
    ix = whoosh_index.create_in(str(tmp_path), schema)
    for segment in ([("a", b"first body"), ("b", b"second body")], [("c", None)], [("d", b"fourth body")]):
        with ix.writer() as writer:  # one commit: one segment
            writer.merge = False
            for doc_id, body in segment:
                writer.add_document(id=doc_id, **({BODY_COLUMN: body} if body else {}))
    with ix.reader() as reader:
        assert len(reader.leaf_readers()) == 3
        plain = reader.column_reader(BODY_COLUMN, translate=False)
        with pytest.raises(IndexError):  # document 2 is looked up as the 3rd of the first segment
            plain[2]
        body_of = body_reader(reader)
        assert [body_of(n) for n in range(4)] == ["first body", "second body", "", "fourth body"]
    ix.close()
