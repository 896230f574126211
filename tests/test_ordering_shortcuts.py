"""Ordering, story collapsing and facet counting take shortcuts; the pages and counts are the plain ones.

The search core orders only a prefix of the matches (partition for relevance,
the precomputed date order for newest and oldest), finds story leaders in a
growing prefix, and counts facets on the smaller side of a selection. Each
test here compares pages or counts with the straightforward way: sort every
match by the full key, keep each story's first, count value by value.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmarks.generate import Generator
from indexer.store.columns import ColumnData
from search_web.engine import SORTS, SearchRequest
from search_web.settings import Limits
from search_web.whoosh_engine import VALUES_PER_ROW, Columns, SearchIndex
from tests.conftest import NEWS_RECORD, SEEDS, build_index

QUERIES = ["", "sanctions", "china", "export controls", "chips OR drone", "summit -sanctions"]
# Story k has k % 5 + 1 items with the same title; one date serves several stories.
STORIES = 40
PLACES = ["harbour", "delta", "ridge", "valley", "steppe", "fjord", "atoll", "mesa", "plateau", "canyon"]
PER_PAGE = 7
PAGES = 4


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """Generated news and reports, plus near-identical records: stories, equal dates, undated items."""
    folder = tmp_path_factory.mktemp("ordering")
    Generator(seed=5, report_share=0.05).write(300, folder / "generated")
    write_stories(folder / "records")
    build_index([SEEDS, folder / "generated", folder / "records"], folder / "ix")
    search = SearchIndex(folder / "ix", Limits(reload_check_s=0, result_cache_entries=0))
    yield search
    search.close()


def write_stories(folder: Path) -> None:
    """Items that share a title (one story each), with repeated dates and some undated."""
    folder.mkdir(parents=True)
    for story in range(STORIES):
        place = f"{PLACES[story % 10]} {PLACES[story // 10]}"
        for member in range(story % 5 + 1):
            number = story * 10 + member
            date = "" if number % 7 == 0 else f"publishedDateTime: 2021-03-{(story + member) % 9 + 1:02d}T08:00:00Z"
            words = "sanctions " * (member + 1) + ("export controls" if story % 3 else "chips drone")
            (folder / f"s{number}.md").write_text(
                NEWS_RECORD.format(
                    title=f"Summit on the {place} border resumes",
                    excerpt=f"{words} at the {place} summit",
                    date=date,
                    slug=number,
                    provider=f"Provider {member}",
                    related="",
                ),
                "utf-8",
            )


def plain_order(index: SearchIndex, q: str, sort: str) -> list[int]:
    """Every match's document number, sorted by the whole key of ``sort``."""
    gen = index.generation()
    columns = gen.columns
    mask, scores = index.matches(SearchRequest(q=q))
    docnums = [int(d) for d in np.flatnonzero(mask & columns.live)]

    def key(d: int) -> tuple:
        undated, date, score = not columns.dated[d], int(columns.date[d]), float(scores[d])
        if sort == "oldest":
            return (undated, date, d)
        if sort == "newest" or not q:
            return (undated, -date, -score, d)
        return (-score * float(columns.recency[d]), d)

    return sorted(docnums, key=key)


def first_of_each_story(index: SearchIndex, order: list[int]) -> list[int]:
    story = index.generation().columns.story
    seen, leaders = set(), []
    for docnum in order:
        if story[docnum] not in seen:
            seen.add(story[docnum])
            leaders.append(docnum)
    return leaders


def pages_of(index: SearchIndex, q: str, sort: str, collapse: bool) -> tuple[list[int], int, int]:
    """Document numbers of the first PAGES pages, the total and the story count."""
    searcher = index.generation().searcher()
    docnums, result = [], None
    for page in range(1, PAGES + 1):
        request = SearchRequest(q=q, sort=sort, collapse=collapse, page=page, per_page=PER_PAGE, facets=False)
        result = index.search(request, with_corrections=False)
        docnums += [searcher.document_number(id=hit["id"]) for hit in result.hits]
    return docnums, result.total, result.stories


def test_the_fixture_has_what_the_shortcuts_must_get_right(index):
    columns = index.generation().columns
    sizes = np.bincount(columns.story)
    assert sizes.max() >= 3, "some stories have several members"
    assert (~columns.dated).sum() >= 12, "undated items"
    _, per_date = np.unique(columns.date[columns.dated], return_counts=True)
    assert per_date.max() >= 3, "items sharing one date"


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("q", QUERIES)
def test_flat_pages_are_the_fully_sorted_matches(index, q, sort):
    expected = plain_order(index, q, sort)
    docnums, total, stories = pages_of(index, q, sort, collapse=False)
    assert total == stories == len(expected) > 0
    assert docnums == expected[: PAGES * PER_PAGE]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("q", QUERIES)
def test_collapsed_pages_are_each_storys_first_in_the_full_order(index, q, sort):
    full = plain_order(index, q, sort)
    leaders = first_of_each_story(index, full)
    docnums, total, stories = pages_of(index, q, sort, collapse=True)
    assert total == len(full)
    assert stories == len(leaders)
    assert docnums == leaders[: PAGES * PER_PAGE]


def test_collapsing_leaves_something_out(index):
    """Otherwise the collapsed test above would not test collapsing."""
    assert len(first_of_each_story(index, plain_order(index, "sanctions", "relevance"))) < len(
        plain_order(index, "sanctions", "relevance")
    )


def test_a_late_page_needs_a_longer_prefix_and_gets_it(index):
    full = first_of_each_story(index, plain_order(index, "", "newest"))
    page = len(full) // PER_PAGE  # the last full page
    request = SearchRequest(page=page, per_page=PER_PAGE, sort="newest", facets=False)
    searcher = index.generation().searcher()
    hits = index.search(request, with_corrections=False).hits
    assert [searcher.document_number(id=h["id"]) for h in hits] == full[(page - 1) * PER_PAGE : page * PER_PAGE]


# --- facet counts on synthetic columns -------------------------------------------------


def synthetic_columns(seed: int = 1, size: int = 3000) -> Columns:
    """Columns with up to twice VALUES_PER_ROW values per document, deletions and stories."""
    rng = np.random.default_rng(seed)
    pair_docs, pair_codes = [], []
    for docnum in range(size):
        values = rng.choice(12, size=rng.integers(0, 2 * VALUES_PER_ROW + 1), replace=False)
        pair_docs += [docnum] * len(values)
        pair_codes += list(values)
    data = ColumnData(
        size=size,
        live=rng.random(size) > 0.05,
        date=rng.integers(0, 10**9, size),
        codes={
            "provider": rng.integers(0, 40, size).astype(np.int32),
            "kind": rng.integers(0, 3, size).astype(np.int32),
            "year": rng.integers(0, 10, size).astype(np.int32),
            "story": rng.integers(0, size // 3, size).astype(np.int32),
        },
        values={
            "provider": [f"p{k}" for k in range(40)],
            "kind": ["news", "related", "report"],
            "year": [str(2010 + k) for k in range(10)],
            "story": [f"s{k}" for k in range(size // 3)],
            "topic": [f"t{k}" for k in range(12)],
            "country": [f"c{k}" for k in range(12)],
        },
        pair_docs={"topic": np.array(pair_docs, dtype=np.int64), "country": np.array(pair_docs[::-1], dtype=np.int64)},
        pair_codes={"topic": np.array(pair_codes, dtype=np.int32), "country": np.array(pair_codes, dtype=np.int32)},
    )
    return Columns(data)


def plain_counts(columns: Columns, facet: str, docs: np.ndarray) -> Counter:
    if facet in columns.pair_docs:
        pairs = zip(columns.pair_docs[facet], columns.pair_codes[facet], strict=True)
        return Counter(int(code) for doc, code in pairs if docs[doc])
    return Counter(int(columns.codes[facet][d]) for d in np.flatnonzero(docs))


@pytest.mark.parametrize("share", [0.0, 0.1, 0.49, 0.51, 0.9, 1.0])
def test_facet_counts_equal_counting_each_document(share):
    columns = synthetic_columns()
    rng = np.random.default_rng(int(share * 100))
    docs = (rng.random(columns.size) < share) & columns.live
    facets = ["provider", "kind", "year", "topic", "country"]
    counts = columns.counts(docs, facets)
    for facet in facets:
        expected = plain_counts(columns, facet, docs)
        assert {code: int(n) for code, n in enumerate(counts[facet]) if n} == dict(expected), facet


def test_documents_with_more_values_than_a_row_holds_are_counted_whole():
    columns = synthetic_columns()
    _, extra_docs, _ = columns.value_rows["topic"]
    overflowing = [int(d) for d in extra_docs if columns.live[d]]
    assert overflowing, "the synthetic columns must overflow the rows"
    docs = np.zeros(columns.size, dtype=bool)
    docs[overflowing[0]] = True
    values = plain_counts(columns, "topic", docs)
    assert len(values) > VALUES_PER_ROW
    counts = columns.counts(docs, ["topic"])["topic"]
    assert {code: int(n) for code, n in enumerate(counts) if n} == dict(values)


def test_story_members_and_story_count_equal_a_scan():
    columns = synthetic_columns()
    rng = np.random.default_rng(7)
    within = rng.random(columns.size) < 0.6
    for docnum in range(0, columns.size, 37):
        scan = [
            d for d in range(columns.size) if within[d] and d != docnum and columns.story[d] == columns.story[docnum]
        ]
        scan.sort(key=lambda d: (-int(columns.date[d]), d))
        assert list(columns.story_others(docnum, within)) == scan
    assert columns.stories_among(np.flatnonzero(within)) == len({int(columns.story[d]) for d in np.flatnonzero(within)})
