"""Searches running in many threads at once get exactly the answers they get one at a time.

The numpy scorer reads Whoosh posting blocks itself. A Whoosh reader's files
hold one file position, so two threads reading through the same reader mix
up each other's blocks (seen as ``zlib.error: incomplete or truncated
stream`` and as wrong matches under 20 concurrent clients). Every thread must
read through its own searcher.
"""

from __future__ import annotations

import sys
import threading

import pytest

from benchmarks.generate import Generator
from indexer.build import run_build
from search_web.engine import SearchRequest
from search_web.settings import Limits
from search_web.whoosh_engine import SearchIndex

THREADS = 8


@pytest.fixture(scope="module")
def generated_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("concurrent")
    Generator(seed=5, report_share=0.02).write(1500, folder / "src")
    run_build([folder / "src"], folder / "ix")
    return folder / "ix"


def distinct_queries() -> list[str]:
    words = [str(w) for w in Generator(seed=1, report_share=0).words[10:700:2]]
    pairs = zip(words, words[1:] + words[:1], strict=True)
    return [f'"{a} {b}"' if n % 3 == 0 else f"{a} {b}" if n % 3 == 1 else a for n, (a, b) in enumerate(pairs)]


def answers(index, queries: list[str]) -> dict[str, tuple[int, list[str]]]:
    found = {}
    for q in queries:
        result = index.search(SearchRequest(q=q, facets=False), with_corrections=False)
        assert not result.cut_short
        found[q] = (result.total, [hit["id"] for hit in result.hits])
    return found


def test_threads_sharing_one_generation_read_their_own_postings(generated_index):
    queries = distinct_queries()
    # No cache may hide the reads: every query reads its postings from the files.
    settings = Limits(result_cache_entries=0, time_budget_s=60.0)
    with_one = SearchIndex(generated_index, settings)
    expected = answers(with_one, queries)
    with_one.close()
    assert sum(total > 0 for total, _ in expected.values()) > len(queries) // 3

    shared = SearchIndex(generated_index, settings)
    shared.generation()  # opened before the threads start, so they share it
    got: dict[str, tuple[int, list[str]]] = {}
    errors: list[BaseException] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, inside Whoosh's seek-then-read

    def run(share: list[str]) -> None:
        try:
            got.update(answers(shared, share))
        except BaseException as exc:  # any error is the finding
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run, args=(queries[k::THREADS],)) for k in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
        shared.close()
    assert not errors, errors[:3]
    assert got == expected
