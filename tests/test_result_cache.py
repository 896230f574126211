"""Repeated requests are answered from a per-generation cache that never serves a stale or partial result."""

from __future__ import annotations

import pytest

from indexer.build import run_build, run_update
from search_web.engine import SearchRequest
from search_web.settings import Limits
from search_web.whoosh_engine import LruCache, SearchIndex, request_key
from tests.conftest import write_news_records

REQUESTS = [
    SearchRequest(q="sanctions"),
    SearchRequest(q='"export controls"', sort="newest", sort_explicit=True),
    SearchRequest(q="", providers=["Example"], years=["2020"]),
    SearchRequest(q="item", page=2, per_page=10, timeline=True),
]


@pytest.fixture()
def sources_and_index(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 40, related=1)
    run_build([sources], index)
    return sources, index


@pytest.fixture()
def service(sources_and_index):
    """Opens the search service over the test index with some settings; closes every one opened."""
    opened: list[SearchIndex] = []

    def open_with(**settings) -> SearchIndex:
        opened.append(SearchIndex(sources_and_index[1], Limits(**settings)))
        return opened[-1]

    yield open_with
    for index in opened:
        index.close()


def answer(result) -> dict:
    """A result as a client sees it, minus the time it took."""
    return {**result.to_json(), "took_ms": None, "timeline": result.timeline}


def test_a_repeated_request_gets_the_same_answer_as_without_a_cache(service):
    cached, uncached = service(), service(result_cache_entries=0)
    for request in REQUESTS:
        first = cached.search(request)
        again = cached.search(request)
        assert again is not first  # a copy with its own took_ms, the same answer
        assert answer(again) == answer(first) == answer(uncached.search(request))
    assert len(cached.generation().results) == len(REQUESTS)
    assert len(uncached.generation().results) == 0


def test_requests_that_differ_in_any_parameter_are_not_confused(service):
    search = service().search
    page_one = search(SearchRequest(q="item"))
    page_two = search(SearchRequest(q="item", page=2))
    filtered = search(SearchRequest(q="item", providers=["Nobody"]))
    assert [h["id"] for h in page_one.hits] != [h["id"] for h in page_two.hits]
    assert filtered.total == 0 < page_one.total
    assert search(SearchRequest(q="item", facets=False)).facets == {}
    assert search(SearchRequest(q="item", page=2)).hits == page_two.hits


def test_a_swapped_in_generation_is_never_answered_from_the_old_cache(sources_and_index, service):
    sources, index = sources_and_index
    search = service(reload_check_s=0).search
    before = search(SearchRequest(q="sanctions")).total
    write_news_records(sources, 5, start=40)
    run_update([sources], index)
    assert search(SearchRequest(q="sanctions")).total == before + 5


def test_the_least_recently_used_result_goes_first(service):
    small = service(result_cache_entries=2)
    first, second, third = (small.search(SearchRequest(q=q)) for q in ("sanctions", "item", "chips"))
    cache = small.generation().results
    assert len(cache) == 2
    assert cache.get((request_key(SearchRequest(q="sanctions")), True)) is None
    assert cache.get((request_key(SearchRequest(q="chips")), True)) is third
    assert second.total > 0 and first.total > 0


def test_a_result_cut_short_by_the_time_budget_is_not_kept(service):
    hurried = service(time_budget_s=0.0)
    result = hurried.search(SearchRequest(q="sanctions"))
    assert result.cut_short
    assert len(hurried.generation().results) == 0


def test_caches_bounded_in_bytes_stay_under_their_capacity():
    cache: LruCache[bytes] = LruCache(100, weigh=len)
    for number in range(10):
        cache.put(number, b"x" * 30)
    assert cache.weight <= 100 and len(cache) == 3
    assert cache.get(9) is not None and cache.get(0) is None
    cache.put("huge", b"x" * 101)  # larger than the whole cache: not kept, nothing evicted
    assert cache.get("huge") is None and len(cache) == 3
